"""Which notification rows each booking event writes, in the booking's transaction.

These tests look at the outbox rows and the warnings returned through
``booking_create``; what reaches the providers is in ``test_delivery.py``.
"""

from __future__ import annotations

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import transaction

from bookings import services as booking_services
from notifications.models import Notification
from notifications.receivers import NO_PHONE_WARNING, host_recipients
from notifications.tests.factories import LATER_SLOT, NOW, book, bookable

pytestmark = pytest.mark.django_db

SMS_NOT_CONFIGURED = "SMS confirmation not sent: SMS is not configured (TWILIO_* settings)"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def twilio_configured(settings):
    settings.TWILIO_ACCOUNT_SID = "AC" + "0" * 32
    settings.TWILIO_AUTH_TOKEN = "token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"


def rows(**filters) -> set[tuple]:
    return set(Notification.objects.filter(**filters).values_list("kind", "channel", "audience", "recipient", "status"))


def test_created_writes_the_attendee_confirmation_and_one_host_email_per_address():
    instructor, event_type = bookable(booking_notification_emails=["team@example.com", "Owner@Example.com"])
    result = book(instructor, event_type)

    assert result.warnings == []
    assert rows() == {
        ("confirmation", "email", "attendee", "ada@example.com", "pending"),
        ("host_new_booking", "email", "host", "team@example.com", "pending"),
        ("host_new_booking", "email", "host", "Owner@Example.com", "pending"),
        ("host_new_booking", "email", "host", instructor.email, "pending"),
    }
    assert set(Notification.objects.values_list("event__type", flat=True)) == {"booking.created"}


def test_the_instructor_listed_in_the_team_addresses_gets_one_host_email():
    instructor, event_type = bookable()
    event_type.booking_notification_emails = [instructor.email.upper()]
    event_type.save()

    book(instructor, event_type)

    host_rows = Notification.objects.filter(audience="host")
    assert host_rows.count() == 1
    assert host_recipients(host_rows.get().booking) == [instructor.email.upper()]


def test_without_send_email_confirmation_the_attendee_gets_no_confirmation_email():
    instructor, event_type = bookable(send_email_confirmation=False)
    book(instructor, event_type)

    assert not Notification.objects.filter(audience="attendee").exists()
    assert Notification.objects.filter(kind="host_new_booking").count() == 1


def test_sms_confirmation_is_queued_when_asked_for_configured_and_a_phone_is_given(twilio_configured):
    instructor, event_type = bookable(send_sms_confirmation=True)
    result = book(instructor, event_type, phone="+4915112345678")

    assert result.warnings == []
    assert ("confirmation", "sms", "attendee", "+4915112345678", "pending") in rows()


def test_no_phone_number_is_a_warning_and_a_skipped_row_with_the_reason(twilio_configured):
    instructor, event_type = bookable(send_sms_confirmation=True)
    result = book(instructor, event_type, phone="")

    assert NO_PHONE_WARNING in result.warnings
    sms = Notification.objects.get(channel="sms")
    assert (sms.status, sms.last_error) == ("skipped", NO_PHONE_WARNING)


def test_sms_not_configured_is_a_warning_and_a_skipped_row(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    instructor, event_type = bookable(send_sms_confirmation=True)
    result = book(instructor, event_type)

    assert result.warnings == [SMS_NOT_CONFIGURED]
    sms = Notification.objects.get(channel="sms")
    assert (sms.status, sms.recipient, sms.last_error) == ("skipped", "+4915112345678", SMS_NOT_CONFIGURED)


def test_a_brand_sender_alone_does_not_configure_sms_without_credentials(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    instructor, event_type = bookable(send_sms_confirmation=True)
    event_type.brand.sms_from = "+15005550006"
    event_type.brand.save()

    assert book(instructor, event_type).warnings == [SMS_NOT_CONFIGURED]


def test_twilio_credentials_without_any_sender_are_not_configured(settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_FROM_NUMBER = "AC1", "token", ""
    instructor, event_type = bookable(send_sms_confirmation=True)

    (warning,) = book(instructor, event_type).warnings
    assert warning.startswith("SMS confirmation not sent: SMS is not configured (no sender")


def test_email_without_resend_credentials_needs_no_warning(settings):
    settings.RESEND_API_KEY = ""
    instructor, event_type = bookable()
    assert book(instructor, event_type).warnings == []


def test_confirm_writes_the_confirmation_email_and_sms(twilio_configured):
    instructor, event_type = bookable(send_sms_confirmation=True)
    booking = book(instructor, event_type).booking
    Notification.objects.all().delete()

    result = booking_services.booking_confirm(booking=booking)

    assert result.warnings == []
    assert rows() == {
        ("confirmation", "email", "attendee", "ada@example.com", "pending"),
        ("confirmation", "sms", "attendee", "+4915112345678", "pending"),
    }
    assert set(Notification.objects.values_list("event__type", flat=True)) == {"booking.confirmed"}


def test_confirm_warns_about_sms_as_create_does(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    instructor, event_type = bookable(send_sms_confirmation=True)
    booking = book(instructor, event_type).booking

    assert booking_services.booking_confirm(booking=booking).warnings == [SMS_NOT_CONFIGURED]


def test_cancel_writes_cancellation_emails_to_the_attendee_and_the_hosts():
    instructor, event_type = bookable(booking_notification_emails=["team@example.com"], send_email_confirmation=False)
    booking = book(instructor, event_type).booking
    Notification.objects.all().delete()

    booking_services.booking_cancel(booking=booking, actor=booking_services.STAFF, reason="Ill")

    assert rows() == {
        ("cancellation", "email", "attendee", "ada@example.com", "pending"),
        ("cancellation", "email", "host", "team@example.com", "pending"),
        ("cancellation", "email", "host", instructor.email, "pending"),
    }


def test_reschedule_writes_reschedule_emails_to_the_attendee_and_the_hosts():
    instructor, event_type = bookable(booking_notification_emails=["team@example.com"])
    booking = book(instructor, event_type).booking
    Notification.objects.all().delete()

    booking_services.booking_reschedule(booking=booking, start_at=LATER_SLOT, actor=booking_services.STAFF)

    assert rows() == {
        ("reschedule", "email", "attendee", "ada@example.com", "pending"),
        ("reschedule", "email", "host", "team@example.com", "pending"),
        ("reschedule", "email", "host", instructor.email, "pending"),
    }


def test_completed_and_no_show_send_nothing(clock):
    instructor, event_type = bookable(requires_confirmation=False)
    booking = book(instructor, event_type).booking
    Notification.objects.all().delete()
    clock.shift(60 * 60 * 27)  # after the session started

    booking_services.booking_complete(booking=booking)

    assert not Notification.objects.exists()


def test_an_events_rows_are_enqueued_together_and_only_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    from notifications.tasks import send_notifications

    instructor, event_type = bookable(booking_notification_emails=["team@example.com"])
    published = []
    monkeypatch.setattr(send_notifications, "apply_async", lambda *args, **kwargs: published.append(kwargs["args"]))
    with django_capture_on_commit_callbacks() as callbacks:
        book(instructor, event_type)
        assert published == []

    pending = sorted(Notification.objects.filter(status="pending").values_list("pk", flat=True))
    assert len(pending) == 3
    for callback in callbacks:
        callback()
    assert published == [[pending]]  # one task for the booking's three messages


def test_a_rolled_back_booking_leaves_no_rows_and_enqueues_nothing(django_capture_on_commit_callbacks, monkeypatch):
    from notifications.tasks import send_notifications

    instructor, event_type = bookable(booking_notification_emails=["team@example.com"])
    calls = []
    monkeypatch.setattr(send_notifications, "apply_async", lambda *args, **kwargs: calls.append(args))

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        book(instructor, event_type)
        assert Notification.objects.count() == 3  # written inside the transaction...
        raise RuntimeError("the caller's transaction fails after the booking")

    assert Notification.objects.count() == 0  # ...and gone with it
    assert callbacks == []
    assert calls == []


def test_a_malformed_team_address_is_refused_when_the_event_type_is_saved():
    _, event_type = bookable()
    event_type.booking_notification_emails = ["team@example.com", "not-an-address"]

    with pytest.raises(ValidationError) as refused:
        event_type.full_clean()

    assert "not-an-address" in str(refused.value.message_dict["booking_notification_emails"])


def test_an_invalid_address_that_slipped_into_the_database_is_left_out_not_fatal():
    instructor, event_type = bookable()
    type(event_type).objects.filter(pk=event_type.pk).update(
        booking_notification_emails=["bad address", "ok@example.com"]
    )
    event_type.refresh_from_db()

    result = book(instructor, event_type)

    assert set(Notification.objects.filter(audience="host").values_list("recipient", flat=True)) == {
        "ok@example.com",
        instructor.email,
    }
    assert result.booking.pk


def test_the_receivers_connect_explicitly_once_each_with_a_dispatch_uid():
    """``NotificationsConfig.ready()`` calls ``connect()``; importing the module connects nothing."""
    from bookings.models import Booking
    from notifications import receivers

    receivers.connect()  # a second call (a re-run ready()) must not connect twice
    try:
        for signal, receiver in receivers.RECEIVERS:
            uid = receivers.dispatch_uid(receiver)
            assert signal.disconnect(sender=Booking, dispatch_uid=uid), uid
            assert not signal.disconnect(sender=Booking, dispatch_uid=uid), uid
    finally:
        receivers.connect()
