"""PUT /api/bookings/availability and GET /api/bookings/availability/settings.

Replace semantics, atomic: a bad value anywhere is a 400 naming the field and
the stored schedule stays exactly as it was.
"""

import copy
import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from scheduling.models import DateOverride, InstructorBrand, WeeklyAvailability
from scheduling.tests.factories import AssignmentFactory, DateOverrideFactory, WeeklyAvailabilityFactory

pytestmark = pytest.mark.django_db

PATH = "/api/bookings/availability"
SETTINGS_PATH = "/api/bookings/availability/settings"


@pytest.fixture
def coach(brand):
    """An assignment with a stored schedule that bad requests must leave alone."""
    assignment = AssignmentFactory(brand=brand, timezone="Europe/Berlin", buffer_minutes=10)
    WeeklyAvailabilityFactory(assignment=assignment, weekday=1, start_time=dt.time(8), end_time=dt.time(10))
    DateOverrideFactory(assignment=assignment, date=dt.date(2026, 12, 31), unavailable=True)
    return assignment


@pytest.fixture
def body(coach):
    """The example body of the API documentation (docs/api-decisions.md)."""
    return {
        "instructor_id": coach.instructor_id,
        "timezone": "Europe/Berlin",
        "buffer_minutes": 15,
        "advance_booking_days": 90,
        "cancellation_cutoff_hours": 24,
        "minimum_notice_minutes": 0,
        "max_bookings_per_day": 5,
        "max_bookings_per_week": None,
        "weekly": [{"weekday": 0, "start": "09:00", "end": "12:00"}],
        "overrides": [
            {"date": "2026-12-24", "unavailable": True},
            {"date": "2026-12-27", "ranges": [{"start": "10:00", "end": "14:00"}]},
        ],
    }


def snapshot(assignment) -> tuple:
    """Everything a refused request must leave untouched."""
    row = InstructorBrand.objects.get(pk=assignment.pk)
    return (
        [getattr(row, name) for name in ("timezone", "buffer_minutes", "advance_booking_days")],
        [getattr(row, name) for name in ("cancellation_cutoff_hours", "minimum_notice_minutes")],
        [getattr(row, name) for name in ("max_bookings_per_day", "max_bookings_per_week")],
        list(
            WeeklyAvailability.objects.order_by("pk").values_list("assignment_id", "weekday", "start_time", "end_time")
        ),
        list(DateOverride.objects.order_by("pk").values_list("assignment_id", "date", "unavailable", "ranges")),
    )


# --- happy paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PATH, PATH + "/"])
def test_put_replaces_and_answers_the_stored_settings_in_the_same_shape(path, api, coach, body):
    response = api.put(path, body)

    assert response.status_code == 200, response.content
    assert response.json() == body
    assert list(coach.weekly_ranges.values_list("weekday", "start_time", "end_time")) == [(0, dt.time(9), dt.time(12))]
    assert list(coach.overrides.values_list("date", flat=True)) == [dt.date(2026, 12, 24), dt.date(2026, 12, 27)]
    coach.refresh_from_db()
    assert coach.buffer_minutes == 15


@pytest.mark.parametrize("path", [SETTINGS_PATH, SETTINGS_PATH + "/"])
def test_get_settings_returns_what_put_stored(path, api, coach, body):
    api.put(PATH, body)

    camel = api.get(path, {"instructorId": coach.instructor_id})
    snake = api.get(path, {"instructor_id": coach.instructor_id})

    assert camel.status_code == snake.status_code == 200
    assert camel.json() == snake.json() == body


def test_get_settings_before_any_put(public_api, coach):
    response = public_api.get(SETTINGS_PATH, {"instructorId": coach.instructor_id})

    assert response.status_code == 200
    assert response.json() == {
        "instructor_id": coach.instructor_id,
        "timezone": "Europe/Berlin",
        "buffer_minutes": 10,
        "advance_booking_days": 90,
        "cancellation_cutoff_hours": 24,
        "minimum_notice_minutes": 0,
        "max_bookings_per_day": None,
        "max_bookings_per_week": None,
        "weekly": [{"weekday": 1, "start": "08:00", "end": "10:00"}],
        "overrides": [{"date": "2026-12-31", "unavailable": True}],
    }


def test_settings_left_out_keep_their_value_and_lists_left_out_are_emptied(api, coach):
    response = api.put(PATH, {"instructor_id": coach.instructor_id, "minimum_notice_minutes": 60})

    assert response.status_code == 200, response.content
    assert response.json()["buffer_minutes"] == 10
    assert response.json()["timezone"] == "Europe/Berlin"
    assert response.json()["minimum_notice_minutes"] == 60
    assert response.json()["weekly"] == []
    assert response.json()["overrides"] == []


def test_put_accepts_several_ranges_a_day_and_seconds(api, coach, body):
    body["weekly"] = [
        {"weekday": 2, "start": "14:00:00", "end": "18:00"},
        {"weekday": 2, "start": "09:00", "end": "12:00"},
        {"weekday": 2, "start": "12:00", "end": "13:00"},  # touching is not overlapping
    ]

    response = api.put(PATH, body)

    assert response.status_code == 200, response.content
    assert response.json()["weekly"] == [
        {"weekday": 2, "start": "09:00", "end": "12:00"},
        {"weekday": 2, "start": "12:00", "end": "13:00"},
        {"weekday": 2, "start": "14:00", "end": "18:00"},
    ]


def test_put_only_touches_this_brands_assignment(api, other_brand, coach, body):
    theirs = AssignmentFactory(instructor=coach.instructor, brand=other_brand, timezone="Asia/Tokyo")
    WeeklyAvailabilityFactory(assignment=theirs, weekday=4)

    assert api.put(PATH, body).status_code == 200

    theirs.refresh_from_db()
    assert theirs.timezone == "Asia/Tokyo"
    assert list(theirs.weekly_ranges.values_list("weekday", flat=True)) == [4]


def test_the_new_schedule_drives_the_slots(api, coach, body):
    body["weekly"] = [{"weekday": 2, "start": "09:00", "end": "11:00"}]
    body["overrides"] = [{"date": "2026-12-09", "unavailable": True}]
    body["buffer_minutes"] = 0

    with time_machine.travel(dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC), tick=False):
        assert api.put(PATH, body).status_code == 200
        response = api.get(PATH, {"instructorId": coach.instructor_id, "startDate": "2026-12-01", "days": 14})

    # Wednesdays 09:00 and 10:00 Berlin (08:00Z, 09:00Z); the 9th is off.
    assert [slot["start_at"] for slot in response.json()["slots"]] == [
        "2026-12-02T08:00:00Z",
        "2026-12-02T09:00:00Z",
    ]


# --- bad input -------------------------------------------------------------------------------------


def _with(body, **changes):
    result = copy.deepcopy(body)
    result.update(changes)
    return result


BAD = [
    (
        "overlapping weekly ranges",
        {
            "weekly": [
                {"weekday": 0, "start": "09:00", "end": "12:00"},
                {"weekday": 0, "start": "11:00", "end": "13:00"},
            ]
        },
        "weekly",
    ),
    ("start after end", {"weekly": [{"weekday": 0, "start": "12:00", "end": "09:00"}]}, "weekly"),
    ("start equals end", {"weekly": [{"weekday": 0, "start": "09:00", "end": "09:00"}]}, "weekly"),
    ("weekday 7", {"weekly": [{"weekday": 7, "start": "09:00", "end": "12:00"}]}, "weekly"),
    ("weekday -1", {"weekly": [{"weekday": -1, "start": "09:00", "end": "12:00"}]}, "weekly"),
    ("weekday missing", {"weekly": [{"start": "09:00", "end": "12:00"}]}, "weekly"),
    ("not a time", {"weekly": [{"weekday": 0, "start": "25:00", "end": "26:00"}]}, "weekly"),
    ("weekly not a list", {"weekly": "mornings"}, "weekly"),
    (
        "override with both",
        {
            "overrides": [
                {"date": "2026-12-24", "unavailable": True, "ranges": [{"start": "10:00", "end": "12:00"}]},
            ]
        },
        "overrides",
    ),
    ("override with neither", {"overrides": [{"date": "2026-12-24"}]}, "overrides"),
    (
        "duplicate override dates",
        {
            "overrides": [
                {"date": "2026-12-24", "unavailable": True},
                {"date": "2026-12-24", "ranges": [{"start": "10:00", "end": "12:00"}]},
            ]
        },
        "overrides",
    ),
    (
        "override range backwards",
        {
            "overrides": [
                {"date": "2026-12-27", "ranges": [{"start": "14:00", "end": "10:00"}]},
            ]
        },
        "overrides",
    ),
    (
        "overlapping override ranges",
        {
            "overrides": [
                {
                    "date": "2026-12-27",
                    "ranges": [{"start": "10:00", "end": "14:00"}, {"start": "13:00", "end": "15:00"}],
                },
            ]
        },
        "overrides",
    ),
    ("override date not a date", {"overrides": [{"date": "24.12.2026", "unavailable": True}]}, "overrides"),
    ("unknown timezone", {"timezone": "Mars/Olympus"}, "timezone"),
    ("offset instead of a zone", {"timezone": "+01:00"}, "timezone"),
    ("negative buffer", {"buffer_minutes": -5}, "buffer_minutes"),
    ("advance window 0", {"advance_booking_days": 0}, "advance_booking_days"),
    ("notice not a number", {"minimum_notice_minutes": "soon"}, "minimum_notice_minutes"),
    ("instructor missing", {"instructor_id": None}, "instructor_id"),
    ("instructor not a number", {"instructor_id": "abc"}, "instructor_id"),
]


@pytest.mark.parametrize(("label", "changes", "field"), BAD, ids=[item[0] for item in BAD])
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api, coach, body, label, changes, field):
    before = snapshot(coach)

    response = api.put(PATH, _with(body, **changes))

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert snapshot(coach) == before


def test_a_bad_range_after_good_ones_still_writes_nothing(api, coach, body):
    """The last override is bad: the settings and weekly ranges before it are not stored either."""
    before = snapshot(coach)
    body["buffer_minutes"] = 45
    body["overrides"].append({"date": "2026-12-24", "unavailable": True})

    response = api.put(PATH, body)

    assert response.status_code == 400
    assert "overrides" in response.json()
    assert snapshot(coach) == before


def test_every_error_is_reported_at_once_weekly_and_overrides(api, coach, body):
    before = snapshot(coach)
    body["weekly"] = [
        {"weekday": 0, "start": "09:00", "end": "12:00"},
        {"weekday": 0, "start": "11:00", "end": "13:00"},  # overlaps on Monday
        {"weekday": 2, "start": "09:00", "end": "12:00"},
        {"weekday": 2, "start": "10:00", "end": "11:00"},  # overlaps on Wednesday
    ]
    body["overrides"] = [
        {"date": "2026-12-24", "unavailable": True},
        {"date": "2026-12-24", "unavailable": True},  # twice
        {"date": "2026-12-27", "ranges": [{"start": "10:00", "end": "14:00"}, {"start": "13:00", "end": "15:00"}]},
    ]

    response = api.put(PATH, body, format="json")

    assert response.status_code == 400, response.content
    errors = response.json()
    assert set(errors) == {"weekly", "overrides"}
    assert [message.split(":")[0] for message in errors["weekly"]] == ["Weekday 0", "Weekday 2"]
    assert len(errors["overrides"]) == 2
    assert "2026-12-24 appears more than once." in errors["overrides"]
    assert any(message.startswith("2026-12-27:") for message in errors["overrides"])
    assert snapshot(coach) == before


def test_malformed_json_is_a_400_and_writes_nothing(api, coach):
    before = snapshot(coach)

    response = api.put(PATH, data='{"instructor_id": 1, "weekly": [', content_type="application/json")

    assert response.status_code == 400
    assert snapshot(coach) == before


def test_a_body_that_is_not_an_object_is_a_400(api, coach):
    before = snapshot(coach)

    response = api.put(PATH, data="[1, 2]", content_type="application/json")

    assert response.status_code == 400
    assert snapshot(coach) == before


def test_unknown_instructor_is_a_404(api, coach, body):
    before = snapshot(coach)

    response = api.put(PATH, _with(body, instructor_id=999999))

    assert response.status_code == 404
    assert snapshot(coach) == before


def test_another_brands_instructor_is_a_404_and_untouched(api, other_brand, coach, body):
    foreign = AssignmentFactory(brand=other_brand, timezone="Asia/Tokyo")
    before = snapshot(coach)

    response = api.put(PATH, _with(body, instructor_id=foreign.instructor_id))

    assert response.status_code == 404
    assert snapshot(coach) == before
    assert api.get(SETTINGS_PATH, {"instructorId": foreign.instructor_id}).status_code == 404


def test_settings_without_instructor_is_a_400(api, coach):
    response = api.get(SETTINGS_PATH)

    assert response.status_code == 400
    assert "instructor_id" in response.json()


# --- auth ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [PATH, PATH + "/"])
def test_public_key_cannot_put(path, public_api, coach, body):
    before = snapshot(coach)

    response = public_api.put(path, body)

    assert response.status_code == 403
    assert snapshot(coach) == before


def test_public_key_put_with_malformed_json_is_still_a_403(public_api, coach):
    response = public_api.put(PATH, data="{", content_type="application/json")

    assert response.status_code == 403


@pytest.mark.parametrize("path", [PATH, PATH + "/"])
def test_no_key_is_a_401(path, anonymous_api, coach, body):
    before = snapshot(coach)

    assert anonymous_api.put(path, body).status_code == 401
    assert anonymous_api.get(SETTINGS_PATH, {"instructorId": coach.instructor_id}).status_code == 401
    assert snapshot(coach) == before


def test_bad_key_is_a_401(coach, body):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer abc.def")
    before = snapshot(coach)

    assert client.put(PATH, body).status_code == 401
    assert snapshot(coach) == before


def test_post_and_delete_are_not_offered(api, coach, body):
    assert api.post(PATH, body).status_code == 405
    assert api.delete(PATH).status_code == 405
