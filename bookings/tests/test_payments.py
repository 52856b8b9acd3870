"""Paying for a priced session type: it starts pending, and only a payment that covers its price confirms it."""

from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from bookings import services
from bookings.models import Booking, Payment
from bookings.tests.conftest import NOW, SLOT
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, available_every_day

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


def test_payment_amount_is_checked_by_the_service_too(brand):
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
