"""The event bus subscriber: every booking signal queues deliveries, wired once, and never adds warnings."""

from __future__ import annotations

import pytest

from bookings.models import Booking
from bookings.services import booking_create
from bookings.signals import SIGNALS_BY_EVENT_NAME
from webhooks import receivers
from webhooks.models import WebhookDelivery

from .factories import SLOT, subscribe

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("event_name", list(SIGNALS_BY_EVENT_NAME))
def test_every_booking_signal_has_the_webhook_receiver_once(event_name):
    receivers.connect()  # connecting again changes nothing
    signal = SIGNALS_BY_EVENT_NAME[event_name]

    ours = [receiver for receiver in signal._live_receivers(Booking)[0] if receiver is receivers.queue_deliveries]

    assert len(ours) == 1


def test_a_failing_receiver_never_shows_in_the_booking_answer(
    brand, coach, receiver, frozen, django_capture_on_commit_callbacks
):
    subscribe(brand, receiver)
    receiver.respond_with(500)
    instructor, event_type = coach

    with django_capture_on_commit_callbacks(execute=True):
        result = booking_create(
            brand=brand,
            instructor=instructor,
            event_type=event_type,
            start_at=SLOT,
            attendee_name="Ada",
            attendee_email="ada@example.com",
        )

    assert result.warnings == []
    (delivery,) = WebhookDelivery.objects.filter(event__booking=result.booking)
    assert delivery.status == "pending" and delivery.last_response_status == 500
