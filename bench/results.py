"""The bench's figures, their goals, and the table written to ``bench/results/latest.{md,json}``.

Pure (no Django): every measurement returns :class:`Measurement` rows, and
this module decides the ratio and whether each goal is met, the same way for
all of them.

* ``ratio`` is ``value / floor``: the figure divided by what the same stack
  does when it skips the work being measured (or, for the engine's growth,
  by the time linear growth would allow). Without a floor there is no ratio.
* A goal is one or more :class:`Goal` checks, on the ratio or on the value;
  a row meets its goal when every check holds. A row that could not be
  measured (``value`` is ``None``) has ``met = None``: unknown, never "met";
  unless it is known to miss it (``missed``: the wait stopped past the goal).
"""

from __future__ import annotations

import dataclasses
import json
import operator
from collections.abc import Iterable, Sequence
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_OPERATORS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq}


@dataclasses.dataclass(frozen=True)
class Goal:
    """``on`` (``"ratio"`` or ``"value"``) ``op`` (``<=``, ``>=``, ``==``) ``limit``, e.g. ratio <= 1.5."""

    on: str
    op: str
    limit: float
    unit: str = ""

    def __post_init__(self) -> None:
        if self.on not in ("ratio", "value") or self.op not in _OPERATORS:
            raise ValueError(f"a goal is on ratio or value with <=, >= or ==: {self}")

    def holds(self, *, value: float | None, ratio: float | None) -> bool | None:
        observed = ratio if self.on == "ratio" else value
        if observed is None:
            return None
        return _OPERATORS[self.op](observed, self.limit)

    def __str__(self) -> str:
        limit = f"{self.limit:g}" + (f" {self.unit}" if self.unit else "")
        return f"{'ratio' if self.on == 'ratio' else 'value'} {self.op} {limit}"


@dataclasses.dataclass(frozen=True)
class Measurement:
    """One row of the table. ``note`` is printed under the Markdown table (the JSON keeps the agreed keys)."""

    name: str
    value: float | None
    unit: str
    floor: float | None = None
    goals: tuple[Goal, ...] = ()
    note: str = ""
    missed: bool = False  # not measured to the end, but known to miss the goal (e.g. a timeout past it)

    @property
    def ratio(self) -> float | None:
        if self.value is None or self.floor is None:
            return None
        if self.floor == 0:
            return 1.0 if self.value == 0 else None
        return self.value / self.floor

    @property
    def goal(self) -> str:
        return " and ".join(str(goal) for goal in self.goals)

    @property
    def met(self) -> bool | None:
        if self.missed:
            return False
        if not self.goals or self.value is None:
            return None
        checks = [goal.holds(value=self.value, ratio=self.ratio) for goal in self.goals]
        if any(check is False for check in checks):
            return False
        return None if any(check is None for check in checks) else True

    def as_json(self) -> dict:
        return {
            "name": self.name,
            "value": _rounded(self.value),
            "unit": self.unit,
            "floor": _rounded(self.floor),
            "ratio": _rounded(self.ratio),
            "goal": self.goal or None,
            "met": self.met,
        }


def _rounded(number: float | None) -> float | None:
    return None if number is None else round(number, 3)


def _figure(number: float | None) -> str:
    if number is None:
        return "-"
    if float(number).is_integer() and abs(number) >= 1:
        return f"{number:,.0f}"
    if abs(number) >= 100:
        return f"{number:,.0f}"
    return f"{number:.2f}" if abs(number) >= 1 else f"{number:.3g}"


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "-"}[met]


def markdown(rows: Sequence[Measurement], *, machine: str) -> str:
    """The table, with the machine it was measured on above it and the rows' notes below it."""
    lines = [
        f"Measured on {machine}.",
        "",
        "| measurement | value | floor | ratio | goal | met |",
        "|---|---:|---:|---:|---|---|",
    ]
    notes = []
    for row in rows:
        name = row.name
        if row.note:
            notes.append(row.note)
            name += f" [{len(notes)}]"
        value = "not measured" if row.value is None else f"{_figure(row.value)} {row.unit}"
        floor = "-" if row.floor is None else f"{_figure(row.floor)} {row.unit}"
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}"
        lines.append(f"| {name} | {value} | {floor} | {ratio} | {row.goal or '-'} | {_met(row.met)} |")
    if notes:
        lines.append("")
        lines.extend(f"{number}. {note}" for number, note in enumerate(notes, start=1))
    return "\n".join(lines) + "\n"


def write(rows: Iterable[Measurement], *, machine: str, directory: Path = RESULTS_DIR) -> tuple[Path, Path]:
    """Write ``latest.md`` and ``latest.json`` into ``directory``; return their paths."""
    rows = list(rows)
    directory.mkdir(parents=True, exist_ok=True)
    markdown_path, json_path = directory / "latest.md", directory / "latest.json"
    markdown_path.write_text(markdown(rows, machine=machine))
    json_path.write_text(json.dumps([row.as_json() for row in rows], indent=2) + "\n")
    return markdown_path, json_path
