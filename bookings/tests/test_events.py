"""The event bus: rows written with the change, signals sent by services, GET /api/events."""

import datetime as dt

import pytest
from django.db import transaction

from bookings import services, signals
from bookings.models import Booking, Event
from bookings.tests.conftest import SLOT, iso

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def test_full_story_shows_in_order(api, other_api, booking_body, paid_type):
    booking_id = api.post("/api/bookings", booking_body(event_type_id=paid_type.id), format="json").json()["id"]
    payment = {"amount": "50.00", "currency": "EUR", "provider": "stripe", "reference": "pi_1", "status": "succeeded"}
    api.patch(f"/api/bookings/{booking_id}", {"status": "confirmed", "payment": payment}, format="json")
    api.patch(f"/api/bookings/{booking_id}", {"start_at": iso(SLOT + dt.timedelta(days=2))}, format="json")
    api.delete(f"/api/bookings/{booking_id}")

    response = api.get("/api/events")
    assert response.status_code == 200
    events = response.json()["results"]
    assert [e["type"] for e in events] == [
        "booking.cancelled",
        "booking.rescheduled",
        "booking.confirmed",
        "payment.succeeded",
        "booking.created",
    ]
    created = events[-1]
    assert created["booking_id"] == booking_id
    assert set(created) == {"id", "type", "booking_id", "payload", "created_at"}
    payload = created["payload"]
    for key in (
        "booking_id",
        "booking_uid",
        "brand_id",
        "event_type_id",
        "instructor_id",
        "team_member_id",
        "start_at",
        "end_at",
        "attendee_email",
        "attendee_name",
        "status",
        "payment_status",
        "student_timezone",
        "instructor_timezone",
    ):
        assert key in payload, key
    assert payload["team_member_id"] == payload["instructor_id"]
    assert events[0]["payload"]["status"] == "cancelled"

    assert api.get("/api/events?type=booking.confirmed").json()["count"] == 1
    assert api.get(f"/api/events?booking_id={booking_id}").json()["count"] == 5
    assert api.get("/api/events?bookingId=999999").json()["count"] == 0
    assert api.get("/api/events?type=nonsense").status_code == 400
    assert other_api.get("/api/events").json()["count"] == 0


def test_events_need_a_secret_key(public_api, anonymous_api):
    assert public_api.get("/api/events").status_code == 403
    assert anonymous_api.get("/api/events").status_code == 401


def test_each_service_sends_its_signal_once(brand, instructor, instant_type):
    received = []

    def listener(sender, booking, event, **kwargs):
        received.append((event.type, booking.pk))

    for signal in signals.SIGNALS_BY_EVENT_NAME.values():
        signal.connect(listener, weak=False)
    try:
        result = services.booking_create(
            brand=brand,
            instructor=instructor,
            event_type=instant_type,
            start_at=SLOT,
            attendee_name="Ada",
            attendee_email="ada@example.com",
        )
        services.booking_cancel(booking=result.booking, actor=services.API)
    finally:
        for signal in signals.SIGNALS_BY_EVENT_NAME.values():
            signal.disconnect(listener)
    assert received == [("booking.created", result.booking.pk), ("booking.cancelled", result.booking.pk)]


def test_receiver_warnings_reach_the_result(brand, instructor, session_type):
    def warn(sender, **kwargs):
        return ["SMS not configured"]

    signals.booking_created.connect(warn, weak=False)
    try:
        result = services.booking_create(
            brand=brand,
            instructor=instructor,
            event_type=session_type,
            start_at=SLOT,
            attendee_name="Ada",
            attendee_email="ada@example.com",
        )
    finally:
        signals.booking_created.disconnect(warn)
    assert "SMS not configured" in result.warnings


def test_rolled_back_operation_leaves_no_event_and_no_work(
    brand, instructor, session_type, django_capture_on_commit_callbacks
):
    work_done = []

    def enqueue(sender, booking, event, **kwargs):
        transaction.on_commit(lambda: work_done.append(event.pk))

    signals.booking_created.connect(enqueue, weak=False)
    try:
        with (
            django_capture_on_commit_callbacks(execute=True) as callbacks,
            pytest.raises(RuntimeError),
            transaction.atomic(),
        ):
            services.booking_create(
                brand=brand,
                instructor=instructor,
                event_type=session_type,
                start_at=SLOT,
                attendee_name="Ada",
                attendee_email="ada@example.com",
            )
            raise RuntimeError("the caller fails after booking")
    finally:
        signals.booking_created.disconnect(enqueue)
    assert Booking.objects.count() == 0
    assert Event.objects.count() == 0
    assert callbacks == []
    assert work_done == []


def test_committed_operation_runs_its_work_once(brand, instructor, session_type, django_capture_on_commit_callbacks):
    work_done = []

    def enqueue(sender, booking, event, **kwargs):
        transaction.on_commit(lambda: work_done.append(event.pk))

    signals.booking_created.connect(enqueue, weak=False)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.booking_create(
                brand=brand,
                instructor=instructor,
                event_type=session_type,
                start_at=SLOT,
                attendee_name="Ada",
                attendee_email="ada@example.com",
            )
    finally:
        signals.booking_created.disconnect(enqueue)
    assert work_done == [Event.objects.get().pk]


def test_event_list_query_count_is_flat(api, brand, instructor, instant_type, django_assert_max_num_queries):
    def book(days):
        services.booking_create(
            brand=brand,
            instructor=instructor,
            event_type=instant_type,
            start_at=SLOT + dt.timedelta(days=days),
            attendee_name="Ada",
            attendee_email="ada@example.com",
        )

    book(0)
    with django_assert_max_num_queries(4):
        api.get("/api/events")
    for day in range(1, 20):
        book(day)
    with django_assert_max_num_queries(4):
        assert api.get("/api/events").json()["count"] == 20
