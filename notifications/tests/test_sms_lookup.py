"""SMS and WhatsApp retries look in Twilio's message list before sending again.

Twilio has no idempotency key: an attempt whose answer was lost (a timeout,
a worker killed mid-request) may have reached Twilio. Every retry of a
phone message first lists Twilio's messages to that number from that sender
since the notification was written, and records the message as sent if one
has its text. Real ``twilio`` SDK against the stand-in, which lists what it
accepted.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from notifications import services
from notifications.models import Notification
from notifications.tests.factories import NOW, PHONE, TWILIO_FROM, book, bookable

pytestmark = pytest.mark.django_db

LIST = "GET"
CREATE = "POST"


@pytest.fixture
def clock():
    # Ticking: the stand-in stamps date_sent with the real time, the lookup compares it with created_at.
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


def sms_confirmation(channel: str = "sms") -> Notification:
    instructor, event_type = bookable(send_sms_confirmation=True)
    booking = book(instructor, event_type).booking
    if channel == "sms":
        return Notification.objects.get(booking=booking, channel="sms")
    return services.notification_queue(booking=booking, kind="confirmation", channel=channel, recipient=PHONE)


def methods(server) -> list[str]:
    return [request["method"] for request in server.requests]


def retry(row: Notification, clock) -> services.SendOutcome:
    clock.shift(dt.timedelta(seconds=10))
    return services.notification_send(notification_id=row.pk)


def test_an_sms_whose_answer_was_lost_is_found_in_twilios_list_and_not_sent_again(standins, settings, clock):
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 0.5
    row = sms_confirmation()
    standins.twilio.set_delay(2.0, times=1)  # accepted and recorded, answered too late

    assert services.notification_send(notification_id=row.pk).status == "pending"
    assert retry(row, clock).status == "sent"

    (message,) = standins.twilio.messages
    assert methods(standins.twilio) == [CREATE, LIST]
    listing = standins.twilio.requests[1]["query"]
    assert (listing["To"], listing["From"]) == (PHONE, TWILIO_FROM)
    assert listing["DateSent>"].startswith(row.created_at.date().isoformat())
    row.refresh_from_db()
    assert (row.status, row.attempts, row.provider_message_id) == ("sent", 2, message["sid"])
    found = row.attempt_log.get(number=2)
    assert found.succeeded and "Twilio" in found.note and message["sid"] in found.note


def test_an_sms_twilio_refused_with_a_server_error_is_looked_for_then_sent_once(standins, clock):
    row = sms_confirmation()
    standins.twilio.fail_next(1, status=500)

    assert services.notification_send(notification_id=row.pk).status == "pending"
    assert retry(row, clock).status == "sent"

    assert methods(standins.twilio) == [CREATE, LIST, CREATE]
    assert len(standins.twilio.messages) == 1


def test_a_whatsapp_message_is_looked_for_with_whatsapp_addresses(standins, settings, clock):
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 0.5
    row = sms_confirmation(channel="whatsapp")
    standins.twilio.set_delay(2.0, times=1)

    services.notification_send(notification_id=row.pk)
    assert retry(row, clock).status == "sent"

    (message,) = standins.twilio.messages
    assert message["to"] == f"whatsapp:{PHONE}"
    assert standins.twilio.requests[1]["query"]["To"] == f"whatsapp:{PHONE}"


def test_a_message_to_the_same_number_with_another_text_is_not_taken_for_this_one(standins, clock):
    row = sms_confirmation()
    standins.twilio.fail_next(1, status=503)
    services.notification_send(notification_id=row.pk)
    other = services.notification_queue(booking=row.booking, kind="cancellation", channel="sms", recipient=PHONE)
    assert services.notification_send(notification_id=other.pk).status == "sent"

    assert retry(row, clock).status == "sent"

    assert len(standins.twilio.messages) == 2
    row.refresh_from_db()
    assert row.provider_message_id != Notification.objects.get(pk=other.pk).provider_message_id


def test_a_resent_copy_is_not_taken_for_its_original_already_at_twilio(standins, clock):
    original = sms_confirmation()
    assert services.notification_send(notification_id=original.pk).status == "sent"
    copy = services.notification_resend(notification=original)  # the same text, to the same number
    standins.twilio.fail_next(1, status=500)
    services.notification_send(notification_id=copy.pk)

    assert retry(copy, clock).status == "sent"

    first, second = standins.twilio.messages
    assert first["body"] == second["body"]
    copy.refresh_from_db()
    original.refresh_from_db()
    assert (original.provider_message_id, copy.provider_message_id) == (first["sid"], second["sid"])


def test_when_twilios_list_cannot_be_read_nothing_is_sent_and_it_is_retried(standins, clock):
    row = sms_confirmation()
    standins.twilio.fail_next(2, status=500)  # the send, then the lookup

    services.notification_send(notification_id=row.pk)
    assert retry(row, clock).status == "pending"

    assert methods(standins.twilio) == [CREATE, LIST]
    row.refresh_from_db()
    assert "while listing messages" in row.last_error and row.attempts == 2
    clock.shift(dt.timedelta(minutes=1))
    assert services.notification_send(notification_id=row.pk).status == "sent"
    assert len(standins.twilio.messages) == 1


def test_an_sms_lost_with_its_worker_after_reaching_twilio_is_recorded_once(standins, clock):
    row = sms_confirmation()
    lease = services._claim([row.pk], dt.datetime.now(dt.UTC))
    assert lease.ids == [row.pk]
    row.refresh_from_db()
    services.backend_for("sms", row.booking.brand).send(services._outgoing(row))  # then the worker died

    clock.shift(services.lease_duration())
    assert services.notifications_sweep()["lost"] == 1  # taken back and sent again at once (eager)

    (message,) = standins.twilio.messages
    row.refresh_from_db()
    assert (row.status, row.attempts, row.provider_message_id) == ("sent", 2, message["sid"])
    lost, found = row.attempt_log.all()
    assert "looks for it in Twilio's message list" in lost.error
    assert found.succeeded and message["sid"] in found.note
