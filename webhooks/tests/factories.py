"""Helpers for the webhook tests: a bookable instructor, subscriptions, and checking received requests.

Bookings are made through ``bookings.services`` (never rows by hand), so the
deliveries come from the event bus as in production. Receivers are the
devtools ``WebhookReceiver`` (a real HTTP server on 127.0.0.1).
"""

from __future__ import annotations

import datetime as dt
import json

import time_machine
from standardwebhooks import Webhook

from bookings.services import booking_create
from bookings.signals import EVENT_NAMES
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, available_every_day
from webhooks.services import subscription_create

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)  # a Tuesday
SLOT = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)  # on the hourly grid, in hours
LATER_SLOT = dt.datetime(2026, 12, 3, 13, 0, tzinfo=dt.UTC)


def bookable(brand, **event_type_fields):
    """An instructor of ``brand`` available every day 09:00-17:00 UTC, and a 60-minute event type."""
    assignment = AssignmentFactory(brand=brand, timezone="UTC", buffer_minutes=0, cancellation_cutoff_hours=24)
    available_every_day(assignment)
    event_type = EventTypeFactory(brand=brand, **{"duration_minutes": 60, **event_type_fields})
    return assignment.instructor, event_type


def book(instructor, event_type, *, start: dt.datetime = SLOT):
    return booking_create(
        brand=event_type.brand,
        instructor=instructor,
        event_type=event_type,
        start_at=start,
        attendee_name="Ada Student",
        attendee_email="ada@example.com",
        student_timezone="Europe/Berlin",
    ).booking


def subscribe(brand, receiver, *, path: str = "/hooks", event_types=EVENT_NAMES, **fields):
    return subscription_create(brand=brand, url=receiver.url + path, event_types=list(event_types), **fields)


def verified(request: dict, secret: str) -> dict:
    """The JSON body of a received request, after checking its signature with ``secret`` (the reference code).

    Checked at the moment the request was signed, as its receiver did (the
    reference code refuses timestamps more than 5 minutes away from now, and
    tests travel in time after receiving).
    """
    with time_machine.travel(int(request["headers"]["webhook-timestamp"]), tick=False):
        return Webhook(secret).verify(request["raw_body"], dict(request["headers"]))


def body_of(request: dict) -> dict:
    return json.loads(request["raw_body"])
