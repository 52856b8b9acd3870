"""Example-based tests for the pure slot engine (no Django, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from scheduling.slots import (
    EPOCH,
    REFUSAL_ORDER,
    Slot,
    compute_slots,
    count_bookings,
    epoch_micros,
    free_slot_starts,
    from_epoch_micros,
    iso_week,
    slot_is_offered,
    slot_refusal,
    steady_offset,
    student_date_window,
    weekly_occurrences,
)

BERLIN = "Europe/Berlin"
NEW_YORK = "America/New_York"
LORD_HOWE = "Australia/Lord_Howe"
SANTIAGO = "America/Santiago"

MONDAY = date(2026, 6, 1)  # a Monday without any DST change nearby
assert MONDAY.weekday() == 0

EVERY_DAY = range(7)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly_all(*ranges: tuple[time, time]) -> dict[int, list[tuple[time, time]]]:
    return {weekday: list(ranges) for weekday in EVERY_DAY}


def base_kwargs(**overrides: object) -> dict[str, object]:
    """Defaults: UTC instructor, no bookings, no notice, big advance window."""
    kwargs: dict[str, object] = {
        "weekly": {0: [(time(9), time(12))]},
        "overrides": {},
        "timezone": "UTC",
        "busy": [],
        "buffer_minutes": 0,
        "minimum_notice_minutes": 0,
        "advance_booking_days": 365,
        "now": utc(2026, 1, 1),
        "session_minutes": 60,
    }
    kwargs.update(overrides)
    return kwargs


def slots_for(start_date: date, days: int = 1, **overrides: object) -> list[Slot]:
    kwargs = base_kwargs(**overrides)
    window_start, window_end = student_date_window(start_date=start_date, days=days, timezone=str(kwargs["timezone"]))
    kwargs.setdefault("window_start", window_start)
    kwargs.setdefault("window_end", window_end)
    return compute_slots(**kwargs)  # type: ignore[arg-type]


def starts(slots: list[Slot]) -> list[datetime]:
    return [slot.start for slot in slots]


def local_starts(slots: list[Slot], tz_name: str) -> list[str]:
    tz = ZoneInfo(tz_name)
    return [slot.start.astimezone(tz).strftime("%m-%d %H:%M%z") for slot in slots]


# --------------------------------------------------------------------------- #
# grid and ranges
# --------------------------------------------------------------------------- #


def test_grid_starts_at_range_start_and_slot_must_fit():
    slots = slots_for(MONDAY, weekly={0: [(time(9, 10), time(11))]}, session_minutes=30)
    assert starts(slots) == [utc(2026, 6, 1, 9, 10), utc(2026, 6, 1, 9, 40), utc(2026, 6, 1, 10, 10)]
    assert all(slot.end - slot.start == timedelta(minutes=30) for slot in slots)


def test_interval_minutes_gives_overlapping_grid():
    slots = slots_for(MONDAY, weekly={0: [(time(9), time(11))]}, interval_minutes=30)
    assert starts(slots) == [utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 30), utc(2026, 6, 1, 10)]
    assert [slot.end for slot in slots] == [utc(2026, 6, 1, 10), utc(2026, 6, 1, 10, 30), utc(2026, 6, 1, 11)]


def test_interval_larger_than_session():
    slots = slots_for(MONDAY, weekly={0: [(time(9), time(12))]}, session_minutes=45, interval_minutes=60)
    assert starts(slots) == [utc(2026, 6, 1, 9), utc(2026, 6, 1, 10), utc(2026, 6, 1, 11)]


def test_several_ranges_a_day():
    weekly = {0: [(time(14), time(15, 30)), (time(9), time(10))]}  # unsorted on purpose
    slots = slots_for(MONDAY, weekly=weekly, session_minutes=30)
    assert starts(slots) == [
        utc(2026, 6, 1, 9),
        utc(2026, 6, 1, 9, 30),
        utc(2026, 6, 1, 14),
        utc(2026, 6, 1, 14, 30),
        utc(2026, 6, 1, 15),
    ]


def test_range_too_short_for_a_session_gives_nothing():
    assert slots_for(MONDAY, weekly={0: [(time(9), time(9, 59))]}) == []


def test_range_ending_at_2359_cannot_cross_midnight():
    slots = slots_for(MONDAY, weekly={0: [(time(22), time(23, 59))]})
    assert starts(slots) == [utc(2026, 6, 1, 22)]


def test_only_weekdays_with_ranges_have_slots():
    slots = slots_for(MONDAY, days=7, weekly={2: [(time(9), time(10))]})
    assert starts(slots) == [utc(2026, 6, 3, 9)]


# --------------------------------------------------------------------------- #
# overrides
# --------------------------------------------------------------------------- #


def test_override_replaces_weekday_ranges():
    overrides = {MONDAY: [(time(15), time(17))]}
    slots = slots_for(MONDAY, days=8, overrides=overrides)
    assert starts(slots) == [
        utc(2026, 6, 1, 15),
        utc(2026, 6, 1, 16),
        # next Monday uses the weekly ranges again
        utc(2026, 6, 8, 9),
        utc(2026, 6, 8, 10),
        utc(2026, 6, 8, 11),
    ]


def test_override_on_a_day_without_weekly_ranges_adds_availability():
    slots = slots_for(date(2026, 6, 2), overrides={date(2026, 6, 2): [(time(8), time(9))]})
    assert starts(slots) == [utc(2026, 6, 2, 8)]


def test_empty_override_means_unavailable():
    assert slots_for(MONDAY, overrides={MONDAY: []}) == []


def test_override_date_is_the_instructors_local_date():
    # Kolkata is UTC+05:30: local Monday 02:00-04:00 is Sunday 20:30-22:30 UTC.
    slots = slots_for(
        MONDAY,
        timezone="Asia/Kolkata",
        weekly={},
        overrides={MONDAY: [(time(2), time(4))]},
    )
    assert starts(slots) == [utc(2026, 5, 31, 20, 30), utc(2026, 5, 31, 21, 30)]


# --------------------------------------------------------------------------- #
# bookings and buffers
# --------------------------------------------------------------------------- #


def test_buffer_applies_on_both_sides():
    busy = [(utc(2026, 6, 1, 12), utc(2026, 6, 1, 13))]
    kwargs = base_kwargs(
        weekly={0: [(time(10), time(15))]},
        busy=busy,
        buffer_minutes=15,
        session_minutes=30,
        interval_minutes=1,
    )
    slots = compute_slots(**kwargs, window_start=utc(2026, 6, 1), window_end=utc(2026, 6, 2))
    offered = set(starts(slots))
    # ending exactly 15 minutes before the booking: allowed; one minute later: not
    assert utc(2026, 6, 1, 11, 15) in offered
    assert utc(2026, 6, 1, 11, 16) not in offered
    # starting exactly 15 minutes after the booking: allowed; one minute earlier: not
    assert utc(2026, 6, 1, 13, 15) in offered
    assert utc(2026, 6, 1, 13, 14) not in offered
    assert not any(utc(2026, 6, 1, 11, 16) <= s <= utc(2026, 6, 1, 13, 14) for s in offered)


def test_adjacent_booking_without_buffer_is_allowed():
    busy = [(utc(2026, 6, 1, 10), utc(2026, 6, 1, 11))]
    slots = slots_for(MONDAY, busy=busy)
    assert starts(slots) == [utc(2026, 6, 1, 9), utc(2026, 6, 1, 11)]


def test_overlapping_and_unsorted_busy_intervals():
    busy = [
        (utc(2026, 6, 1, 11, 30), utc(2026, 6, 1, 11, 45)),
        (utc(2026, 6, 1, 9, 15), utc(2026, 6, 1, 9, 30)),
        (utc(2026, 6, 1, 9, 20), utc(2026, 6, 1, 10, 5)),
    ]
    slots = slots_for(MONDAY, busy=busy, weekly={0: [(time(9), time(13))]})
    assert starts(slots) == [utc(2026, 6, 1, 12)]


def test_busy_interval_in_another_timezone():
    new_york = ZoneInfo(NEW_YORK)
    # 06:00-07:00 in New York (EDT, -04:00) is 10:00-11:00 UTC
    busy = [(datetime(2026, 6, 1, 6, tzinfo=new_york), datetime(2026, 6, 1, 7, tzinfo=new_york))]
    slots = slots_for(MONDAY, busy=busy)
    assert starts(slots) == [utc(2026, 6, 1, 9), utc(2026, 6, 1, 11)]


def test_zero_length_busy_interval_blocks_only_with_buffer():
    busy = [(utc(2026, 6, 1, 10, 30), utc(2026, 6, 1, 10, 30))]
    assert len(slots_for(MONDAY, busy=busy)) == 3
    assert starts(slots_for(MONDAY, busy=busy, buffer_minutes=10)) == [utc(2026, 6, 1, 9), utc(2026, 6, 1, 11)]


# --------------------------------------------------------------------------- #
# now, notice and advance window
# --------------------------------------------------------------------------- #


def test_minimum_notice():
    slots = slots_for(
        MONDAY,
        weekly={0: [(time(9), time(12))]},
        session_minutes=30,
        now=utc(2026, 6, 1, 8, 50),
        minimum_notice_minutes=60,
    )
    # now + notice = 09:50, so 09:00 and 09:30 are too soon
    assert starts(slots)[0] == utc(2026, 6, 1, 10)


def test_slot_exactly_at_now_plus_notice_is_allowed():
    slots = slots_for(MONDAY, now=utc(2026, 6, 1, 8), minimum_notice_minutes=60)
    assert starts(slots)[0] == utc(2026, 6, 1, 9)


def test_past_slots_are_not_offered():
    slots = slots_for(MONDAY, now=utc(2026, 6, 1, 10))
    assert starts(slots) == [utc(2026, 6, 1, 10), utc(2026, 6, 1, 11)]
    assert slots_for(MONDAY, now=utc(2026, 6, 1, 10, 0, 1)) == slots[1:]


def test_advance_window_is_inclusive():
    now = utc(2026, 6, 1, 10)
    slots = slots_for(MONDAY, days=14, now=now, advance_booking_days=7)
    # today 10:00 and 11:00, next Monday up to exactly now + 7 days (10:00)
    assert starts(slots) == [
        utc(2026, 6, 1, 10),
        utc(2026, 6, 1, 11),
        utc(2026, 6, 8, 9),
        utc(2026, 6, 8, 10),
    ]


def test_window_bounds_start_inclusive_end_exclusive():
    kwargs = base_kwargs()
    slots = compute_slots(**kwargs, window_start=utc(2026, 6, 1, 10), window_end=utc(2026, 6, 1, 11))
    assert starts(slots) == [utc(2026, 6, 1, 10)]
    assert compute_slots(**kwargs, window_start=utc(2026, 6, 1, 11), window_end=utc(2026, 6, 1, 11)) == []


# --------------------------------------------------------------------------- #
# time zones and DST
# --------------------------------------------------------------------------- #


def test_berlin_spring_forward_keeps_local_morning_range():
    slots = slots_for(date(2026, 3, 28), days=3, timezone=BERLIN, weekly=weekly_all((time(9), time(12))))
    assert local_starts(slots, BERLIN) == [
        "03-28 09:00+0100",
        "03-28 10:00+0100",
        "03-28 11:00+0100",
        "03-29 09:00+0200",
        "03-29 10:00+0200",
        "03-29 11:00+0200",
        "03-30 09:00+0200",
        "03-30 10:00+0200",
        "03-30 11:00+0200",
    ]
    assert slots[0].start == utc(2026, 3, 28, 8)
    assert slots[3].start == utc(2026, 3, 29, 7)


def test_berlin_spring_forward_night_range_skips_nonexistent_hour():
    # 2026-03-29 02:00 CET -> 03:00 CEST: 02:00 does not exist.
    slots = slots_for(date(2026, 3, 29), timezone=BERLIN, weekly=weekly_all((time(1), time(4))))
    assert slots == [
        Slot(utc(2026, 3, 29, 0), utc(2026, 3, 29, 1)),  # 01:00 CET -> 03:00 CEST
        Slot(utc(2026, 3, 29, 1), utc(2026, 3, 29, 2)),  # 03:00 CEST -> 04:00 CEST
    ]


def test_berlin_range_ending_inside_the_gap():
    # Range 01:00-02:30 on the spring-forward day: the slot 01:00-02:00 CET would
    # end at the transition instant, whose wall clock reads 03:00 > 02:30.
    weekly = weekly_all((time(1), time(2, 30)))
    assert slots_for(date(2026, 3, 29), timezone=BERLIN, weekly=weekly) == []
    slots = slots_for(date(2026, 3, 29), timezone=BERLIN, weekly=weekly, session_minutes=30)
    assert slots == [Slot(utc(2026, 3, 29, 0), utc(2026, 3, 29, 0, 30))]


def test_berlin_fall_back_keeps_local_morning_range():
    slots = slots_for(date(2026, 10, 24), days=2, timezone=BERLIN, weekly=weekly_all((time(9), time(12))))
    assert local_starts(slots, BERLIN) == [
        "10-24 09:00+0200",
        "10-24 10:00+0200",
        "10-24 11:00+0200",
        "10-25 09:00+0100",
        "10-25 10:00+0100",
        "10-25 11:00+0100",
    ]
    assert slots[0].start == utc(2026, 10, 24, 7)
    assert slots[3].start == utc(2026, 10, 25, 8)


def test_berlin_fall_back_night_range_takes_ambiguous_hour_once():
    # 2026-10-25 03:00 CEST -> 02:00 CET: 02:00-02:59 happens twice.
    slots = slots_for(date(2026, 10, 25), timezone=BERLIN, weekly=weekly_all((time(1), time(4))))
    assert slots == [
        Slot(utc(2026, 10, 24, 23), utc(2026, 10, 25, 0)),  # 01:00 CEST
        Slot(utc(2026, 10, 25, 0), utc(2026, 10, 25, 1)),  # 02:00 CEST (first occurrence)
        Slot(utc(2026, 10, 25, 2), utc(2026, 10, 25, 3)),  # 03:00 CET
    ]
    # the second 02:00 (CET, 01:00 UTC) is not offered
    assert utc(2026, 10, 25, 1) not in starts(slots)


def test_berlin_fall_back_range_ending_in_ambiguous_hour_uses_first_occurrence():
    # Range 01:00-02:30: ends at the first 02:30 (00:30 UTC).
    slots = slots_for(
        date(2026, 10, 25), timezone=BERLIN, weekly=weekly_all((time(1), time(2, 30))), session_minutes=30
    )
    assert starts(slots) == [
        utc(2026, 10, 24, 23),
        utc(2026, 10, 24, 23, 30),
        utc(2026, 10, 25, 0),
    ]
    assert slots[-1].end == utc(2026, 10, 25, 0, 30)


def test_new_york_dst_changes():
    weekly = weekly_all((time(9), time(10)))
    spring = slots_for(date(2026, 3, 7), days=2, timezone=NEW_YORK, weekly=weekly)
    assert starts(spring) == [utc(2026, 3, 7, 14), utc(2026, 3, 8, 13)]
    fall = slots_for(date(2026, 10, 31), days=2, timezone=NEW_YORK, weekly=weekly)
    assert starts(fall) == [utc(2026, 10, 31, 13), utc(2026, 11, 1, 14)]


def test_new_york_fall_back_night_range():
    # 2026-11-01 02:00 EDT -> 01:00 EST: 01:00-01:59 happens twice.
    slots = slots_for(
        date(2026, 11, 1), timezone=NEW_YORK, weekly=weekly_all((time(0, 30), time(3))), session_minutes=30
    )
    assert local_starts(slots, NEW_YORK) == [
        "11-01 00:30-0400",
        "11-01 01:00-0400",
        "11-01 01:30-0400",
        "11-01 02:00-0500",
        "11-01 02:30-0500",
    ]


def test_lord_howe_half_hour_spring_forward():
    # 2026-10-04 02:00 (+10:30) -> 02:30 (+11:00)
    slots = slots_for(
        date(2026, 10, 3), days=2, timezone=LORD_HOWE, weekly=weekly_all((time(1), time(4))), session_minutes=30
    )
    assert local_starts(slots, LORD_HOWE) == [
        "10-03 01:00+1030",
        "10-03 01:30+1030",
        "10-03 02:00+1030",
        "10-03 02:30+1030",
        "10-03 03:00+1030",
        "10-03 03:30+1030",
        "10-04 01:00+1030",
        "10-04 01:30+1030",
        # 10-04 02:00 does not exist
        "10-04 02:30+1100",
        "10-04 03:00+1100",
        "10-04 03:30+1100",
    ]
    assert starts(slots)[6:] == [
        utc(2026, 10, 3, 14, 30),
        utc(2026, 10, 3, 15),
        utc(2026, 10, 3, 15, 30),
        utc(2026, 10, 3, 16),
        utc(2026, 10, 3, 16, 30),
    ]


def test_lord_howe_spacing_rule_after_gap():
    # Grid 01:45, 02:45, 03:45: 02:45 (+11) is only 30 real minutes after 01:45
    # (+10:30), so it would overlap the 01:45 session and is dropped.
    slots = slots_for(date(2026, 10, 4), timezone=LORD_HOWE, weekly=weekly_all((time(1, 45), time(5))))
    assert slots == [
        Slot(utc(2026, 10, 3, 15, 15), utc(2026, 10, 3, 16, 15)),
        Slot(utc(2026, 10, 3, 16, 45), utc(2026, 10, 3, 17, 45)),
    ]


def test_lord_howe_half_hour_fall_back():
    # 2026-04-05 02:00 (+11:00) -> 01:30 (+10:30): 01:30-01:59 happens twice.
    slots = slots_for(date(2026, 4, 5), timezone=LORD_HOWE, weekly=weekly_all((time(1), time(3))), session_minutes=30)
    assert starts(slots) == [
        utc(2026, 4, 4, 14),  # 01:00 +11
        utc(2026, 4, 4, 14, 30),  # 01:30 +11 (first occurrence)
        utc(2026, 4, 4, 15, 30),  # 02:00 +10:30
        utc(2026, 4, 4, 16),  # 02:30 +10:30
    ]


def test_lord_howe_morning_range_stays_local():
    weekly = weekly_all((time(9), time(10)))
    slots = slots_for(date(2026, 10, 3), days=2, timezone=LORD_HOWE, weekly=weekly)
    assert starts(slots) == [utc(2026, 10, 2, 22, 30), utc(2026, 10, 3, 22)]


def test_santiago_fall_back_across_midnight():
    # 2026-04-05 00:00 (-03) -> 2026-04-04 23:00 (-04): 23:00-23:59 on 04-04 twice.
    slots = slots_for(
        date(2026, 4, 4), timezone=SANTIAGO, weekly=weekly_all((time(22), time(23, 59))), session_minutes=30
    )
    # 23:30 (first) would end at 23:00 (second), after the first 23:59.
    assert starts(slots) == [utc(2026, 4, 5, 1), utc(2026, 4, 5, 1, 30), utc(2026, 4, 5, 2)]


def test_results_sorted_and_utc():
    slots = slots_for(
        date(2026, 3, 27),
        days=5,
        timezone=BERLIN,
        weekly=weekly_all((time(13), time(17)), (time(1), time(4)), (time(8), time(12))),
        session_minutes=45,
    )
    assert slots
    assert starts(slots) == sorted(starts(slots))
    assert all(s.start.tzinfo is UTC and s.end.tzinfo is UTC for s in slots)
    assert all(a.end <= b.start for a, b in pairwise(slots))


# --------------------------------------------------------------------------- #
# instants as integers, steady days
# --------------------------------------------------------------------------- #


def test_epoch_micros_counts_exact_microseconds_from_any_timezone():
    instant = datetime(2026, 10, 25, 2, 30, 0, 123457, tzinfo=ZoneInfo(BERLIN), fold=1)  # the second 02:30: CET

    assert epoch_micros(instant) == epoch_micros(utc(2026, 10, 25, 1, 30)) + 123457
    assert from_epoch_micros(epoch_micros(instant)) == instant.astimezone(UTC)
    assert from_epoch_micros(epoch_micros(instant)).tzinfo is UTC
    assert epoch_micros(EPOCH) == 0


def test_a_steady_day_has_one_offset_and_a_day_with_a_change_has_none():
    berlin, santiago = ZoneInfo(BERLIN), ZoneInfo(SANTIAGO)
    hour = 3_600_000_000

    assert steady_offset(date(2026, 3, 28), berlin) == hour  # CET all day
    assert steady_offset(date(2026, 3, 29), berlin) is None  # 02:00 -> 03:00
    assert steady_offset(date(2026, 3, 30), berlin) == 2 * hour  # CEST all day
    assert steady_offset(date(2026, 10, 25), berlin) is None  # 03:00 -> 02:00
    assert steady_offset(date(2026, 9, 5), santiago) is None  # the next midnight does not exist
    assert steady_offset(date(2026, 9, 6), santiago) is None  # its own midnight does not exist
    assert steady_offset(date(2026, 4, 4), santiago) is None  # ends by repeating 23:00-24:00
    assert steady_offset(date(2026, 6, 1), ZoneInfo("Asia/Kolkata")) == 5 * hour + 30 * 60_000_000


def test_no_zone_changes_its_offset_twice_within_a_day():
    """What makes a steady day steady (``scheduling.slots``, "steady days"), checked on every installed zone.

    Equal offsets at two consecutive midnights prove one offset all day only
    if no zone changes its offset and back within 24 hours. The transitions
    are read with the standard library's pure-Python zoneinfo (the C one does
    not expose them; both read the same tz database): the table, then the
    zone's rule for the years after it.
    """
    from zoneinfo import _zoneinfo, available_timezones

    too_close = []
    for name in sorted(available_timezones()):
        zone = _zoneinfo.ZoneInfo.no_cache(name)
        changes = []
        offset = zone._tti_before.utcoff if zone._tti_before else None
        for instant, info in zip(zone._trans_utc, zone._ttinfos, strict=True):
            if info.utcoff != offset:
                changes.append(instant)
                offset = info.utcoff
        too_close += [(name, later) for earlier, later in pairwise(changes) if later - earlier <= 86_400]
        rule = zone._tz_after
        if hasattr(rule, "transitions"):  # a DST rule: its changes, in local time, must be days apart too
            ruled = sorted(instant for year in range(2030, 2101) for instant in rule.transitions(year))
            too_close += [(name, later) for earlier, later in pairwise(ruled) if later - earlier <= 2 * 86_400]
    assert too_close == []


def test_free_slot_starts_are_the_starts_of_compute_slots_and_busy_may_be_epoch_micros():
    busy = [(utc(2026, 3, 28, 9, 30), utc(2026, 3, 28, 10)), (utc(2026, 3, 29, 8), utc(2026, 3, 29, 9))]
    kwargs = base_kwargs(timezone=BERLIN, weekly=weekly_all((time(1), time(12))), buffer_minutes=15)
    window_start, window_end = student_date_window(start_date=date(2026, 3, 27), days=4, timezone=BERLIN)
    kwargs.update(window_start=window_start, window_end=window_end)

    slots = compute_slots(**{**kwargs, "busy": busy})
    as_micros = [(epoch_micros(start), epoch_micros(end)) for start, end in busy]

    assert len(slots) == 4 * 11 - 1 - 2 - 3  # the gap hour; with the buffer, the half hour takes 2 slots, the hour 3
    assert compute_slots(**{**kwargs, "busy": as_micros}) == slots
    assert compute_slots(**{**kwargs, "busy": [as_micros[0], busy[1]]}) == slots
    assert free_slot_starts(**{**kwargs, "busy": as_micros}) == [epoch_micros(slot.start) for slot in slots]
    with pytest.raises(ValueError):
        free_slot_starts(**{**kwargs, "busy": [(as_micros[0][1], as_micros[0][0])]})


# --------------------------------------------------------------------------- #
# slot_is_offered
# --------------------------------------------------------------------------- #


def offered(start: datetime, minutes: int = 60, **overrides: object) -> bool:
    kwargs = base_kwargs(**overrides)
    return slot_is_offered(start=start, end=start + timedelta(minutes=minutes), **kwargs)  # type: ignore[arg-type]


def test_slot_is_offered_for_an_offered_slot():
    assert offered(utc(2026, 6, 1, 10))
    berlin = ZoneInfo(BERLIN)
    assert offered(datetime(2026, 6, 1, 11, tzinfo=berlin), timezone=BERLIN)


def test_slot_is_offered_rejects_off_grid_and_wrong_length():
    assert not offered(utc(2026, 6, 1, 10, 30))
    assert not offered(utc(2026, 6, 1, 10), minutes=30)
    assert offered(utc(2026, 6, 1, 10, 30), interval_minutes=30)


def test_slot_is_offered_rejects_slot_in_buffer():
    busy = [(utc(2026, 6, 1, 12), utc(2026, 6, 1, 13))]
    weekly = {0: [(time(9), time(15))]}
    assert offered(utc(2026, 6, 1, 10), busy=busy, weekly=weekly, buffer_minutes=60)
    assert not offered(utc(2026, 6, 1, 11), busy=busy, weekly=weekly, buffer_minutes=1)
    assert not offered(utc(2026, 6, 1, 13), busy=busy, weekly=weekly, buffer_minutes=1)
    assert offered(utc(2026, 6, 1, 13), busy=busy, weekly=weekly, buffer_minutes=0)


def test_slot_is_offered_rejects_outside_availability():
    assert not offered(utc(2026, 6, 1, 12))  # range ends at 12:00
    assert not offered(utc(2026, 6, 2, 10))  # Tuesday has no ranges
    assert not offered(utc(2026, 6, 1, 10), overrides={MONDAY: []})


def test_slot_is_offered_rejects_beyond_window_and_notice():
    now = utc(2026, 5, 25, 10)
    assert offered(utc(2026, 6, 1, 10), now=now, advance_booking_days=7)
    assert not offered(utc(2026, 6, 1, 11), now=now, advance_booking_days=7)
    assert not offered(utc(2026, 6, 1, 9), now=utc(2026, 6, 1, 8, 30), minimum_notice_minutes=31)
    assert not offered(utc(2026, 6, 1, 9), now=utc(2026, 6, 1, 9, 1))


def test_slot_is_offered_dst_second_occurrence_is_rejected():
    kwargs = {"timezone": BERLIN, "weekly": weekly_all((time(1), time(4)))}
    assert offered(utc(2026, 10, 25, 0), **kwargs)  # 02:00 CEST
    assert not offered(utc(2026, 10, 25, 1), **kwargs)  # 02:00 CET


# --------------------------------------------------------------------------- #
# slot_refusal: why a time is not offered
# --------------------------------------------------------------------------- #


def refusal(start: datetime, **overrides: object) -> str | None:
    return slot_refusal(start=start, **base_kwargs(**overrides))  # type: ignore[arg-type]


BOOKED = [(utc(2026, 6, 1, 12), utc(2026, 6, 1, 13))]
LONG_MONDAY = {0: [(time(9), time(15))]}


@pytest.mark.parametrize(
    ("start", "overrides", "reason"),
    [
        (utc(2026, 6, 1, 10), {}, None),
        (utc(2026, 6, 1, 9), {"now": utc(2026, 6, 1, 9, 1)}, "in_past"),
        (utc(2026, 6, 1, 9), {"now": utc(2026, 6, 1, 8, 30), "minimum_notice_minutes": 31}, "minimum_notice"),
        (utc(2026, 6, 1, 11), {"now": utc(2026, 5, 25, 10), "advance_booking_days": 7}, "beyond_window"),
        (utc(2026, 6, 2, 10), {}, "outside_availability"),  # Tuesday has no ranges
        (utc(2026, 6, 1, 11, 30), {}, "outside_availability"),  # runs past the 12:00 range end
        (utc(2026, 6, 1, 10), {"overrides": {MONDAY: []}}, "outside_availability"),
        (utc(2026, 6, 1, 10, 30), {}, "off_grid"),
        (utc(2026, 6, 1, 12), {"busy": BOOKED, "weekly": LONG_MONDAY}, "taken"),
        (utc(2026, 6, 1, 11), {"busy": BOOKED, "weekly": LONG_MONDAY, "buffer_minutes": 1}, "buffer"),
        (utc(2026, 6, 1, 13), {"busy": BOOKED, "weekly": LONG_MONDAY, "buffer_minutes": 1}, "buffer"),
        (utc(2026, 6, 1, 13), {"busy": BOOKED, "weekly": LONG_MONDAY, "buffer_minutes": 0}, None),
        (utc(2026, 6, 1, 10), {"max_bookings_per_day": 2, "bookings_per_day": {MONDAY: 2}}, "limit_reached"),
        (utc(2026, 6, 1, 10), {"max_bookings_per_week": 5, "bookings_per_week": {(2026, 23): 5}}, "limit_reached"),
        (utc(2026, 6, 1, 10), {"max_bookings_per_day": 3, "bookings_per_day": {MONDAY: 2}}, None),
    ],
)
def test_slot_refusal_names_each_reason(start, overrides, reason):
    assert refusal(start, **overrides) == reason


@pytest.mark.parametrize(
    ("start", "overrides", "reason"),
    [
        # in the past, outside the hours and taken: the past comes first
        (utc(2026, 6, 1, 12), {"busy": BOOKED, "now": utc(2026, 6, 2, 0)}, "in_past"),
        # inside the notice and off the grid: the notice comes first
        (utc(2026, 6, 1, 10, 30), {"now": utc(2026, 6, 1, 9), "minimum_notice_minutes": 120}, "minimum_notice"),
        # beyond the window and outside the hours: the window comes first
        (utc(2026, 6, 2, 10), {"now": utc(2026, 5, 25, 10), "advance_booking_days": 1}, "beyond_window"),
        # off the grid and inside a buffer: the schedule comes before other bookings
        (utc(2026, 6, 1, 11, 30), {"busy": BOOKED, "weekly": LONG_MONDAY, "buffer_minutes": 60}, "off_grid"),
        # outside the hours and taken
        (utc(2026, 6, 1, 12), {"busy": BOOKED}, "outside_availability"),
        # off the grid on a full day: the schedule comes first
        (utc(2026, 6, 1, 10, 30), {"max_bookings_per_day": 0}, "off_grid"),
        # taken on a full day: the day is full, so another time that day would not help either
        (
            utc(2026, 6, 1, 12),
            {"busy": BOOKED, "weekly": LONG_MONDAY, "max_bookings_per_day": 1, "bookings_per_day": {MONDAY: 1}},
            "limit_reached",
        ),
    ],
)
def test_slot_refusal_answers_the_first_failing_rule_in_the_documented_order(start, overrides, reason):
    assert refusal(start, **overrides) == reason
    assert REFUSAL_ORDER == (
        "in_past",
        "minimum_notice",
        "beyond_window",
        "outside_availability",
        "off_grid",
        "limit_reached",
        "taken",
        "buffer",
    )


def test_slot_refusal_of_the_second_occurrence_of_an_ambiguous_hour_is_off_grid():
    kwargs = {"timezone": BERLIN, "weekly": weekly_all((time(1), time(4)))}
    assert refusal(utc(2026, 10, 25, 0), **kwargs) is None  # 02:00 CEST
    assert refusal(utc(2026, 10, 25, 1), **kwargs) == "off_grid"  # 02:00 CET, inside the range, not a candidate


# --------------------------------------------------------------------------- #
# student_date_window
# --------------------------------------------------------------------------- #


def test_student_date_window_in_student_timezone():
    assert student_date_window(start_date=MONDAY, days=7, timezone="Asia/Kolkata") == (
        utc(2026, 5, 31, 18, 30),
        utc(2026, 6, 7, 18, 30),
    )


def test_student_date_window_across_dst():
    start, end = student_date_window(start_date=date(2026, 3, 7), days=2, timezone=NEW_YORK)
    assert (start, end) == (utc(2026, 3, 7, 5), utc(2026, 3, 9, 4))
    assert end - start == timedelta(hours=47)


def test_student_date_window_nonexistent_midnight():
    # Santiago 2026-09-06: 00:00 (-04) jumps to 01:00 (-03); first instant is 04:00 UTC.
    assert student_date_window(start_date=date(2026, 9, 6), days=1, timezone=SANTIAGO) == (
        utc(2026, 9, 6, 4),
        utc(2026, 9, 7, 3),
    )


def test_student_window_feeds_compute_slots():
    # A student in New York asking for "Monday" sees the Berlin instructor's
    # Monday 09:00-12:00 slots and the Tuesday 01:00-04:00 ones that are still
    # Monday evening in New York.
    window_start, window_end = student_date_window(start_date=MONDAY, days=1, timezone=NEW_YORK)
    slots = compute_slots(
        **base_kwargs(timezone=BERLIN, weekly={0: [(time(9), time(12))], 1: [(time(1), time(4))]}),
        window_start=window_start,
        window_end=window_end,
    )
    assert local_starts(slots, NEW_YORK) == [
        "06-01 03:00-0400",
        "06-01 04:00-0400",
        "06-01 05:00-0400",
        "06-01 19:00-0400",
        "06-01 20:00-0400",
        "06-01 21:00-0400",
    ]


# --------------------------------------------------------------------------- #
# validation
# --------------------------------------------------------------------------- #


def test_naive_datetimes_are_rejected():
    with pytest.raises(ValueError):
        compute_slots(**base_kwargs(now=datetime(2026, 1, 1)), window_start=utc(2026, 6, 1), window_end=utc(2026, 6, 2))
    with pytest.raises(ValueError):
        compute_slots(
            **base_kwargs(busy=[(datetime(2026, 6, 1, 9), datetime(2026, 6, 1, 10))]),
            window_start=utc(2026, 6, 1),
            window_end=utc(2026, 6, 2),
        )


def test_invalid_ranges_are_rejected():
    with pytest.raises(ValueError):
        slots_for(MONDAY, weekly={0: [(time(12), time(9))]})
    with pytest.raises(ValueError):
        slots_for(MONDAY, weekly={7: [(time(9), time(12))]})


def test_resolve_wall_time_in_gap_is_transition_instant():
    # The documented resolve(): first instant whose clock reads >= the wall time.
    from scheduling.slots import _resolve

    berlin = ZoneInfo(BERLIN)
    assert _resolve(datetime(2026, 3, 29, 2, 30), berlin) == utc(2026, 3, 29, 1)  # gap -> 03:00 CEST
    assert _resolve(datetime(2026, 10, 25, 2, 30), berlin) == utc(2026, 10, 25, 0, 30)  # first 02:30
    assert _resolve(datetime(2026, 10, 4, 2, 10), ZoneInfo(LORD_HOWE)) == utc(2026, 10, 3, 15, 30)


def test_overlapping_input_ranges_still_give_sorted_unique_slots():
    weekly = {0: [(time(9), time(11)), (time(9, 30), time(10, 30)), (time(9), time(10))]}
    busy = [(utc(2026, 6, 1, 10, 15), utc(2026, 6, 1, 10, 20))]
    slots = slots_for(MONDAY, weekly=weekly, busy=busy)
    assert starts(slots) == [utc(2026, 6, 1, 9)]
    slots = slots_for(MONDAY, weekly=weekly)
    assert starts(slots) == [utc(2026, 6, 1, 9), utc(2026, 6, 1, 9, 30), utc(2026, 6, 1, 10)]


# --------------------------------------------------------------------------- #
# booking limits
# --------------------------------------------------------------------------- #

EVERY_WEEKDAY = {weekday: [(time(9), time(12))] for weekday in EVERY_DAY}


def test_a_day_at_its_limit_offers_nothing_and_the_next_day_is_untouched():
    slots = slots_for(MONDAY, days=2, weekly=EVERY_WEEKDAY, max_bookings_per_day=2, bookings_per_day={MONDAY: 2})

    assert {slot.start.date() for slot in slots} == {MONDAY + timedelta(days=1)}
    assert len(slots) == 3


def test_a_day_below_its_limit_is_offered_in_full():
    slots = slots_for(MONDAY, weekly=EVERY_WEEKDAY, max_bookings_per_day=2, bookings_per_day={MONDAY: 1})

    assert len(slots) == 3


def test_a_week_at_its_limit_offers_nothing_until_the_next_iso_week():
    sunday = MONDAY + timedelta(days=6)
    slots = slots_for(MONDAY, days=8, weekly=EVERY_WEEKDAY, max_bookings_per_week=4, bookings_per_week={(2026, 23): 4})

    assert {slot.start.date() for slot in slots} == {sunday + timedelta(days=1)}


def test_a_limit_of_zero_closes_every_day_and_none_is_no_limit():
    assert slots_for(MONDAY, weekly=EVERY_WEEKDAY, max_bookings_per_day=0) == []
    assert len(slots_for(MONDAY, weekly=EVERY_WEEKDAY, max_bookings_per_day=None, bookings_per_day={MONDAY: 99})) == 3


def test_limits_follow_the_instructors_local_date_not_utc():
    # 23:30 UTC on Sunday is already Monday in Berlin: a full Berlin Monday starts then.
    late = {weekday: [(time(0), time(2))] for weekday in EVERY_DAY}
    berlin_monday = {"timezone": BERLIN, "weekly": late, "max_bookings_per_day": 1}
    full_monday = slots_for(MONDAY, **berlin_monday, bookings_per_day={MONDAY: 1})
    full_sunday = slots_for(MONDAY, **berlin_monday, bookings_per_day={MONDAY - timedelta(days=1): 1})

    assert full_monday == []
    assert starts(full_sunday) == [utc(2026, 5, 31, 22), utc(2026, 5, 31, 23)]  # Sunday in UTC, Monday in Berlin


def test_negative_limits_are_refused():
    with pytest.raises(ValueError, match="max_bookings_per_day"):
        slots_for(MONDAY, max_bookings_per_day=-1)
    with pytest.raises(ValueError, match="max_bookings_per_week"):
        refusal(utc(2026, 6, 1, 10), max_bookings_per_week=-1)


def test_count_bookings_buckets_by_local_date_and_iso_week():
    starts_utc = [
        utc(2026, 5, 31, 22, 30),  # Monday 00:30 in Berlin
        utc(2026, 6, 1, 9),  # Monday
        utc(2026, 6, 7, 21),  # Sunday 23:00 in Berlin: still ISO week 23
        utc(2026, 6, 7, 22, 30),  # Monday 00:30 of ISO week 24
    ]

    per_day, per_week = count_bookings(starts_utc, BERLIN)

    assert per_day == {MONDAY: 2, date(2026, 6, 7): 1, date(2026, 6, 8): 1}
    assert per_week == {(2026, 23): 3, (2026, 24): 1}
    assert iso_week(date(2027, 1, 1)) == (2026, 53)


# --------------------------------------------------------------------------- #
# weekly series
# --------------------------------------------------------------------------- #


def test_a_weekly_series_keeps_its_local_time_across_the_dst_change():
    first = datetime(2026, 10, 13, 18, tzinfo=ZoneInfo(BERLIN))  # CEST; Berlin falls back on 25 October

    occurrences = weekly_occurrences(start=first, timezone=BERLIN, count=4)

    assert [o.astimezone(ZoneInfo(BERLIN)).strftime("%a %d %H:%M") for o in occurrences] == [
        "Tue 13 18:00",
        "Tue 20 18:00",
        "Tue 27 18:00",
        "Tue 03 18:00",
    ]
    assert [o.hour for o in occurrences] == [16, 16, 17, 17]  # UTC moves, the wall clock does not
    assert all(o.tzinfo is UTC for o in occurrences)


def test_a_weekly_series_every_other_week_and_across_spring_forward():
    first = datetime(2026, 3, 10, 18, tzinfo=UTC)  # 14:00 in New York (EDT from 8 March)

    occurrences = weekly_occurrences(start=first, timezone=NEW_YORK, count=3, interval_weeks=2)

    assert occurrences == [first, utc(2026, 3, 24, 18), utc(2026, 4, 7, 18)]
    spring = weekly_occurrences(start=utc(2026, 3, 3, 19), timezone=NEW_YORK, count=2)  # 14:00 EST
    assert spring[1] == utc(2026, 3, 10, 18)  # 14:00 EDT


def test_a_series_wall_time_in_a_gap_or_fold_resolves_as_rfc_5545_does():
    # 02:30 on 22 March exists; a week later it falls in Berlin's spring-forward gap.
    gap = weekly_occurrences(start=datetime(2026, 3, 22, 2, 30, tzinfo=ZoneInfo(BERLIN)), timezone=BERLIN, count=2)
    assert gap[1] == utc(2026, 3, 29, 1, 30)  # read with the offset before the gap: 03:30 CEST
    # 02:30 on 25 October happens twice: the first (CEST) is meant.
    fold = weekly_occurrences(start=datetime(2026, 10, 18, 2, 30, tzinfo=ZoneInfo(BERLIN)), timezone=BERLIN, count=2)
    assert fold[1] == utc(2026, 10, 25, 0, 30)


def test_weekly_occurrences_refuses_impossible_inputs():
    with pytest.raises(ValueError):
        weekly_occurrences(start=utc(2026, 6, 1, 9), timezone="UTC", count=0)
    with pytest.raises(ValueError):
        weekly_occurrences(start=utc(2026, 6, 1, 9), timezone="UTC", count=2, interval_weeks=0)
    with pytest.raises(ValueError):
        weekly_occurrences(start=datetime(2026, 6, 1, 9), timezone="UTC", count=2)
