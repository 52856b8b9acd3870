"""Booking limits per assignment: ``max_bookings_per_day`` / ``max_bookings_per_week``.

Counted over the instructor's active bookings in the brand, on the
instructor's local days and ISO weeks. A full day or week offers no slots, and
a booking there is refused with ``reason: "limit_reached"``.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import services
from bookings.availability import instructor_slots
from bookings.models import Booking
from bookings.tests.conftest import NOW, SLOT, iso
from bookings.tests.factories import BookingFactory
from scheduling.models import InstructorBrand
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, available_every_day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

PATH = "/api/bookings/availability"
WEDNESDAY = SLOT.date()  # 2 December 2026, ISO week 49 (Monday 30 November to Sunday 6 December)


def limit(assignment, *, day=None, week=None):
    assignment.max_bookings_per_day, assignment.max_bookings_per_week = day, week
    assignment.save()


def booked(assignment, start, **fields):
    return BookingFactory(brand=assignment.brand, instructor=assignment.instructor, start_at=start, **fields)


def slot_dates(api, assignment, days=7):
    response = api.get(PATH, {"instructor_id": assignment.instructor_id, "start_date": "2026-12-01", "days": days})
    assert response.status_code == 200, response.content
    return sorted({dt.date.fromisoformat(slot["start_at"][:10]) for slot in response.json()["slots"]})


def at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


# --- setting them -----------------------------------------------------------------------------


def test_put_stores_the_limits_and_get_reads_them_back(api, public_api, assignment):
    body = {"instructor_id": assignment.instructor_id, "max_bookings_per_day": 5, "max_bookings_per_week": 20}

    put = api.put(PATH, body, format="json")
    read = public_api.get(f"{PATH}/settings", {"instructorId": assignment.instructor_id})

    assert put.status_code == 200, put.content
    assert (put.json()["max_bookings_per_day"], put.json()["max_bookings_per_week"]) == (5, 20)
    assert (read.json()["max_bookings_per_day"], read.json()["max_bookings_per_week"]) == (5, 20)
    assignment.refresh_from_db()
    assert (assignment.max_bookings_per_day, assignment.max_bookings_per_week) == (5, 20)


def test_null_removes_a_limit_and_leaving_it_out_keeps_it(api, assignment):
    limit(assignment, day=3, week=10)

    api.put(PATH, {"instructor_id": assignment.instructor_id, "max_bookings_per_day": None}, format="json")

    assignment.refresh_from_db()
    assert (assignment.max_bookings_per_day, assignment.max_bookings_per_week) == (None, 10)


@pytest.mark.parametrize("field", ["max_bookings_per_day", "max_bookings_per_week"])
@pytest.mark.parametrize("value", [-1, -20, "five", 1.5, 100000])
def test_a_bad_limit_is_a_400_naming_it_and_changes_nothing(api, assignment, field, value):
    limit(assignment, day=3, week=10)

    response = api.put(PATH, {"instructor_id": assignment.instructor_id, field: value}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert InstructorBrand.objects.filter(pk=assignment.pk, max_bookings_per_day=3, max_bookings_per_week=10).exists()


def test_a_public_key_cannot_set_limits(public_api, assignment):
    response = public_api.put(PATH, {"instructor_id": assignment.instructor_id, "max_bookings_per_day": 1})

    assert response.status_code == 403
    assignment.refresh_from_db()
    assert assignment.max_bookings_per_day is None


def test_every_door_refuses_a_negative_limit_through_the_model(assignment):
    assignment.max_bookings_per_day = -1
    assignment.max_bookings_per_week = -1

    with pytest.raises(ValidationError) as refused:
        assignment.full_clean()

    assert {"max_bookings_per_day", "max_bookings_per_week"} <= set(refused.value.message_dict)


# --- slots -----------------------------------------------------------------------------------


def test_a_day_at_its_limit_offers_no_more_slots(api, assignment):
    limit(assignment, day=2)
    booked(assignment, at(WEDNESDAY, 9))
    booked(assignment, at(WEDNESDAY, 15))

    dates = slot_dates(api, assignment)

    assert WEDNESDAY not in dates
    assert WEDNESDAY - dt.timedelta(days=1) in dates and WEDNESDAY + dt.timedelta(days=1) in dates


def test_a_day_below_its_limit_offers_its_free_slots(api, assignment):
    limit(assignment, day=3)
    booked(assignment, at(WEDNESDAY, 9))
    booked(assignment, at(WEDNESDAY, 15))

    assert WEDNESDAY in slot_dates(api, assignment)


def test_a_week_at_its_limit_offers_nothing_until_monday(api, assignment):
    limit(assignment, week=2)
    booked(assignment, at(WEDNESDAY, 9))
    booked(assignment, at(WEDNESDAY + dt.timedelta(days=2), 9))

    dates = slot_dates(api, assignment, days=10)

    assert min(dates) == dt.date(2026, 12, 7)  # the Monday of the next ISO week


def test_cancelled_bookings_and_other_brands_do_not_count(api, assignment, other_brand):
    limit(assignment, day=1)
    booked(assignment, at(WEDNESDAY, 9), status="cancelled")
    elsewhere = AssignmentFactory(instructor=assignment.instructor, brand=other_brand, timezone="UTC")
    BookingFactory(brand=other_brand, instructor=elsewhere.instructor, start_at=at(WEDNESDAY, 12))

    response = api.get(
        PATH, {"instructor_id": assignment.instructor_id, "start_date": WEDNESDAY.isoformat(), "days": 1}
    )

    starts = [slot["start_at"] for slot in response.json()["slots"]]
    assert iso(at(WEDNESDAY, 9)) in starts  # the cancelled time is free again
    assert iso(at(WEDNESDAY, 12)) not in starts  # the other brand's booking still takes the time
    assert len(starts) == 7


def test_the_limit_counts_the_instructors_local_day(api, brand):
    assignment = AssignmentFactory(brand=brand, timezone="Asia/Tokyo", max_bookings_per_day=1)
    available_every_day(assignment, start=dt.time(0), end=dt.time(23))
    booked(assignment, dt.datetime(2026, 12, 2, 16, tzinfo=dt.UTC))  # Thursday 01:00 in Tokyo

    response = api.get(
        PATH,
        {
            "instructor_id": assignment.instructor_id,
            "start_date": "2026-12-03",
            "days": 1,
            "student_timezone": "Asia/Tokyo",
        },
    )

    assert response.json()["slots"] == []


def test_the_availability_read_costs_three_queries_whatever_the_number_of_bookings(assignment):
    limit(assignment, day=50, week=200)
    window = {"window_start": NOW, "window_end": NOW + dt.timedelta(days=60), "session_minutes": 60, "now": NOW}
    booked(assignment, at(WEDNESDAY, 9))
    with CaptureQueriesContext(connection) as few:
        instructor_slots(assignment=assignment, **window)
    for day in range(40):
        for hour in (9, 11, 13, 15):
            booked(assignment, at(WEDNESDAY + dt.timedelta(days=day + 1), hour))
    with CaptureQueriesContext(connection) as many:
        instructor_slots(assignment=assignment, **window)

    assert len(few) == len(many) == 3  # the schedule, the busy time, the bookings the limits count


def test_without_limits_nothing_is_counted(assignment, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        instructor_slots(
            assignment=assignment, window_start=NOW, window_end=NOW + dt.timedelta(days=7), session_minutes=60, now=NOW
        )


# --- booking --------------------------------------------------------------------------------


def test_a_booking_past_the_daily_limit_is_refused_with_limit_reached(api, booking_body, assignment):
    limit(assignment, day=1, week=5)
    booked(assignment, at(WEDNESDAY, 14))

    response = api.post("/api/bookings", booking_body(), format="json")

    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["reason"]) == ("slot_unavailable", "limit_reached")
    assert body["detail"] == (
        "The instructor takes at most 1 session a day and 5 a week here, and that day or week is full. "
        "Please choose another day."
    )
    assert Booking.objects.count() == 1


def test_a_booking_past_the_weekly_limit_is_refused(api, booking_body, assignment):
    limit(assignment, week=1)
    booked(assignment, at(dt.date(2026, 12, 6), 9))  # Sunday of the same ISO week

    response = api.post("/api/bookings", booking_body(), format="json")

    assert response.json()["reason"] == "limit_reached"
    assert response.json()["detail"].startswith("The instructor takes at most 1 session a week here")


def test_the_last_place_of_a_day_can_be_booked_once(api, booking_body, assignment):
    limit(assignment, day=2)
    booked(assignment, at(WEDNESDAY, 14))

    first = api.post("/api/bookings", booking_body(), format="json")
    second = api.post("/api/bookings", booking_body(start_at=iso(at(WEDNESDAY, 16))), format="json")

    assert first.status_code == 201
    assert second.status_code == 409 and second.json()["reason"] == "limit_reached"


def test_moving_a_booking_within_its_full_day_is_allowed_and_into_a_full_day_is_not(api, booking_body, assignment):
    limit(assignment, day=1)
    booking = api.post("/api/bookings", booking_body(), format="json").json()
    booked(assignment, at(WEDNESDAY + dt.timedelta(days=1), 9))

    within = api.patch(f"/api/bookings/{booking['id']}", {"start_at": iso(at(WEDNESDAY, 15))}, format="json")
    into_full = api.patch(
        f"/api/bookings/{booking['id']}", {"start_at": iso(at(WEDNESDAY + dt.timedelta(days=1), 15))}, format="json"
    )

    assert within.status_code == 200, within.content
    assert into_full.status_code == 409 and into_full.json()["reason"] == "limit_reached"


def test_staff_booking_by_hand_is_not_bound_by_the_limits(brand, assignment):
    limit(assignment, day=0)
    event_type = EventTypeFactory(brand=brand)

    result = services.booking_create(
        brand=brand,
        instructor=assignment.instructor,
        event_type=event_type,
        start_at=SLOT,
        attendee_name="Ada",
        attendee_email="ada@example.com",
        enforce_availability=False,
    )

    assert result.booking.pk
