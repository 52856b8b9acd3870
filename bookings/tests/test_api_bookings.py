"""POST/GET/PATCH/DELETE /api/bookings through the API, as a client meets them."""

import datetime as dt
from decimal import Decimal

import factory
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings.models import Booking, Event, Payment
from bookings.services import payment_record
from bookings.tests.conftest import NOW, SLOT, iso
from bookings.tests.factories import BookingFactory
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def create(api, body, **headers):
    return api.post("/api/bookings", body, format="json", **headers)


def token_of(booking: dict) -> dict[str, str]:
    """The ``X-Booking-Token`` header for a booking as the API returned it (the token of its manage_url)."""
    return {"HTTP_X_BOOKING_TOKEN": booking["manage_url"].rsplit("token=", 1)[1]}


# --- create ---------------------------------------------------------------------


def test_create_answers_201_pending_with_the_contract_fields(api, booking_body, brand, instructor, session_type):
    response = create(api, booking_body())
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["status"] == "pending"
    assert data["payment_status"] == "unpaid"
    assert data["start_at"] == "2026-12-02T10:00:00Z"
    assert data["end_at"] == "2026-12-02T11:00:00Z"
    assert data["brand_id"] == brand.id
    assert data["instructor_id"] == instructor.id
    assert data["event_type_id"] == session_type.id
    assert data["instructor_timezone"] == "UTC"
    assert data["student_timezone"] == "Europe/Berlin"
    assert data["attendee_phone"] == "+4915112345678"
    assert isinstance(data["warnings"], list)
    assert data["manage_url"].startswith(f"http://testserver/booking/{data['uid']}/?token=")
    assert data["payments"] == []
    assert Booking.objects.count() == 1


def test_create_without_confirmation_is_confirmed(api, booking_body, instant_type):
    response = create(api, booking_body(event_type_id=instant_type.id))
    assert response.status_code == 201
    assert response.json()["status"] == "confirmed"
    assert list(Event.objects.values_list("type", flat=True)) == ["booking.created"]


def test_create_with_public_key(public_api, booking_body):
    assert create(public_api, booking_body()).status_code == 201


def test_create_works_with_trailing_slash(api, booking_body):
    assert api.post("/api/bookings/", booking_body(), format="json").status_code == 201


def test_end_at_equal_to_duration_is_accepted(api, booking_body):
    response = create(api, booking_body(end_at=iso(SLOT + dt.timedelta(hours=1))))
    assert response.status_code == 201


def test_phone_obvious_forms_are_normalised(api, booking_body):
    response = create(api, booking_body(attendee_phone="0049 151 1234-5678"))
    assert response.status_code == 201
    assert response.json()["attendee_phone"] == "+4915112345678"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"start_at": "2026-12-02T10:00:00"}, "start_at"),
        ({"start_at": "tomorrow"}, "start_at"),
        ({"start_at": None}, "start_at"),
        ({"end_at": "2026-12-02T09:00:00Z"}, "end_at"),
        ({"end_at": "2026-12-02T10:00:00Z"}, "end_at"),
        ({"end_at": "2026-12-02T11:30:00Z"}, "end_at"),
        ({"end_at": "2026-12-02T11:00:00"}, "end_at"),
        ({"event_type_id": 999999}, "event_type_id"),
        ({"instructor_id": 999999}, "instructor_id"),
        ({"instructor_id": None}, "instructor_id"),
        ({"instructor_id": "abc"}, "instructor_id"),
        ({"attendee_email": "not-an-email"}, "attendee_email"),
        ({"attendee_name": ""}, "attendee_name"),
        ({"attendee_phone": "12345"}, "attendee_phone"),
        ({"attendee_phone": "call me"}, "attendee_phone"),
        ({"student_timezone": "Mars/Olympus"}, "student_timezone"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(api, booking_body, overrides, field):
    response = create(api, booking_body(**overrides))
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert Booking.objects.count() == 0
    assert Event.objects.count() == 0


def test_create_refuses_malformed_json(api):
    response = api.generic("POST", "/api/bookings", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert Booking.objects.count() == 0


def test_event_type_of_another_brand_is_unknown(api, booking_body, other_brand):
    foreign = EventTypeFactory(brand=other_brand)
    response = create(api, booking_body(event_type_id=foreign.id))
    assert response.status_code == 400
    assert "event_type_id" in response.json()


def test_instructor_of_another_brand_is_unknown(api, booking_body, other_brand):
    foreign = AssignmentFactory(brand=other_brand).instructor
    response = create(api, booking_body(instructor_id=foreign.id))
    assert response.status_code == 400
    assert "instructor_id" in response.json()
    assert Booking.objects.count() == 0


def test_inactive_event_type_is_refused(api, booking_body, session_type):
    session_type.is_active = False
    session_type.save()
    response = create(api, booking_body())
    assert response.status_code == 400
    assert "event_type_id" in response.json()


@pytest.mark.parametrize(
    "start_at",
    [
        "2026-12-02T10:30:00Z",  # off the grid
        "2026-12-02T07:00:00Z",  # before hours
        "2026-12-02T16:30:00Z",  # runs past 17:00
        "2026-11-30T10:00:00Z",  # in the past
        "2027-06-01T10:00:00Z",  # beyond the 90-day window
    ],
)
def test_time_not_offered_is_409_slot_unavailable(api, booking_body, start_at):
    response = create(api, booking_body(start_at=start_at))
    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"
    assert Booking.objects.count() == 0


def test_minimum_notice_is_enforced(api, booking_body, assignment):
    assignment.minimum_notice_minutes = 48 * 60
    assignment.save()
    response = create(api, booking_body())
    assert response.status_code == 409
    assert response.json()["code"] == "slot_unavailable"


def test_taken_time_and_buffer_are_409(api, booking_body, assignment):
    assert create(api, booking_body()).status_code == 201
    again = create(api, booking_body(attendee_email="bob@example.com"))
    assert again.status_code == 409
    assignment.buffer_minutes = 15
    assignment.save()
    next_slot = create(api, booking_body(start_at=iso(SLOT + dt.timedelta(hours=1))))
    assert next_slot.status_code == 409
    assert Booking.objects.count() == 1


def test_adjacent_bookings_both_succeed_with_buffer_zero(api, booking_body):
    assert create(api, booking_body()).status_code == 201
    assert create(api, booking_body(start_at=iso(SLOT + dt.timedelta(hours=1)))).status_code == 201


def test_cancelled_booking_frees_its_slot(api, booking_body):
    first = create(api, booking_body()).json()
    assert api.delete(f"/api/bookings/{first['id']}").status_code == 204
    assert create(api, booking_body(attendee_email="bob@example.com")).status_code == 201


def test_busy_time_in_another_brand_blocks_the_slot(api, booking_body, instructor, other_brand):
    other_assignment = AssignmentFactory(instructor=instructor, brand=other_brand, timezone="UTC")
    BookingFactory(
        brand=other_brand,
        instructor=instructor,
        event_type=EventTypeFactory(brand=other_brand),
        start_at=SLOT + dt.timedelta(minutes=30),
        instructor_timezone=other_assignment.timezone,
    )
    response = create(api, booking_body())
    assert response.status_code == 409


def test_idempotency_key_returns_the_first_result(api, booking_body):
    first = create(api, booking_body(), HTTP_IDEMPOTENCY_KEY="abc-123")
    second = create(api, booking_body(), HTTP_IDEMPOTENCY_KEY="abc-123")
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert Booking.objects.count() == 1
    assert Event.objects.filter(type="booking.created").count() == 1


CREATE_QUERIES = 16
"""Queries of ``POST /api/bookings`` with an Idempotency-Key (the key's last-use stamp aside): the key, the
assignment and the session type; then in one transaction (BEGIN and COMMIT count) the instructor's lock, the
idempotency lookup, the schedule, the busy time, the booking, its event, its reminders, its two messages, the
webhook subscriptions and the idempotency record."""


def test_create_costs_the_same_few_queries_whatever_the_calendar_holds(api, booking_body, assignment, instructor):
    create(api, booking_body(start_at=iso(SLOT - dt.timedelta(hours=1))), HTTP_IDEMPOTENCY_KEY="warm-up")
    with CaptureQueriesContext(connection) as few:
        assert create(api, booking_body(), HTTP_IDEMPOTENCY_KEY="first").status_code == 201
    BookingFactory.create_batch(
        40,
        brand=assignment.brand,
        instructor=instructor,
        start_at=factory.Iterator(SLOT + dt.timedelta(days=day, hours=2) for day in range(40)),
    )
    with CaptureQueriesContext(connection) as many:
        assert create(api, booking_body(start_at=iso(SLOT + dt.timedelta(hours=1))), HTTP_IDEMPOTENCY_KEY="second")

    assert len(few) == len(many) <= CREATE_QUERIES, [query["sql"][:80] for query in many.captured_queries]


def test_a_new_booking_answers_its_empty_payments_without_asking_and_a_replay_shows_them(api, booking_body):
    with CaptureQueriesContext(connection) as queries:
        first = create(api, booking_body(), HTTP_IDEMPOTENCY_KEY="pay-later")
    assert first.json()["payments"] == []
    assert not [query for query in queries.captured_queries if "bookings_payment" in query["sql"]]
    booking = Booking.objects.get(pk=first.json()["id"])
    payment_record(booking=booking, amount=Decimal("50.00"), currency="EUR", status=Payment.Status.SUCCEEDED)

    replay = create(api, booking_body(), HTTP_IDEMPOTENCY_KEY="pay-later")

    assert replay["Idempotent-Replayed"] == "true"
    assert [payment["amount"] for payment in replay.json()["payments"]] == ["50.00"]


def test_idempotency_key_with_another_body_is_refused(api, booking_body):
    create(api, booking_body(), HTTP_IDEMPOTENCY_KEY="abc-123")
    other = create(api, booking_body(attendee_email="eve@example.com"), HTTP_IDEMPOTENCY_KEY="abc-123")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert Booking.objects.count() == 1


def test_create_needs_a_key(anonymous_api, booking_body):
    response = create(anonymous_api, booking_body())
    assert response.status_code == 401
    bad = anonymous_api.post("/api/bookings", booking_body(), format="json", HTTP_AUTHORIZATION="Bearer nope.nope")
    assert bad.status_code == 401
    assert Booking.objects.count() == 0


# --- read -----------------------------------------------------------------------


def test_detail_and_cross_brand_404(api, other_api, public_api, booking_body):
    booking_id = create(api, booking_body()).json()["id"]
    assert api.get(f"/api/bookings/{booking_id}").status_code == 200
    assert api.get(f"/api/bookings/{booking_id}/").status_code == 200
    assert other_api.get(f"/api/bookings/{booking_id}").status_code == 404
    assert other_api.patch(f"/api/bookings/{booking_id}", {"status": "confirmed"}, format="json").status_code == 404
    assert other_api.delete(f"/api/bookings/{booking_id}").status_code == 404
    assert public_api.get(f"/api/bookings/{booking_id}").status_code == 404  # without the booking's token
    assert Booking.objects.get().status == "pending"


def test_calendar_feed_filters(api, public_api, booking_body, instructor, brand):
    create(api, booking_body())
    create(api, booking_body(start_at=iso(SLOT + dt.timedelta(days=1)), attendee_email="bob@example.com"))
    past = BookingFactory(
        brand=brand,
        instructor=instructor,
        event_type=EventTypeFactory(brand=brand),
        start_at=NOW - dt.timedelta(days=2),
    )
    feed = api.get(f"/api/bookings?instructorId={instructor.id}&upcomingOnly=true").json()
    assert feed["count"] == 2
    assert [b["start_at"] for b in feed["results"]] == ["2026-12-02T10:00:00Z", "2026-12-03T10:00:00Z"]
    everything = api.get(f"/api/bookings?instructor_id={instructor.id}").json()
    assert everything["count"] == 3
    assert everything["results"][0]["id"] == past.id
    assert api.get("/api/bookings?attendee_email=BOB@example.com").json()["count"] == 1
    assert api.get("/api/bookings?status=confirmed").json()["count"] == 1
    assert api.get("/api/bookings?from=2026-12-02T12:00:00Z").json()["count"] == 1
    assert api.get("/api/bookings?to=2026-12-02T12:00:00Z").json()["count"] == 2
    assert api.get("/api/bookings?status=nonsense").status_code == 400
    assert api.get("/api/bookings?from=yesterday").status_code == 400
    assert public_api.get("/api/bookings").status_code == 403


def test_calendar_feed_query_count_is_flat(api, brand, instructor, django_assert_max_num_queries):
    event_type = EventTypeFactory(brand=brand)

    def add(count, offset):
        for index in range(count):
            BookingFactory(
                brand=brand,
                instructor=instructor,
                event_type=event_type,
                start_at=SLOT + dt.timedelta(days=offset + index),
            )

    add(2, 0)
    with django_assert_max_num_queries(4):
        assert api.get("/api/bookings").json()["count"] == 2
    add(30, 10)
    with django_assert_max_num_queries(4):
        assert api.get("/api/bookings").json()["count"] == 32


# --- lifecycle ------------------------------------------------------------------


def patch(api, booking_id, body, **headers):
    return api.patch(f"/api/bookings/{booking_id}", body, format="json", **headers)


def test_confirm_then_cancel_with_reason(api, booking_body):
    booking_id = create(api, booking_body()).json()["id"]
    confirmed = patch(api, booking_id, {"status": "confirmed"})
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    cancelled = patch(api, booking_id, {"status": "cancelled", "cancellation_reason": "Sick"})
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancellation_reason"] == "Sick"
    again = patch(api, booking_id, {"status": "confirmed"})
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"


@pytest.mark.parametrize("status", ["completed", "no_show"])
def test_complete_and_no_show_only_after_start(api, booking_body, frozen, status):
    booking_id = create(api, booking_body()).json()["id"]
    early = patch(api, booking_id, {"status": status})
    assert early.status_code == 409  # still pending
    patch(api, booking_id, {"status": "confirmed"})
    too_soon = patch(api, booking_id, {"status": status})
    assert too_soon.status_code == 409
    assert too_soon.json()["code"] == "invalid_transition"
    frozen.move_to(SLOT + dt.timedelta(minutes=5))
    done = patch(api, booking_id, {"status": status})
    assert done.status_code == 200
    assert done.json()["status"] == status
    final = patch(api, booking_id, {"status": "cancelled"})
    assert final.status_code == 409
    assert Booking.objects.get().status == status


def test_unknown_status_is_400(api, booking_body):
    booking_id = create(api, booking_body()).json()["id"]
    response = patch(api, booking_id, {"status": "archived"})
    assert response.status_code == 400
    assert "status" in response.json()


def test_instructor_notes(api, booking_body):
    booking_id = create(api, booking_body()).json()["id"]
    response = patch(api, booking_id, {"instructor_notes": "Worked on scales."})
    assert response.status_code == 200
    assert response.json()["instructor_notes"] == "Worked on scales."
    assert Event.objects.count() == 1  # notes emit nothing


def test_refused_patch_changes_nothing(api, booking_body):
    booking_id = create(api, booking_body()).json()["id"]
    response = patch(api, booking_id, {"status": "completed", "instructor_notes": "x"})
    assert response.status_code == 409
    assert Booking.objects.get().instructor_notes == ""


def test_confirm_with_payment(api, booking_body, paid_type):
    booking_id = create(api, booking_body(event_type_id=paid_type.id)).json()["id"]
    payment = {"amount": "50.00", "currency": "EUR", "provider": "stripe", "reference": "pi_123", "status": "succeeded"}
    response = patch(api, booking_id, {"status": "confirmed", "payment": payment})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "confirmed"
    assert data["payment_status"] == "paid"
    assert data["payments"][0]["reference"] == "pi_123"
    assert list(Event.objects.order_by("id").values_list("type", flat=True)) == [
        "booking.created",
        "payment.succeeded",
        "booking.confirmed",
    ]
    payload = Event.objects.get(type="payment.succeeded").payload
    assert payload["amount"] == "50.00"
    assert payload["reference"] == "pi_123"


def test_failed_payment_keeps_booking_pending(api, booking_body, paid_type):
    booking_id = create(api, booking_body(event_type_id=paid_type.id)).json()["id"]
    payment = {"amount": "50.00", "currency": "EUR", "provider": "stripe", "reference": "pi_9", "status": "failed"}
    response = patch(api, booking_id, {"status": "confirmed", "payment": payment})
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert response.json()["payments"][0]["status"] == "failed"
    assert Event.objects.filter(type="payment.failed").count() == 1
    assert not Event.objects.filter(type="booking.confirmed").exists()


def test_priced_type_needs_payment_unless_waived_by_secret_key(api, booking_body, paid_type):
    booking_id = create(api, booking_body(event_type_id=paid_type.id)).json()["id"]
    refused = patch(api, booking_id, {"status": "confirmed"})
    assert refused.status_code == 409
    assert refused.json()["code"] == "payment_required"
    waived = patch(api, booking_id, {"status": "confirmed", "payment_status": "waived"})
    assert waived.status_code == 200
    assert waived.json()["payment_status"] == "waived"


@pytest.mark.parametrize(
    ("payment", "field"),
    [
        ({"amount": "-1.00", "currency": "EUR", "status": "succeeded"}, "payment"),
        ({"amount": "10.00", "currency": "XYZ", "status": "succeeded"}, "payment"),
        ({"amount": "10.00", "currency": "EUR", "status": "maybe"}, "payment"),
        ({"currency": "EUR", "status": "succeeded"}, "payment"),
    ],
)
def test_bad_payment_is_400_and_writes_nothing(api, booking_body, paid_type, payment, field):
    booking_id = create(api, booking_body(event_type_id=paid_type.id)).json()["id"]
    response = patch(api, booking_id, {"status": "confirmed", "payment": payment})
    assert response.status_code == 400
    assert field in response.json()
    assert Payment.objects.count() == 0
    assert Booking.objects.get().status == "pending"


def test_reschedule(api, booking_body):
    booking = create(api, booking_body()).json()
    new_start = SLOT + dt.timedelta(days=1, hours=2)
    response = patch(api, booking["id"], {"start_at": iso(new_start)})
    assert response.status_code == 200
    assert response.json()["start_at"] == iso(new_start)
    event = Event.objects.get(type="booking.rescheduled")
    assert event.payload["previous_start_at"] == iso(SLOT)
    assert Booking.objects.get().sequence == 1


def test_reschedule_into_its_own_buffer_does_not_collide_with_itself(api, booking_body, assignment):
    assignment.buffer_minutes = 15
    assignment.save()
    booking = create(api, booking_body()).json()
    response = patch(api, booking["id"], {"start_at": iso(SLOT + dt.timedelta(hours=1))})
    assert response.status_code == 200


def test_reschedule_to_a_taken_time_is_409(api, booking_body):
    first = create(api, booking_body()).json()
    create(api, booking_body(start_at=iso(SLOT + dt.timedelta(hours=2)), attendee_email="b@example.com"))
    response = patch(api, first["id"], {"start_at": iso(SLOT + dt.timedelta(hours=2))})
    assert response.status_code == 409
    assert Booking.objects.get(pk=first["id"]).start_at == SLOT


def test_reschedule_cancelled_booking_is_409(api, booking_body):
    booking_id = create(api, booking_body()).json()["id"]
    api.delete(f"/api/bookings/{booking_id}")
    response = patch(api, booking_id, {"start_at": iso(SLOT + dt.timedelta(days=1))})
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


def test_reschedule_naive_time_is_400(api, booking_body):
    booking_id = create(api, booking_body()).json()["id"]
    response = patch(api, booking_id, {"start_at": "2026-12-05T10:00:00"})
    assert response.status_code == 400
    assert "start_at" in response.json()


def test_public_key_may_only_cancel_or_reschedule(public_api, booking_body):
    created = create(public_api, booking_body(start_at=iso(SLOT + dt.timedelta(days=3)))).json()
    booking_id, token = created["id"], token_of(created)
    assert patch(public_api, booking_id, {"status": "confirmed"}, **token).status_code == 403
    assert patch(public_api, booking_id, {"instructor_notes": "x"}, **token).status_code == 403
    moved = patch(public_api, booking_id, {"start_at": iso(SLOT + dt.timedelta(days=4))}, **token)
    assert moved.status_code == 200
    assert patch(public_api, booking_id, {"status": "cancelled"}, **token).status_code == 200


def test_public_key_cannot_cancel_past_the_cutoff_but_secret_can(public_api, api, booking_body):
    created = create(public_api, booking_body()).json()  # starts in 26 h, cutoff 24 h
    booking_id, token = created["id"], token_of(created)
    with_cutoff = {"status": "cancelled"}
    with time_machine.travel(SLOT - dt.timedelta(hours=23), tick=False):
        refused = patch(public_api, booking_id, with_cutoff, **token)
        assert refused.status_code == 409
        assert refused.json()["code"] == "cutoff_passed"
        assert "2026-12-01T10:00:00Z" in refused.json()["detail"]
        assert public_api.delete(f"/api/bookings/{booking_id}", **token).status_code == 409
        assert Booking.objects.get().status == "pending"
        assert api.delete(f"/api/bookings/{booking_id}").status_code == 204
    assert Booking.objects.get().status == "cancelled"


def test_delete_cancels_and_keeps_the_record(api, booking_body):
    booking_id = create(api, booking_body()).json()["id"]
    assert api.delete(f"/api/bookings/{booking_id}/").status_code == 204
    booking = Booking.objects.get()
    assert booking.status == "cancelled"
    assert booking.cancelled_by == "api"
    assert api.delete(f"/api/bookings/{booking_id}").status_code == 409


def test_unknown_booking_is_404(api):
    assert api.get("/api/bookings/999999").status_code == 404
    assert api.patch("/api/bookings/999999", {"status": "confirmed"}, format="json").status_code == 404


def test_every_slot_shown_for_a_type_with_an_interval_can_be_booked(api, booking_body, brand, instructor):
    stepped = EventTypeFactory(brand=brand, duration_minutes=60, slot_interval_minutes=30)
    query = (
        f"/api/bookings/availability?instructorId={instructor.id}&eventTypeId={stepped.id}&startDate=2026-12-02&days=1"
    )
    slots = api.get(query).json()["slots"]
    assert "2026-12-02T09:30:00Z" in [slot["start_at"] for slot in slots]
    response = api.post(
        "/api/bookings", booking_body(event_type_id=stepped.id, start_at="2026-12-02T09:30:00Z"), format="json"
    )
    assert response.status_code == 201, response.content
    conflicting = api.get(query + "&intervalMinutes=15")
    assert conflicting.status_code == 400
    assert "intervalMinutes" in conflicting.json() or "interval_minutes" in conflicting.json()


def test_idempotency_key_longer_than_stored_is_400(api, booking_body):
    response = api.post("/api/bookings", booking_body(), format="json", HTTP_IDEMPOTENCY_KEY="k" * 300)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert Booking.objects.count() == 0


@pytest.mark.parametrize("name", ["from", "to"])
def test_calendar_feed_refuses_naive_times(api, name):
    response = api.get(f"/api/bookings?{name}=2026-12-01T00:00:00")
    assert response.status_code == 400
    assert name in response.json()
