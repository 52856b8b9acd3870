"""How times go on the wire: UTC with a ``Z``, in events, webhooks and API responses alike."""

import datetime as dt
import zoneinfo
from collections.abc import Iterable

from scheduling.slots import EPOCH, from_epoch_micros, midnight_offset

_EPOCH_ORDINAL = EPOCH.date().toordinal()
_DAY_MICROS = 86_400_000_000


def utc_iso(value: dt.datetime) -> str:
    """``2026-12-01T09:00:00Z``; sub-second precision is dropped (it never matters for bookings)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class IsoText:
    """ISO 8601 text, to the second, of many instants (epoch microseconds) in one timezone.

    The same text as ``isoformat(timespec="seconds")`` of the instant in
    ``zone``, or, with ``zulu``, as :func:`utc_iso` (an offset of zero written
    ``Z``). Why: a free-slots answer writes four times for each of hundreds
    of slots, which falls on a few dozen dates and a few times of day. So the
    text is put together from pieces made once per answer: each local date,
    each time of day, and each steady date's offset
    (``scheduling.slots.steady_offset``). An instant on a date whose offset
    changes (a DST change) is converted by ``zoneinfo`` on its own.
    """

    def __init__(self, zone: zoneinfo.ZoneInfo | dt.timezone, *, zulu: bool = False):
        self.zone = zone
        self.zulu = zulu
        self._dates: dict[int, str] = {}  # a local date (days since 1970-01-01) -> "2026-12-01T"
        self._suffixes: dict[int, str] = {}  # an offset -> "+01:00"
        self._clocks: dict[int, dict[int, str]] = {}  # an offset -> a second of the day -> "09:00:00+01:00"
        self._midnights: dict[int, int | None] = {}  # a local date -> its midnight's offset
        # The steady local date in hand: its instants [start, end) and their offset.
        self._start = self._end = self._offset = 0

    def texts(self, instants: Iterable[int]) -> list[str]:
        """The text of each instant, in order."""
        texts: list[str] = []
        dates = self._dates
        start, end, offset, clocks = self._start, self._end, self._offset, self._clocks.get(self._offset, {})
        for micros in instants:
            if not start <= micros < end:
                if not self._take_date_of(micros):
                    texts.append(
                        self._suffixed(from_epoch_micros(micros).astimezone(self.zone).isoformat("T", "seconds"))
                    )
                    continue
                start, end, offset, clocks = self._start, self._end, self._offset, self._clocks[self._offset]
            day, second = divmod((micros + offset) // 1_000_000, 86_400)
            date_text = dates.get(day)
            if date_text is None:
                date_text = dates[day] = dt.date.fromordinal(_EPOCH_ORDINAL + day).isoformat() + "T"
            clock_text = clocks.get(second)
            if clock_text is None:
                clock_text = clocks[second] = (
                    f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}{self._suffixes[offset]}"
                )
            texts.append(date_text + clock_text)
        return texts

    def _midnight_offset(self, day: int) -> int | None:
        if day not in self._midnights:
            self._midnights[day] = midnight_offset(dt.date.fromordinal(_EPOCH_ORDINAL + day), self.zone)
        return self._midnights[day]

    def _steady_offset(self, day: int) -> int | None:
        """``scheduling.slots.steady_offset`` of a local date, each midnight asked once."""
        offset = self._midnight_offset(day)
        return offset if offset is not None and offset == self._midnight_offset(day + 1) else None

    def _take_date_of(self, micros: int) -> bool:
        """Make the local date of ``micros`` the one in hand if it is steady; False if its offset changes."""
        day = (micros + self._offset) // _DAY_MICROS  # its date if it has the offset in hand (mostly it has)
        offset = self._steady_offset(day)
        if offset != self._offset or offset not in self._clocks:
            local = from_epoch_micros(micros).astimezone(self.zone)
            day = local.toordinal() - _EPOCH_ORDINAL
            offset = self._steady_offset(day)
            if offset is None:
                return False
            if offset not in self._clocks:
                self._suffixes[offset] = self._suffixed(local.isoformat("T", "seconds"))[19:]
                self._clocks[offset] = {}
        self._start = day * _DAY_MICROS - offset
        self._end = self._start + _DAY_MICROS
        self._offset = offset
        return True

    def _suffixed(self, text: str) -> str:
        """``text`` (an ``isoformat``) with its offset written as this formatter writes it."""
        return text[:19] + "Z" if self.zulu and text.endswith("+00:00") else text
