"""Fault suite: the PostgreSQL connection is dropped in the middle of a request to a real server.

gunicorn serves the app with the production settings (persistent database
connections) on the test database. A second connection locks a table the
request is about to use, waits until the request's backend is blocked on
it, and terminates that backend (``pg_terminate_backend``), as a database
failover or an idle-connection reaper would. The request must answer a
clean 503, leave nothing half-written, and the very next request must work.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from bookings.models import Booking, Event
from devtools import processes
from notifications.models import Notification
from notifications.tests.factories import bookable
from scheduling.services import api_key_create
from scheduling.tests.factories import BrandFactory

pytestmark = [
    pytest.mark.faults,
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("faults"),
]

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class Answer:
    status: int
    content_type: str
    body: str
    retry_after: str | None

    def json(self):
        return json.loads(self.body)


def call(url: str, *, method: str = "GET", key: str | None = None, body: dict | None = None) -> Answer:
    headers = {"Content-Type": "application/json"} if body is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with NO_PROXY.open(request, timeout=60) as response:
            return Answer(response.status, response.headers["Content-Type"], response.read().decode(), None)
    except urllib.error.HTTPError as error:
        headers = error.headers
        return Answer(error.code, headers["Content-Type"], error.read().decode(), headers.get("Retry-After"))


@pytest.fixture
def server(tmp_path):
    env = processes.app_environment(
        database=processes.database_url(connection.settings_dict),
        broker="memory://",  # the booking's messages are not this test's subject
        queue=f"faults-web-{uuid.uuid4().hex[:8]}",
        var_dir=str(tmp_path),
        DJANGO_SETTINGS_MODULE="booking_project.settings.production",
        DJANGO_SECRET_KEY=f"faults-{secrets.token_hex(32)}",
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        CONN_MAX_AGE="60",
    )
    # As at a release: production settings serve hashed static files from what collectstatic wrote.
    subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "manage.py", "collectstatic", "--noinput"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
    )
    web = processes.gunicorn(env=env, log_path=tmp_path / "gunicorn.log")
    try:
        yield f"http://127.0.0.1:{web.port}", web
    finally:
        web.stop()


def slot() -> dt.datetime:
    """10:00 UTC two days from now: in the instructor's hours (UTC, 09-17) and on the hourly grid."""
    return dt.datetime.combine(dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2), dt.time(10), tzinfo=dt.UTC)


def dsn() -> str:
    return processes.database_url(connection.settings_dict)


def terminate_the_request_blocked_on(table: str, send, web: processes.Process) -> tuple[Answer, dict]:
    """Run ``send`` while ``table`` is locked; terminate its backend once it waits there.

    Returns the answer and what PostgreSQL said of the backend when it was
    cut: its statement, and whether its transaction had written anything.
    """
    answers: list[Answer] = []
    with psycopg.connect(dsn()) as locker, psycopg.connect(dsn(), autocommit=True) as watcher:
        locker.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        thread = threading.Thread(target=lambda: answers.append(send()))
        thread.start()
        found: list[tuple] = []

        def blocked() -> bool:
            found[:] = watcher.execute(
                "SELECT pid, query, backend_xid IS NOT NULL FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
                "AND query ILIKE %s",
                [f'%"{table}"%'],
            ).fetchall()
            return bool(found)

        try:
            processes.wait_until(blocked, timeout=30, what=f"the request waiting on {table}", logs=(web,))
        except AssertionError as error:
            activity = watcher.execute(
                "SELECT pid, state, wait_event_type, wait_event, backend_xid, query FROM pg_stat_activity "
                "WHERE datname = current_database()"
            ).fetchall()
            raise AssertionError(f"{error}\nanswers: {answers}\npg_stat_activity: {activity}") from None
        ((pid, query, wrote),) = found
        assert watcher.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
        locker.rollback()
        thread.join(timeout=60)
    (answer,) = answers
    return answer, {"query": query, "wrote": wrote}


def test_a_dropped_connection_mid_booking_is_a_clean_503_with_nothing_written_and_the_next_request_works(server):
    url, web = server
    brand = BrandFactory(slug="acme")
    instructor, event_type = bookable(brand, timezone="UTC", booking_notification_emails=["team@example.com"])
    _, key = api_key_create(brand=brand, scope="secret")
    body = {
        "instructor_id": instructor.id,
        "event_type_id": event_type.id,
        "start_at": slot().isoformat().replace("+00:00", "Z"),
        "attendee_name": "Ada Student",
        "attendee_email": "ada@example.com",
        "student_timezone": "Europe/Berlin",
    }

    # The booking row is inserted; the request is cut while it waits to write the booking's event.
    answer, backend = terminate_the_request_blocked_on(
        "bookings_event", lambda: call(f"{url}/api/bookings", method="POST", key=key, body=body), web
    )

    assert backend["query"].startswith('INSERT INTO "bookings_event"') and backend["wrote"] is True
    assert answer.status == 503, (answer.body, web.log())
    assert answer.content_type == "application/json"
    assert answer.json() == {
        "detail": "The service is briefly unavailable. Nothing was changed; please try again in a moment.",
        "code": "service_unavailable",
    }
    assert answer.retry_after == "5"
    assert (Booking.objects.count(), Event.objects.count(), Notification.objects.count()) == (0, 0, 0)

    again = call(f"{url}/api/bookings", method="POST", key=key, body=body)
    assert again.status == 201, (again.body, web.log())
    assert (Booking.objects.count(), Event.objects.count(), Notification.objects.count()) == (1, 1, 3)
    assert web.running


def test_a_dropped_connection_while_a_page_reads_is_a_plain_503_page_and_the_next_request_works(server):
    url, web = server
    BrandFactory(slug="acme", name="Acme Coaching")

    answer, backend = terminate_the_request_blocked_on("scheduling_brand", lambda: call(f"{url}/"), web)

    assert backend["query"].startswith("SELECT") and backend["wrote"] is False
    assert answer.status == 503, (answer.body, web.log())
    assert answer.content_type.startswith("text/html")
    assert "Briefly unavailable" in answer.body and "Traceback" not in answer.body
    assert answer.retry_after == "5"

    again = call(f"{url}/")
    assert again.status == 200 and "Acme Coaching" in again.body
    assert web.running
