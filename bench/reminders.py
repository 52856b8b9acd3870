"""Reminder throughput: 10,000 reminders due at once, the provider adding 100 ms a request, one worker.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/booking_bench_reminders \\
    BENCH_BROKER_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python -m bench.reminders [--count 10000] [--delay 0.1] [--concurrency N]

What it does, on PostgreSQL and Redis as in production:

1. drops and creates the scratch database ``BENCH_DATABASE_URL`` and migrates it;
2. writes ``count`` confirmed bookings (100 per instructor, an hour apart),
   each with one email reminder due now;
3. starts the Resend stand-in in this process, answering every request
   ``delay`` seconds late, and one ``celery worker`` (prefork, one process
   per core unless ``--concurrency``) on a queue of its own;
4. publishes one reminder pass, as a beat tick would (and another every
   60 s while reminders are left, as beat would), and waits;
5. stops the clock when every notification is recorded ``sent`` and the
   stand-in holds ``count`` emails, then checks that each reminder went out
   exactly once (one email per recipient, one notification per reminder).

:func:`measure` returns the figures as a dict (``seconds`` is the one to
watch) for a harness that prints several benchmarks side by side; ``main``
prints them. Not a test: it asserts nothing about speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

GOAL_SECONDS = 60
PER_INSTRUCTOR = 100
RESEND_KEY = "re_bench"


def _fresh_database(url: str) -> None:
    import psycopg

    parsed = urllib.parse.urlsplit(url)
    name = parsed.path.lstrip("/")
    maintenance = parsed._replace(path="/postgres").geturl().replace("postgres://", "postgresql://", 1)
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')


def _configure(database_url: str, broker_url: str, resend_url: str, var_dir: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "booking_project.settings.test",
            "CELERY_EAGER": "0",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "BOOKING_VAR_DIR": var_dir,
            "TEST_PROVIDERS_FROM_ENV": "1",
            "RESEND_API_KEY": RESEND_KEY,
            "RESEND_API_URL": resend_url,
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _due_reminders(count: int) -> None:
    """``count`` confirmed bookings, 100 per instructor an hour apart, each with an email reminder due now."""
    from django.utils import timezone

    from bookings.models import Booking, BookingStatus
    from notifications.models import BookingReminder
    from scheduling.models import Brand, EventType, Instructor, InstructorBrand

    brand = Brand.objects.create(name="Bench Coaching", slug="bench")
    event_type = EventType.objects.create(
        brand=brand, name="Session", slug="session", duration_minutes=60, reminder_minutes_before=[60]
    )
    now = timezone.now()
    first = (now + dt.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    bookings = []
    for number in range(-(-count // PER_INSTRUCTOR)):
        instructor = Instructor.objects.create(
            name=f"Coach {number}", email=f"coach{number}@example.com", slug=f"coach-{number}"
        )
        InstructorBrand.objects.create(instructor=instructor, brand=brand, timezone="Europe/Berlin")
        for hour in range(min(PER_INSTRUCTOR, count - len(bookings))):
            start = first + dt.timedelta(hours=hour)
            bookings.append(
                Booking(
                    brand=brand,
                    instructor=instructor,
                    event_type=event_type,
                    start_at=start,
                    end_at=start + dt.timedelta(hours=1),
                    status=BookingStatus.CONFIRMED,
                    attendee_name=f"Student {len(bookings)}",
                    attendee_email=f"student{len(bookings)}@example.com",
                    student_timezone="Europe/Berlin",
                    instructor_timezone="Europe/Berlin",
                )
            )
    Booking.objects.bulk_create(bookings, batch_size=1000)
    BookingReminder.objects.bulk_create(
        [
            BookingReminder(
                booking=booking, channel="email", minutes_before=60, remind_at=now - dt.timedelta(seconds=1)
            )
            for booking in bookings
        ],
        batch_size=1000,
    )


def measure(
    *,
    count: int = 10_000,
    delay: float = 0.1,
    database_url: str,
    broker_url: str,
    concurrency: int | None = None,
    timeout: float = 600,
) -> dict:
    """Time ``count`` due reminders from the first pass to the last email recorded sent; see the module doc.

    ``database_url`` names a PostgreSQL database that is dropped and created
    afresh. Returns ``{"seconds", "count", "emails", "requests", "once",
    "worker_concurrency", "goal_seconds", "met"}``.
    """
    from devtools import ResendStandin, processes

    var_dir = tempfile.mkdtemp(prefix="bench-reminders-")
    _fresh_database(database_url)
    with ResendStandin(api_key=RESEND_KEY) as resend:
        resend.set_delay(delay)
        _configure(database_url, broker_url, resend.url, var_dir)
        _due_reminders(count)

        from django.conf import settings
        from django.db import connection

        from notifications.models import BookingReminder, Notification
        from notifications.tasks import process_due_reminders

        queue = f"bench-reminders-{uuid.uuid4().hex[:8]}"
        env = processes.app_environment(
            database=database_url,
            broker=broker_url,
            queue=queue,
            var_dir=var_dir,
            resend_url=resend.url,
            providers={"RESEND_API_KEY": RESEND_KEY},
        )
        cores = concurrency or os.cpu_count() or 1
        worker = processes.celery_worker(env=env, log_path=Path(var_dir) / "worker.log", concurrency=cores)
        try:
            processes.wait_until(
                lambda: " ready." in worker.log(last=10**6),
                timeout=60,
                what="the worker starting",
                logs=(worker,),
            )
            with processes.publishing_to(queue):
                started = time.monotonic()
                process_due_reminders.apply_async()
                next_tick = started + 60
                while Notification.objects.filter(status="sent").count() < count or len(resend.emails) < count:
                    now = time.monotonic()
                    if now - started > timeout:
                        raise RuntimeError(f"Not all {count} reminders sent within {timeout} s:\n{worker.log()}")
                    if now >= next_tick and BookingReminder.objects.filter(status="scheduled").exists():
                        process_due_reminders.apply_async()  # what beat does every minute
                        next_tick += 60
                    time.sleep(0.1)
                seconds = time.monotonic() - started
        finally:
            worker.stop()
        emails = resend.emails
        recipients = {email["to"][0] for email in emails}
        per_reminder = Notification.objects.filter(kind="reminder").values("reminder").distinct().count()
        once = len(emails) == len(recipients) == count == per_reminder == Notification.objects.count()
        result = {
            "seconds": round(seconds, 2),
            "count": count,
            "emails": len(emails),
            "requests": len(resend.requests),
            "once": once,
            "worker_concurrency": cores,
            "send_concurrency": settings.NOTIFICATIONS_SEND_CONCURRENCY,
            "goal_seconds": GOAL_SECONDS,
            "met": once and seconds <= GOAL_SECONDS,
            "database": connection.vendor,
        }
        connection.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--delay", type=float, default=0.1, help="seconds the stand-in adds to every request")
    parser.add_argument("--concurrency", type=int, default=None, help="worker processes (default: one per core)")
    args = parser.parse_args(argv)
    database_url = os.environ.get("BENCH_DATABASE_URL", "")
    broker_url = os.environ.get("BENCH_BROKER_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://")) or not broker_url.startswith("redis://"):
        print("Set BENCH_DATABASE_URL (a scratch PostgreSQL database) and BENCH_BROKER_URL (redis://...).")
        return 2
    result = measure(
        count=args.count,
        delay=args.delay,
        database_url=database_url,
        broker_url=broker_url,
        concurrency=args.concurrency,
    )
    print(
        f"{result['count']} reminders due at once, +{args.delay * 1000:.0f} ms per provider request, one worker "
        f"({result['worker_concurrency']} processes): all sent in {result['seconds']:.1f} s "
        f"(goal {GOAL_SECONDS} s: {'met' if result['met'] else 'NOT met'}); {result['requests']} requests to "
        f"Resend, each reminder once: {result['once']}"
    )
    return 0 if result["once"] else 1


if __name__ == "__main__":
    sys.exit(main())
