"""A real Celery worker delivers every event of a booking's story to a local receiver, signed.

The test process drives the API (create, a failed payment, a paid confirm,
a reschedule, a cancel); each change's after-commit hook publishes
``send_deliveries`` to the real broker; a ``celery worker`` subprocess
(``devtools.processes``) reads the test database and posts to a
``WebhookReceiver`` running in this process. Every request must verify with
the subscription's secret (the Standard Webhooks reference code) and carry
its stored event as ``data``.

Two stacks: PostgreSQL + Redis (production's; CI), and the embedded defaults
(a SQLite file + the filesystem broker) when those are what the suite runs on.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import uuid
from collections import Counter
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient
from standardwebhooks import Webhook

from bookings.models import Event
from devtools import WebhookReceiver, processes
from scheduling.services import api_key_create
from webhooks.models import WebhookDelivery

from .factories import bookable

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

DEADLINE_SECONDS = 45
STORY = [
    "booking.created",
    "payment.failed",
    "payment.succeeded",
    "booking.confirmed",
    "booking.rescheduled",
    "booking.cancelled",
]


def at(hour: int) -> str:
    """``hour``:00 UTC two days from now: in the instructor's hours (UTC, 09-17), on the hourly grid."""
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")


def tell_the_story(client: APIClient, instructor, event_type) -> int:
    """Create, fail a payment, pay and confirm, reschedule, cancel: through the API, like a client would."""

    def call(method: str, path: str, body: dict | None = None, expected: int = 200) -> dict:
        response = getattr(client, method)(path, body, format="json")
        assert response.status_code == expected, response.content
        return response.json() if response.content else {}

    booking = call(
        "post",
        "/api/bookings",
        {
            "instructor_id": instructor.id,
            "event_type_id": event_type.id,
            "start_at": at(10),
            "attendee_name": "Ada Student",
            "attendee_email": "ada@example.com",
            "student_timezone": "Europe/Berlin",
        },
        expected=201,
    )
    path = f"/api/bookings/{booking['id']}"
    payment = {"amount": "50.00", "currency": "EUR", "provider": "stripe"}
    declined = call("patch", path, {"status": "confirmed", "payment": {**payment, "status": "failed"}})
    assert declined["status"] == "pending"
    paid = call(
        "patch", path, {"status": "confirmed", "payment": {**payment, "status": "succeeded", "reference": "pi_1"}}
    )
    assert (paid["status"], paid["payment_status"]) == ("confirmed", "paid")
    call("patch", path, {"start_at": at(14)})
    call("delete", path, expected=204)
    return booking["id"]


def deliver_the_story_through_a_real_worker(tmp_path) -> None:
    queue = f"webhooks-it-{uuid.uuid4().hex[:12]}"
    log_path = tmp_path / "worker.log"
    from scheduling.tests.factories import BrandFactory

    brand = BrandFactory(slug="acme", name="Acme Coaching")
    instructor, event_type = bookable(brand, price_amount=Decimal("50.00"), currency="EUR")
    _, key = api_key_create(brand=brand, scope="secret")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    with WebhookReceiver() as receiver, processes.publishing_to(queue):
        subscribed = client.post(
            "/api/webhooks",
            {"url": receiver.url + "/hooks", "event_types": STORY + ["booking.completed"]},
            format="json",
        )
        assert subscribed.status_code == 201, subscribed.content
        secret = subscribed.json()["secret"]
        env = processes.app_environment(
            database=processes.database_url(connection.settings_dict),
            broker=settings.CELERY_BROKER_URL,
            queue=queue,
            var_dir=str(settings.VAR_DIR),
        )
        worker = processes.celery_worker(env=env, log_path=log_path, pool="solo")
        try:
            booking_id = tell_the_story(client, instructor, event_type)
            try:
                requests = receiver.wait_for(count=len(STORY), timeout=DEADLINE_SECONDS)
            except TimeoutError as error:
                pytest.fail(f"{error}. Worker log:\n{log_path.read_text()[-4000:]}")
            processes.wait_until(
                lambda: set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"},
                timeout=10,
                what="the worker did not record every delivery as delivered",
                logs=(worker,),
            )
            time.sleep(0.5)
            requests = receiver.requests
        finally:
            worker.stop()

    verifier = Webhook(secret)
    bodies = [verifier.verify(request["raw_body"], dict(request["headers"])) for request in requests]
    assert Counter(body["type"] for body in bodies) == Counter(STORY)  # each event exactly once
    assert len({request["headers"]["webhook-id"] for request in requests}) == len(STORY)
    events = {event.type: event for event in Event.objects.filter(booking_id=booking_id)}
    for body in bodies:
        event = events[body["type"]]
        assert body["data"] == json.loads(json.dumps(event.payload))
        assert body["data"]["booking_id"] == booking_id
    by_type = {body["type"]: body["data"] for body in bodies}
    assert by_type["payment.failed"]["payment_status"] == "unpaid"
    assert by_type["payment.succeeded"]["reference"] == "pi_1"
    assert by_type["booking.rescheduled"]["start_at"] == at(14)
    assert by_type["booking.cancelled"]["status"] == "cancelled"
    assert WebhookDelivery.objects.filter(attempt_count=1).count() == len(STORY)


@pytest.mark.postgres
@pytest.mark.redis
def test_a_real_worker_delivers_every_event_of_a_booking_story_on_postgres_and_redis(tmp_path):
    deliver_the_story_through_a_real_worker(tmp_path)


def test_a_real_worker_delivers_on_the_embedded_defaults(settings, tmp_path):
    """SQLite (a file the worker can open) and the filesystem broker, as ``make run`` uses them."""
    if connection.vendor != "sqlite" or not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("runs on the embedded defaults (SQLite + filesystem broker) only")
    if "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("the SQLite test database is in memory: a worker process cannot open it")
    assert sys.platform != "win32"
    deliver_the_story_through_a_real_worker(tmp_path)
