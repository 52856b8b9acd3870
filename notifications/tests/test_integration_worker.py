"""A real Celery worker process delivers a booking's notifications through the real SDKs.

The test process creates a booking through ``POST /api/bookings``; the
booking's after-commit hook publishes ``send_notifications`` to the real
broker (eager mode is off for this test); a ``celery worker`` subprocess,
started with the test settings and ``CELERY_EAGER=0``, reads the same test
database and sends through the ``resend`` and ``twilio`` SDKs to stand-ins
running in this process. The worker consumes a queue of its own, so other
tests' workers never take its tasks.

Two stacks: PostgreSQL + Redis (production's; CI), and the embedded defaults
(a SQLite file + the filesystem broker) when those are what the suite runs on.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from booking_project.celery import app as celery_app
from devtools import ResendStandin, TwilioStandin
from notifications.models import Notification
from notifications.tasks import send_notifications
from notifications.tests.factories import (
    RESEND_KEY,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    bookable,
    ics_of,
    provider_standins,
)
from scheduling.services import api_key_create
from scheduling.tests.factories import BrandFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(settings.BASE_DIR)
CELERY = ROOT / ".venv" / "bin" / "celery"
DEADLINE_SECONDS = 45


def database_url() -> str:
    """The test database (not the configured one) as a URL for the worker."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}{port}/{db['NAME']}"


def next_slot() -> dt.datetime:
    """10:00 UTC two days from now: in the instructor's hours (UTC, 09-17) and on the hourly grid."""
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC)


def start_worker(queue: str, resend: ResendStandin, twilio: TwilioStandin, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "booking_project.settings.test",
        "CELERY_EAGER": "0",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "BOOKING_VAR_DIR": str(settings.VAR_DIR),
        "TEST_PROVIDERS_FROM_ENV": "1",
        "RESEND_API_KEY": RESEND_KEY,
        "RESEND_API_URL": resend.url,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": TWILIO_FROM,
        "TWILIO_API_URL": twilio.url,
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("TWILIO_EDGE", "TWILIO_REGION", "REDIS_URL"):
        env.pop(name, None)
    command = [
        str(CELERY),
        "-A",
        "booking_project",
        "worker",
        "-P",
        "solo",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "INFO",
    ]
    log = log_path.open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=5)


def wait_until(condition, timeout: float, what: str, log_path: Path) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout}s. Worker log:\n{log_path.read_text()[-4000:]}")
        time.sleep(0.2)


@contextlib.contextmanager
def publishing_to(queue: str):
    """This process publishes ``send_notifications`` for real (not eagerly), to ``queue`` only."""
    was_eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    send_notifications.queue = queue
    send_notifications._exec_options = None  # the task caches its routing options
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = was_eager
        send_notifications.queue = None
        send_notifications._exec_options = None


def deliver_a_booking_through_a_real_worker(settings, tmp_path) -> None:
    queue = f"notifications-it-{uuid.uuid4().hex[:12]}"

    brand = BrandFactory(slug="acme", name="Acme Coaching", from_name="Acme", from_email="hello@acme.test")
    instructor, event_type = bookable(
        brand, timezone="UTC", booking_notification_emails=["team@example.com"], send_sms_confirmation=True
    )
    _, key = api_key_create(brand=brand, scope="secret")
    log_path = tmp_path / "worker.log"

    from rest_framework.test import APIClient

    # Both processes point at the same stand-ins: this one decides what to queue, the worker sends.
    with provider_standins(settings) as servers, publishing_to(queue):
        resend, twilio = servers.resend, servers.twilio
        worker = start_worker(queue, resend, twilio, log_path)
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            response = client.post(
                "/api/bookings",
                {
                    "instructor_id": instructor.id,
                    "event_type_id": event_type.id,
                    "start_at": next_slot().isoformat().replace("+00:00", "Z"),
                    "attendee_name": "Ada Student",
                    "attendee_email": "ada@example.com",
                    "attendee_phone": "+4915112345678",
                    "student_timezone": "Europe/Berlin",
                },
                format="json",
            )
            assert response.status_code == 201, response.content
            assert response.json()["warnings"] == []
            uid = response.json()["uid"]

            try:
                emails = resend.wait_for(count=3, timeout=DEADLINE_SECONDS)
                (sms,) = twilio.wait_for(count=1, timeout=DEADLINE_SECONDS)
            except TimeoutError as error:
                pytest.fail(f"{error}. Worker log:\n{log_path.read_text()[-4000:]}")

            by_recipient = {email["to"][0]: email for email in emails}
            assert set(by_recipient) == {"ada@example.com", "team@example.com", instructor.email}
            attendee = by_recipient["ada@example.com"]
            assert attendee["from"] == "Acme <hello@acme.test>"
            assert attendee["api_key"] == RESEND_KEY
            assert attendee["idempotency_key"].startswith("notification-")
            assert ics_of(attendee)["METHOD"] == "REQUEST"
            assert f"/booking/{uid}/?token=" in attendee["text"]
            assert "(Europe/Berlin, CET)" in attendee["text"] or "(Europe/Berlin, CEST)" in attendee["text"]
            assert by_recipient["team@example.com"]["subject"].startswith("New booking request")
            assert (sms["to"], sms["from"]) == ("+4915112345678", TWILIO_FROM)

            # The worker records the outcome right after the provider answered.
            wait_until(
                lambda: set(Notification.objects.values_list("status", flat=True)) == {"sent"},
                10,
                "the worker did not record every notification as sent",
                log_path,
            )
            assert Notification.objects.count() == 4
            time.sleep(0.5)
            assert len(resend.emails) == 3 and len(twilio.messages) == 1  # each sent once
        finally:
            stop_worker(worker)


@pytest.mark.postgres
@pytest.mark.redis
def test_a_real_worker_delivers_a_bookings_notifications_on_postgres_and_redis(settings, tmp_path):
    deliver_a_booking_through_a_real_worker(settings, tmp_path)


def test_a_real_worker_delivers_on_the_embedded_defaults(settings, tmp_path):
    """SQLite (a file the worker can open) and the filesystem broker, as ``make run`` uses them."""
    if connection.vendor != "sqlite" or not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("runs on the embedded defaults (SQLite + filesystem broker) only")
    if "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("the SQLite test database is in memory: a worker process cannot open it")
    assert sys.platform != "win32"
    deliver_a_booking_through_a_real_worker(settings, tmp_path)
