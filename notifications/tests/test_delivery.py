"""End to end at the provider level: booking services -> rows -> send task -> real SDKs -> stand-ins.

Every row of the notification table (docs/product.md), and the faults: a number
Twilio rejects, Resend failing then recovering, a timeout after Resend
accepted, the broker down at commit, a rolled-back booking, two workers
racing for one notification. The send tasks run eagerly (test settings)
when the captured on-commit callbacks execute; time is moved with
``time_machine`` to drive retries.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

from bookings import services as booking_services
from notifications import services
from notifications.models import BookingReminder, Notification
from notifications.tasks import send_notification, send_notifications
from notifications.tests.factories import (
    LATER_SLOT,
    NOW,
    PHONE,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    book,
    bookable,
    emails_to,
    ics_of,
    provider_standins,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run ``action`` and then its after-commit work (the eager send tasks)."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run


def notification(**filters) -> Notification:
    return Notification.objects.get(**filters)


# --- the notification table of docs/product.md, row by row ----------------------------------------------------------


def test_created_sends_the_attendee_confirmation_email_with_ics_and_the_manage_link(standins, run_on_commit):
    instructor, event_type = bookable(booking_notification_emails=["team@example.com"])
    brand = event_type.brand
    brand.from_name, brand.from_email = "Acme Coaching", "hello@acme.test"
    brand.save()

    booking = run_on_commit(book, instructor, event_type).booking

    (email,) = emails_to(standins.resend, "ada@example.com")
    row = notification(audience="attendee", channel="email")
    assert email["from"] == "Acme Coaching <hello@acme.test>"
    assert email["subject"].startswith(f"Booking request received: {event_type.name} with {instructor.name}")
    assert email["idempotency_key"] == f"notification-{row.pk}"
    assert email["request_headers"]["Idempotency-Key"] == f"notification-{row.pk}"
    assert email["api_key"] == "re_test_key"
    assert email["reply_to"] == [instructor.email]
    # In the attendee's timezone (America/New_York): 10:00 UTC is 05:00 EST.
    assert "Wednesday, 2 December 2026, 05:00\u201306:00 (America/New_York, EST)" in email["text"]
    assert f"/booking/{booking.uid}/?token=" in email["text"]
    assert f"/booking/{booking.uid}/?token=" in email["html"]
    calendar = ics_of(email)
    assert calendar["METHOD"] == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"{booking.uid}@testserver"
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "TENTATIVE"  # pending until the instructor confirms
    assert event.decoded("DTSTART") == dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
    assert event.decoded("DTEND") == dt.datetime(2026, 12, 2, 11, 0, tzinfo=dt.UTC)
    assert str(event["ORGANIZER"]) == f"mailto:{instructor.email}"
    assert str(event["ATTENDEE"]) == "mailto:ada@example.com"
    assert (row.status, row.provider_message_id, row.attempts) == ("sent", email["id"], 1)


def test_created_sends_the_new_booking_email_to_the_team_and_the_instructor_in_their_timezone(standins, run_on_commit):
    instructor, event_type = bookable(booking_notification_emails=["team@example.com", "owner@example.com"])

    booking = run_on_commit(book, instructor, event_type).booking

    for address in ("team@example.com", "owner@example.com", instructor.email):
        (email,) = emails_to(standins.resend, address)
        assert email["subject"].startswith("New booking request (to confirm): Ada Student")
        # In the instructor's timezone: 10:00 UTC is 11:00 in Berlin.
        assert "Wednesday, 2 December 2026, 11:00\u201312:00 (Europe/Berlin, CET)" in email["text"]
        assert "ada@example.com" in email["text"]
        assert "?token=" not in email["text"]  # the student's manage link is not shared
        assert f"/admin/bookings/booking/{booking.pk}/change/" in email["text"]
        assert not email.get("attachments")
    assert len(standins.resend.emails) == 4


def test_created_sends_the_sms_confirmation_through_twilio(standins, run_on_commit):
    instructor, event_type = bookable(send_sms_confirmation=True)

    result = run_on_commit(book, instructor, event_type)

    assert result.warnings == []
    (message,) = standins.twilio.messages
    assert (message["to"], message["from"], message["channel"]) == (PHONE, TWILIO_FROM, "sms")
    assert message["auth"] == {"username": TWILIO_SID, "password": TWILIO_TOKEN}
    assert "Wed 2 Dec 2026, 05:00 (America/New_York)" in message["body"]
    assert f"/booking/{result.booking.uid}/?token=" in message["body"]
    row = notification(channel="sms")
    assert (row.status, row.provider_message_id) == ("sent", message["sid"])


def test_the_brand_sms_sender_overrides_the_global_one(standins, run_on_commit):
    instructor, event_type = bookable(send_sms_confirmation=True)
    event_type.brand.sms_from = "+15005550007"
    event_type.brand.save()

    run_on_commit(book, instructor, event_type)

    assert standins.twilio.messages[0]["from"] == "+15005550007"


def test_without_send_email_confirmation_no_attendee_email_reaches_resend(standins, run_on_commit):
    instructor, event_type = bookable(send_email_confirmation=False)

    run_on_commit(book, instructor, event_type)

    assert emails_to(standins.resend, "ada@example.com") == []
    assert [email["to"] for email in standins.resend.emails] == [[instructor.email]]


def test_no_phone_means_a_warning_and_nothing_at_twilio(standins, run_on_commit):
    instructor, event_type = bookable(send_sms_confirmation=True)

    result = run_on_commit(book, instructor, event_type, phone="")

    assert result.warnings == ["SMS confirmation not sent: the booking has no phone number"]
    assert standins.twilio.requests == []


def test_sms_not_configured_means_a_warning_and_nothing_at_twilio(settings, clock, run_on_commit):
    with provider_standins(settings, twilio=False) as servers:
        instructor, event_type = bookable(send_sms_confirmation=True)

        result = run_on_commit(book, instructor, event_type)

        assert result.warnings == ["SMS confirmation not sent: SMS is not configured (TWILIO_* settings)"]
        assert servers.twilio.requests == []
        assert len(emails_to(servers.resend, "ada@example.com")) == 1


def test_confirmed_sends_the_confirmation_email_and_sms(standins, run_on_commit):
    instructor, event_type = bookable(send_sms_confirmation=True)
    booking = book(instructor, event_type).booking  # its own sends are not run

    result = run_on_commit(booking_services.booking_confirm, booking=booking)

    assert result.warnings == []
    (email,) = standins.resend.emails
    assert email["to"] == ["ada@example.com"]
    assert email["subject"].startswith("Booking confirmed:")
    assert ics_of(email).walk("VEVENT")[0]["STATUS"] == "CONFIRMED"
    (message,) = standins.twilio.messages
    assert message["to"] == PHONE
    assert "booking confirmed" in message["body"]


def test_confirmed_without_send_email_confirmation_sends_only_the_sms(standins, run_on_commit):
    instructor, event_type = bookable(send_sms_confirmation=True, send_email_confirmation=False)
    booking = book(instructor, event_type).booking

    run_on_commit(booking_services.booking_confirm, booking=booking)

    assert standins.resend.emails == []
    assert len(standins.twilio.messages) == 1


def test_cancelled_sends_cancellation_emails_with_a_cancel_ics_to_the_attendee(standins, run_on_commit):
    instructor, event_type = bookable(booking_notification_emails=["team@example.com"])
    booking = book(instructor, event_type).booking

    run_on_commit(booking_services.booking_cancel, booking=booking, actor=booking_services.STAFF, reason="Ill")

    (attendee_email,) = emails_to(standins.resend, "ada@example.com")
    assert attendee_email["subject"].startswith("Cancelled:")
    assert "Reason: Ill" in attendee_email["text"]
    calendar = ics_of(attendee_email)
    assert calendar["METHOD"] == "CANCEL"
    (event,) = calendar.walk("VEVENT")
    assert event["STATUS"] == "CANCELLED"
    assert str(event["UID"]) == f"{booking.uid}@testserver"
    for address in ("team@example.com", instructor.email):
        (host_email,) = emails_to(standins.resend, address)
        assert host_email["subject"].startswith("Cancelled: Ada Student")
        assert "(Europe/Berlin, CET)" in host_email["text"]
    assert len(standins.resend.emails) == 3


def test_rescheduled_sends_reschedule_emails_with_the_bumped_sequence(standins, run_on_commit):
    instructor, event_type = bookable(booking_notification_emails=["team@example.com"])
    booking = book(instructor, event_type).booking

    run_on_commit(booking_services.booking_reschedule, booking=booking, start_at=LATER_SLOT, actor="staff")

    (attendee_email,) = emails_to(standins.resend, "ada@example.com")
    assert attendee_email["subject"].startswith("Rescheduled:")
    # New time and the old one, in New York time.
    assert "Thursday, 3 December 2026, 08:00\u201309:00 (America/New_York, EST)" in attendee_email["text"]
    assert "Was:      Wednesday, 2 December 2026, 05:00\u201306:00" in attendee_email["text"]
    calendar = ics_of(attendee_email)
    assert calendar["METHOD"] == "REQUEST"
    (event,) = calendar.walk("VEVENT")
    assert (str(event["UID"]), event["SEQUENCE"]) == (f"{booking.uid}@testserver", 1)
    assert event.decoded("DTSTART") == LATER_SLOT
    for address in ("team@example.com", instructor.email):
        (host_email,) = emails_to(standins.resend, address)
        assert "Thursday, 3 December 2026, 14:00\u201315:00 (Europe/Berlin, CET)" in host_email["text"]


def test_a_due_reminder_is_sent_on_its_channel(standins, run_on_commit, clock):
    instructor, event_type = bookable(requires_confirmation=False)
    booking = book(instructor, event_type).booking
    reminder = BookingReminder.objects.create(
        booking=booking, channel="whatsapp", minutes_before=60, remind_at=booking.start_at - dt.timedelta(hours=1)
    )

    row = run_on_commit(
        services.notification_queue,
        booking=booking,
        kind="reminder",
        channel="whatsapp",
        recipient=PHONE,
        audience="attendee",
        reminder=reminder,
    )

    (message,) = standins.twilio.messages
    assert (message["to"], message["from"], message["channel"]) == (
        f"whatsapp:{PHONE}",
        "whatsapp:+14155238886",
        "whatsapp",
    )
    assert "reminder" in message["body"] and "in 1 hour" in message["body"]
    row.refresh_from_db()
    assert row.status == "sent"


# --- faults ----------------------------------------------------------------------------------


def test_a_number_twilio_rejects_fails_at_once_with_the_error_and_one_attempt(standins, run_on_commit, clock):
    instructor, event_type = bookable(send_sms_confirmation=True)
    standins.twilio.reject(PHONE, code=21211)

    result = run_on_commit(book, instructor, event_type)

    assert result.booking.pk and result.warnings == []
    row = notification(channel="sms")
    assert row.status == "failed"
    assert "21211" in row.last_error and "Twilio 400" in row.last_error
    assert row.attempt_log.count() == 1 and row.attempts == 1
    clock.shift(dt.timedelta(hours=3))
    services.notifications_sweep()
    assert len(standins.twilio.requests) == 1  # no retry loop


def test_resend_failing_three_times_then_accepting_ends_sent_with_one_email(standins, clock):
    instructor, event_type = bookable(send_email_confirmation=True)
    booking = book(instructor, event_type).booking
    row = notification(audience="attendee")
    standins.resend.fail_next(3, status=500)

    outcomes = [services.notification_send(notification_id=row.pk)]
    for wait in (10, 60, 300):
        row.refresh_from_db()
        assert row.status == "pending" and row.next_attempt_at == dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
        assert services.notification_send(notification_id=row.pk).status == "not_claimed"  # not due yet
        clock.shift(dt.timedelta(seconds=wait))
        outcomes.append(services.notification_send(notification_id=row.pk))

    assert [outcome.status for outcome in outcomes] == ["pending", "pending", "pending", "sent"]
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 4, "")
    assert list(row.attempt_log.values_list("number", "succeeded")) == [(1, False), (2, False), (3, False), (4, True)]
    assert "Resend 500" in row.attempt_log.first().error
    assert len(standins.resend.requests) == 4
    assert len(emails_to(standins.resend, booking.attendee_email)) == 1


def test_the_sweep_drives_the_retries_that_wait_longer_than_a_countdown(standins, clock):
    instructor, event_type = bookable()
    book(instructor, event_type)
    row = notification(audience="attendee")
    standins.resend.fail_next(3, status=503)
    services.notification_send(notification_id=row.pk)  # attempt 1 fails: +10 s
    clock.shift(dt.timedelta(seconds=10))
    services.notification_send(notification_id=row.pk)  # attempt 2 fails: +1 min
    clock.shift(dt.timedelta(minutes=1))
    services.notification_send(notification_id=row.pk)  # attempt 3 fails: +5 min, left to the sweep

    clock.shift(dt.timedelta(minutes=5))
    services.notifications_sweep()  # due, but within the grace left to its own task
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 3)
    clock.shift(services.sweep_grace())
    services.notifications_sweep()

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 4)
    assert len(emails_to(standins.resend, "ada@example.com")) == 1


def test_temporary_failures_give_up_as_failed_after_the_last_backoff(standins, clock):
    instructor, event_type = bookable()
    book(instructor, event_type)
    row = notification(audience="attendee")
    standins.resend.fail_next(10, status=500)

    for wait in [0, *(delay.total_seconds() for delay in services.retry_delays())]:
        clock.shift(dt.timedelta(seconds=wait))
        services.notification_send(notification_id=row.pk)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", services.max_attempts())
    assert row.last_error.startswith("Gave up after 6 attempts. Last error: Resend 500")
    assert row.attempt_log.count() == 6
    clock.shift(dt.timedelta(days=1))
    services.notifications_sweep()
    keys = [request["headers"]["Idempotency-Key"] for request in standins.resend.requests]
    assert keys.count(f"notification-{row.pk}") == 6


def test_a_resend_validation_error_fails_at_once(standins):
    instructor, event_type = bookable()
    book(instructor, event_type)
    row = notification(audience="attendee")
    standins.resend.fail_next(1, status=422)

    assert services.notification_send(notification_id=row.pk).status == "failed"
    row.refresh_from_db()
    assert row.last_error.startswith("Resend 422")
    assert row.attempt_log.count() == 1


def test_a_timeout_after_resend_accepted_is_retried_without_a_second_email(standins, settings, clock):
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 0.5
    instructor, event_type = bookable()
    book(instructor, event_type)
    row = notification(audience="attendee")
    standins.resend.set_delay(2.0, times=1)  # accepted and recorded, answered too late

    assert services.notification_send(notification_id=row.pk).status == "pending"
    clock.shift(dt.timedelta(seconds=10))
    assert services.notification_send(notification_id=row.pk).status == "sent"

    assert len(standins.resend.requests) == 2
    assert len(standins.resend.emails) == 1  # the retry carried the same Idempotency-Key
    assert {request["headers"]["Idempotency-Key"] for request in standins.resend.requests} == {f"notification-{row.pk}"}


def test_a_provider_outage_never_fails_the_booking(standins, run_on_commit):
    instructor, event_type = bookable(send_sms_confirmation=True)
    standins.resend.fail_next(10, status=500)
    standins.twilio.fail_next(10, status=500)

    result = run_on_commit(book, instructor, event_type)

    assert result.booking.pk and result.warnings == []
    assert set(Notification.objects.values_list("status", flat=True)) == {"pending"}
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}


def test_the_broker_down_at_commit_loses_nothing_and_the_sweep_delivers(standins, run_on_commit, monkeypatch, clock):
    instructor, event_type = bookable(booking_notification_emails=["team@example.com"])

    def broker_down(*args, **kwargs):
        raise BrokerUnavailable("[Errno 111] Connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(send_notifications, "apply_async", broker_down)
        result = run_on_commit(book, instructor, event_type)  # no exception: the booking stands

    assert result.booking.pk
    assert Notification.objects.filter(status="pending").count() == 3
    assert standins.resend.requests == []

    clock.shift(dt.timedelta(minutes=2))
    assert services.notifications_sweep()["enqueued"] == 3

    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}
    assert len(standins.resend.emails) == 3


def test_the_sweep_takes_back_a_claim_whose_lease_lapsed_logs_the_lost_attempt_and_sends_once(standins, clock):
    instructor, event_type = bookable()
    book(instructor, event_type)
    row = notification(audience="attendee")
    # A worker claimed the row, sent the email (Resend has it under the row's key), then died.
    lease = services._claim([row.pk], dt.datetime.now(dt.UTC))
    assert lease.ids == [row.pk] and lease.until == dt.datetime.now(dt.UTC) + services.lease_duration()
    row.refresh_from_db()
    assert (row.status, row.lease_expires_at) == ("sending", lease.until)
    services.backend_for("email").send(services._outgoing(row))

    clock.shift(services.lease_duration() - dt.timedelta(seconds=1))
    assert services.notifications_sweep()["lost"] == 0  # the claim still holds: a worker may be on it
    clock.shift(dt.timedelta(seconds=1))
    assert services.notifications_sweep()["lost"] == 1  # lapsed: taken back, enqueued, sent (eager)

    row.refresh_from_db()
    assert (row.status, row.attempts, row.lease_expires_at) == ("sent", 2, None)
    lost, retried = row.attempt_log.all()
    assert (lost.number, lost.succeeded) == (1, False)
    assert lost.error.startswith("Lost: no outcome was recorded before the claim lapsed")
    assert "reuses its Idempotency-Key" in lost.error
    assert (retried.number, retried.succeeded) == (2, True)
    assert len(emails_to(standins.resend, "ada@example.com")) == 1  # the retry was Resend's replay
    first, retry = [r for r in standins.resend.requests if r["headers"]["Idempotency-Key"] == f"notification-{row.pk}"]
    assert (first.get("idempotent_replay"), retry.get("idempotent_replay")) == (None, True)


def test_a_row_left_sending_without_a_lease_is_taken_back_one_lease_after_its_last_change(standins, clock):
    instructor, event_type = bookable()
    book(instructor, event_type)
    row = notification(audience="attendee")
    Notification.objects.filter(pk=row.pk).update(status="sending", updated_at=dt.datetime.now(dt.UTC))

    assert services.notifications_sweep()["lost"] == 0
    clock.shift(services.lease_duration())
    assert services.notifications_sweep()["lost"] == 1

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(emails_to(standins.resend, "ada@example.com")) == 1


def test_lost_attempts_count_toward_giving_up(standins, clock, settings):
    settings.NOTIFICATIONS_RETRY_DELAYS = [10]
    instructor, event_type = bookable()
    book(instructor, event_type)
    row = notification(audience="attendee")
    for _ in range(2):
        services._claim([row.pk], dt.datetime.now(dt.UTC))
        clock.shift(services.lease_duration())
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(services, "notifications_enqueue", lambda ids, **kwargs: len(list(ids)))
            services.notifications_sweep()

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.last_error.startswith("Gave up after 2 attempts. Last error: Lost:")
    assert standins.resend.requests == []


def test_a_rolled_back_booking_reaches_no_provider(standins, run_on_commit):
    instructor, event_type = bookable(send_sms_confirmation=True)

    def book_then_fail():
        with transaction.atomic():
            book(instructor, event_type)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        run_on_commit(book_then_fail)

    assert Notification.objects.count() == 0
    assert standins.resend.requests == [] and standins.twilio.requests == []


def test_sending_the_same_notification_twice_sends_once(standins):
    instructor, event_type = bookable()
    book(instructor, event_type)
    row = notification(audience="attendee")

    assert services.notification_send(notification_id=row.pk).status == "sent"
    assert services.notification_send(notification_id=row.pk).status == "not_claimed"
    send_notification.delay(row.pk)

    assert len(standins.resend.requests) == 1


def test_the_task_schedules_a_short_retry_and_leaves_the_row_pending(standins):
    instructor, event_type = bookable()
    book(instructor, event_type)
    row = notification(audience="attendee")
    standins.resend.fail_next(1, status=500)

    send_notification.delay(row.pk)  # eager: its countdown retry runs at once and finds it not due

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 1)
    assert len(standins.resend.requests) == 1


def test_a_reminder_of_a_booking_no_longer_confirmed_is_skipped_with_the_reason(standins, run_on_commit):
    instructor, event_type = bookable(requires_confirmation=False)
    booking = book(instructor, event_type).booking
    reminder = BookingReminder.objects.get(booking=booking, channel="email", minutes_before=1440)  # the default
    row = services.notification_queue(
        booking=booking, kind="reminder", channel="email", recipient=booking.attendee_email, reminder=reminder
    )
    booking_services.booking_cancel(booking=booking, actor="staff")
    standins.resend.clear()

    assert services.notification_send(notification_id=row.pk).status == "skipped"

    row.refresh_from_db()
    reminder.refresh_from_db()
    assert row.last_error == "The booking is cancelled: reminders go only to confirmed bookings."
    assert (reminder.status, reminder.last_error) == ("skipped", row.last_error)
    assert standins.resend.requests == []


def test_a_confirmation_still_queued_when_the_booking_is_cancelled_is_skipped(standins):
    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    booking_services.booking_cancel(booking=booking, actor="staff")
    confirmation = notification(kind="confirmation")

    assert services.notification_send(notification_id=confirmation.pk).status == "skipped"
    cancellation = notification(kind="cancellation", audience="attendee")
    assert services.notification_send(notification_id=cancellation.pk).status == "sent"
    assert [email["subject"].split(":")[0] for email in standins.resend.emails] == ["Cancelled"]


def test_resend_creates_a_new_row_with_its_own_idempotency_key(standins, run_on_commit):
    instructor, event_type = bookable()
    run_on_commit(book, instructor, event_type)
    original = notification(audience="attendee")

    copy = run_on_commit(services.notification_resend, notification=original)

    copy.refresh_from_db()
    assert copy.pk != original.pk and copy.status == "sent"
    assert (copy.kind, copy.channel, copy.recipient, copy.event_id) == (
        original.kind,
        original.channel,
        original.recipient,
        original.event_id,
    )
    assert [email["idempotency_key"] for email in emails_to(standins.resend, "ada@example.com")] == [
        f"notification-{original.pk}",
        f"notification-{copy.pk}",
    ]


def test_resending_a_skipped_sms_uses_the_corrected_phone_number(standins, run_on_commit):
    instructor, event_type = bookable(send_sms_confirmation=True)
    booking = run_on_commit(book, instructor, event_type, phone="").booking
    skipped = notification(channel="sms")
    type(booking).objects.filter(pk=booking.pk).update(attendee_phone="+15557654321")

    run_on_commit(services.notification_resend, notification=skipped)

    assert [message["to"] for message in standins.twilio.messages] == ["+15557654321"]


# --- two workers, one notification (PostgreSQL) -------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_one_notification_send_one_email(settings):
    with time_machine.travel(NOW, tick=True), provider_standins(settings) as servers:
        instructor, event_type = bookable(send_email_confirmation=True)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(send_notifications, "apply_async", lambda *args, **kwargs: None)  # nobody sends yet
            book(instructor, event_type)  # commits here
        assert servers.resend.requests == []
        row = notification(audience="attendee")
        servers.resend.set_delay(0.5)  # keep the first request open while the second worker tries
        barrier = threading.Barrier(2)
        outcomes, errors = [], []

        def worker():
            try:
                barrier.wait()
                outcomes.append(services.notification_send(notification_id=row.pk).status)
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

        assert errors == []
        assert sorted(outcomes) == ["not_claimed", "sent"]
        assert len(servers.resend.requests) == 1
        row.refresh_from_db()
        assert (row.status, row.attempts, row.attempt_log.count()) == ("sent", 1, 1)


def test_the_sweep_is_declared_in_the_beat_schedule_every_few_seconds():
    from django.conf import settings

    from booking_project.celery import app
    from notifications.tasks import SWEEP_NOTIFICATIONS

    entry = settings.CELERY_BEAT_SCHEDULE["notifications-sweep"]
    assert entry["task"] == SWEEP_NOTIFICATIONS
    assert entry["schedule"] == dt.timedelta(seconds=settings.NOTIFICATIONS_SWEEP_SECONDS) == dt.timedelta(seconds=15)
    assert SWEEP_NOTIFICATIONS in app.tasks


def test_a_reminder_whose_session_has_started_is_skipped(standins, clock):
    instructor, event_type = bookable(requires_confirmation=False)
    booking = book(instructor, event_type).booking
    row = services.notification_queue(
        booking=booking, kind="reminder", channel="email", recipient=booking.attendee_email
    )
    clock.move_to(booking.start_at + dt.timedelta(minutes=1))
    standins.resend.clear()

    assert services.notification_send(notification_id=row.pk).status == "skipped"
    assert standins.resend.requests == []


def test_a_backend_settings_mistake_is_retried_and_logged_not_stuck(standins, settings):
    instructor, event_type = bookable()
    book(instructor, event_type)
    row = notification(audience="attendee")
    settings.NOTIFICATIONS_BACKENDS = {"email": "carrier-pigeon"}

    assert services.notification_send(notification_id=row.pk).status == "pending"
    row.refresh_from_db()
    assert row.attempts == 1 and "carrier-pigeon" in row.last_error


# --- retries send what the first attempt sent ---------------------------------------------------------


def test_a_retry_after_a_reschedule_sends_the_same_email_under_the_same_key(standins, settings, clock):
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 0.5
    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    row = notification(audience="attendee", kind="confirmation")
    standins.resend.set_delay(2.0, times=1)  # accepted and recorded, answered too late
    assert services.notification_send(notification_id=row.pk).status == "pending"

    booking_services.booking_reschedule(booking=booking, start_at=LATER_SLOT, actor="staff")
    clock.shift(dt.timedelta(seconds=10))

    assert services.notification_send(notification_id=row.pk).status == "sent"
    (email,) = standins.resend.emails  # the reschedule's own emails are not sent here
    assert standins.resend.requests[1].get("idempotent_replay") is True  # same key, same body
    assert "Wednesday, 2 December 2026, 05:00\u201306:00 (America/New_York, EST)" in email["text"]
    row.refresh_from_db()
    assert (row.status, row.provider_message_id) == ("sent", email["id"])


def test_a_reminder_retried_after_a_reschedule_sends_what_its_first_attempt_sent(standins, settings, clock):
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 0.5
    instructor, event_type = bookable(requires_confirmation=False)
    booking = book(instructor, event_type).booking
    reminder = BookingReminder.objects.get(booking=booking, channel="email", minutes_before=1440)
    row = services.notification_queue(
        booking=booking, kind="reminder", channel="email", recipient=booking.attendee_email, reminder=reminder
    )
    standins.resend.set_delay(2.0, times=1)
    assert services.notification_send(notification_id=row.pk).status == "pending"

    booking_services.booking_reschedule(booking=booking, start_at=LATER_SLOT, actor="staff")
    clock.shift(dt.timedelta(seconds=10))

    assert services.notification_send(notification_id=row.pk).status == "sent"
    (email,) = standins.resend.emails
    assert standins.resend.requests[1].get("idempotent_replay") is True
    assert "in 24 hours, Wed 2 Dec 2026, 05:00 (America/New_York)" in email["subject"]


def test_a_key_already_used_with_another_body_is_recorded_as_sent_with_a_note(standins, settings, clock):
    """Resend 409 invalid_idempotent_request: an earlier attempt with this key was accepted."""
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 0.5
    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    row = notification(audience="attendee", kind="confirmation")
    standins.resend.set_delay(2.0, times=1)
    assert services.notification_send(notification_id=row.pk).status == "pending"

    # Staff edit the attendee's notes, which the .ics description shows: the body changes.
    booking_services.booking_update_notes(booking=booking, notes="Bring running shoes")
    clock.shift(dt.timedelta(seconds=10))

    assert services.notification_send(notification_id=row.pk).status == "sent"
    assert [request["status"] for request in standins.resend.requests][1:] == [409]
    assert len(standins.resend.emails) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("sent", 2, "")
    first, second = row.attempt_log.all()
    assert (first.succeeded, second.succeeded) == (False, True)
    assert "409" in second.note and "invalid_idempotent_request" in second.note and second.error == ""
    clock.shift(dt.timedelta(hours=3))
    services.notifications_sweep()
    keys = [request["headers"]["Idempotency-Key"] for request in standins.resend.requests]
    assert keys.count(f"notification-{row.pk}") == 2  # nothing left to retry


def test_a_resent_reminder_keeps_its_lead_time(standins, run_on_commit):
    instructor, event_type = bookable(requires_confirmation=False)
    booking = book(instructor, event_type).booking
    reminder = BookingReminder.objects.get(booking=booking, channel="email", minutes_before=1440)
    original = run_on_commit(
        services.notification_queue,
        booking=booking,
        kind="reminder",
        channel="email",
        recipient=booking.attendee_email,
        reminder=reminder,
    )

    copy = run_on_commit(services.notification_resend, notification=original)

    copy.refresh_from_db()
    assert copy.status == "sent" and copy.reminder_id is None and copy.minutes_before == 1440
    assert Notification.objects.get(reminder=reminder) == original  # still one notification per reminder
    first, second = emails_to(standins.resend, "ada@example.com")
    assert first["subject"] == second["subject"]
    assert "in 24 hours" in second["subject"] and "Your session is in 24 hours" in second["text"]
