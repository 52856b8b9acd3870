"""The table's arithmetic: ratios, goals, met, and what is written to bench/results/."""

import json

import pytest

from bench.results import Goal, Measurement, markdown, write


def test_ratio_is_value_over_floor_and_absent_without_a_floor():
    assert Measurement("a", 30.0, "ms", floor=20.0).ratio == pytest.approx(1.5)
    assert Measurement("a", 30.0, "ms").ratio is None
    assert Measurement("a", None, "ms", floor=20.0).ratio is None
    assert Measurement("zero over zero is equal", 0, "queries", floor=0).ratio == 1.0
    assert Measurement("something over zero", 3, "queries", floor=0).ratio is None


@pytest.mark.parametrize(
    ("value", "floor", "met"),
    [(29.0, 20.0, True), (30.0, 20.0, True), (31.0, 20.7, False), (29.0, 10.0, False)],
)
def test_every_goal_must_hold(value, floor, met):
    row = Measurement(
        "availability", value, "ms", floor=floor, goals=(Goal("ratio", "<=", 1.5), Goal("value", "<=", 30, "ms"))
    )

    assert row.met is met
    assert row.goal == "ratio <= 1.5 and value <= 30 ms"


def test_throughput_goal_is_a_lower_bound_on_the_ratio():
    goal = (Goal("ratio", ">=", 0.5),)

    assert Measurement("throughput", 50, "req/s", floor=100, goals=goal).met is True
    assert Measurement("throughput", 49, "req/s", floor=100, goals=goal).met is False


def test_a_row_not_measured_is_never_met_unless_known_to_miss():
    goals = (Goal("value", "<=", 60, "s"),)

    assert Measurement("webhooks", None, "s", goals=goals).met is None
    assert Measurement("reminders", None, "s", goals=goals, missed=True).met is False
    assert Measurement("info only", 3.0, "ms").met is None


def test_a_goal_is_on_the_ratio_or_the_value_with_a_known_comparison():
    with pytest.raises(ValueError):
        Goal("median", "<=", 1)
    with pytest.raises(ValueError):
        Goal("ratio", "<", 1)


def test_markdown_has_one_row_per_measurement_the_machine_and_numbered_notes():
    rows = [
        Measurement("fast", 12.345, "ms", floor=10.0, goals=(Goal("ratio", "<=", 1.5),), note="first note"),
        Measurement("slow", 1234.0, "ms", floor=10.0, goals=(Goal("ratio", "<=", 1.5),)),
        Measurement("later", None, "s", goals=(Goal("value", "<=", 30, "s"),), note="second note"),
    ]

    text = markdown(rows, machine="2 cores, Python 3.11")

    assert text.startswith("Measured on 2 cores, Python 3.11.")
    assert "| fast [1] | 12.35 ms | 10 ms | 1.23 | ratio <= 1.5 | yes |" in text
    assert "| slow | 1,234 ms | 10 ms | 123.40 | ratio <= 1.5 | **no** |" in text
    assert "| later [2] | not measured | - | - | value <= 30 s | - |" in text
    assert text.rstrip().endswith("1. first note\n2. second note")


def test_json_is_a_list_of_the_agreed_keys(tmp_path):
    rows = [
        Measurement("fast", 12.3456, "ms", floor=10.0, goals=(Goal("ratio", "<=", 1.5),), note="not in the JSON"),
        Measurement("later", None, "s"),
    ]

    markdown_path, json_path = write(rows, machine="here", directory=tmp_path)

    written = json.loads(json_path.read_text())
    assert written == [
        {
            "name": "fast",
            "value": 12.346,
            "unit": "ms",
            "floor": 10.0,
            "ratio": 1.235,
            "goal": "ratio <= 1.5",
            "met": True,
        },
        {"name": "later", "value": None, "unit": "s", "floor": None, "ratio": None, "goal": None, "met": None},
    ]
    assert markdown_path.read_text() == markdown(rows, machine="here")
