"""Reminder passes racing each other (and cancels) on PostgreSQL: each reminder is sent once.

Every thread has its own database connection (Django opens one per thread);
``transaction=True`` so each claim really commits, and after-commit sends run
(eagerly, in the thread that committed) into the in-memory backend.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
import time_machine
from django.db import connection
from django.db.models import Count
from rest_framework.test import APIClient

from bookings import services as booking_services
from notifications import backends
from notifications.models import BookingReminder, Notification
from notifications.reminders import reminders_process_due
from notifications.tests.test_reminders import (  # noqa: F401  (memory_delivery: fixture)
    DAY_BEFORE,
    NOW,
    PHONE,
    SESSION,
    available_instructor,
    book,
    memory_delivery,
    reminder_event_type,
)
from scheduling.tests.factories import BrandFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SECRET = "cron-secret-for-the-race"
# Five hours after the first 24-hour reminder: every 24-hour reminder is due, no 1-hour one is.
RACE_AT = DAY_BEFORE + dt.timedelta(hours=5, minutes=30)


def make_bookings(count_per_instructor: int = 6, instructors: int = 3):
    """Confirmed bookings 10:00..15:00 Berlin on the session day, four reminders each."""
    brand = BrandFactory(slug="reminder-race")
    event_type = reminder_event_type(brand)
    bookings = []
    with time_machine.travel(NOW, tick=False):
        for number in range(instructors):
            instructor = available_instructor(brand)
            for hour in range(count_per_instructor):
                start = SESSION + dt.timedelta(hours=hour)
                email = f"student{number}-{hour}@example.com"
                bookings.append(book(brand, instructor, event_type, start, email=email).booking)
    backends.outbox.clear()  # the confirmations sent at commit
    return bookings


def race(jobs):
    """Run the callables at the same instant, each in its own thread; return (results, errors)."""
    barrier = threading.Barrier(len(jobs))
    results, errors = [], []
    lock = threading.Lock()

    def run(job):
        try:
            barrier.wait()
            result = job()
            with lock:
                results.append(result)
        except Exception as error:  # reported by the test
            with lock:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    with time_machine.travel(RACE_AT, tick=True):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    return results, errors


def cron_call():
    response = APIClient().post("/api/workers/process-booking-reminders", headers={"x-booking-cron-secret": SECRET})
    assert response.status_code == 200, response.content
    return response.json()


def test_two_workers_two_beats_and_a_cron_call_send_each_reminder_once(settings):
    settings.BOOKING_REMINDER_CRON_SECRET = SECRET
    bookings = make_bookings()
    due = BookingReminder.objects.filter(minutes_before=1440)
    assert due.count() == len(bookings) * 2

    results, errors = race([reminders_process_due] * 4 + [cron_call])

    assert errors == []
    assert sum(result["sent"] for result in results) == due.count()
    assert sum(result["processed"] for result in results) == due.count()
    assert sum(result["failed"] + result["skipped"] for result in results) == 0
    assert set(due.values_list("status", flat=True)) == {BookingReminder.Status.SENT}
    assert set(BookingReminder.objects.filter(minutes_before=60).values_list("status", flat=True)) == {"scheduled"}
    per_reminder = (
        Notification.objects.filter(kind=Notification.Kind.REMINDER).values("reminder").annotate(n=Count("id"))
    )
    assert len(per_reminder) == due.count()
    assert {row["n"] for row in per_reminder} == {1}
    delivered = Counter((message.channel, message.to) for message in backends.outbox)
    assert delivered[("sms", PHONE)] == len(bookings)
    assert all(delivered[("email", booking.attendee_email)] == 1 for booking in bookings)
    assert sum(delivered.values()) == due.count()


def test_passes_racing_cancels_neither_deadlock_nor_send_twice():
    bookings = make_bookings()
    cancelled, kept = bookings[::2], bookings[1::2]

    def cancel_some():
        for booking in cancelled:
            booking_services.booking_cancel(booking=booking, actor=booking_services.API, reason="race")
        return None

    results, errors = race([reminders_process_due, reminders_process_due, cancel_some])

    assert errors == []
    due = BookingReminder.objects.filter(minutes_before=1440)
    assert set(due.filter(booking__in=kept).values_list("status", flat=True)) == {BookingReminder.Status.SENT}
    for reminder in due.filter(booking__in=cancelled):
        # Cancelled first (never claimed: cancelled); or claimed first, and then its notification
        # was delivered before the cancel committed (sent) or skipped by the send task after it (skipped).
        if reminder.status == BookingReminder.Status.CANCELLED:
            assert not Notification.objects.filter(reminder=reminder).exists()
        else:
            assert (reminder.status, reminder.notification.status) in {
                (BookingReminder.Status.SENT, Notification.Status.SENT),
                (BookingReminder.Status.SKIPPED, Notification.Status.SKIPPED),
            }
    per_reminder = (
        Notification.objects.filter(kind=Notification.Kind.REMINDER).values("reminder").annotate(n=Count("id"))
    )
    assert {row["n"] for row in per_reminder} == {1}
    sent_reminders = Notification.objects.filter(kind=Notification.Kind.REMINDER, status=Notification.Status.SENT)
    # Only reminders go out by SMS here (cancellations are emails): one message per sent SMS reminder.
    assert len([m for m in backends.outbox if m.channel == "sms"]) == sent_reminders.filter(channel="sms").count()
    assert sum(1 for result in results if result) == 2
