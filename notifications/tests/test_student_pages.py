"""The student pages send the same notifications as every other door, once each.

A booking made, moved and cancelled on the pages goes through the booking
services, so the attendee gets exactly one confirmation (with the booking's
page link), one reschedule and one cancellation email, sent by the eager
send tasks when the page's transaction commits.
"""

from __future__ import annotations

import pytest
import time_machine

from bookings.links import manage_path, manage_token
from bookings.models import Booking
from notifications import backends
from notifications.tests.factories import LATER_SLOT, NOW, SLOT, bookable

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def emails_to(address: str) -> list[backends.OutgoingMessage]:
    return [message for message in backends.outbox if message.to == address]


def test_booking_moving_and_cancelling_on_the_pages_emails_the_student_once_each(
    client, django_capture_on_commit_callbacks
):
    backends.outbox.clear()
    instructor, event_type = bookable(requires_confirmation=False)
    page = f"/{event_type.brand.slug}/{instructor.slug}/{event_type.slug}/"
    form = {
        "form_token": "f" * 32,
        "start_at": SLOT.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "student_timezone": "America/New_York",
        "attendee_name": "Ada Student",
        "attendee_email": "ada@example.com",
    }
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(page, form).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(page, form).status_code == 302  # a double submit
    booking = Booking.objects.get()
    token = manage_token(booking.uid)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/booking/{booking.uid}/reschedule/",
            {"token": token, "start_at": LATER_SLOT.strftime("%Y-%m-%dT%H:%M:%SZ")},
        )
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/booking/{booking.uid}/cancel/", {"token": token})

    subjects = [message.subject.split(":")[0] for message in emails_to("ada@example.com")]
    assert subjects == ["Booking confirmed", "Rescheduled", "Cancelled"]
    assert manage_path(booking) in emails_to("ada@example.com")[0].text
    assert len(emails_to(instructor.email)) == 3
