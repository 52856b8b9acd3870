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

import datetime as dt
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from devtools import ResendStandin, TwilioStandin, processes
from notifications.models import Notification
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

DEADLINE_SECONDS = 45
PROVIDERS = {
    "RESEND_API_KEY": RESEND_KEY,
    "TWILIO_ACCOUNT_SID": TWILIO_SID,
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "TWILIO_FROM_NUMBER": TWILIO_FROM,
}


def next_slot() -> dt.datetime:
    """10:00 UTC two days from now: in the instructor's hours (UTC, 09-17) and on the hourly grid."""
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC)


def start_worker(queue: str, resend: ResendStandin, twilio: TwilioStandin, log_path: Path) -> processes.Process:
    env = processes.app_environment(
        database=processes.database_url(connection.settings_dict),
        broker=settings.CELERY_BROKER_URL,
        queue=queue,
        var_dir=str(settings.VAR_DIR),
        resend_url=resend.url,
        twilio_url=twilio.url,
        providers=PROVIDERS,
    )
    return processes.celery_worker(env=env, log_path=log_path, pool="solo")


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
    with provider_standins(settings) as servers, processes.publishing_to(queue):
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
                pytest.fail(f"{error}. Worker log:\n{worker.log()}")

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
            processes.wait_until(
                lambda: set(Notification.objects.values_list("status", flat=True)) == {"sent"},
                timeout=10,
                what="the worker did not record every notification as sent",
                logs=(worker,),
            )
            assert Notification.objects.count() == 4
            time.sleep(0.5)
            assert len(resend.emails) == 3 and len(twilio.messages) == 1  # each sent once
        finally:
            worker.stop()


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
