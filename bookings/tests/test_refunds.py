"""Recording a refund: only for a cancelled, paid booking; one Payment row; no event."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from bookings import services
from bookings.errors import InvalidTransition
from bookings.models import Booking, Event, Payment
from bookings.tests.conftest import SLOT

pytestmark = pytest.mark.django_db

PAYMENT = {"amount": "50.00", "currency": "EUR", "provider": "stripe", "reference": "pi_1", "status": "succeeded"}


def book(instructor, event_type) -> Booking:
    return services.booking_create(
        brand=event_type.brand,
        instructor=instructor,
        event_type=event_type,
        start_at=SLOT,
        attendee_name="Ada",
        attendee_email="ada@example.com",
    ).booking


@pytest.fixture
def paid_booking(frozen, instructor, paid_type) -> Booking:
    booking = book(instructor, paid_type)
    return services.booking_confirm(booking=booking, payment=dict(PAYMENT), actor=services.STAFF).booking


def test_refund_of_a_cancelled_paid_booking_records_one_refunded_payment(paid_booking):
    services.booking_cancel(booking=paid_booking, actor=services.STAFF, reason="Instructor ill")
    events_before = Event.objects.count()

    refund = services.payment_refund(booking=paid_booking, reference="re_1", note="goodwill")

    paid_booking.refresh_from_db()
    assert paid_booking.payment_status == "refunded"
    assert (refund.status, refund.amount, refund.currency, refund.provider) == (
        "refunded",
        Decimal("50.00"),
        "EUR",
        "stripe",
    )
    assert refund.raw_payload == {"note": "goodwill"}
    assert list(paid_booking.payments.values_list("status", flat=True)) == ["succeeded", "refunded"]
    assert Event.objects.count() == events_before  # a refund is not an event of the bus


def test_a_partial_refund_is_recorded_with_its_amount(paid_booking):
    services.booking_cancel(booking=paid_booking, actor=services.STAFF)

    refund = services.payment_refund(booking=paid_booking, amount=Decimal("20.00"))

    assert refund.amount == Decimal("20.00")
    assert services.payment_refundable_amount(paid_booking) == Decimal("30.00")


@pytest.mark.parametrize("amount", [Decimal("0"), Decimal("-1"), Decimal("50.01")])
def test_a_refund_of_nothing_or_more_than_paid_is_refused_on_amount(paid_booking, amount):
    services.booking_cancel(booking=paid_booking, actor=services.STAFF)

    with pytest.raises(ValidationError) as error:
        services.payment_refund(booking=paid_booking, amount=amount)

    assert list(error.value.message_dict) == ["amount"]
    assert paid_booking.payments.count() == 1
    assert Booking.objects.get(pk=paid_booking.pk).payment_status == "paid"


def test_a_booking_still_to_happen_is_not_refunded(paid_booking):
    with pytest.raises(InvalidTransition, match="cancel it first"):
        services.payment_refund(booking=paid_booking)

    assert Booking.objects.get(pk=paid_booking.pk).payment_status == "paid"
    assert not Payment.objects.filter(status="refunded").exists()


def test_a_refund_happens_once(paid_booking):
    services.booking_cancel(booking=paid_booking, actor=services.STAFF)
    services.payment_refund(booking=paid_booking)

    with pytest.raises(InvalidTransition, match="Only a paid booking"):
        services.payment_refund(booking=paid_booking)

    assert Payment.objects.filter(status="refunded").count() == 1


def test_an_unpaid_cancelled_booking_has_nothing_to_refund(frozen, instructor, session_type):
    booking = book(instructor, session_type)
    services.booking_cancel(booking=booking, actor=services.STAFF)

    with pytest.raises(InvalidTransition):
        services.payment_refund(booking=booking)
    assert not Payment.objects.exists()
