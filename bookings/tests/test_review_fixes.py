"""Rules found missing in review: priced types, payment amounts, interval grids, lock order, input limits."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from bookings import services
from bookings.models import Booking, Payment
from bookings.tests.conftest import NOW, SLOT
from scheduling.tests.factories import AssignmentFactory, BrandFactory, EventTypeFactory, available_every_day

pytestmark = [pytest.mark.django_db]


@pytest.mark.usefixtures("frozen")
def test_priced_type_without_confirmation_still_starts_pending(api, booking_body, brand):
    priced = EventTypeFactory(brand=brand, requires_confirmation=False, price_amount=Decimal("30.00"))
    response = api.post("/api/bookings", booking_body(event_type_id=priced.id), format="json")
    assert response.status_code == 201
    assert response.json()["status"] == "pending"


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    ("amount", "currency"),
    [("0.01", "EUR"), ("49.99", "EUR"), ("50.00", "JPY")],
)
def test_successful_payment_must_cover_the_price(api, booking_body, paid_type, amount, currency):
    booking_id = api.post("/api/bookings", booking_body(event_type_id=paid_type.id), format="json").json()["id"]
    payment = {"amount": amount, "currency": currency, "status": "succeeded", "reference": "pi_x"}
    response = api.patch(f"/api/bookings/{booking_id}", {"status": "confirmed", "payment": payment}, format="json")
    assert response.status_code == 400
    assert "payment" in response.json()
    assert Payment.objects.count() == 0
    assert Booking.objects.get().status == "pending"


@pytest.mark.usefixtures("frozen")
def test_payment_above_the_price_confirms(api, booking_body, paid_type):
    booking_id = api.post("/api/bookings", booking_body(event_type_id=paid_type.id), format="json").json()["id"]
    payment = {"amount": "55.00", "currency": "EUR", "status": "succeeded"}
    response = api.patch(f"/api/bookings/{booking_id}", {"status": "confirmed", "payment": payment}, format="json")
    assert response.json()["status"] == "confirmed"


@pytest.mark.usefixtures("frozen")
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


@pytest.mark.usefixtures("frozen")
def test_idempotency_key_longer_than_stored_is_400(api, booking_body):
    response = api.post("/api/bookings", booking_body(), format="json", HTTP_IDEMPOTENCY_KEY="k" * 300)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert Booking.objects.count() == 0


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("name", ["from", "to"])
def test_calendar_feed_refuses_naive_times(api, name):
    response = api.get(f"/api/bookings?{name}=2026-12-01T00:00:00")
    assert response.status_code == 400
    assert name in response.json()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_notes_plus_reschedule_races_a_reschedule_without_deadlock():
    """Both requests take the instructor lock first, so neither dies with a deadlock.

    Both moves go to free times, so each must succeed; before the fix one of
    them regularly failed with a deadlock (then reported as a 409).
    """
    brand = BrandFactory(slug="locks")
    assignment = AssignmentFactory(brand=brand, timezone="UTC", buffer_minutes=0)
    available_every_day(assignment)
    event_type = EventTypeFactory(brand=brand, duration_minutes=60)
    with time_machine.travel(NOW, tick=True):
        booking = services.booking_create(
            brand=brand,
            instructor=assignment.instructor,
            event_type=event_type,
            start_at=SLOT,
            attendee_name="Ada",
            attendee_email="ada@example.com",
        ).booking
        errors = []
        barrier = threading.Barrier(2)

        def run(change):
            try:
                barrier.wait()
                services.booking_update(booking=Booking.objects.get(pk=booking.pk), changes=change, actor="api")
            except Exception as error:  # noqa: BLE001 - both moves are to free times: any failure is a bug
                errors.append(error)
            finally:
                connection.close()

        for _ in range(5):
            threads = [
                threading.Thread(
                    target=run,
                    args=({"instructor_notes": "x", "start_at": SLOT + dt.timedelta(hours=2)},),
                ),
                threading.Thread(target=run, args=({"start_at": SLOT + dt.timedelta(hours=4)},)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
    assert errors == []


def test_payment_amount_is_checked_by_the_service_too(brand):
    from django.core.exceptions import ValidationError

    assignment = AssignmentFactory(brand=brand, timezone="UTC")
    available_every_day(assignment)
    paid = EventTypeFactory(brand=brand, price_amount=Decimal("20.00"), currency="USD")
    with time_machine.travel(NOW, tick=False):
        booking = services.booking_create(
            brand=brand,
            instructor=assignment.instructor,
            event_type=paid,
            start_at=SLOT,
            attendee_name="Ada",
            attendee_email="ada@example.com",
        ).booking
        with pytest.raises(ValidationError):
            services.booking_confirm(
                booking=booking, payment={"amount": Decimal("20.00"), "currency": "EUR", "status": "succeeded"}
            )
    assert Booking.objects.get().status == "pending"
