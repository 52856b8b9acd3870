"""Pure slot engine: which session start times can a student book?

This module has no Django / ORM dependency (stdlib ``zoneinfo``, ``datetime``,
``dataclasses`` and ``bisect`` only) so it can be unit- and property-tested in
isolation. The availability read (``compute_slots``) and the booking services
(``slot_refusal``, through ``bookings.availability``) both ask it, so a booking
is accepted exactly when its time would have been offered.

Product rules
=============

* Availability is expressed in the instructor's IANA timezone as *wall-clock*
  ranges: ``weekly[weekday]`` (0 = Monday) lists ``(start, end)`` local times.
  ``overrides[local_date]`` REPLACES the weekly ranges of that local date; an
  override with no ranges means "unavailable that date".
* Slots are ``session_minutes`` long and start on a grid of
  ``step = interval_minutes or session_minutes`` measured in wall-clock minutes
  from each range's start. The grid restarts every local date, so a 09:00 range
  yields a 09:00 local slot on both sides of a DST change.
* A slot ``[S, E)`` is removed if it overlaps a busy interval widened by
  ``buffer_minutes`` on BOTH sides (half-open intervals: a slot ending exactly
  ``buffer_minutes`` before a booking starts is fine; with ``buffer_minutes=0``
  back-to-back sessions are fine). Busy intervals may come in any timezone,
  unsorted and overlapping; zero-length intervals block nothing.
* ``S >= now + minimum_notice_minutes`` (this also removes the past) and
  ``S <= now + advance_booking_days`` days (inclusive).
* Booking limits: with ``max_bookings_per_day`` set, no slot starts on a
  local date ``d`` whose count ``bookings_per_day[d]`` has reached it; with
  ``max_bookings_per_week`` set, none in an ISO week ``(year, week)`` of the
  local calendar whose count ``bookings_per_week[(year, week)]`` has reached
  it. ``None`` means no limit. A slot belongs to the local date of its start
  (and that date's ISO week). The counts are plain numbers handed in by the
  caller, like the busy intervals; :func:`count_bookings` derives them from
  booking starts.
* Only slots with ``window_start <= S < window_end`` are returned, sorted by
  start, as UTC-aware datetimes.

DST rule (exact)
================

Let ``tz`` be the instructor's zone and ``wall(t)`` the naive local wall-clock
time of instant ``t``. For a naive wall time ``w`` define

    ``resolve(w)`` = the FIRST instant at which the local clock reads ``>= w``.

So an existing, unambiguous ``w`` resolves to its only instant; an ambiguous
``w`` (fall-back) resolves to its first occurrence (``fold=0``); a ``w`` that
does not exist (spring-forward gap) resolves to the transition instant, i.e. the
first existing instant after it.

For a range ``(rs, re)`` on local date ``d``:

1. Grid candidates are the wall times ``w_k = d rs + k*step`` (k >= 0) with
   ``w_k < d re``. A candidate whose wall time does not exist on ``d`` is
   skipped. An ambiguous one is taken once, at its first occurrence
   (``S_k = resolve(w_k)``, ``fold=0``); the second occurrence is never a
   candidate.
2. Spacing: walking the candidates of one range in order, a candidate is
   dropped if it starts less than ``step`` (absolute time) after the previous
   kept candidate. This only happens right after a spring-forward gap whose
   length is not a multiple of ``step`` (e.g. Lord Howe's 30 minute shift, or
   Berlin with a 45/90 minute grid) and guarantees that, when
   ``step >= session``, the slots of a range never overlap.
3. Containment: ``E = S + session_minutes`` (absolute time). The slot lies in
   the range iff ALL of

   * ``E <= resolve(d re)``            (absolute: inside the range's instants),
   * ``wall(E).date() == d``           (never crosses local midnight),
   * ``wall(E) <= d re``               (wall clock: ends by the range end).

   ``S >= resolve(d rs)`` always holds by construction. The wall check is only
   stricter than the absolute one when the range end itself falls in a
   spring-forward gap: a slot ending exactly at the transition instant reads
   e.g. 03:00 on the clock, which is after a 02:30 range end, so it is not
   offered.

Examples (Europe/Berlin, 60 minute sessions, range 01:00-04:00): on 2026-03-29
(02:00 -> 03:00) the candidates are 01:00 CET and 03:00 CEST (02:00 does not
exist), two slots, matching the two absolute hours of the range. On 2026-10-25
(03:00 -> 02:00) the candidates are 01:00 CEST, 02:00 CEST (first occurrence)
and 03:00 CET: the repeated 02:00 CET hour is not offered.

Complexity (why one pass is linear)
===================================

* Only local dates intersecting ``[max(window_start, now + notice),
  min(window_end, now + advance)]`` are visited (plus one guard day each side),
  each with a constant number of grid candidates, so generating candidates is
  ``O(days)``. A date without ranges, or at its booking limit, costs nothing
  more than finding that out.
* Busy intervals are converted to UTC, widened and filtered to the relevant
  span in one ``O(B)`` pass, then sorted and merged once (``O(B log B)``).
* Candidates are produced in increasing start order (dates ascending, ranges
  sorted by start, and ``resolve`` is monotone), so a single pointer into the
  merged busy list only ever moves forward: every candidate and every busy
  interval is looked at a constant number of times. There is no per-slot scan
  of the bookings. (If the caller passes overlapping ranges the pointer is
  re-positioned with ``bisect`` and the result is sorted/de-duplicated.)

``slot_refusal`` builds the grid of the one local date of the requested start
and filters the busy intervals in one linear pass without sorting them all.
The limits cost one dictionary lookup per local date.

Instants as integers, and steady days
=====================================

The free-slots read asks for 90 days at a time, so the engine computes in
integers: every instant is a count of microseconds since 1970-01-01 UTC
(:func:`epoch_micros`), exact, and compared and added without building a
``datetime``. Busy intervals may be handed over in that form directly (the
database read does), and :func:`free_slot_starts` answers in it.

Most local dates are *steady*: the clock runs at one UTC offset from that
midnight to the next. Then every wall time ``w`` of the date exists once and
``resolve(w) = w - offset``, the wall clock of an instant is the instant plus
the offset, and the rules above reduce to arithmetic: the candidates of a
range ``(rs, re)`` are ``d rs + k*step - offset`` while ``k*step + session <=
re - rs`` (no candidate is missing, the spacing rule never drops one, and the
containment checks all say ``S + session <= d re - offset``). The offset is
asked from ``zoneinfo`` once per date, at its midnight (shared with the day
before). Every other date (a DST change, a midnight that does not exist or
is repeated) is computed by the exact rules above, candidate by candidate.

A date counts as steady when its midnight and the next one each exist once
and have the same offset. The offset could only have changed in between if
it changed twice within 24 hours and came back, which no zone of the tz
database does (``scheduling/tests/test_slots.py`` checks every installed
zone, so a tz database that ever did would fail the suite, not the answers).

Weekly series
=============

:func:`weekly_occurrences` gives the starts of a weekly series: the local wall
time of the first start, on the same weekday every ``interval_weeks`` weeks,
resolved as RFC 5545 resolves a local DATE-TIME (and as ``zoneinfo`` does with
``fold=0``): an ambiguous wall time is its first occurrence, and a wall time
inside a spring-forward gap is read with the offset before the gap (02:30 in
Berlin on the last Sunday of March becomes 03:30 CEST). So 18:00 stays 18:00
local across DST changes. Each occurrence is then an ordinary start that
:func:`slot_refusal` accepts or refuses like any other.

Why a time is refused
=====================

``slot_refusal`` asks the same rules one at a time and answers with the first
that fails, in this order (:data:`REFUSAL_ORDER`):

1. ``in_past``: ``S < now``.
2. ``minimum_notice``: ``S < now + minimum_notice_minutes``.
3. ``beyond_window``: ``S > now + advance_booking_days``.
4. ``outside_availability``: ``[S, E)`` lies in none of the ranges of its
   local date (rule 3 applied to any start, grid or not).
5. ``off_grid``: it lies inside a range but is not one of the grid slots
   (rules 1 and 2).
6. ``limit_reached``: its local date, or that date's ISO week, already holds
   ``max_bookings_per_day`` / ``max_bookings_per_week`` bookings.
7. ``taken``: it overlaps a busy interval.
8. ``buffer``: it overlaps a busy interval only once that is widened by the
   buffer.

The order puts what the student can do nothing about first and what depends
on other people's bookings last: a time in the past is "in the past" even if
it is also taken. ``limit_reached`` depends on bookings too, but it speaks
about the whole day or week, so it comes before the two that speak about the
one time: a student told "taken" would try the next hour of a full day and be
refused again, while "limit reached" sends them to another day at once. ``slot_refusal`` returns None exactly when
``compute_slots`` would offer the slot (property-tested).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

__all__ = [
    "EPOCH",
    "REFUSAL_ORDER",
    "Slot",
    "compute_slots",
    "count_bookings",
    "epoch_micros",
    "free_slot_starts",
    "from_epoch_micros",
    "iso_week",
    "midnight_offset",
    "slot_is_offered",
    "slot_refusal",
    "steady_offset",
    "student_date_window",
    "weekly_occurrences",
]

_ONE_DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
"""The instant that :func:`epoch_micros` counts from."""
_MINUTE_MICROS = 60_000_000
_DAY_MICROS = 86_400_000_000
_EPOCH_ORDINAL = EPOCH.date().toordinal()

TimeRange = tuple[time, time]

# Why a start time is not offered (``slot_refusal``), in the order they are asked.
IN_PAST = "in_past"
MINIMUM_NOTICE = "minimum_notice"
BEYOND_WINDOW = "beyond_window"
OUTSIDE_AVAILABILITY = "outside_availability"
OFF_GRID = "off_grid"
LIMIT_REACHED = "limit_reached"
TAKEN = "taken"
BUFFER = "buffer"
REFUSAL_ORDER = (IN_PAST, MINIMUM_NOTICE, BEYOND_WINDOW, OUTSIDE_AVAILABILITY, OFF_GRID, LIMIT_REACHED, TAKEN, BUFFER)

IsoWeek = tuple[int, int]
"""``(ISO year, ISO week number)`` of a local date, e.g. ``(2026, 53)``."""


@dataclass(frozen=True)
class Slot:
    """A bookable session: ``start`` inclusive, ``end`` exclusive, both UTC."""

    start: datetime  # aware, UTC
    end: datetime  # aware, UTC


# --------------------------------------------------------------------------- #
# instants as integers
# --------------------------------------------------------------------------- #


def epoch_micros(value: datetime) -> int:
    """Microseconds from 1970-01-01 UTC to the aware ``value``: exact, whatever its timezone."""
    return (value - EPOCH) // _EPSILON


def from_epoch_micros(micros: int) -> datetime:
    """The UTC datetime ``micros`` microseconds after 1970-01-01 UTC (the inverse of :func:`epoch_micros`)."""
    return EPOCH + timedelta(microseconds=micros)


def _time_micros(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def midnight_offset(day: date, tz: tzinfo) -> int | None:
    """The UTC offset (microseconds) of ``day``'s local midnight, or None if that midnight is skipped or repeated."""
    offset = tz.utcoffset(datetime(day.year, day.month, day.day))  # read as the wall time, fold=0
    if tz.utcoffset(datetime(day.year, day.month, day.day, fold=1)) != offset:
        return None  # fold=0 and fold=1 differ only in a gap or a fold
    return (offset.days * 86_400 + offset.seconds) * 1_000_000 + offset.microseconds


def steady_offset(day: date, tz: tzinfo) -> int | None:
    """``day``'s UTC offset in microseconds if the clock runs at one offset all that local date, else None.

    See "Instants as integers, and steady days" in the module docstring: the
    date's midnight and the next one exist once each, at the same offset.
    """
    offset = midnight_offset(day, tz)
    if offset is None or midnight_offset(day + _ONE_DAY, tz) != offset:
        return None
    return offset


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def _require_aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _wall(instant: datetime, tz: ZoneInfo) -> datetime:
    """Naive local wall-clock time of ``instant`` in ``tz``."""
    return instant.astimezone(tz).replace(tzinfo=None)


def _resolve(wall: datetime, tz: ZoneInfo) -> datetime:
    """First instant (UTC) at which the local clock reads ``>= wall``.

    Existing wall time -> its (first, ``fold=0``) instant; wall time inside a
    spring-forward gap -> the transition instant.
    """
    wall = wall.replace(fold=0)
    first = wall.replace(tzinfo=tz).astimezone(UTC)
    if _wall(first, tz) == wall:
        return first
    # In a gap: fold=0 and fold=1 use the offsets before/after the transition
    # and land on both sides of it. Bisect on "clock reads >= wall".
    other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    lo, hi = min(first, other), max(first, other)
    if _wall(hi, tz) < wall:  # pragma: no cover - defensive, not a real gap
        return hi
    while hi - lo > _EPSILON:
        mid = lo + (hi - lo) // 2
        if _wall(mid, tz) >= wall:
            hi = mid
        else:
            lo = mid
    return hi


def _normalize_ranges(ranges: Sequence[TimeRange], where: str) -> tuple[TimeRange, ...]:
    out: list[TimeRange] = []
    for item in ranges:
        start, end = item
        if not isinstance(start, time) or not isinstance(end, time):
            raise TypeError(f"{where}: ranges must be (datetime.time, datetime.time)")
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError(f"{where}: range times must be naive local wall times")
        start, end = start.replace(fold=0), end.replace(fold=0)
        if not start < end:
            raise ValueError(f"{where}: range start {start} must be before end {end}")
        out.append((start, end))
    out.sort()
    return tuple(out)


def _merge_busy(
    busy: Iterable[tuple[datetime | int, datetime | int]],
    buffer: int,
    lo: int,
    hi: int,
) -> tuple[list[int], list[int]]:
    """Widen by ``buffer``, keep what can touch ``[lo, hi)``, sort, merge (all in epoch microseconds).

    Each interval is a pair of aware datetimes or of epoch microseconds (what
    the database read hands over). Returns parallel lists of merged (disjoint,
    increasing) starts and ends.
    """
    widened: list[tuple[int, int]] = []
    for interval in busy:
        b_start, b_end = interval
        if type(b_start) is not int or type(b_end) is not int:
            _require_aware("busy start", b_start)
            _require_aware("busy end", b_end)
            # Converted as instants: aware datetimes sharing a tzinfo would compare and
            # subtract as wall times (fold ignored), which is wrong across DST changes.
            b_start, b_end = epoch_micros(b_start), epoch_micros(b_end)
        if b_end < b_start:
            raise ValueError(f"busy interval ends before it starts: {interval!r}")
        s = b_start - buffer
        e = b_end + buffer
        if e <= s or e <= lo or s >= hi:
            continue
        widened.append((s, e))
    widened.sort()
    starts: list[int] = []
    ends: list[int] = []
    for s, e in widened:
        if ends and s <= ends[-1]:
            if e > ends[-1]:
                ends[-1] = e
        else:
            starts.append(s)
            ends.append(e)
    return starts, ends


def _ranges_of(
    day: date, weekly: Mapping[int, tuple[TimeRange, ...]], overrides: Mapping[date, Sequence[TimeRange]]
) -> tuple[TimeRange, ...]:
    """The ranges of one local date: its override if it has one, else its weekday's."""
    if day in overrides:
        return _normalize_ranges(overrides[day], f"overrides[{day}]")
    return weekly.get(day.weekday(), ())


def _fits(end: datetime, *, day: date, end_wall: datetime, end_instant: datetime, tz: ZoneInfo) -> bool:
    """Rule 3 (containment): a slot ending at ``end`` ends inside a range of ``day`` ending at ``end_wall``."""
    if end > end_instant:
        return False
    end_local = _wall(end, tz)
    return end_local <= end_wall and end_local.date() == day


def _day_grid(
    day: date, ranges: Sequence[TimeRange], tz: ZoneInfo, session: timedelta, step: timedelta
) -> Iterator[Slot]:
    """The grid slots of one local date that lie inside its ranges (rules 1 to 3), range by range."""
    for range_start, range_end in ranges:
        end_wall = datetime.combine(day, range_end)
        end_instant = _resolve(end_wall, tz)
        wall = datetime.combine(day, range_start)
        kept: datetime | None = None
        while wall < end_wall:
            start = wall.replace(tzinfo=tz).astimezone(UTC)  # fold=0
            candidate_wall = wall
            wall += step
            if _wall(start, tz) != candidate_wall:
                continue  # does not exist (spring-forward gap)
            if kept is not None and start < kept + step:
                continue  # spacing rule after a gap
            kept = start
            end = start + session
            if not _fits(end, day=day, end_wall=end_wall, end_instant=end_instant, tz=tz):
                break  # later candidates of this range end later still
            yield Slot(start, end)


def _day_starts(
    day: date, ranges: Sequence[TimeRange], tz: ZoneInfo, offset: int | None, session: int, step: int
) -> list[int]:
    """The starts (epoch microseconds) of ``day``'s grid slots, in range order: :func:`_day_grid` in integers.

    ``offset`` is the date's :func:`steady_offset`: on a steady date the
    candidates are plain sums; any other date takes the exact path.
    """
    if offset is None:
        return [
            epoch_micros(slot.start)
            for slot in _day_grid(day, ranges, tz, timedelta(microseconds=session), timedelta(microseconds=step))
        ]
    midnight = (day.toordinal() - _EPOCH_ORDINAL) * _DAY_MICROS - offset
    starts: list[int] = []
    for range_start, range_end in ranges:
        last = midnight + _time_micros(range_end) - session
        starts.extend(range(midnight + _time_micros(range_start), last + 1, step))
    return starts


def _inside_a_range(start: datetime, end: datetime, day: date, ranges: Sequence[TimeRange], tz: ZoneInfo) -> bool:
    """Whether ``[start, end)`` lies inside one of ``day``'s ranges, grid or not (off-grid versus outside)."""
    for range_start, range_end in ranges:
        end_wall = datetime.combine(day, range_end)
        if start >= _resolve(datetime.combine(day, range_start), tz) and _fits(
            end, day=day, end_wall=end_wall, end_instant=_resolve(end_wall, tz), tz=tz
        ):
            return True
    return False


def iso_week(day: date) -> IsoWeek:
    """The ISO ``(year, week)`` of a local date: weeks run Monday to Sunday."""
    year, week, _weekday = day.isocalendar()
    return year, week


def count_bookings(starts: Iterable[datetime], timezone: str) -> tuple[dict[date, int], dict[IsoWeek, int]]:
    """How many bookings start on each local date and in each ISO week of ``timezone``.

    The limits' counts in the shapes :func:`compute_slots` takes. A booking
    counts on the local date of its start, whatever its length.
    """
    tz = ZoneInfo(timezone)
    per_day: dict[date, int] = {}
    per_week: dict[IsoWeek, int] = {}
    for start in starts:
        _require_aware("booking start", start)
        day = _wall(start, tz).date()
        per_day[day] = per_day.get(day, 0) + 1
        week = iso_week(day)
        per_week[week] = per_week.get(week, 0) + 1
    return per_day, per_week


@dataclass(frozen=True)
class _Limits:
    """The booking limits and the counts they are compared with (rule "Booking limits")."""

    per_day: int | None
    per_week: int | None
    booked_per_day: Mapping[date, int]
    booked_per_week: Mapping[IsoWeek, int]

    def reached_on(self, day: date) -> bool:
        if self.per_day is not None and self.booked_per_day.get(day, 0) >= self.per_day:
            return True
        return self.per_week is not None and self.booked_per_week.get(iso_week(day), 0) >= self.per_week


def _limits(
    max_bookings_per_day: int | None,
    max_bookings_per_week: int | None,
    bookings_per_day: Mapping[date, int] | None,
    bookings_per_week: Mapping[IsoWeek, int] | None,
) -> _Limits:
    for name, value in (
        ("max_bookings_per_day", max_bookings_per_day),
        ("max_bookings_per_week", max_bookings_per_week),
    ):
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative")
    return _Limits(max_bookings_per_day, max_bookings_per_week, bookings_per_day or {}, bookings_per_week or {})


def _check_inputs(
    *,
    now: datetime,
    session_minutes: int,
    interval_minutes: int | None,
    buffer_minutes: int,
    minimum_notice_minutes: int,
    advance_booking_days: int,
    weekly: Mapping[int, Sequence[TimeRange]],
) -> dict[int, tuple[TimeRange, ...]]:
    """Refuse impossible inputs; return the weekly ranges normalised."""
    _require_aware("now", now)
    if session_minutes <= 0:
        raise ValueError("session_minutes must be positive")
    if interval_minutes is not None and interval_minutes <= 0:
        raise ValueError("interval_minutes must be positive")
    if buffer_minutes < 0 or minimum_notice_minutes < 0 or advance_booking_days < 0:
        raise ValueError("buffer, notice and advance window must not be negative")
    weekly_norm: dict[int, tuple[TimeRange, ...]] = {}
    for weekday, ranges in weekly.items():
        if weekday not in range(7):
            raise ValueError(f"weekday must be 0..6 (0=Monday), got {weekday!r}")
        weekly_norm[weekday] = _normalize_ranges(ranges, f"weekly[{weekday}]")
    return weekly_norm


# --------------------------------------------------------------------------- #
# public API
# --------------------------------------------------------------------------- #


def free_slot_starts(
    *,
    weekly: Mapping[int, Sequence[TimeRange]],
    overrides: Mapping[date, Sequence[TimeRange]],
    timezone: str,
    busy: Iterable[tuple[datetime | int, datetime | int]],
    buffer_minutes: int,
    minimum_notice_minutes: int,
    advance_booking_days: int,
    now: datetime,
    session_minutes: int,
    window_start: datetime,
    window_end: datetime,
    interval_minutes: int | None = None,
    max_bookings_per_day: int | None = None,
    max_bookings_per_week: int | None = None,
    bookings_per_day: Mapping[date, int] | None = None,
    bookings_per_week: Mapping[IsoWeek, int] | None = None,
) -> list[int]:
    """The starts of the slots :func:`compute_slots` returns, in epoch microseconds, sorted.

    Each slot lasts ``session_minutes``. The form for callers that render
    hundreds of slots: no ``datetime`` is built per slot. ``busy`` intervals
    are pairs of aware datetimes or of epoch microseconds (:func:`epoch_micros`).
    """
    weekly_norm = _check_inputs(
        now=now,
        session_minutes=session_minutes,
        interval_minutes=interval_minutes,
        buffer_minutes=buffer_minutes,
        minimum_notice_minutes=minimum_notice_minutes,
        advance_booking_days=advance_booking_days,
        weekly=weekly,
    )
    _require_aware("window_start", window_start)
    _require_aware("window_end", window_end)
    limits = _limits(max_bookings_per_day, max_bookings_per_week, bookings_per_day, bookings_per_week)
    tz = ZoneInfo(timezone)
    session = session_minutes * _MINUTE_MICROS
    step = (interval_minutes or session_minutes) * _MINUTE_MICROS
    buffer = buffer_minutes * _MINUTE_MICROS
    now_micros = epoch_micros(now)
    earliest = max(epoch_micros(window_start), now_micros + minimum_notice_minutes * _MINUTE_MICROS)
    latest = now_micros + advance_booking_days * _DAY_MICROS  # inclusive
    last_start = min(epoch_micros(window_end) - 1, latest)  # inclusive bound on S
    if earliest > last_start:
        # Still validate the busy input so bad data does not go unnoticed.
        _merge_busy(busy, buffer, earliest, earliest)
        return []

    busy_starts, busy_ends = _merge_busy(busy, buffer, earliest, last_start + session)
    n_busy = len(busy_starts)
    out: list[int] = []
    pointer = 0
    previous_start = earliest
    needs_sort = False

    day = _wall(from_epoch_micros(earliest), tz).date() - _ONE_DAY
    last_day = _wall(from_epoch_micros(last_start), tz).date() + _ONE_DAY
    next_offset = midnight_offset(day, tz)
    while day <= last_day:
        following = day + _ONE_DAY
        offset, next_offset = next_offset, midnight_offset(following, tz)
        ranges = _ranges_of(day, weekly_norm, overrides)
        if not ranges or limits.reached_on(day):
            day = following
            continue
        steady = offset if offset is not None and offset == next_offset else None  # see steady_offset
        for start in _day_starts(day, ranges, tz, steady, session, step):
            if start < earliest or start > last_start:
                continue
            # Sweep the merged busy intervals with a forward-only pointer.
            if start < previous_start:
                needs_sort = True  # only with overlapping input ranges
                pointer = bisect.bisect_right(busy_ends, start)
            previous_start = start
            while pointer < n_busy and busy_ends[pointer] <= start:
                pointer += 1
            if pointer < n_busy and busy_starts[pointer] < start + session:
                continue
            out.append(start)
        day = following

    if needs_sort:
        out = sorted(set(out))
    return out


def compute_slots(
    *,
    weekly: Mapping[int, Sequence[TimeRange]],
    overrides: Mapping[date, Sequence[TimeRange]],
    timezone: str,
    busy: Iterable[tuple[datetime | int, datetime | int]],
    buffer_minutes: int,
    minimum_notice_minutes: int,
    advance_booking_days: int,
    now: datetime,
    session_minutes: int,
    window_start: datetime,
    window_end: datetime,
    interval_minutes: int | None = None,
    max_bookings_per_day: int | None = None,
    max_bookings_per_week: int | None = None,
    bookings_per_day: Mapping[date, int] | None = None,
    bookings_per_week: Mapping[IsoWeek, int] | None = None,
) -> list[Slot]:
    """Free slots with ``window_start <= slot.start < window_end``.

    See the module docstring for the exact rules. Returns a list sorted by
    start; every ``Slot`` holds UTC-aware datetimes. ``busy`` intervals are
    pairs of aware datetimes or of epoch microseconds (:func:`epoch_micros`).
    """
    starts = free_slot_starts(
        weekly=weekly,
        overrides=overrides,
        timezone=timezone,
        busy=busy,
        buffer_minutes=buffer_minutes,
        minimum_notice_minutes=minimum_notice_minutes,
        advance_booking_days=advance_booking_days,
        now=now,
        session_minutes=session_minutes,
        window_start=window_start,
        window_end=window_end,
        interval_minutes=interval_minutes,
        max_bookings_per_day=max_bookings_per_day,
        max_bookings_per_week=max_bookings_per_week,
        bookings_per_day=bookings_per_day,
        bookings_per_week=bookings_per_week,
    )
    session = timedelta(minutes=session_minutes)
    return [Slot(start, start + session) for start in map(from_epoch_micros, starts)]


def slot_refusal(
    *,
    start: datetime,
    weekly: Mapping[int, Sequence[TimeRange]],
    overrides: Mapping[date, Sequence[TimeRange]],
    timezone: str,
    busy: Iterable[tuple[datetime | int, datetime | int]],
    buffer_minutes: int,
    minimum_notice_minutes: int,
    advance_booking_days: int,
    now: datetime,
    session_minutes: int,
    interval_minutes: int | None = None,
    max_bookings_per_day: int | None = None,
    max_bookings_per_week: int | None = None,
    bookings_per_day: Mapping[date, int] | None = None,
    bookings_per_week: Mapping[IsoWeek, int] | None = None,
) -> str | None:
    """Why a slot starting at ``start`` would not be offered, or None if ``compute_slots`` offers it.

    The same rules as :func:`compute_slots`, asked in the order of
    :data:`REFUSAL_ORDER`; the first that fails is the answer. Cheap: it looks
    at the one local date of ``start`` and filters ``busy`` in one pass.
    """
    weekly_norm = _check_inputs(
        now=now,
        session_minutes=session_minutes,
        interval_minutes=interval_minutes,
        buffer_minutes=buffer_minutes,
        minimum_notice_minutes=minimum_notice_minutes,
        advance_booking_days=advance_booking_days,
        weekly=weekly,
    )
    _require_aware("start", start)
    limits = _limits(max_bookings_per_day, max_bookings_per_week, bookings_per_day, bookings_per_week)
    tz = ZoneInfo(timezone)
    start, now = start.astimezone(UTC), now.astimezone(UTC)  # see _merge_busy
    session = timedelta(minutes=session_minutes)
    end = start + session
    if start < now:
        return IN_PAST
    if start < now + timedelta(minutes=minimum_notice_minutes):
        return MINIMUM_NOTICE
    if start > now + timedelta(days=advance_booking_days):
        return BEYOND_WINDOW
    day = _wall(start, tz).date()
    ranges = _ranges_of(day, weekly_norm, overrides)
    step = timedelta(minutes=interval_minutes or session_minutes)
    if Slot(start, end) not in _day_grid(day, ranges, tz, session, step):
        return OFF_GRID if _inside_a_range(start, end, day, ranges, tz) else OUTSIDE_AVAILABILITY
    if limits.reached_on(day):
        return LIMIT_REACHED
    busy = list(busy)
    start_micros, end_micros = epoch_micros(start), epoch_micros(end)
    if _merge_busy(busy, 0, start_micros, end_micros)[0]:
        return TAKEN
    if _merge_busy(busy, buffer_minutes * _MINUTE_MICROS, start_micros, end_micros)[0]:
        return BUFFER
    return None


def slot_is_offered(
    *,
    start: datetime,
    end: datetime,
    weekly: Mapping[int, Sequence[TimeRange]],
    overrides: Mapping[date, Sequence[TimeRange]],
    timezone: str,
    busy: Iterable[tuple[datetime, datetime]],
    buffer_minutes: int,
    minimum_notice_minutes: int,
    advance_booking_days: int,
    now: datetime,
    session_minutes: int,
    interval_minutes: int | None = None,
    max_bookings_per_day: int | None = None,
    max_bookings_per_week: int | None = None,
    bookings_per_day: Mapping[date, int] | None = None,
    bookings_per_week: Mapping[IsoWeek, int] | None = None,
) -> bool:
    """True iff ``(start, end)`` is exactly a slot ``compute_slots`` would offer."""
    _require_aware("start", start)
    _require_aware("end", end)
    if end.astimezone(UTC) - start.astimezone(UTC) != timedelta(minutes=session_minutes):
        return False
    refusal = slot_refusal(
        start=start,
        weekly=weekly,
        overrides=overrides,
        timezone=timezone,
        busy=busy,
        buffer_minutes=buffer_minutes,
        minimum_notice_minutes=minimum_notice_minutes,
        advance_booking_days=advance_booking_days,
        now=now,
        session_minutes=session_minutes,
        interval_minutes=interval_minutes,
        max_bookings_per_day=max_bookings_per_day,
        max_bookings_per_week=max_bookings_per_week,
        bookings_per_day=bookings_per_day,
        bookings_per_week=bookings_per_week,
    )
    return refusal is None


def student_date_window(*, start_date: date, days: int, timezone: str) -> tuple[datetime, datetime]:
    """UTC instants of local midnight at ``start_date`` and ``start_date + days``.

    Computed in ``timezone`` (e.g. the student's), DST-correct. If a local
    midnight does not exist (e.g. America/Santiago on 2026-09-06) the first
    existing instant after it is used; an ambiguous midnight uses its first
    occurrence.
    """
    if days < 0:
        raise ValueError("days must not be negative")
    tz = ZoneInfo(timezone)
    first = _resolve(datetime.combine(start_date, time(0)), tz)
    last = _resolve(datetime.combine(start_date + timedelta(days=days), time(0)), tz)
    return first, last


def weekly_occurrences(*, start: datetime, timezone: str, count: int, interval_weeks: int = 1) -> list[datetime]:
    """The UTC starts of a weekly series whose first session starts at ``start``.

    Every ``interval_weeks`` weeks, on the same weekday and at the same local
    wall time in ``timezone`` (the instructor's), so 18:00 stays 18:00 across
    DST changes. The first is ``start`` itself; each later wall time is
    resolved as RFC 5545 resolves a local time (``fold=0``): an ambiguous one
    is its first occurrence, one inside a spring-forward gap is read with the
    offset before the gap. Whether each can be booked is :func:`slot_refusal`'s
    question, asked per occurrence.
    """
    _require_aware("start", start)
    if count < 1:
        raise ValueError("count must be at least 1")
    if interval_weeks < 1:
        raise ValueError("interval_weeks must be at least 1")
    tz = ZoneInfo(timezone)
    first = start.astimezone(UTC)
    wall = _wall(first, tz)
    step = timedelta(weeks=interval_weeks)
    return [first] + [(wall + number * step).replace(tzinfo=tz, fold=0).astimezone(UTC) for number in range(1, count)]
