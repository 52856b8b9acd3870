"""Property tests for the pure slot engine (hypothesis, no Django, no database).

The brute-force reference at the bottom re-implements the written rule from the
``scheduling.slots`` docstring independently: it walks every UTC minute around
the window, reads the local wall clock, and derives "first occurrence",
"does not exist" and "range end instant" from the sequence of clock readings
instead of using ``fold``/``zoneinfo`` resolution.
"""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, time, timedelta
from datetime import timezone as fixed_timezone
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from scheduling.slots import (
    REFUSAL_ORDER,
    Slot,
    compute_slots,
    slot_is_offered,
    slot_refusal,
    student_date_window,
    weekly_occurrences,
)

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "America/Santiago", "UTC", "Asia/Kolkata"]
# Local dates of (or just before) the 2026 DST changes of the zones above.
DST_DATES = [
    date(2026, 3, 29),  # Berlin spring
    date(2026, 10, 25),  # Berlin fall
    date(2026, 3, 8),  # New York spring
    date(2026, 11, 1),  # New York fall
    date(2026, 4, 5),  # Lord Howe fall (30 min)
    date(2026, 10, 4),  # Lord Howe spring (30 min)
    date(2026, 4, 4),  # Santiago fall (midnight -> 23:00)
    date(2026, 9, 6),  # Santiago spring (midnight does not exist)
]
MINUTE = timedelta(minutes=1)
INSTANT = timedelta(microseconds=1)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
REFERENCE_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


# --------------------------------------------------------------------------- #
# strategies
# --------------------------------------------------------------------------- #

minute_of_day = st.one_of(
    st.integers(0, 95).map(lambda q: q * 15),  # realistic quarter hours
    st.integers(0, 1439),  # anything
    st.integers(0, 300),  # the night, where DST changes happen
    st.integers(1320, 1439),  # late evening (Santiago changes at midnight)
)


def to_time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


@st.composite
def day_ranges(draw: st.DrawFn, max_ranges: int = 3) -> list[tuple[time, time]]:
    """Sorted, non-overlapping (possibly touching) ranges of one day."""
    count = draw(st.sampled_from([1, 2, max_ranges, 0]))
    points = sorted(draw(st.lists(minute_of_day, min_size=2 * count, max_size=2 * count)))
    ranges = [(points[i], points[i + 1]) for i in range(0, len(points), 2)]
    return [(to_time(a), to_time(b)) for a, b in ranges if a < b]


@st.composite
def scenarios(draw: st.DrawFn, max_days: int, max_busy: int) -> dict[str, Any]:
    zone = draw(st.sampled_from(ZONES))
    tz = ZoneInfo(zone)
    base = draw(st.one_of(st.sampled_from(DST_DATES), st.dates(date(2026, 1, 3), date(2026, 12, 25))))
    start_date = base + timedelta(days=draw(st.integers(-2, 1)))
    days = draw(st.integers(1, max_days))

    if draw(st.booleans()):
        student_zone = draw(st.sampled_from(ZONES))
        window_start, window_end = student_date_window(start_date=start_date, days=days, timezone=student_zone)
    else:
        window_start = datetime.combine(start_date, time(0), tzinfo=UTC) + timedelta(
            minutes=draw(st.integers(-720, 720)), seconds=draw(st.sampled_from([0, 0, 0, 1, 59]))
        )
        window_end = window_start + timedelta(minutes=days * 1440 + draw(st.integers(-48, 48)) * 15)
        if draw(st.booleans()):  # windows may be given in any timezone
            window_start = window_start.astimezone(tz)

    weekly = {weekday: draw(day_ranges()) for weekday in range(7)}
    override_dates = st.dates(start_date - timedelta(days=1), start_date + timedelta(days=days + 1))
    overrides = draw(st.dictionaries(override_dates, day_ranges(), max_size=3))

    session = draw(st.sampled_from([15, 30, 45, 60, 90, 120]))
    interval = draw(st.one_of(st.none(), st.sampled_from([15, 30, 45, 60, 90])))
    # Instants on the instructor's local quarter-hour grid hit the edge cases
    # (slot ending exactly at a buffered booking, slot exactly at now + advance).
    local_midnight = datetime.combine(start_date, time(0), tzinfo=tz).astimezone(UTC)
    quarter = st.integers(-8 * 4, (days + 2) * 24 * 4).map(lambda k: local_midnight + k * timedelta(minutes=15))
    in_window = st.integers(0, days * 24 * 4).map(lambda k: local_midnight + k * timedelta(minutes=15))
    anywhere = st.integers(-600, days * 1440 + 600).map(lambda m: window_start.astimezone(UTC) + m * MINUTE)
    busy_zones = [UTC, tz, fixed_timezone(timedelta(hours=5, minutes=45))]
    busy = []
    for _ in range(draw(st.integers(0, max_busy))):
        start = draw(st.one_of(quarter, anywhere)) + timedelta(seconds=draw(st.sampled_from([0, 0, 0, 30])))
        length = timedelta(minutes=draw(st.one_of(st.sampled_from([15, 30, 45, 60, 90]), st.integers(0, 300))))
        busy_tz = draw(st.sampled_from(busy_zones))
        busy.append((start.astimezone(busy_tz), (start + length).astimezone(busy_tz)))

    # Booking limits: usually none; otherwise small limits and counts on the dates and ISO weeks around the window.
    local_dates = [start_date + timedelta(days=offset) for offset in range(-2, days + 2)]
    max_per_day = draw(st.one_of(st.none(), st.none(), st.integers(0, 3)))
    max_per_week = draw(st.one_of(st.none(), st.none(), st.integers(0, 6)))
    per_day = draw(st.dictionaries(st.sampled_from(local_dates), st.integers(0, 4), max_size=4))
    weeks = sorted({day.isocalendar()[:2] for day in local_dates})
    per_week = draw(st.dictionaries(st.sampled_from(weeks), st.integers(0, 7), max_size=2))

    advance_days = draw(st.sampled_from([400, 0, 1, 2, 3, 7, 400, 400]))
    now_kind = draw(st.sampled_from(["advance_edge", "notice_edge", "anywhere"]))
    if now_kind == "advance_edge":  # now + advance lands on the local grid
        now = draw(in_window) - timedelta(days=advance_days)
    elif now_kind == "notice_edge":  # now lands on the local grid
        now = draw(in_window)
    else:
        now = window_start.astimezone(UTC) + draw(st.integers(-3 * 1440, 1440)) * MINUTE
    return {
        "weekly": weekly,
        "overrides": overrides,
        "timezone": zone,
        "busy": busy,
        "buffer_minutes": draw(st.sampled_from([0, 0, 5, 10, 15, 30, 60])),
        "minimum_notice_minutes": draw(st.sampled_from([0, 0, 0, 30, 60, 240, 1440])),
        "advance_booking_days": advance_days,
        "now": now,
        "session_minutes": session,
        "window_start": window_start,
        "window_end": window_end,
        "interval_minutes": interval,
        "max_bookings_per_day": max_per_day,
        "max_bookings_per_week": max_per_week,
        "bookings_per_day": per_day,
        "bookings_per_week": per_week,
    }


def fixed_case(zone: str, day: date, ranges: list[tuple[time, time]], session: int, **extra: Any) -> dict[str, Any]:
    """Hand-written scenario for @example: all weekdays get ``ranges``."""
    window_start, window_end = student_date_window(start_date=day, days=1, timezone=zone)
    case: dict[str, Any] = {
        "weekly": {weekday: ranges for weekday in range(7)},
        "overrides": {},
        "timezone": zone,
        "busy": [],
        "buffer_minutes": 0,
        "minimum_notice_minutes": 0,
        "advance_booking_days": 10,
        "now": window_start - timedelta(days=1),
        "session_minutes": session,
        "window_start": window_start,
        "window_end": window_end,
        "interval_minutes": None,
    }
    case.update(extra)
    return case


EXAMPLES = [
    fixed_case("Australia/Lord_Howe", date(2026, 10, 4), [(time(1), time(4))], 60),
    fixed_case("Europe/Berlin", date(2026, 3, 29), [(time(1), time(5))], 45),
    fixed_case("Australia/Lord_Howe", date(2026, 10, 4), [(time(1, 45), time(5))], 60),
    fixed_case("Australia/Lord_Howe", date(2026, 4, 5), [(time(0, 50), time(3))], 30, interval_minutes=15),
    fixed_case("Europe/Berlin", date(2026, 3, 29), [(time(1), time(2, 30))], 30),
    fixed_case("Europe/Berlin", date(2026, 3, 29), [(time(1, 45), time(6))], 90),
    fixed_case("Europe/Berlin", date(2026, 10, 25), [(time(1), time(2, 30)), (time(2, 30), time(4))], 30),
    fixed_case("America/Santiago", date(2026, 4, 4), [(time(22), time(23, 59))], 30, interval_minutes=15),
    fixed_case("America/Santiago", date(2026, 9, 6), [(time(0), time(2))], 30),
    fixed_case("America/New_York", date(2026, 11, 1), [(time(0, 30), time(3))], 45, interval_minutes=15),
]


# --------------------------------------------------------------------------- #
# helpers
# --------------------------------------------------------------------------- #


def ranges_on(case: dict[str, Any], day: date) -> list[tuple[time, time]]:
    if day in case["overrides"]:
        return list(case["overrides"][day])
    return list(case["weekly"].get(day.weekday(), []))


def step_of(case: dict[str, Any]) -> int:
    return case["interval_minutes"] or case["session_minutes"]


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return max(a_start, b_start) < min(a_end, b_end)


def buffered_busy(case: dict[str, Any]) -> list[tuple[datetime, datetime]]:
    """Busy intervals widened by the buffer, in absolute (UTC) time.

    Converted to UTC first: arithmetic on a zone-aware datetime is wall-clock
    arithmetic and would be wrong across DST changes.
    """
    buffer = timedelta(minutes=case["buffer_minutes"])
    return [(b0.astimezone(UTC) - buffer, b1.astimezone(UTC) + buffer) for b0, b1 in case["busy"]]


def day_or_week_is_full(case: dict[str, Any], start: datetime) -> bool:
    """The limits rule, read directly: the instructor-local date of ``start``, or its ISO week, is at its limit."""
    local_day = start.astimezone(ZoneInfo(case["timezone"])).date()
    year, week, _ = local_day.isocalendar()
    max_day, max_week = case.get("max_bookings_per_day"), case.get("max_bookings_per_week")
    day_full = max_day is not None and case.get("bookings_per_day", {}).get(local_day, 0) >= max_day
    week_full = max_week is not None and case.get("bookings_per_week", {}).get((year, week), 0) >= max_week
    return day_full or week_full


NO_LIMITS = {"max_bookings_per_day": None, "max_bookings_per_week": None}


def without_window(case: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in case.items() if k not in ("window_start", "window_end")}


# --------------------------------------------------------------------------- #
# properties
# --------------------------------------------------------------------------- #


@PROPERTY_SETTINGS
@given(case=scenarios(max_days=8, max_busy=25))
def test_slot_invariants(case: dict[str, Any]) -> None:
    slots = compute_slots(**case)
    tz = ZoneInfo(case["timezone"])
    session = timedelta(minutes=case["session_minutes"])
    step = step_of(case)
    now = case["now"]

    for slot in slots:
        # (1) no slot overlaps a buffered busy interval
        for b_start, b_end in buffered_busy(case):
            assert not overlaps(slot.start, slot.end, b_start, b_end), (slot, b_start, b_end)

        # (2) inside an availability range, in local wall time, on the grid
        local_start = slot.start.astimezone(tz)
        assert local_start.fold == 0, "ambiguous local times are only offered at their first occurrence"
        wall_start = local_start.replace(tzinfo=None)
        wall_end = slot.end.astimezone(tz).replace(tzinfo=None)
        day = wall_start.date()
        assert wall_end.date() == day, "a slot never crosses local midnight"
        assert any(
            datetime.combine(day, rs) <= wall_start
            and wall_end <= datetime.combine(day, re)
            and (wall_start - datetime.combine(day, rs)) % timedelta(minutes=step) == timedelta(0)
            for rs, re in ranges_on(case, day)
        ), slot

        # (3) not in the past, not inside the notice, not beyond the advance window, inside the window
        assert slot.start >= now
        assert slot.start >= now + timedelta(minutes=case["minimum_notice_minutes"])
        assert slot.start <= now + timedelta(days=case["advance_booking_days"])
        assert case["window_start"] <= slot.start < case["window_end"]

        # (3b) never on a local day or ISO week at its booking limit
        assert not day_or_week_is_full(case, slot.start), slot

        # (4a) UTC, correct length
        assert slot.start.tzinfo is UTC and slot.end.tzinfo is UTC
        assert slot.end - slot.start == session

    # (4b) sorted, no duplicates, non-overlapping whenever the grid step allows it
    assert all(a.start < b.start for a, b in pairwise(slots))
    if step >= case["session_minutes"]:
        assert all(a.end <= b.start for a, b in pairwise(slots))


@PROPERTY_SETTINGS
@given(case=scenarios(max_days=4, max_busy=8), data=st.data())
def test_slot_is_offered_agrees_with_compute_slots(case: dict[str, Any], data: st.DataObject) -> None:
    slots = compute_slots(**case)
    offered = set(slots)
    session = timedelta(minutes=case["session_minutes"])
    probes = {slot.start for slot in slots}
    probes |= {slot.start + MINUTE for slot in slots[:5]} | {slot.start - MINUTE for slot in slots[:5]}
    span = case["window_end"] - case["window_start"]
    if span > timedelta(0):
        for _ in range(5):
            minutes = data.draw(st.integers(0, int(span / MINUTE)))
            probes.add(case["window_start"].astimezone(UTC) + minutes * MINUTE)
    for probe in probes:
        if not case["window_start"] <= probe < case["window_end"]:
            continue
        expected = Slot(probe, probe + session) in offered
        assert slot_is_offered(start=probe, end=probe + session, **without_window(case)) == expected, probe
    for slot in slots[:3]:
        assert not slot_is_offered(start=slot.start, end=slot.end + MINUTE, **without_window(case))


def inside_a_range_by_the_wall_clock(case: dict[str, Any], start: datetime, end: datetime) -> bool:
    """[start, end) read on the instructor's clock lies in one range of its local date (grid ignored)."""
    tz = ZoneInfo(case["timezone"])
    wall_start = start.astimezone(tz).replace(tzinfo=None)
    wall_end = end.astimezone(tz).replace(tzinfo=None)
    day = wall_start.date()
    return wall_end.date() == day and any(
        datetime.combine(day, rs) <= wall_start and wall_end <= datetime.combine(day, re)
        for rs, re in ranges_on(case, day)
    )


@PROPERTY_SETTINGS
@given(case=scenarios(max_days=4, max_busy=8), data=st.data())
def test_slot_refusal_names_the_first_rule_that_fails(case: dict[str, Any], data: st.DataObject) -> None:
    """The reason is None exactly for offered slots, and each reason is true of the probe."""
    slots = compute_slots(**case)
    session = timedelta(minutes=case["session_minutes"])
    now = case["now"].astimezone(UTC)
    rules = without_window(case)
    probes = {slot.start for slot in slots[:10]} | {slot.start + 5 * MINUTE for slot in slots[:5]}
    for busy_start, _ in case["busy"][:5]:
        probes.add(busy_start.astimezone(UTC))
    span = case["window_end"] - case["window_start"]
    if span > timedelta(0):
        for _ in range(8):
            probes.add(case["window_start"].astimezone(UTC) + data.draw(st.integers(0, int(span / MINUTE))) * MINUTE)
    for probe in probes:
        reason = slot_refusal(start=probe, **rules)
        end = probe + session
        assert reason in (None, *REFUSAL_ORDER)
        assert (reason is None) == (
            compute_slots(**{**case, "window_start": probe, "window_end": probe + INSTANT}) == [Slot(probe, end)]
        ), (probe, reason)
        in_time = (
            now + timedelta(minutes=case["minimum_notice_minutes"])
            <= probe
            <= now + timedelta(days=case["advance_booking_days"])
        )
        if reason == "in_past":
            assert probe < now
        elif reason == "minimum_notice":
            assert now <= probe < now + timedelta(minutes=case["minimum_notice_minutes"])
        elif reason == "beyond_window":
            assert probe > now + timedelta(days=case["advance_booking_days"]) and probe >= now
        else:
            assert in_time, (probe, reason)
        if reason in ("outside_availability", "off_grid"):
            # About the schedule only: the same answer with no bookings at all, and without limits.
            assert slot_refusal(start=probe, **{**rules, "busy": []}) == reason
            assert slot_refusal(start=probe, **{**rules, **NO_LIMITS}) == reason
        if reason == "limit_reached":
            assert day_or_week_is_full(case, probe)
            assert slot_refusal(start=probe, **{**rules, **NO_LIMITS}) in (None, "taken", "buffer")
        elif reason is None or reason in ("taken", "buffer"):
            assert not day_or_week_is_full(case, probe)
        if reason == "off_grid":
            assert inside_a_range_by_the_wall_clock(case, probe, end)
        if reason in ("taken", "buffer"):
            assert slot_refusal(start=probe, **{**rules, "busy": []}) is None
            assert slot_refusal(start=probe, **{**rules, **NO_LIMITS}) == reason
            touches_a_booking = any(
                overlaps(probe, end, b0.astimezone(UTC), b1.astimezone(UTC)) for b0, b1 in case["busy"]
            )
            assert touches_a_booking == (reason == "taken")
            if reason == "buffer":
                assert slot_refusal(start=probe, **{**rules, "buffer_minutes": 0}) is None


@PROPERTY_SETTINGS
@given(case=scenarios(max_days=6, max_busy=10), cut=st.floats(0, 1))
def test_splitting_the_window_does_not_change_the_result(case: dict[str, Any], cut: float) -> None:
    whole = compute_slots(**case)
    span = case["window_end"] - case["window_start"]
    middle = case["window_start"].astimezone(UTC) + max(span, timedelta(0)) * cut
    first = compute_slots(**{**case, "window_end": middle})
    second = compute_slots(**{**case, "window_start": middle})
    assert first + second == whole


@PROPERTY_SETTINGS
@given(
    zone=st.sampled_from(ZONES),
    base=st.one_of(st.sampled_from(DST_DATES), st.dates(date(2026, 1, 3), date(2026, 12, 25))),
    days_before=st.integers(0, 60),
    minute=minute_of_day,
    count=st.integers(1, 26),
    interval=st.integers(1, 4),
)
def test_weekly_occurrences_keep_the_local_wall_time(
    zone: str, base: date, days_before: int, minute: int, count: int, interval: int
) -> None:
    """Every occurrence reads the first one's wall time, a whole number of weeks later, at its first occurrence.

    Read independently of the implementation: a wall time "exists" when one of its
    two ``fold`` readings round-trips; then the earliest such instant is expected.
    Otherwise it lies in a spring-forward gap and the clock reads a little later.
    """
    tz = ZoneInfo(zone)
    first_wall = datetime.combine(base - timedelta(days=days_before), to_time(minute))
    first = first_wall.replace(tzinfo=tz).astimezone(UTC)
    wall = first.astimezone(tz).replace(tzinfo=None)  # the first occurrence as the instructor reads it

    occurrences = weekly_occurrences(start=first, timezone=zone, count=count, interval_weeks=interval)

    assert len(occurrences) == count and occurrences[0] == first
    assert all(earlier < later for earlier, later in pairwise(occurrences))
    for number, occurrence in enumerate(occurrences):
        target = wall + timedelta(weeks=number * interval)
        readings = [target.replace(tzinfo=tz, fold=fold).astimezone(UTC) for fold in (0, 1)]
        existing = [instant for instant in readings if instant.astimezone(tz).replace(tzinfo=None) == target]
        if existing:
            assert occurrence == min(existing), (number, target)
        else:
            reads = occurrence.astimezone(tz).replace(tzinfo=None)
            assert target < reads <= target + timedelta(hours=1), (number, target, reads)


def with_examples(test: Any) -> Any:
    for case in reversed(EXAMPLES):
        test = example(case=case)(test)
    return test


@REFERENCE_SETTINGS
@given(case=scenarios(max_days=3, max_busy=5))
@with_examples
def test_matches_brute_force_reference(case: dict[str, Any]) -> None:
    assert compute_slots(**case) == reference_slots(case)


def test_examples_are_not_trivial() -> None:
    # guard: the hand-written DST examples do produce slots
    assert all(reference_slots(case) for case in EXAMPLES)


# --------------------------------------------------------------------------- #
# brute-force reference
# --------------------------------------------------------------------------- #


def reference_slots(case: dict[str, Any]) -> list[Slot]:
    """Minute-by-minute implementation of the rule in ``scheduling.slots``.

    * ``walls[i]`` is the local clock reading at UTC minute ``i`` of the scan.
    * A minute is the *first reading* of its wall time iff the clock never read
      that time (or later) before: it is the only possible slot start for that
      wall time (wall times never read do not exist; later readings of the same
      wall time are the second occurrence of an ambiguous time).
    * The range end instant is the first minute whose reading is >= the range end.
    * Spacing: kept grid starts of one range are >= step minutes apart.
    """
    tz = ZoneInfo(case["timezone"])
    session = case["session_minutes"]
    step = step_of(case)
    window_start = case["window_start"]
    window_end = case["window_end"]
    now = case["now"]

    busy = buffered_busy(case)
    scan_start = window_start.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(days=3)
    scan_minutes = int((window_end - scan_start) / MINUTE) + 3 * 1440 + session + 2
    instants = [scan_start + i * MINUTE for i in range(scan_minutes)]
    walls = [t.astimezone(tz).replace(tzinfo=None) for t in instants]
    running_max: list[datetime] = []
    first_reading: list[bool] = []
    for wall in walls:
        first_reading.append(not running_max or wall > running_max[-1])
        running_max.append(wall if not running_max else max(wall, running_max[-1]))

    def first_index_reading_at_least(wall: datetime) -> int:
        return bisect.bisect_left(running_max, wall)

    result: list[Slot] = []
    day = window_start.astimezone(tz).date() - timedelta(days=1)
    last_day = window_end.astimezone(tz).date() + timedelta(days=1)
    while day <= last_day:
        for range_start, range_end in ranges_on(case, day):
            start_wall = datetime.combine(day, range_start)
            end_wall = datetime.combine(day, range_end)
            lo = first_index_reading_at_least(start_wall)
            end_index = first_index_reading_at_least(end_wall)
            assert lo > 0 and end_index < scan_minutes - session, "scan too short"
            kept: int | None = None
            for i in range(lo, end_index):
                if not first_reading[i]:
                    continue
                offset = walls[i] - start_wall
                if offset % timedelta(minutes=step):
                    continue  # not on the grid
                if kept is not None and i - kept < step:
                    continue  # spacing rule
                kept = i
                j = i + session
                if j > end_index or walls[j] > end_wall or walls[j].date() != day:
                    continue
                start, end = instants[i], instants[j]
                if not window_start <= start < window_end:
                    continue
                if start < now + timedelta(minutes=case["minimum_notice_minutes"]):
                    continue
                if start > now + timedelta(days=case["advance_booking_days"]):
                    continue
                if any(overlaps(start, end, b0, b1) for b0, b1 in busy):
                    continue
                if day_or_week_is_full(case, start):
                    continue
                result.append(Slot(start, end))
        day += timedelta(days=1)
    return sorted(set(result), key=lambda slot: slot.start)
