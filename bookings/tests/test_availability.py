"""bookings.availability: the engine's inputs assembled from the database.

Busy time is every active booking of the instructor in any brand, widened by
the assignment's buffer; the number of queries does not depend on the window
or on the number of bookings.
"""

import datetime as dt
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.availability import instructor_slot_refusal, instructor_slots
from bookings.models import Booking, BookingStatus
from bookings.selectors import EpochMicroseconds, busy_intervals
from scheduling.selectors import schedule_inputs
from scheduling.slots import epoch_micros, from_epoch_micros
from scheduling.tests.factories import (
    AssignmentFactory,
    DateOverrideFactory,
    EventTypeFactory,
    available_every_day,
)

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)  # a Sunday, before the DST change of 2026-03-29
MONDAY = dt.date(2026, 3, 2)


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def busy_times(**kwargs) -> list[tuple[dt.datetime, dt.datetime]]:
    """``busy_intervals`` with its epoch microseconds turned back into UTC datetimes."""
    return [(from_epoch_micros(start), from_epoch_micros(end)) for start, end in busy_intervals(**kwargs)]


def berlin(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=BERLIN).astimezone(dt.UTC)


def bulk_bookings(*, assignment, starts, minutes=60, status=BookingStatus.CONFIRMED, brand=None, event_type=None):
    """Active bookings of ``assignment``'s instructor (through ``brand``, default the assignment's)."""
    brand = brand or assignment.brand
    event_type = event_type or EventTypeFactory(brand=brand, duration_minutes=minutes)
    return Booking.objects.bulk_create(
        [
            Booking(
                brand=brand,
                instructor_id=assignment.instructor_id,
                event_type=event_type,
                start_at=start,
                end_at=start + dt.timedelta(minutes=minutes),
                status=status,
                attendee_name="Student",
                attendee_email=f"student{index}@example.com",
                student_timezone="UTC",
                instructor_timezone=assignment.timezone,
            )
            for index, start in enumerate(starts)
        ]
    )


@pytest.fixture
def coach(brand):
    """Europe/Berlin, 09:00-12:00 every day, buffer 0."""
    assignment = AssignmentFactory(brand=brand, timezone="Europe/Berlin", buffer_minutes=0, advance_booking_days=90)
    available_every_day(assignment, start=dt.time(9), end=dt.time(12))
    return assignment


def starts(slots) -> list[dt.datetime]:
    return [slot.start for slot in slots]


def monday_slots(assignment, **kwargs):
    return instructor_slots(
        assignment=assignment,
        window_start=berlin(MONDAY, 0),
        window_end=berlin(MONDAY + dt.timedelta(days=1), 0),
        session_minutes=kwargs.pop("session_minutes", 60),
        now=NOW,
        **kwargs,
    )


# --- schedule inputs ---------------------------------------------------------------------


def test_schedule_inputs_are_plain_values(coach, django_assert_num_queries):
    DateOverrideFactory(assignment=coach, date=dt.date(2026, 12, 24), unavailable=True)
    DateOverrideFactory(
        assignment=coach, date=dt.date(2026, 12, 27), unavailable=False, ranges=[{"start": "10:00", "end": "14:00"}]
    )

    with django_assert_num_queries(1):
        inputs = schedule_inputs(assignment=coach)

    assert inputs["weekly"] == {day: [(dt.time(9), dt.time(12))] for day in range(7)}
    assert inputs["overrides"] == {
        dt.date(2026, 12, 24): [],
        dt.date(2026, 12, 27): [(dt.time(10), dt.time(14))],
    }
    assert inputs["timezone"] == "Europe/Berlin"
    assert (inputs["buffer_minutes"], inputs["minimum_notice_minutes"], inputs["advance_booking_days"]) == (0, 0, 90)


def test_schedule_inputs_can_leave_out_overrides_outside_a_window(coach):
    DateOverrideFactory(assignment=coach, date=dt.date(2025, 1, 1))
    DateOverrideFactory(assignment=coach, date=dt.date(2026, 3, 3))

    inputs = schedule_inputs(assignment=coach, from_date=dt.date(2026, 3, 1), to_date=dt.date(2026, 3, 31))

    assert list(inputs["overrides"]) == [dt.date(2026, 3, 3)]


# --- busy intervals ----------------------------------------------------------------------


def test_busy_intervals_are_active_bookings_of_every_brand_overlapping_the_window(coach, other_brand):
    AssignmentFactory(instructor=coach.instructor, brand=other_brand)
    mine = bulk_bookings(assignment=coach, starts=[utc(2026, 3, 2, 8)])
    theirs = bulk_bookings(assignment=coach, starts=[utc(2026, 3, 2, 10)], brand=other_brand)
    bulk_bookings(assignment=coach, starts=[utc(2026, 3, 2, 12)], status=BookingStatus.CANCELLED)
    bulk_bookings(assignment=coach, starts=[utc(2026, 3, 2, 13)], status=BookingStatus.PENDING)
    bulk_bookings(assignment=coach, starts=[utc(2026, 3, 2, 14)], status=BookingStatus.COMPLETED)
    bulk_bookings(assignment=coach, starts=[utc(2026, 3, 3, 8)])  # outside
    bulk_bookings(assignment=AssignmentFactory(brand=coach.brand), starts=[utc(2026, 3, 2, 9)])  # someone else

    busy = busy_times(instructor_id=coach.instructor_id, start=utc(2026, 3, 2, 8, 30), end=utc(2026, 3, 3, 8))

    assert busy == [
        (mine[0].start_at, mine[0].end_at),
        (theirs[0].start_at, theirs[0].end_at),
        (utc(2026, 3, 2, 13), utc(2026, 3, 2, 14)),
    ]
    assert busy_times(
        instructor_id=coach.instructor_id, start=utc(2026, 3, 2), end=utc(2026, 3, 3), exclude_booking_id=mine[0].pk
    ) == [(theirs[0].start_at, theirs[0].end_at), (utc(2026, 3, 2, 13), utc(2026, 3, 2, 14))]


def test_busy_intervals_merge_bookings_that_touch_in_any_brand_and_keep_gaps(coach, other_brand):
    """Back-to-back sessions are one busy stretch: fewer rows, the same busy time (on every database)."""
    AssignmentFactory(instructor=coach.instructor, brand=other_brand)
    bulk_bookings(assignment=coach, starts=[utc(2026, 3, 2, 8), utc(2026, 3, 2, 8, 30)], minutes=30)
    bulk_bookings(assignment=coach, starts=[utc(2026, 3, 2, 9)], brand=other_brand, minutes=30)
    excluded = bulk_bookings(assignment=coach, starts=[utc(2026, 3, 2, 9, 30)], minutes=30)
    bulk_bookings(assignment=coach, starts=[utc(2026, 3, 2, 10, 0, 0, 1)], minutes=30)  # a microsecond apart
    bulk_bookings(assignment=coach, starts=[utc(2026, 3, 2, 11)], minutes=30, status=BookingStatus.CANCELLED)
    window = {"instructor_id": coach.instructor_id, "start": utc(2026, 3, 2), "end": utc(2026, 3, 3)}

    assert busy_times(**window) == [
        (utc(2026, 3, 2, 8), utc(2026, 3, 2, 10)),
        (utc(2026, 3, 2, 10, 0, 0, 1), utc(2026, 3, 2, 10, 30, 0, 1)),
    ]
    assert busy_times(**window, exclude_booking_id=excluded[0].pk) == [
        (utc(2026, 3, 2, 8), utc(2026, 3, 2, 9, 30)),
        (utc(2026, 3, 2, 10, 0, 0, 1), utc(2026, 3, 2, 10, 30, 0, 1)),
    ]
    with CaptureQueriesContext(connection) as queries:
        busy_intervals(**window)
    assert len(queries) == 1


def test_epoch_microseconds_of_a_column_are_exact_on_this_database(coach):
    bookings = bulk_bookings(
        assignment=coach, starts=[utc(2026, 3, 2, 8, 0, 0, 1), utc(2099, 12, 31, 22, 0, 0, 123456)]
    )

    read = Booking.objects.order_by("start_at").values_list(EpochMicroseconds("start_at"), flat=True)

    assert list(read) == [epoch_micros(booking.start_at) for booking in bookings]


def test_busy_intervals_give_back_the_stored_instants_to_the_microsecond(coach):
    """The times are read as epoch microseconds (the fast path); they must come back exactly."""
    starts = [
        utc(2026, 3, 2, 8, 0, 0, 1),
        utc(2026, 3, 2, 9, 59, 59, 999999),
        utc(2026, 3, 2, 11, 0, 0, 500000),
        utc(2026, 3, 2, 13, 7, 30),
        utc(2099, 12, 31, 22, 0, 0, 123456),
    ]
    bookings = bulk_bookings(assignment=coach, starts=starts, minutes=7)

    busy = busy_times(instructor_id=coach.instructor_id, start=utc(2026, 1, 1), end=utc(2100, 1, 1))

    assert busy == [(booking.start_at, booking.end_at) for booking in bookings]
    assert all(start.tzinfo is dt.UTC and end.tzinfo is dt.UTC for start, end in busy)
    stored = Booking.objects.order_by("start_at").values_list("start_at", "end_at")
    assert [(start.isoformat(), end.isoformat()) for start, end in busy] == [
        (start.isoformat(), end.isoformat()) for start, end in stored
    ]


# --- slots -------------------------------------------------------------------------------


def test_slots_follow_the_weekly_ranges_in_the_instructors_timezone(coach):
    assert starts(monday_slots(coach)) == [berlin(MONDAY, 9), berlin(MONDAY, 10), berlin(MONDAY, 11)]
    assert berlin(MONDAY, 9) == utc(2026, 3, 2, 8)


def test_an_interval_moves_the_grid(coach):
    assert starts(monday_slots(coach, interval_minutes=30)) == [
        berlin(MONDAY, 9),
        berlin(MONDAY, 9, 30),
        berlin(MONDAY, 10),
        berlin(MONDAY, 10, 30),
        berlin(MONDAY, 11),
    ]


def test_an_override_replaces_the_weekly_ranges(coach):
    DateOverrideFactory(assignment=coach, date=MONDAY, unavailable=False, ranges=[{"start": "14:00", "end": "16:00"}])

    assert starts(monday_slots(coach)) == [berlin(MONDAY, 14), berlin(MONDAY, 15)]


def test_an_unavailable_override_removes_the_day(coach):
    DateOverrideFactory(assignment=coach, date=MONDAY, unavailable=True)

    assert monday_slots(coach) == []


def test_a_booking_in_another_brand_makes_the_time_busy(coach, other_brand):
    AssignmentFactory(instructor=coach.instructor, brand=other_brand)
    bulk_bookings(assignment=coach, starts=[berlin(MONDAY, 10)], brand=other_brand)

    assert starts(monday_slots(coach)) == [berlin(MONDAY, 9), berlin(MONDAY, 11)]


def test_the_buffer_widens_busy_time_on_both_sides(coach):
    coach.buffer_minutes = 15
    coach.save()
    # 10:30-10:45 widened to 10:15-11:00: the 10:00 slot goes, 09:00 and 11:00 stay.
    bulk_bookings(assignment=coach, starts=[berlin(MONDAY, 10, 30)], minutes=15)

    assert starts(monday_slots(coach)) == [berlin(MONDAY, 9), berlin(MONDAY, 11)]


def test_a_booking_just_after_the_window_still_counts_with_its_buffer(coach):
    """A slot may start just before the window's end; the busy time beyond it must be read."""
    coach.buffer_minutes = 30
    coach.save()
    bulk_bookings(assignment=coach, starts=[berlin(MONDAY, 12, 15)], minutes=15)

    slots = instructor_slots(
        assignment=coach,
        window_start=berlin(MONDAY, 9),
        window_end=berlin(MONDAY, 11, 30),
        session_minutes=60,
        now=NOW,
    )

    assert starts(slots) == [berlin(MONDAY, 9), berlin(MONDAY, 10)]


def test_cancelled_bookings_free_their_time(coach):
    bulk_bookings(assignment=coach, starts=[berlin(MONDAY, 10)], status=BookingStatus.CANCELLED)

    assert len(monday_slots(coach)) == 3


def test_the_past_and_the_notice_are_not_offered(coach):
    coach.minimum_notice_minutes = 120
    coach.save()

    slots = instructor_slots(
        assignment=coach,
        window_start=berlin(MONDAY, 0),
        window_end=berlin(MONDAY, 23),
        session_minutes=60,
        now=berlin(MONDAY, 8, 30),
    )

    assert starts(slots) == [berlin(MONDAY, 11)]


def test_nothing_beyond_the_advance_window(coach):
    coach.advance_booking_days = 2
    coach.save()

    slots = instructor_slots(
        assignment=coach, window_start=NOW, window_end=NOW + dt.timedelta(days=10), session_minutes=60, now=NOW
    )

    assert max(starts(slots)) <= NOW + dt.timedelta(days=2)
    assert len(slots) == 6


def test_dst_keeps_local_hours(coach):
    """Europe/Berlin springs forward on 2026-03-29: 09:00 local is 08:00Z before, 07:00Z after."""
    slots = instructor_slots(
        assignment=coach,
        window_start=utc(2026, 3, 28),
        window_end=utc(2026, 3, 31),
        session_minutes=60,
        now=NOW,
    )

    assert [s.start.astimezone(BERLIN).strftime("%d %H:%M") for s in slots] == [
        f"{day} {hour}:00" for day in ("28", "29", "30") for hour in ("09", "10", "11")
    ]
    assert slots[0].start == utc(2026, 3, 28, 8)
    assert slots[-1].start == utc(2026, 3, 30, 9)


def test_instructor_slots_cost_a_constant_number_of_queries(coach):
    bulk_bookings(assignment=coach, starts=[NOW + dt.timedelta(hours=2 * n) for n in range(10)])
    with CaptureQueriesContext(connection) as few:
        instructor_slots(
            assignment=coach, window_start=NOW, window_end=NOW + dt.timedelta(days=90), session_minutes=60, now=NOW
        )
    bulk_bookings(assignment=coach, starts=[NOW + dt.timedelta(hours=2 * n + 1) for n in range(990)])
    with CaptureQueriesContext(connection) as many:
        instructor_slots(
            assignment=coach, window_start=NOW, window_end=NOW + dt.timedelta(days=90), session_minutes=60, now=NOW
        )

    assert len(few) == len(many) == 2  # the schedule (weekly ranges and overrides), the busy time


# --- instructor_slot_refusal ------------------------------------------------------------------


def refusal(assignment, start, minutes=60, **kwargs) -> str | None:
    return instructor_slot_refusal(assignment=assignment, start=start, session_minutes=minutes, now=NOW, **kwargs)


def test_an_offered_slot_is_not_refused(coach, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        assert refusal(coach, berlin(MONDAY, 10)) is None


@pytest.mark.parametrize(
    ("start", "minutes", "reason"),
    [
        (berlin(MONDAY, 8), 60, "outside_availability"),
        (berlin(MONDAY, 11, 30), 60, "outside_availability"),  # runs past the range
        (berlin(MONDAY, 9, 30), 60, "off_grid"),
        (berlin(MONDAY, 10, 0) + dt.timedelta(seconds=1), 60, "off_grid"),
        (utc(2026, 3, 1, 8), 60, "in_past"),
    ],
)
def test_times_that_are_not_slots_say_why(coach, start, minutes, reason):
    assert refusal(coach, start, minutes) == reason


def test_an_interval_allows_its_grid(coach):
    assert refusal(coach, berlin(MONDAY, 9, 30), interval_minutes=30) is None


def test_booked_and_buffered_times_are_refused_as_taken_and_buffer(coach, other_brand):
    coach.buffer_minutes = 15
    coach.save()
    AssignmentFactory(instructor=coach.instructor, brand=other_brand)
    [booking] = bulk_bookings(assignment=coach, starts=[berlin(MONDAY, 10)], brand=other_brand)

    assert refusal(coach, berlin(MONDAY, 10)) == "taken"
    assert refusal(coach, berlin(MONDAY, 11)) == "buffer"  # inside the 15 minute buffer after 11:00
    assert refusal(coach, berlin(MONDAY, 9)) == "buffer"  # inside the buffer before 10:00
    assert refusal(coach, berlin(MONDAY, 10), exclude_booking_id=booking.pk) is None
