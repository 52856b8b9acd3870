"""Weekly series: ``POST /api/bookings`` with ``recurrence``, and ``DELETE /api/bookings/series/{id}?from=``.

Every occurrence is checked with the rules of a single booking; a series is
all or nothing unless ``skip_conflicts``; each occurrence is an ordinary
booking with its own events, reminders and life.
"""

import datetime as dt
import zoneinfo

import pytest
from django.core.exceptions import ValidationError

from bookings import services
from bookings.links import manage_token
from bookings.models import Booking, BookingSeries, Event, IdempotencyRecord
from bookings.tests.conftest import NOW, SLOT, iso
from bookings.tests.factories import BookingFactory
from notifications.models import BookingReminder, Notification
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, available_every_day

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

WEEK = dt.timedelta(weeks=1)
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def weekly_type(brand):
    return EventTypeFactory(brand=brand, duration_minutes=60, allow_recurring=True, max_occurrences=12)


@pytest.fixture
def series_body(booking_body, weekly_type):
    def build(count=8, skip_conflicts=None, **overrides):
        overrides = {"event_type_id": weekly_type.id, **overrides}
        body = booking_body(recurrence={"frequency": "weekly", "count": count}, **overrides)
        if skip_conflicts is not None:
            body["skip_conflicts"] = skip_conflicts
        return body

    return build


def create(api, body, **headers):
    return api.post("/api/bookings", body, format="json", **headers)


def nothing_written():
    return (
        Booking.objects.count(),
        BookingSeries.objects.count(),
        Event.objects.count(),
        Notification.objects.count(),
        BookingReminder.objects.count(),
    ) == (0, 0, 0, 0, 0)


def cancel_series(client, series_id, from_uid, **headers):
    return client.delete(f"/api/bookings/series/{series_id}?from={from_uid}", **headers)


# --- booking a series ----------------------------------------------------------------------


def test_eight_weekly_sessions_in_one_request(api, series_body, weekly_type):
    response = create(api, series_body(count=8))

    assert response.status_code == 201, response.content
    data = response.json()
    assert set(data) == {"series_id", "bookings", "skipped", "warnings"}
    assert [booking["start_at"] for booking in data["bookings"]] == [iso(SLOT + n * WEEK) for n in range(8)]
    assert {booking["series_id"] for booking in data["bookings"]} == {data["series_id"]}
    assert data["skipped"] == []
    assert all(booking["status"] == "pending" and booking["payments"] == [] for booking in data["bookings"])
    assert len({booking["manage_url"] for booking in data["bookings"]}) == 8  # each occurrence its own link
    series = BookingSeries.objects.get()
    assert (str(series.pk), series.count, series.interval_weeks, series.event_type) == (
        data["series_id"],
        8,
        1,
        weekly_type,
    )
    assert Booking.objects.filter(series=series).count() == 8


def test_every_occurrence_emits_one_booking_created_carrying_the_series_id(api, series_body):
    data = create(api, series_body(count=3)).json()

    events = list(Event.objects.order_by("id"))

    assert [event.type for event in events] == ["booking.created"] * 3
    assert [event.booking.uid for event in events] == list(
        Booking.objects.order_by("start_at").values_list("uid", flat=True)
    )
    assert {event.payload["series_id"] for event in events} == {data["series_id"]}


def test_a_single_booking_says_series_id_null_everywhere(api, booking_body):
    data = create(api, booking_body()).json()

    assert data["series_id"] is None
    assert Event.objects.get().payload["series_id"] is None
    assert api.get(f"/api/bookings/{data['id']}").json()["series_id"] is None


def test_every_other_week(api, series_body):
    body = series_body(count=3)
    body["recurrence"]["interval"] = 2

    data = create(api, body).json()

    assert [booking["start_at"] for booking in data["bookings"]] == [iso(SLOT + n * 2 * WEEK) for n in range(3)]
    assert BookingSeries.objects.get().interval_weeks == 2


def test_the_bookings_list_shows_and_filters_the_series(api, series_body, booking_body):
    data = create(api, series_body(count=3)).json()
    create(api, booking_body(start_at=iso(SLOT + dt.timedelta(hours=2))))

    everything = api.get("/api/bookings").json()
    one_series = api.get("/api/bookings", {"series_id": data["series_id"]}).json()

    assert everything["count"] == 4
    assert [row["series_id"] for row in everything["results"]].count(data["series_id"]) == 3
    assert [row["id"] for row in one_series["results"]] == [booking["id"] for booking in data["bookings"]]


def test_a_public_key_gets_the_students_view_of_every_occurrence(public_api, series_body):
    response = create(public_api, series_body(count=2))

    assert response.status_code == 201, response.content
    for booking in response.json()["bookings"]:
        assert "instructor_notes" not in booking and "payments" not in booking
        assert booking["attendee_email"] == "ada@example.com"


def test_a_series_across_the_dst_change_stays_at_18_00_local(api, brand):
    assignment = AssignmentFactory(brand=brand, timezone="Europe/Berlin", advance_booking_days=180)
    available_every_day(assignment, start=dt.time(9), end=dt.time(20))
    event_type = EventTypeFactory(brand=brand, allow_recurring=True, duration_minutes=60)
    first = dt.datetime(2027, 3, 16, 18, tzinfo=BERLIN)  # Berlin springs forward on 28 March 2027
    body = {
        "instructor_id": assignment.instructor_id,
        "event_type_id": event_type.id,
        "start_at": first.isoformat(),
        "attendee_name": "Ada Student",
        "attendee_email": "ada@example.com",
        "recurrence": {"frequency": "weekly", "count": 4},
    }

    response = create(api, body)

    assert response.status_code == 201, response.content
    starts = [dt.datetime.fromisoformat(b["start_at"]) for b in response.json()["bookings"]]
    assert [start.astimezone(BERLIN).strftime("%a %d %b %H:%M") for start in starts] == [
        "Tue 16 Mar 18:00",
        "Tue 23 Mar 18:00",
        "Tue 30 Mar 18:00",
        "Tue 06 Apr 18:00",
    ]
    assert [start.strftime("%H:%M") for start in starts] == ["17:00", "17:00", "16:00", "16:00"]  # UTC moves


def test_the_warnings_of_a_series_are_said_once(api, series_body, weekly_type, settings):
    weekly_type.send_sms_confirmation = True
    weekly_type.save()

    data = create(api, series_body(count=4, attendee_phone="")).json()

    assert data["warnings"] == ["SMS confirmation not sent: the booking has no phone number"]


def test_reminders_are_per_occurrence(api, series_body, weekly_type):
    weekly_type.reminder_minutes_before = [1440, 60]
    weekly_type.save()

    data = create(api, series_body(count=3)).json()

    for booking in data["bookings"]:
        reminders = BookingReminder.objects.filter(booking_id=booking["id"]).order_by("remind_at")
        start = dt.datetime.fromisoformat(booking["start_at"])
        assert [reminder.remind_at for reminder in reminders] == [
            start - dt.timedelta(minutes=1440),
            start - dt.timedelta(minutes=60),
        ]


# --- all or nothing, or skip ---------------------------------------------------------------


def test_one_taken_occurrence_refuses_the_whole_series_and_lists_it(api, series_body, brand, instructor):
    BookingFactory(brand=brand, instructor=instructor, start_at=SLOT + 2 * WEEK)

    response = create(api, series_body(count=4))

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "slot_unavailable"
    assert body["reason"] == "taken"
    assert body["conflicts"] == [{"start_at": iso(SLOT + 2 * WEEK), "reason": "taken"}]
    assert body["detail"].startswith("1 of the 4 weekly sessions cannot be booked, so none was booked.")
    assert Booking.objects.count() == 1 and not BookingSeries.objects.exists() and not Event.objects.exists()


def test_every_conflict_is_listed_with_its_own_reason(api, series_body, brand, instructor, assignment):
    BookingFactory(brand=brand, instructor=instructor, start_at=SLOT + WEEK)
    assignment.overrides.create(date=(SLOT + 3 * WEEK).date(), unavailable=True)

    body = create(api, series_body(count=4)).json()

    assert body["conflicts"] == [
        {"start_at": iso(SLOT + WEEK), "reason": "taken"},
        {"start_at": iso(SLOT + 3 * WEEK), "reason": "outside_availability"},
    ]


def test_skip_conflicts_books_the_free_occurrences_and_lists_the_others(api, series_body, brand, instructor):
    BookingFactory(brand=brand, instructor=instructor, start_at=SLOT + WEEK)

    response = create(api, series_body(count=3, skip_conflicts=True))

    assert response.status_code == 201, response.content
    data = response.json()
    assert [booking["start_at"] for booking in data["bookings"]] == [iso(SLOT), iso(SLOT + 2 * WEEK)]
    assert data["skipped"] == [{"start_at": iso(SLOT + WEEK), "reason": "taken"}]
    assert BookingSeries.objects.get().skipped == data["skipped"]
    assert Event.objects.filter(type="booking.created").count() == 2


def test_skip_conflicts_with_no_free_occurrence_is_still_a_409(api, series_body, assignment):
    assignment.weekly_ranges.all().delete()

    response = create(api, series_body(count=2, skip_conflicts=True))

    assert response.status_code == 409
    assert [conflict["reason"] for conflict in response.json()["conflicts"]] == ["outside_availability"] * 2
    assert response.json()["detail"].startswith("None of the 2 weekly sessions can be booked.")
    assert nothing_written()


def test_a_last_occurrence_beyond_the_advance_window_refuses_the_series(api, series_body, assignment):
    assignment.advance_booking_days = 30  # the 5th Wednesday, 30 Dec + 1 week, is beyond it
    assignment.save()

    refused = create(api, series_body(count=6))

    assert refused.status_code == 409
    assert refused.json()["conflicts"] == [{"start_at": iso(SLOT + 5 * WEEK), "reason": "beyond_window"}]
    assert refused.json()["reason"] == "beyond_window"
    assert nothing_written()

    skipped = create(api, series_body(count=6, skip_conflicts=True))

    assert skipped.status_code == 201
    assert len(skipped.json()["bookings"]) == 5
    assert skipped.json()["skipped"] == [{"start_at": iso(SLOT + 5 * WEEK), "reason": "beyond_window"}]


def test_a_day_at_its_limit_is_a_limit_reached_conflict(api, series_body, brand, instructor, assignment):
    assignment.max_bookings_per_day = 1
    assignment.save()
    BookingFactory(brand=brand, instructor=instructor, start_at=SLOT + WEEK + dt.timedelta(hours=3))

    body = create(api, series_body(count=3)).json()

    assert body["conflicts"] == [{"start_at": iso(SLOT + WEEK), "reason": "limit_reached"}]


def test_occurrences_are_checked_as_if_booked_one_by_one(assignment):
    """A series never blocks itself: each occurrence is a week from the next, in its own day and ISO week."""
    assignment.max_bookings_per_day = 1
    assignment.max_bookings_per_week = 1
    assignment.buffer_minutes = 1440
    assignment.save()
    from bookings.availability import instructor_series_refusals

    starts = [SLOT + n * WEEK for n in range(4)]
    reasons = instructor_series_refusals(assignment=assignment, starts=starts, session_minutes=60, now=NOW)
    twice = instructor_series_refusals(assignment=assignment, starts=[SLOT, SLOT], session_minutes=60, now=NOW)

    assert reasons == [None] * 4
    assert twice == [None, "limit_reached"]  # the same time twice: the second sees the first, as one by one would


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recurrence", "field"),
    [
        ({"frequency": "weekly", "count": 1}, "count"),
        ({"frequency": "weekly", "count": 27}, "count"),
        ({"frequency": "weekly", "count": "eight"}, "count"),
        ({"frequency": "weekly"}, "count"),
        ({"frequency": "daily", "count": 3}, "frequency"),
        ({"count": 3}, "frequency"),
        ({"frequency": "weekly", "count": 3, "interval": 0}, "interval"),
        ({"frequency": "weekly", "count": 3, "interval": 5}, "interval"),
    ],
)
def test_a_bad_recurrence_is_a_400_naming_the_field(api, series_body, recurrence, field):
    body = series_body()
    body["recurrence"] = recurrence

    response = create(api, body)

    assert response.status_code == 400
    assert field in response.json()["recurrence"]
    assert nothing_written()


@pytest.mark.parametrize("recurrence", ["weekly", ["weekly", 3], 8])
def test_a_recurrence_that_is_not_an_object_is_a_400(api, series_body, recurrence):
    response = create(api, {**series_body(), "recurrence": recurrence})

    assert response.status_code == 400
    assert "recurrence" in response.json()
    assert nothing_written()


def test_recurrence_on_a_type_that_does_not_allow_it_is_a_400(api, series_body, session_type):
    response = create(api, series_body(event_type_id=session_type.id))

    assert response.status_code == 400
    assert response.json()["recurrence"] == ["This session type cannot be booked as a weekly series."]
    assert nothing_written()


def test_more_occurrences_than_the_type_allows_is_a_400(api, series_body):
    response = create(api, series_body(count=13))  # the type allows 12

    assert response.status_code == 400
    assert "at most 12" in response.json()["recurrence"][0]
    assert nothing_written()


def test_skip_conflicts_without_a_recurrence_is_a_400(api, booking_body):
    response = create(api, {**booking_body(), "skip_conflicts": True})

    assert response.status_code == 400
    assert "skip_conflicts" in response.json()
    assert nothing_written()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"attendee_email": "not-an-email"}, "attendee_email"),
        ({"start_at": "2026-12-02T10:00:00"}, "start_at"),
        ({"end_at": "2026-12-02T10:30:00Z"}, "end_at"),
        ({"skip_conflicts": "perhaps"}, "skip_conflicts"),
    ],
)
def test_the_other_fields_of_a_series_are_checked_as_for_one_booking(api, series_body, overrides, field):
    response = create(api, {**series_body(), **overrides})

    assert response.status_code == 400
    assert field in response.json()
    assert nothing_written()


def test_another_brands_session_type_or_instructor_is_a_400(api, series_body, other_brand):
    foreign_type = EventTypeFactory(brand=other_brand, allow_recurring=True)
    foreign = AssignmentFactory(brand=other_brand)

    assert "event_type_id" in create(api, series_body(event_type_id=foreign_type.id)).json()
    assert "instructor_id" in create(api, series_body(instructor_id=foreign.instructor_id)).json()
    assert nothing_written()


def test_the_service_refuses_what_the_api_would(brand, instructor, weekly_type):
    common = {
        "brand": brand,
        "instructor": instructor,
        "event_type": weekly_type,
        "start_at": SLOT,
        "attendee_name": "Ada",
        "attendee_email": "ada@example.com",
    }
    for kwargs in ({"count": 1}, {"count": 27}, {"count": 3, "interval_weeks": 5}, {"count": 3, "frequency": "daily"}):
        with pytest.raises(ValidationError) as refused:
            services.booking_series_create(**common, **kwargs)
        assert "recurrence" in refused.value.message_dict
    assert nothing_written()


# --- idempotency ---------------------------------------------------------------------------


def test_a_retried_series_answers_the_first_result(api, series_body, brand, instructor):
    BookingFactory(brand=brand, instructor=instructor, start_at=SLOT + WEEK)
    body = series_body(count=3, skip_conflicts=True)

    first = create(api, body, HTTP_IDEMPOTENCY_KEY="series-1")
    again = create(api, body, HTTP_IDEMPOTENCY_KEY="series-1")
    other_body = create(api, series_body(count=2), HTTP_IDEMPOTENCY_KEY="series-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert BookingSeries.objects.count() == 1 and Booking.objects.count() == 3
    assert other_body.status_code == 422
    assert IdempotencyRecord.objects.count() == 1


def test_a_key_used_for_one_booking_cannot_replay_as_a_series(api, booking_body, series_body):
    create(api, booking_body(), HTTP_IDEMPOTENCY_KEY="k")

    response = create(api, series_body(count=2), HTTP_IDEMPOTENCY_KEY="k")

    assert response.status_code == 422
    assert not BookingSeries.objects.exists()


# --- one occurrence at a time ---------------------------------------------------------------


def test_rescheduling_or_cancelling_one_occurrence_leaves_the_others(api, series_body):
    bookings = create(api, series_body(count=3)).json()["bookings"]

    moved = api.patch(f"/api/bookings/{bookings[1]['id']}", {"start_at": iso(SLOT + WEEK + dt.timedelta(hours=2))})
    cancelled = api.delete(f"/api/bookings/{bookings[2]['id']}")

    assert moved.status_code == 200 and moved.json()["series_id"] == bookings[1]["series_id"]
    assert cancelled.status_code == 204
    rows = list(Booking.objects.order_by("start_at").values_list("start_at", "status"))
    assert rows == [
        (SLOT, "pending"),
        (SLOT + WEEK + dt.timedelta(hours=2), "pending"),
        (SLOT + 2 * WEEK, "cancelled"),
    ]


# --- cancelling the rest of a series ---------------------------------------------------------


def test_delete_from_an_occurrence_cancels_it_and_the_later_ones(api, series_body):
    data = create(api, series_body(count=4)).json()
    bookings = data["bookings"]

    response = cancel_series(api, data["series_id"], bookings[1]["uid"])

    assert response.status_code == 204
    statuses = list(Booking.objects.order_by("start_at").values_list("status", flat=True))
    assert statuses == ["pending", "cancelled", "cancelled", "cancelled"]
    assert Event.objects.filter(type="booking.cancelled").count() == 3
    assert set(Booking.objects.filter(status="cancelled").values_list("cancelled_by", flat=True)) == {"api"}


def test_delete_leaves_occurrences_already_final_and_can_be_repeated(api, series_body):
    data = create(api, series_body(count=3)).json()
    bookings = data["bookings"]
    api.delete(f"/api/bookings/{bookings[2]['id']}")

    first = cancel_series(api, data["series_id"], bookings[0]["uid"])
    again = cancel_series(api, data["series_id"], bookings[0]["uid"])

    assert first.status_code == again.status_code == 204
    assert Event.objects.filter(type="booking.cancelled").count() == 3  # one per occurrence, never twice


def test_a_student_cancels_the_rest_of_the_series_with_the_token_of_the_first_one(public_api, series_body):
    data = create(public_api, series_body(count=3)).json()
    first = data["bookings"][0]
    token = {"HTTP_X_BOOKING_TOKEN": manage_token(first["uid"])}

    response = cancel_series(public_api, data["series_id"], first["uid"], **token)

    assert response.status_code == 204
    assert set(Booking.objects.values_list("status", "cancelled_by")) == {("cancelled", "student")}


def test_a_public_key_without_the_from_bookings_token_gets_a_404(public_api, series_body):
    data = create(public_api, series_body(count=3)).json()
    first, second = data["bookings"][:2]

    missing = cancel_series(public_api, data["series_id"], first["uid"])
    other = cancel_series(public_api, data["series_id"], first["uid"], HTTP_X_BOOKING_TOKEN=manage_token(second["uid"]))
    token = manage_token(first["uid"])
    altered_token = token[:-1] + ("1" if token.endswith("0") else "0")
    altered = cancel_series(public_api, data["series_id"], first["uid"], HTTP_X_BOOKING_TOKEN=altered_token)

    assert missing.status_code == other.status_code == altered.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert not Booking.objects.filter(status="cancelled").exists()


def test_a_student_inside_the_cutoff_of_the_from_occurrence_cancels_nothing(public_api, series_body, frozen):
    data = create(public_api, series_body(count=3)).json()  # the first is 26 hours away, the cutoff 24
    first = data["bookings"][0]

    frozen.move_to(NOW + dt.timedelta(hours=3))
    response = cancel_series(
        public_api, data["series_id"], first["uid"], HTTP_X_BOOKING_TOKEN=manage_token(first["uid"])
    )

    assert response.status_code == 409
    assert response.json()["code"] == "cutoff_passed"
    assert not Booking.objects.filter(status="cancelled").exists()


def test_another_brands_series_or_a_foreign_from_is_a_404(api, other_api, series_body, booking_body):
    data = create(api, series_body(count=2)).json()
    single = create(api, booking_body(start_at=iso(SLOT + dt.timedelta(hours=3)))).json()

    foreign = cancel_series(other_api, data["series_id"], data["bookings"][0]["uid"])
    not_in_series = cancel_series(api, data["series_id"], single["uid"])
    unknown_series = cancel_series(api, "00000000-0000-0000-0000-000000000000", data["bookings"][0]["uid"])
    not_a_series_id = cancel_series(api, "12", data["bookings"][0]["uid"])

    assert foreign.status_code == not_in_series.status_code == unknown_series.status_code == 404
    assert not_a_series_id.status_code == 404
    assert not Booking.objects.filter(status="cancelled").exists()


@pytest.mark.parametrize("query", ["", "?from=", "?from=not-a-uid", "?from=12"])
def test_delete_without_a_valid_from_is_a_400(api, series_body, query):
    data = create(api, series_body(count=2)).json()

    response = api.delete(f"/api/bookings/series/{data['series_id']}{query}")

    assert response.status_code == 400
    assert "from" in response.json()
    assert not Booking.objects.filter(status="cancelled").exists()


def test_delete_series_needs_a_key(anonymous_api, api, series_body):
    data = create(api, series_body(count=2)).json()

    response = cancel_series(anonymous_api, data["series_id"], data["bookings"][0]["uid"])

    assert response.status_code == 401
    assert not Booking.objects.filter(status="cancelled").exists()


def test_the_service_refuses_a_from_booking_outside_the_series(api, series_body, brand, instructor):
    data = create(api, series_body(count=2)).json()
    stranger = BookingFactory(brand=brand, instructor=instructor, start_at=SLOT + dt.timedelta(hours=3))

    with pytest.raises(ValidationError) as refused:
        services.booking_series_cancel(
            series=BookingSeries.objects.get(pk=data["series_id"]), from_booking=stranger, actor=services.API
        )

    assert "from" in refused.value.message_dict
