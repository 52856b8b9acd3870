"""GET /api/bookings/availability: free slots over HTTP."""

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from booking_project.api.authentication import KEY_USE_QUERIES
from bookings.models import Booking
from bookings.tests.test_availability import bulk_bookings
from scheduling.models import DateOverride, InstructorBrand, WeeklyAvailability
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, available_every_day

pytestmark = pytest.mark.django_db

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)  # Sunday; Berlin is UTC+1 until 2026-03-29
PATH = "/api/bookings/availability"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def coach(brand):
    """Europe/Berlin, 09:00-12:00 every day, buffer 0, 90 day window."""
    assignment = AssignmentFactory(brand=brand, timezone="Europe/Berlin", buffer_minutes=0, advance_booking_days=90)
    available_every_day(assignment, start=dt.time(9), end=dt.time(12))
    return assignment


def z(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def berlin(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=BERLIN).astimezone(dt.UTC)


def start_ats(response) -> list[str]:
    return [slot["start_at"] for slot in response.json()["slots"]]


def row_counts() -> tuple[int, ...]:
    return (
        Booking.objects.count(),
        InstructorBrand.objects.count(),
        WeeklyAvailability.objects.count(),
        DateOverride.objects.count(),
    )


# --- happy paths -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PATH, PATH + "/"])
def test_slots_in_utc_and_in_the_students_timezone(path, api, coach):
    response = api.get(
        path,
        {
            "instructorId": coach.instructor_id,
            "startDate": "2026-03-03",
            "days": 1,
            "sessionMinutes": 60,
            "studentTimezone": "America/New_York",
        },
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "instructor_id": coach.instructor_id,
        "instructor_timezone": "Europe/Berlin",
        "student_timezone": "America/New_York",
        "session_minutes": 60,
        "slots": [
            {
                "start_at": "2026-03-03T08:00:00Z",
                "end_at": "2026-03-03T09:00:00Z",
                "student_start": "2026-03-03T03:00:00-05:00",
                "student_end": "2026-03-03T04:00:00-05:00",
            },
            {
                "start_at": "2026-03-03T09:00:00Z",
                "end_at": "2026-03-03T10:00:00Z",
                "student_start": "2026-03-03T04:00:00-05:00",
                "student_end": "2026-03-03T05:00:00-05:00",
            },
            {
                "start_at": "2026-03-03T10:00:00Z",
                "end_at": "2026-03-03T11:00:00Z",
                "student_start": "2026-03-03T05:00:00-05:00",
                "student_end": "2026-03-03T06:00:00-05:00",
            },
        ],
    }


def test_snake_case_parameters_are_the_same(api, coach):
    camel = api.get(
        PATH,
        {"instructorId": coach.instructor_id, "startDate": "2026-03-03", "days": 2, "sessionMinutes": 30},
    )
    snake = api.get(
        PATH,
        {"instructor_id": coach.instructor_id, "start_date": "2026-03-03", "days": 2, "session_minutes": 30},
    )

    assert camel.status_code == snake.status_code == 200
    assert camel.json() == snake.json()
    assert len(snake.json()["slots"]) == 12


def test_defaults_today_in_the_students_timezone_14_days_60_minutes_utc(api, coach):
    response = api.get(PATH, {"instructorId": coach.instructor_id})

    body = response.json()
    assert response.status_code == 200
    assert body["student_timezone"] == "UTC"
    assert body["session_minutes"] == 60
    # Today (Sunday 1 March, 12:00Z) has nothing left; 2..14 March have three slots each.
    assert len(body["slots"]) == 13 * 3
    assert body["slots"][0]["start_at"] == "2026-03-02T08:00:00Z"
    assert body["slots"][0]["student_start"] == "2026-03-02T08:00:00+00:00"
    assert body["slots"][-1]["start_at"] == "2026-03-14T10:00:00Z"


def test_start_date_is_a_date_in_the_students_timezone(api, coach):
    """In Pacific/Kiritimati (UTC+14) 2 March begins at 10:00Z on 1 March."""
    response = api.get(
        PATH,
        {
            "instructorId": coach.instructor_id,
            "startDate": "2026-03-02",
            "days": 1,
            "studentTimezone": "Pacific/Kiritimati",
        },
    )

    assert start_ats(response) == ["2026-03-02T08:00:00Z", "2026-03-02T09:00:00Z"]
    assert response.json()["slots"][0]["student_start"] == "2026-03-02T22:00:00+14:00"


def test_public_key_may_read(public_api, coach):
    response = public_api.get(PATH, {"instructorId": coach.instructor_id, "startDate": "2026-03-03", "days": 1})

    assert response.status_code == 200
    assert len(response.json()["slots"]) == 3


def test_event_type_gives_the_session_length(api, brand, coach):
    event_type = EventTypeFactory(brand=brand, duration_minutes=90)

    response = api.get(
        PATH, {"instructorId": coach.instructor_id, "eventTypeId": event_type.id, "startDate": "2026-03-03", "days": 1}
    )

    assert response.status_code == 200
    assert response.json()["session_minutes"] == 90
    assert start_ats(response) == ["2026-03-03T08:00:00Z", "2026-03-03T09:30:00Z"]

    snake = api.get(
        PATH,
        {"instructor_id": coach.instructor_id, "event_type_id": event_type.id, "start_date": "2026-03-03", "days": 1},
    )
    assert snake.json() == response.json()


def test_event_type_and_an_agreeing_session_length(api, brand, coach):
    event_type = EventTypeFactory(brand=brand, duration_minutes=90)

    response = api.get(
        PATH,
        {"instructorId": coach.instructor_id, "eventTypeId": event_type.id, "sessionMinutes": 90, "days": 2},
    )

    assert response.status_code == 200


def test_event_type_and_a_different_session_length_is_a_400(api, brand, coach):
    event_type = EventTypeFactory(brand=brand, duration_minutes=90)

    response = api.get(PATH, {"instructorId": coach.instructor_id, "eventTypeId": event_type.id, "sessionMinutes": 60})

    assert response.status_code == 400
    assert "session_minutes" in response.json()


def test_another_brands_event_type_is_a_404(api, other_brand, coach):
    event_type = EventTypeFactory(brand=other_brand, duration_minutes=90)

    response = api.get(PATH, {"instructorId": coach.instructor_id, "eventTypeId": event_type.id})

    assert response.status_code == 404


@pytest.mark.parametrize("name", ["interval", "intervalMinutes", "interval_minutes"])
def test_interval_moves_the_grid(name, api, coach):
    response = api.get(PATH, {"instructorId": coach.instructor_id, "startDate": "2026-03-03", "days": 1, name: 30})

    assert start_ats(response) == [
        "2026-03-03T08:00:00Z",
        "2026-03-03T08:30:00Z",
        "2026-03-03T09:00:00Z",
        "2026-03-03T09:30:00Z",
        "2026-03-03T10:00:00Z",
    ]


def test_180_days_is_allowed(api, coach):
    response = api.get(PATH, {"instructorId": coach.instructor_id, "days": 180})

    assert response.status_code == 200
    # The advance window (90 days from now) ends the slots.
    assert response.json()["slots"][-1]["start_at"] <= z(NOW + dt.timedelta(days=90))


# --- busy time -------------------------------------------------------------------------------


def test_booked_time_is_not_offered_and_cancelled_time_is(api, coach):
    day = dt.date(2026, 3, 3)
    bulk_bookings(assignment=coach, starts=[berlin(day, 9)])
    bulk_bookings(assignment=coach, starts=[berlin(day, 11)], status="cancelled")

    response = api.get(PATH, {"instructorId": coach.instructor_id, "startDate": "2026-03-03", "days": 1})

    assert start_ats(response) == ["2026-03-03T09:00:00Z", "2026-03-03T10:00:00Z"]


def test_a_booking_through_another_brand_removes_the_slot(api, other_brand, coach):
    AssignmentFactory(instructor=coach.instructor, brand=other_brand, timezone="UTC")
    bulk_bookings(assignment=coach, starts=[berlin(dt.date(2026, 3, 3), 10)], brand=other_brand)

    response = api.get(PATH, {"instructorId": coach.instructor_id, "startDate": "2026-03-03", "days": 1})

    assert start_ats(response) == ["2026-03-03T08:00:00Z", "2026-03-03T10:00:00Z"]


def test_the_buffer_is_applied(api, coach):
    coach.buffer_minutes = 15
    coach.save()
    bulk_bookings(assignment=coach, starts=[berlin(dt.date(2026, 3, 3), 10, 45)], minutes=15)

    response = api.get(PATH, {"instructorId": coach.instructor_id, "startDate": "2026-03-03", "days": 1})

    assert start_ats(response) == ["2026-03-03T08:00:00Z"]


def test_query_count_is_flat_for_10_and_1000_bookings(api, coach):
    params = {"instructorId": coach.instructor_id, "startDate": "2026-03-02", "days": 90, "sessionMinutes": 30}
    first = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    bulk_bookings(assignment=coach, starts=[first + dt.timedelta(hours=2 * n) for n in range(10)], minutes=30)
    with CaptureQueriesContext(connection) as few:
        assert api.get(PATH, params).status_code == 200

    bulk_bookings(assignment=coach, starts=[first + dt.timedelta(hours=2 * n) for n in range(10, 1000)], minutes=30)
    with CaptureQueriesContext(connection) as many:
        response = api.get(PATH, params)

    assert response.status_code == 200
    assert Booking.objects.count() == 1000
    assert len(few) == len(many) + KEY_USE_QUERIES  # the key's first request stamps its last use
    # The key, the assignment, the schedule, the busy time.
    assert len(many) <= 4, [query["sql"] for query in many.captured_queries]


def test_query_count_does_not_grow_with_event_type_and_overrides(api, brand, coach):
    event_type = EventTypeFactory(brand=brand, duration_minutes=30)
    for offset in range(30):
        DateOverride.objects.create(assignment=coach, date=dt.date(2026, 3, 2) + dt.timedelta(days=offset))
    with CaptureQueriesContext(connection) as queries:
        assert (
            api.get(PATH, {"instructorId": coach.instructor_id, "eventTypeId": event_type.id, "days": 90}).status_code
            == 200
        )

    assert len(queries) <= 5 + KEY_USE_QUERIES  # and the event type


def test_90_days_with_2000_bookings_answers_correctly(api, brand):
    """Half-hour bookings every hour on the hour for 2,000 hours: with 30 minute
    sessions every :00 slot is taken and every :30 slot is free."""
    coach = AssignmentFactory(brand=brand, timezone="Europe/Berlin", buffer_minutes=0, advance_booking_days=120)
    available_every_day(coach, start=dt.time(9), end=dt.time(17))
    first = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    booked = {first + dt.timedelta(hours=n) for n in range(2000)}
    bulk_bookings(assignment=coach, starts=sorted(booked), minutes=30)

    response = api.get(
        PATH, {"instructorId": coach.instructor_id, "startDate": "2026-03-02", "days": 90, "sessionMinutes": 30}
    )

    assert response.status_code == 200
    candidates = [
        berlin(dt.date(2026, 3, 2) + dt.timedelta(days=day), 9) + dt.timedelta(minutes=30 * step)
        for day in range(90)
        for step in range(16)
    ]
    expected = [z(start) for start in candidates if start not in booked]
    assert start_ats(response) == expected
    # Spot checks: a booked time is absent, the half hour after it is offered, and
    # after the last booking (hour 1,999) whole days are free again.
    got = set(start_ats(response))
    assert "2026-03-10T09:00:00Z" not in got
    assert "2026-03-10T09:30:00Z" in got
    assert "2026-05-30T07:00:00Z" in got  # 09:00 CEST, beyond the bookings
    assert len(expected) < len(candidates)


# --- bad input (4xx naming the field; a GET writes nothing) ---------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "instructor_id"),
        ({"instructorId": ""}, "instructor_id"),
        ({"instructorId": "abc"}, "instructorId"),
        ({"instructor_id": "-3"}, "instructor_id"),
        ({"startDate": "2026-02-30"}, "startDate"),
        ({"startDate": "tomorrow"}, "startDate"),
        ({"start_date": "03/03/2026"}, "start_date"),
        ({"days": "0"}, "days"),
        ({"days": "181"}, "days"),
        ({"days": "abc"}, "days"),
        ({"sessionMinutes": "4"}, "sessionMinutes"),
        ({"sessionMinutes": "721"}, "sessionMinutes"),
        ({"session_minutes": "sixty"}, "session_minutes"),
        ({"studentTimezone": "Mars/Olympus"}, "studentTimezone"),
        ({"student_timezone": "CEST"}, "student_timezone"),
        ({"interval": "1"}, "interval"),
        ({"eventTypeId": "x"}, "eventTypeId"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(api, coach, params, field):
    names_instructor = not params or any(name.startswith("instructor") for name in params)
    query = dict(params) if names_instructor else {"instructorId": coach.instructor_id, **params}
    before = row_counts()

    response = api.get(PATH, query)

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert row_counts() == before


def test_missing_instructor_names_both_spellings(api, coach):
    response = api.get(PATH)

    assert response.status_code == 400
    assert "instructorId" in response.json()["instructor_id"][0]


def test_unknown_instructor_is_a_404(api, coach):
    response = api.get(PATH, {"instructorId": 999999})

    assert response.status_code == 404
    assert "999999" in response.json()["detail"]


def test_another_brands_instructor_is_a_404(api, other_brand):
    foreign = AssignmentFactory(brand=other_brand)
    available_every_day(foreign)

    response = api.get(PATH, {"instructorId": foreign.instructor_id})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_no_key_is_a_401(anonymous_api, coach):
    assert anonymous_api.get(PATH, {"instructorId": coach.instructor_id}).status_code == 401
    assert anonymous_api.get(PATH + "/", {"instructorId": coach.instructor_id}).status_code == 401


def test_bad_key_is_a_401(coach):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.akey")

    assert client.get(PATH, {"instructorId": coach.instructor_id}).status_code == 401


@pytest.mark.parametrize("student_timezone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kathmandu"])
def test_slots_render_exactly_as_the_shared_wire_format(student_timezone):
    """The fast slot rendering gives what ``utc_iso`` and ``isoformat`` give, across a DST change."""
    from booking_project.formats import utc_iso
    from bookings.api.views import render_slots
    from scheduling.slots import compute_slots, epoch_micros, student_date_window

    window_start, window_end = student_date_window(start_date=dt.date(2026, 3, 27), days=4, timezone="UTC")
    slots = compute_slots(
        weekly={day: [(dt.time(0), dt.time(23, 59))] for day in range(7)},
        overrides={},
        timezone="Europe/Berlin",
        busy=[],
        buffer_minutes=0,
        minimum_notice_minutes=0,
        advance_booking_days=30,
        now=dt.datetime(2026, 3, 26, tzinfo=dt.UTC),
        session_minutes=45,
        window_start=window_start,
        window_end=window_end,
    )
    zone = zoneinfo.ZoneInfo(student_timezone)

    assert len(slots) > 100
    assert render_slots([epoch_micros(slot.start) for slot in slots], 45, zone) == [
        {
            "start_at": utc_iso(slot.start),
            "end_at": utc_iso(slot.end),
            "student_start": slot.start.astimezone(zone).isoformat(timespec="seconds"),
            "student_end": slot.end.astimezone(zone).isoformat(timespec="seconds"),
        }
        for slot in slots
    ]
