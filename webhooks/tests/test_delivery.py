"""Delivery: one signed request per event and subscription, retries, disabling, and the faults.

The receiver is a real HTTP server (``devtools.WebhookReceiver``); tasks run
eagerly, after commit (``django_capture_on_commit_callbacks``), and every
received request is checked with the Standard Webhooks reference code.
Time travel (time-machine) walks through the retry schedule.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bookings import services as booking_services
from bookings.models import Event
from webhooks import delivery, ssrf
from webhooks.delivery import DISABLE_AFTER_FAILED_DELIVERIES, MAX_ATTEMPTS, RETRY_SCHEDULE, deliveries_send_due
from webhooks.models import WebhookDelivery, WebhookSubscription
from webhooks.services import subscription_update

from .factories import LATER_SLOT, NOW, body_of, book, subscribe, verified

pytestmark = pytest.mark.django_db


def booked(coach, capture, start=None):
    """A booking made through the service, its after-commit work (the first attempts) done."""
    instructor, event_type = coach
    with capture(execute=True):
        return book(instructor, event_type, **({"start": start} if start else {}))


def test_a_booking_event_is_posted_once_signed_with_the_subscription_secret(
    brand, coach, receiver, frozen, django_capture_on_commit_callbacks
):
    subscription = subscribe(brand, receiver)

    booking = booked(coach, django_capture_on_commit_callbacks)

    (request,) = receiver.requests
    body = verified(request, subscription.secret)
    event = Event.objects.get(booking=booking, type="booking.created")
    assert body == {"type": "booking.created", "timestamp": "2026-12-01T08:00:00Z", "data": event.payload}
    assert request["method"] == "POST" and request["path"] == "/hooks"
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["webhook-timestamp"] == str(int(NOW.timestamp()))
    (row,) = WebhookDelivery.objects.all()
    assert request["headers"]["webhook-id"] == row.message_id
    assert (row.status, row.attempt_count, row.last_response_status) == ("delivered", 1, 200)
    (attempt,) = row.attempts.all()
    assert attempt.succeeded and attempt.response_status == 200 and '"received": true' in attempt.response_body
