"""The fault suite of notification delivery: real processes, real SDKs, faults injected for real.

Each test starts real ``celery worker`` / ``celery beat`` processes (and, for
the broker outage, a redis-server of its own) on the test database, with the
provider stand-ins in this process, then breaks something:

* the worker is killed (``kill -9``) in the middle of sending;
* Redis stops while bookings are made, and comes back;
* the providers answer 500s and time out for a while;
* two beat schedulers run at once.

and checks that every message arrives, once (counted at the stand-ins), with
nothing but the system's own recovery: the claim's lease, the sweep, retries
and Twilio's message list. The delivery timings are shortened through the
settings' environment (a 6 s lease, a sweep every second) so that recovery
takes seconds; the deadlines below are generous bounds for a busy machine,
not measurements (``make bench`` measures).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from bookings.services import booking_create
from devtools import ResendStandin, TwilioStandin, processes
from notifications.models import BookingReminder, Notification, NotificationAttempt
from notifications.tests.factories import (
    RESEND_KEY,
    TWILIO_FROM,
    TWILIO_SID,
    TWILIO_TOKEN,
    bookable,
    provider_standins,
)
from scheduling.services import api_key_create
from scheduling.tests.factories import BrandFactory

pytestmark = [
    pytest.mark.faults,
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("faults"),
]

RECOVERY_DEADLINE = 120  # the goal: everything delivered within 2 minutes of the fault
FAST = {
    "NOTIFICATIONS_PROVIDER_TIMEOUT": 1,
    "NOTIFICATIONS_LEASE_SECONDS": 6,
    "NOTIFICATIONS_SWEEP_SECONDS": 1,
    "NOTIFICATIONS_SWEEP_GRACE_SECONDS": 2,
    "NOTIFICATIONS_RETRY_DELAYS": "1,1,1,1,1,1,1,1",
}
PROVIDERS = {
    "RESEND_API_KEY": RESEND_KEY,
    "TWILIO_ACCOUNT_SID": TWILIO_SID,
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "TWILIO_FROM_NUMBER": TWILIO_FROM,
}


@dataclass
class Stack:
    """The stand-ins, a queue of this test's own, and the processes it started (stopped at the end)."""

    resend: ResendStandin
    twilio: TwilioStandin
    tmp_path: Path
    broker: str
    queue: str = field(default_factory=lambda: f"faults-{uuid.uuid4().hex[:12]}")
    started: list[processes.Process] = field(default_factory=list)

    def env(self, **overrides) -> dict[str, str]:
        return processes.app_environment(
            database=processes.database_url(connection.settings_dict),
            broker=self.broker,
            queue=self.queue,
            var_dir=str(settings.VAR_DIR),
            resend_url=self.resend.url,
            twilio_url=self.twilio.url,
            providers=PROVIDERS,
            **{**FAST, **overrides},
        )

    def _log(self, name: str) -> Path:
        return self.tmp_path / f"{name}-{len(self.started)}.log"

    def worker(self, *, with_beat: bool = True, **overrides) -> processes.Process:
        schedule = self.tmp_path / f"beat-{len(self.started)}" if with_beat else None
        process = processes.celery_worker(
            env=self.env(**overrides), log_path=self._log("worker"), beat_schedule=schedule
        )
        self.started.append(process)
        return process

    def beat(self, **overrides) -> processes.Process:
        schedule = self.tmp_path / f"beat-{len(self.started)}"
        process = processes.celery_beat(env=self.env(**overrides), log_path=self._log("beat"), schedule=schedule)
        self.started.append(process)
        return process

    def wait_until(self, condition, what: str, timeout: float = RECOVERY_DEADLINE) -> None:
        processes.wait_until(condition, timeout=timeout, what=what, logs=tuple(self.started))


@pytest.fixture
def stack(settings, tmp_path):
    with provider_standins(settings) as servers:
        stack = Stack(servers.resend, servers.twilio, tmp_path, settings.CELERY_BROKER_URL)
        try:
            yield stack
        finally:
            for process in stack.started:
                process.stop()


def slot(n: int) -> dt.datetime:
    """The n-th free hour from 09:00 UTC two days from now (the instructor works 09-17 UTC, every day)."""
    day = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2 + n // 8)
    return dt.datetime.combine(day, dt.time(9 + n % 8), tzinfo=dt.UTC)


def make_bookings(event_type, instructor, count: int, *, first: int = 0) -> list:
    return [
        booking_create(
            brand=event_type.brand,
            instructor=instructor,
            event_type=event_type,
            start_at=slot(first + n),
            attendee_name=f"Student {first + n}",
            attendee_email=f"student{first + n}@example.com",
            attendee_phone=f"+4915112345{first + n:03d}",
            student_timezone="Europe/Berlin",
        ).booking
        for n in range(count)
    ]


def all_sent() -> bool:
    statuses = set(Notification.objects.exclude(status="skipped").values_list("status", flat=True))
    return statuses == {"sent"}


def assert_each_message_arrived_once(stack: Stack) -> None:
    """Every notification is sent, and the stand-ins hold exactly one message per notification."""
    rows = list(Notification.objects.exclude(status="skipped"))
    assert rows and {row.status for row in rows} == {"sent"}
    emails = [row for row in rows if row.channel == "email"]
    texts = [row for row in rows if row.channel != "email"]
    delivered_emails = Counter((email["to"][0], email["subject"]) for email in stack.resend.emails)
    assert len(stack.resend.emails) == len(emails), delivered_emails.most_common(3)
    assert max(delivered_emails.values()) == 1
    assert {row.provider_message_id for row in emails} <= {email["id"] for email in stack.resend.emails}
    assert len(stack.twilio.messages) == len(texts)
    assert {row.provider_message_id for row in texts} == {message["sid"] for message in stack.twilio.messages}


# --- the worker is killed mid-send -------------------------------------------------------------


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(stack):
    instructor, event_type = bookable(
        BrandFactory(), timezone="UTC", booking_notification_emails=["team@example.com"], send_sms_confirmation=True
    )
    stack.resend.set_delay(0.8)  # every request stays open a while: some are in flight when the worker dies
    stack.twilio.set_delay(0.8)
    first = stack.worker(with_beat=False)

    with processes.publishing_to(stack.queue):
        make_bookings(event_type, instructor, 10)  # 4 messages each: attendee email, SMS, 2 host emails
    total = Notification.objects.count()
    assert total == 40
    stack.wait_until(lambda: len(stack.resend.requests) + len(stack.twilio.requests) >= 8, "sending began")
    first.kill()

    in_flight = set(Notification.objects.filter(status="sending").values_list("pk", flat=True))
    assert in_flight  # it died in the middle of attempts...
    assert Notification.objects.filter(status="sent").count() < total  # ...with messages still to send
    stack.resend.set_delay(0)
    stack.twilio.set_delay(0)
    stack.worker()  # a new worker, with beat: the sweep takes back the lapsed claims and the lost tasks

    stack.wait_until(all_sent, "every message delivered after the crash")
    assert_each_message_arrived_once(stack)
    lost = NotificationAttempt.objects.filter(error__startswith="Lost:")
    assert set(lost.values_list("notification_id", flat=True)) == in_flight
    assert lost.count() == len(in_flight)  # each interrupted attempt is in the log, once


# --- Redis stops while bookings are made --------------------------------------------------------


def test_bookings_made_while_redis_is_down_succeed_and_their_messages_arrive_once_it_is_back(stack):
    redis = processes.redis_server(log_path=stack.tmp_path / "redis.log")
    stack.started.append(redis)
    stack.broker = f"redis://127.0.0.1:{redis.port}/0"
    brand = BrandFactory(slug="acme")
    instructor, event_type = bookable(brand, timezone="UTC", send_sms_confirmation=True)
    _, key = api_key_create(brand=brand, scope="secret")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    worker = stack.worker()

    def book(n: int):
        return client.post(
            "/api/bookings",
            {
                "instructor_id": instructor.id,
                "event_type_id": event_type.id,
                "start_at": slot(n).isoformat().replace("+00:00", "Z"),
                "attendee_name": f"Student {n}",
                "attendee_email": f"student{n}@example.com",
                "attendee_phone": f"+4915112345{n:03d}",
                "student_timezone": "Europe/Berlin",
            },
            format="json",
        )

    with processes.publishing_to(stack.queue, broker=stack.broker):
        assert book(0).status_code == 201
        stack.wait_until(all_sent, "the first booking's messages delivered while Redis is up")
        redis.stop()  # keeps nothing on disk: its queues are gone

        answers = [book(n) for n in range(1, 4)]
        assert [answer.status_code for answer in answers] == [201, 201, 201]
        assert Notification.objects.filter(status="pending").count() == 9  # written, waiting for the broker

        redis = processes.redis_server(port=redis.port, log_path=stack.tmp_path / "redis-again.log")
        stack.started.append(redis)
        # A worker may exit when Redis vanishes under it (kombu's reconnection can fail while acking):
        # production runs workers under a supervisor that starts them again, and here the test is it.
        if not worker.running:
            stack.worker()
        stack.wait_until(all_sent, "every message delivered after Redis came back")

    assert Notification.objects.count() == 12  # 3 a booking: attendee email, SMS, the instructor's email
    assert_each_message_arrived_once(stack)


# --- the providers fail for a while ------------------------------------------------------------------


def test_providers_failing_and_timing_out_for_a_while_deliver_everything_once_after_recovery(stack):
    instructor, event_type = bookable(
        BrandFactory(), timezone="UTC", booking_notification_emails=["team@example.com"], send_sms_confirmation=True
    )
    stack.resend.fail_next(6, status=500)
    stack.resend.set_delay(1.5, times=3)  # then three answers too late (the provider timeout is 1 s): accepted
    stack.twilio.fail_next(2, status=503)
    stack.twilio.set_delay(1.5, times=4)  # timeouts, some after Twilio accepted the message
    stack.worker()

    with processes.publishing_to(stack.queue):
        make_bookings(event_type, instructor, 4)

    stack.wait_until(all_sent, "every message delivered after the providers recovered")
    assert_each_message_arrived_once(stack)
    assert Notification.objects.filter(attempts__gt=1).exists()  # the outage was felt, and retried through
    assert not Notification.objects.filter(status="failed").exists()


# --- two beat schedulers at once ------------------------------------------------------------------------


def test_two_beat_processes_at_once_send_each_reminder_once(stack):
    instructor, event_type = bookable(
        BrandFactory(),
        timezone="UTC",
        requires_confirmation=False,
        send_email_confirmation=False,
        reminder_minutes_before=[60],
        reminder_channels=["email", "sms"],
    )
    bookings = make_bookings(event_type, instructor, 6)
    due = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert BookingReminder.objects.filter(booking__in=bookings).update(remind_at=due) == 12
    ticks = {"REMINDERS_PASS_SECONDS": 1}
    beats = [stack.beat(**ticks), stack.beat(**ticks)]
    stack.worker(with_beat=False, **ticks)

    stack.wait_until(
        lambda: Notification.objects.filter(kind="reminder", status="sent").count() == 12, "every reminder sent"
    )

    def passes_sent_by_each_beat() -> list[int]:
        return [beat.log(last=10**6).count("Sending due task process-due-reminders") for beat in beats]

    seen = passes_sent_by_each_beat()
    stack.wait_until(
        lambda: all(now >= before + 3 for now, before in zip(passes_sent_by_each_beat(), seen, strict=True)),
        "both beats kept scheduling passes after the reminders went out",
    )
    assert set(BookingReminder.objects.values_list("status", flat=True)) == {"sent"}
    assert (
        Counter(Notification.objects.filter(kind="reminder").values_list("reminder_id", flat=True)).most_common(1)[0][1]
        == 1
    )
    assert_each_message_arrived_once(stack)
    assert sum("reminder" in message["body"] for message in stack.twilio.messages) == 6
    assert sum(email["subject"].startswith("Reminder:") for email in stack.resend.emails) == 6
