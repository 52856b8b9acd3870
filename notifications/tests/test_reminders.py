"""The reminder schedule and its processing (docs/reminders.md).

Bookings are made through ``bookings.services.booking_create`` with the clock
frozen; passes run with the clock moved (time_machine) to the instants that
matter. Delivery goes through the real notification outbox and send task into
the in-memory backend (``notifications.backends.outbox``).
"""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys

import pytest
import time_machine
from celery.schedules import crontab
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import services as booking_services
from bookings.models import BookingStatus
from notifications import backends
from notifications.models import BookingReminder, Notification
from notifications.reminders import (
    MAX_QUEUE_ATTEMPTS,
    REASON_PASSED_AT_BOOKING,
    REASON_PASSED_AT_RESCHEDULE,
    REASON_SESSION_STARTED,
    _process_one,
    reminders_process_due,
    reminders_schedule,
)
from scheduling.models import EventType
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, available_every_day

# A Monday morning; the session is Thursday 10:00 in Berlin (CET, UTC+1).
NOW = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
SESSION = dt.datetime(2026, 3, 5, 9, 0, tzinfo=dt.UTC)
PHONE = "+4915112345678"
SECOND = dt.timedelta(seconds=1)
DAY_BEFORE = SESSION - dt.timedelta(minutes=1440)
HOUR_BEFORE = SESSION - dt.timedelta(minutes=60)

SCHEDULED = BookingReminder.Status.SCHEDULED
SENT = BookingReminder.Status.SENT
SKIPPED = BookingReminder.Status.SKIPPED
CANCELLED = BookingReminder.Status.CANCELLED


# --- helpers shared with the API and concurrency tests --------------------------------


def reminder_event_type(brand, **fields):
    """A session type that books straight to ``confirmed``, reminded 24 h and 1 h before by email and SMS."""
    values = {
        "duration_minutes": 60,
        "requires_confirmation": False,
        "reminder_minutes_before": [1440, 60],
        "reminder_channels": ["email", "sms"],
    }
    values.update(fields)
    return EventTypeFactory(brand=brand, **values)


def available_instructor(brand):
    """An instructor of ``brand`` in Berlin, available 09:00-17:00 local every day, no buffer."""
    assignment = AssignmentFactory(brand=brand, timezone="Europe/Berlin", buffer_minutes=0)
    available_every_day(assignment)
    return assignment.instructor


def book(brand, instructor, event_type, start_at=SESSION, *, phone=PHONE, email="ada@example.com"):
    return booking_services.booking_create(
        brand=brand,
        instructor=instructor,
        event_type=event_type,
        start_at=start_at,
        attendee_name="Ada Student",
        attendee_email=email,
        attendee_phone=phone,
        student_timezone="Europe/Berlin",
    )


def reminders_of(booking) -> dict[tuple[str, int], BookingReminder]:
    return {(r.channel, r.minutes_before): r for r in BookingReminder.objects.filter(booking=booking)}


@pytest.fixture(autouse=True)
def memory_delivery(settings):
    """Email and SMS go to the in-memory outbox, emptied around each test."""
    settings.NOTIFICATIONS_BACKENDS = {"email": "memory", "sms": "memory", "whatsapp": "memory"}
    settings.NOTIFICATIONS_LOCAL_BACKEND = "memory"
    backends.outbox.clear()
    yield
    backends.outbox.clear()


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def instructor(brand):
    return available_instructor(brand)


@pytest.fixture
def event_type(brand):
    return reminder_event_type(brand)


@pytest.fixture
def booking(clock, brand, instructor, event_type):
    return book(brand, instructor, event_type).booking


@pytest.fixture
def run_pass(django_capture_on_commit_callbacks):
    """One pass at the current (travelled) time, with its after-commit sends executed."""

    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return reminders_process_due(**kwargs)

    return run


def counts(processed=0, sent=0, skipped=0, failed=0):
    return {"processed": processed, "sent": sent, "skipped": skipped, "failed": failed}


def outbox_reminders() -> list:
    """What reached the in-memory backend.

    These tests (``django_db`` without ``transaction=True``) run only the
    after-commit callbacks they capture, i.e. the reminder sends of ``run_pass``;
    the booking's own confirmation/cancellation sends never run, so the outbox
    holds reminder messages only.
    """
    return list(backends.outbox)


# --- the schedule ---------------------------------------------------------------------


@pytest.mark.django_db
def test_booking_creates_one_reminder_per_offset_and_channel(booking):
    reminders = reminders_of(booking)
    assert set(reminders) == {("email", 1440), ("sms", 1440), ("email", 60), ("sms", 60)}
    for (_, minutes), reminder in reminders.items():
        assert reminder.status == SCHEDULED
        assert reminder.remind_at == SESSION - dt.timedelta(minutes=minutes)
        assert reminder.last_error == ""


@pytest.mark.django_db
def test_reminders_are_a_snapshot_of_the_event_type(booking, event_type):
    event_type.reminder_minutes_before = [30]
    event_type.reminder_channels = ["whatsapp"]
    event_type.save()
    assert set(reminders_of(booking)) == {("email", 1440), ("sms", 1440), ("email", 60), ("sms", 60)}


@pytest.mark.django_db
def test_scheduling_twice_adds_nothing(booking):
    reminders_schedule(booking=booking)
    assert BookingReminder.objects.filter(booking=booking).count() == 4


@pytest.mark.django_db
def test_a_just_created_bookings_reminders_are_written_without_looking_for_others(booking, django_assert_num_queries):
    BookingReminder.objects.filter(booking=booking).delete()

    with django_assert_num_queries(1):  # the one INSERT
        answered = reminders_schedule(booking=booking, just_created=True)

    assert len(answered) == BookingReminder.objects.filter(booking=booking).count() == 4


@pytest.mark.django_db
def test_scheduling_answers_the_kept_and_the_new_rows_as_stored(booking, event_type):
    BookingReminder.objects.filter(booking=booking, minutes_before=60).delete()

    answered = reminders_schedule(booking=booking)

    stored = BookingReminder.objects.filter(booking=booking)
    assert sorted((r.pk, r.channel, r.minutes_before, r.status) for r in answered) == sorted(
        (r.pk, r.channel, r.minutes_before, r.status) for r in stored
    )
    assert len(answered) == 4


@pytest.mark.django_db
def test_offsets_already_past_at_booking_time_are_skipped_with_the_reason(clock, brand, instructor, event_type):
    soon = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)  # 12:00 Berlin, three hours from now
    booking = book(brand, instructor, event_type, soon).booking
    reminders = reminders_of(booking)
    for channel in ("email", "sms"):
        assert reminders[(channel, 1440)].status == SKIPPED
        assert reminders[(channel, 1440)].last_error == REASON_PASSED_AT_BOOKING
        assert reminders[(channel, 60)].status == SCHEDULED


@pytest.mark.django_db
def test_phone_channel_without_a_phone_is_skipped_and_warned(clock, brand, instructor, event_type):
    result = book(brand, instructor, event_type, phone="")
    reminders = reminders_of(result.booking)
    for minutes in (1440, 60):
        assert reminders[("sms", minutes)].status == SKIPPED
        assert reminders[("sms", minutes)].last_error == "no attendee phone number for the sms reminder"
        assert reminders[("email", minutes)].status == SCHEDULED
    assert "No attendee phone number: sms reminders will not be sent." in result.warnings


@pytest.mark.django_db
def test_a_phone_channel_that_is_not_configured_is_warned_but_kept(clock, brand, instructor, event_type, settings):
    settings.NOTIFICATIONS_BACKENDS = {}  # the test settings have no Twilio credentials
    result = book(brand, instructor, event_type)
    assert result.warnings == ["sms reminders cannot be sent at the moment: SMS is not configured (TWILIO_* settings)."]
    assert {r.status for r in reminders_of(result.booking).values()} == {SCHEDULED}


# --- processing at the right instants ------------------------------------------------------


@pytest.mark.django_db
def test_reminders_are_sent_at_the_right_instants_exactly_once(booking, clock, run_pass):
    clock.move_to(DAY_BEFORE - SECOND)
    assert run_pass() == counts()

    clock.move_to(DAY_BEFORE)
    assert run_pass() == counts(processed=2, sent=2)
    assert run_pass() == counts()
    reminders = reminders_of(booking)
    assert {key for key, r in reminders.items() if r.status == SENT} == {("email", 1440), ("sms", 1440)}
    assert reminders[("email", 1440)].sent_at == DAY_BEFORE

    clock.move_to(HOUR_BEFORE - SECOND)
    assert run_pass() == counts()

    clock.move_to(HOUR_BEFORE)
    assert run_pass() == counts(processed=2, sent=2)
    assert run_pass() == counts()
    clock.move_to(HOUR_BEFORE + dt.timedelta(minutes=30))
    assert run_pass() == counts()

    reminders = reminders_of(booking)
    assert all(r.status == SENT and r.attempts == 1 for r in reminders.values())
    notifications = Notification.objects.filter(booking=booking, kind=Notification.Kind.REMINDER)
    assert notifications.count() == 4
    for reminder in reminders.values():
        notification = Notification.objects.get(reminder=reminder)
        assert notification.channel == reminder.channel
        assert notification.audience == Notification.Audience.ATTENDEE
        assert notification.recipient == (PHONE if reminder.channel == "sms" else "ada@example.com")
        assert notification.status == Notification.Status.SENT
    delivered = [(m.channel, m.to) for m in outbox_reminders()]
    assert sorted(delivered) == sorted([("email", "ada@example.com"), ("sms", PHONE)] * 2)


@pytest.mark.django_db
def test_due_reminders_reach_resend_and_twilio_through_the_real_sdks(booking, clock, run_pass, settings):
    """The product table's row "reminder due": one reminder on each channel of the event type, at the provider."""
    from devtools import ResendStandin, TwilioStandin

    with ResendStandin(api_key="re_test") as resend_server, TwilioStandin(auth_token="dev") as twilio_server:
        settings.NOTIFICATIONS_BACKENDS = {}
        settings.RESEND_API_KEY, settings.RESEND_API_URL = "re_test", resend_server.url
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "dev"
        settings.TWILIO_FROM_NUMBER, settings.TWILIO_API_URL = "+15005550006", twilio_server.url
        clock.move_to(DAY_BEFORE)
        assert run_pass() == counts(processed=2, sent=2)
        assert run_pass() == counts()
        emails, texts = resend_server.emails, twilio_server.messages
    assert [email["to"] for email in emails] == [["ada@example.com"]]
    email_notification = Notification.objects.get(reminder__channel="email", reminder__minutes_before=1440)
    assert emails[0]["idempotency_key"] == f"notification-{email_notification.pk}"
    assert [(text["to"], text["from"]) for text in texts] == [(PHONE, "+15005550006")]
    assert set(Notification.objects.filter(kind=Notification.Kind.REMINDER).values_list("status", flat=True)) == {
        Notification.Status.SENT
    }


@pytest.mark.django_db
def test_a_late_pass_still_sends_a_reminder_before_the_session(booking, clock, run_pass):
    clock.move_to(DAY_BEFORE + dt.timedelta(hours=3))  # beat was down for three hours
    assert run_pass() == counts(processed=2, sent=2)


@pytest.mark.django_db
def test_a_reminder_found_after_the_session_started_is_skipped(booking, clock, run_pass):
    clock.move_to(SESSION + dt.timedelta(minutes=5))  # nothing ran since the booking was made
    assert run_pass() == counts(processed=4, skipped=4)
    assert {r.last_error for r in reminders_of(booking).values()} == {REASON_SESSION_STARTED}
    assert not Notification.objects.filter(kind=Notification.Kind.REMINDER).exists()


@pytest.mark.django_db
def test_the_limit_bounds_one_pass(booking, clock, run_pass):
    clock.move_to(HOUR_BEFORE)
    assert run_pass(limit=3) == counts(processed=3, sent=3)
    assert run_pass(limit=3) == counts(processed=1, sent=1)


# --- reschedule, cancel, lifecycle ------------------------------------------------------------


@pytest.mark.django_db
def test_reschedule_moves_unsent_reminders_and_keeps_sent_ones(booking, clock, run_pass):
    clock.move_to(DAY_BEFORE)
    run_pass()
    later = SESSION + dt.timedelta(days=7)
    booking_services.booking_reschedule(booking=booking, start_at=later, actor=booking_services.API)
    reminders = reminders_of(booking)
    assert reminders[("email", 1440)].status == SENT
    assert reminders[("email", 1440)].remind_at == DAY_BEFORE
    for channel in ("email", "sms"):
        assert reminders[(channel, 60)].status == SCHEDULED
        assert reminders[(channel, 60)].remind_at == later - dt.timedelta(minutes=60)

    clock.move_to(HOUR_BEFORE)
    assert run_pass() == counts()  # the old hour-before instant means nothing now
    clock.move_to(later - dt.timedelta(minutes=60))
    assert run_pass() == counts(processed=2, sent=2)


@pytest.mark.django_db
def test_reschedule_to_soon_skips_passed_offsets_and_to_later_revives_them(booking, clock):
    soon = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)  # 13:00 Berlin today
    booking_services.booking_reschedule(booking=booking, start_at=soon, actor=booking_services.API)
    reminders = reminders_of(booking)
    assert reminders[("email", 1440)].status == SKIPPED
    assert reminders[("email", 1440)].last_error == REASON_PASSED_AT_RESCHEDULE
    assert reminders[("email", 60)].status == SCHEDULED
    assert reminders[("email", 60)].remind_at == soon - dt.timedelta(minutes=60)

    booking_services.booking_reschedule(booking=booking, start_at=SESSION, actor=booking_services.API)
    reminders = reminders_of(booking)
    assert all(r.status == SCHEDULED and r.last_error == "" for r in reminders.values())
    assert reminders[("sms", 1440)].remind_at == DAY_BEFORE


@pytest.mark.django_db
def test_cancel_cancels_scheduled_reminders(clock, brand, instructor, event_type, run_pass):
    soon = dt.datetime(2026, 3, 2, 11, 0, tzinfo=dt.UTC)
    booking = book(brand, instructor, event_type, soon).booking
    booking_services.booking_cancel(booking=booking, actor=booking_services.API, reason="ill")
    reminders = reminders_of(booking)
    assert reminders[("email", 60)].status == CANCELLED
    assert reminders[("email", 60)].last_error == "booking was cancelled"
    assert reminders[("email", 1440)].status == SKIPPED  # past ones keep their reason
    clock.move_to(soon - dt.timedelta(minutes=60))
    assert run_pass() == counts()
    assert not outbox_reminders()


@pytest.mark.django_db
@pytest.mark.parametrize("finish", ["complete", "no_show"])
def test_completed_or_no_show_cancels_what_is_left(booking, clock, finish):
    clock.move_to(SESSION + dt.timedelta(minutes=1))
    if finish == "complete":
        booking_services.booking_complete(booking=booking)
    else:
        booking_services.booking_mark_no_show(booking=booking)
    assert {r.status for r in reminders_of(booking).values()} == {CANCELLED}


@pytest.mark.django_db
def test_a_pending_bookings_due_reminder_is_skipped_with_the_reason(clock, brand, instructor, run_pass):
    needs_confirmation = reminder_event_type(brand, requires_confirmation=True)
    booking = book(brand, instructor, needs_confirmation).booking
    assert booking.status == BookingStatus.PENDING
    clock.move_to(DAY_BEFORE)
    assert run_pass() == counts(processed=2, skipped=2)
    reminders = reminders_of(booking)
    assert reminders[("email", 1440)].status == SKIPPED
    assert reminders[("email", 1440)].last_error == "booking is pending, not confirmed"
    assert not Notification.objects.filter(kind=Notification.Kind.REMINDER).exists()
    assert not outbox_reminders()

    booking_services.booking_confirm(booking=booking)  # confirmed later: the next reminders go out
    clock.move_to(HOUR_BEFORE)
    assert run_pass() == counts(processed=2, sent=2)


@pytest.mark.django_db
def test_a_booking_cancelled_after_its_reminder_was_claimed_gets_no_reminder(
    booking, clock, django_capture_on_commit_callbacks
):
    clock.move_to(DAY_BEFORE)
    with django_capture_on_commit_callbacks(execute=False) as sends:
        assert reminders_process_due() == counts(processed=2, sent=2)  # claimed and queued, not yet sent
    assert sends
    booking_services.booking_cancel(booking=booking, actor=booking_services.API)
    for send in sends:
        send()  # the worker picks the queued sends up after the cancel
    notifications = Notification.objects.filter(booking=booking, kind=Notification.Kind.REMINDER)
    assert notifications.count() == 2
    assert {n.status for n in notifications} == {Notification.Status.SKIPPED}
    assert not outbox_reminders()
    # The send step also records the outcome on the reminder, so staff see why nothing went out.
    reminders = reminders_of(booking)
    assert {reminders[(channel, 1440)].status for channel in ("email", "sms")} == {SKIPPED}
    assert "cancelled" in reminders[("email", 1440)].last_error
    assert {reminders[(channel, 60)].status for channel in ("email", "sms")} == {CANCELLED}


# --- exactly once, failures --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reminder_claimed_by_another_pass_is_left_alone(booking, clock, run_pass):
    clock.move_to(DAY_BEFORE)
    stale = list(
        BookingReminder.objects.filter(status=SCHEDULED, remind_at__lte=DAY_BEFORE).values_list("id", "booking_id")
    )
    assert run_pass() == counts(processed=2, sent=2)
    for reminder_id, booking_id in stale:  # a slower pass that listed the same rows
        assert _process_one(reminder_id, booking_id, DAY_BEFORE) is None
    assert Notification.objects.filter(kind=Notification.Kind.REMINDER).count() == 2


@pytest.mark.django_db
def test_a_reminder_that_cannot_be_queued_is_counted_failed_and_given_up_later(booking, clock, run_pass):
    clock.move_to(DAY_BEFORE)
    reminder = reminders_of(booking)[("email", 1440)]
    # A notification already holding this reminder (the row is one-to-one) makes the hand-over fail.
    Notification.objects.create(
        booking=booking, reminder=reminder, kind=Notification.Kind.REMINDER, channel="email", recipient="x@example.com"
    )
    result = run_pass()
    assert result == counts(processed=2, sent=1, failed=1)
    reminder.refresh_from_db()
    assert reminder.status == SCHEDULED
    assert reminder.attempts == 1
    assert "IntegrityError" in reminder.last_error
    for _ in range(MAX_QUEUE_ATTEMPTS - 1):
        assert run_pass()["failed"] == 1
    reminder.refresh_from_db()
    assert reminder.status == SKIPPED
    assert reminder.last_error.startswith(f"gave up after {MAX_QUEUE_ATTEMPTS} attempts")
    assert run_pass() == counts()


@pytest.mark.django_db
def test_a_pass_reads_each_due_reminder_once(booking, clock, run_pass):
    clock.move_to(DAY_BEFORE)

    with CaptureQueriesContext(connection) as captured:
        assert run_pass() == counts(processed=2, sent=2)

    reads = [
        query["sql"]
        for query in captured
        if query["sql"].lstrip().upper().startswith("SELECT") and 'FROM "notifications_bookingreminder"' in query["sql"]
    ]
    assert len(reads) == 1 + 1  # the due list, then one locking read for the chunk (no re-read after the claim)


@pytest.mark.django_db
def test_offsets_that_reached_the_database_as_a_string_are_not_guessed_at(clock, brand, instructor, caplog):
    """The validators store lists only; a string written around them (a raw UPDATE) schedules nothing."""
    event_type = reminder_event_type(brand)
    EventType.objects.filter(pk=event_type.pk).update(reminder_minutes_before="[1440, 60]")
    event_type.refresh_from_db()

    booking = book(brand, instructor, event_type).booking

    assert reminders_of(booking) == {}
    assert f"Event type {event_type.pk}: reminder_minutes_before is not a list" in caplog.text


# --- beat, task, command ------------------------------------------------------------------------


def test_the_beat_schedule_declares_the_reminder_pass_every_minute_in_utc():
    from notifications.tasks import PROCESS_DUE_REMINDERS

    entry = settings.CELERY_BEAT_SCHEDULE["process-due-reminders"]
    assert entry["task"] == PROCESS_DUE_REMINDERS
    assert entry["schedule"] == crontab(minute="*")
    assert settings.CELERY_TIMEZONE == "UTC"


def test_a_worker_knows_the_reminder_task_without_test_imports():
    """A fresh process that only sets Django up and loads the Celery app registers the task."""
    from notifications.tasks import PROCESS_DUE_REMINDERS

    code = (
        "import django; django.setup()\n"
        "from booking_project.celery import app\n"
        "app.loader.import_default_modules()\n"
        f"print({PROCESS_DUE_REMINDERS!r} in app.tasks)\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]}
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=str(settings.BASE_DIR), timeout=60
    )
    assert result.stdout.strip().splitlines()[-1:] == ["True"], result.stderr[-2000:]


@pytest.mark.django_db
def test_django_celery_beat_shows_the_schedule(monkeypatch):
    """Beat's DatabaseScheduler syncs ``CELERY_BEAT_SCHEDULE`` into a ``PeriodicTask`` row at start."""
    from django_celery_beat import schedulers
    from django_celery_beat.models import PeriodicTask

    from booking_project.celery import app
    from notifications.tasks import PROCESS_DUE_REMINDERS

    # The scheduler closes "old" connections between ticks, which would close the test's transaction.
    monkeypatch.setattr(schedulers, "close_old_connections", lambda: None)
    schedulers.DatabaseScheduler(app=app, lazy=True).setup_schedule()
    task = PeriodicTask.objects.get(name="process-due-reminders")
    assert task.task == PROCESS_DUE_REMINDERS
    assert task.enabled
    assert task.crontab is not None
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("*", "*", "*")
    assert str(task.crontab.timezone) == "UTC"
    assert task.expire_seconds == 50  # a pass queued while workers were down expires; the next tick does the work


@pytest.mark.django_db
def test_the_beat_task_runs_a_pass(booking, clock, django_capture_on_commit_callbacks):
    from notifications.tasks import process_due_reminders

    clock.move_to(DAY_BEFORE)
    with django_capture_on_commit_callbacks(execute=True):
        assert process_due_reminders.delay() is not None  # eager in tests
    assert BookingReminder.objects.filter(booking=booking, status=SENT).count() == 2
    assert process_due_reminders() == counts()


@pytest.mark.django_db
def test_the_management_command_runs_one_pass_and_prints_the_counts(booking, clock):
    clock.move_to(HOUR_BEFORE)
    out = io.StringIO()
    call_command("process_reminders", stdout=out)
    assert out.getvalue().strip() == "processed=4 sent=4 skipped=0 failed=0"
    out = io.StringIO()
    call_command("process_reminders", stdout=out)
    assert out.getvalue().strip() == "processed=0 sent=0 skipped=0 failed=0"
