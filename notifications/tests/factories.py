"""Factories and helpers for the notification tests.

Bookings are made through ``bookings.services.booking_create`` (never rows
by hand), on an instructor available every day 09:00-17:00 Berlin time, at a
slot on the grid, with the clock frozen at :data:`NOW`. Provider tests run the
real ``resend`` and ``twilio`` SDKs against the devtools stand-ins
(:func:`provider_standins`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import factory
import icalendar

from bookings.services import booking_create
from devtools import ResendStandin, TwilioStandin
from notifications.models import Channel, Notification
from scheduling.tests.factories import AssignmentFactory, BrandFactory, EventTypeFactory, available_every_day

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)  # a Tuesday
SLOT = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)  # 11:00 in Berlin: on the hourly grid from 09:00
LATER_SLOT = dt.datetime(2026, 12, 3, 13, 0, tzinfo=dt.UTC)  # 14:00 in Berlin
PHONE = "+4915112345678"
RESEND_KEY = "re_test_key"
TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "twilio-test-token"
TWILIO_FROM = "+15005550006"


def bookable(brand=None, *, timezone: str = "Europe/Berlin", **event_type_fields):
    """An instructor of ``brand`` available every day 09:00-17:00 local, and a 60-minute event type."""
    brand = brand or BrandFactory()
    assignment = AssignmentFactory(brand=brand, timezone=timezone, buffer_minutes=0, cancellation_cutoff_hours=24)
    available_every_day(assignment)
    fields = {"duration_minutes": 60, "requires_confirmation": True, **event_type_fields}
    event_type = EventTypeFactory(brand=brand, **fields)
    return assignment.instructor, event_type


def book(
    instructor,
    event_type,
    *,
    start: dt.datetime = SLOT,
    phone: str = PHONE,
    email: str = "ada@example.com",
    name: str = "Ada Student",
    student_timezone: str = "America/New_York",
):
    """``booking_create`` for ``instructor`` and ``event_type`` (returns the ``BookingResult``)."""
    return booking_create(
        brand=event_type.brand,
        instructor=instructor,
        event_type=event_type,
        start_at=start,
        attendee_name=name,
        attendee_email=email,
        attendee_phone=phone,
        student_timezone=student_timezone,
        notes="First session",
    )


class NotificationFactory(factory.django.DjangoModelFactory):
    """A notification row for a booking (tests of the send side)."""

    class Meta:
        model = Notification

    kind = Notification.Kind.CONFIRMATION
    channel = Channel.EMAIL
    audience = Notification.Audience.ATTENDEE
    recipient = factory.LazyAttribute(lambda o: o.booking.attendee_email)


@dataclass
class Standins:
    resend: ResendStandin
    twilio: TwilioStandin


@contextlib.contextmanager
def provider_standins(settings, *, twilio: bool = True) -> Iterator[Standins]:
    """Resend and Twilio stand-ins with the provider settings pointing at them.

    ``settings`` is pytest-django's fixture; ``twilio=False`` leaves SMS
    unconfigured (the Twilio stand-in still runs, to prove nothing reaches it).
    """
    with ResendStandin(api_key=RESEND_KEY) as resend_server, TwilioStandin(auth_token=TWILIO_TOKEN) as twilio_server:
        settings.RESEND_API_KEY = RESEND_KEY
        settings.RESEND_API_URL = resend_server.url
        settings.RESEND_FROM_EMAIL = "Bookings <bookings@example.com>"
        settings.TWILIO_API_URL = twilio_server.url
        settings.TWILIO_ACCOUNT_SID = TWILIO_SID if twilio else ""
        settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN if twilio else ""
        settings.TWILIO_FROM_NUMBER = TWILIO_FROM if twilio else ""
        settings.TWILIO_WHATSAPP_FROM = "+14155238886" if twilio else ""
        settings.NOTIFICATIONS_BACKENDS = {}
        settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 5
        yield Standins(resend=resend_server, twilio=twilio_server)


def ics_of(email: dict) -> icalendar.Calendar:
    """The ``.ics`` attachment of an email received by the Resend stand-in, parsed."""
    import base64

    (attachment,) = [a for a in email.get("attachments") or [] if a["filename"].endswith(".ics")]
    return icalendar.Calendar.from_ical(base64.b64decode(attachment["content"]))


def emails_to(server: ResendStandin, address: str) -> list[dict]:
    return [email for email in server.emails if address in email["to"]]
