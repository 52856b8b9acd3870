"""The reminder cron endpoints (``POST /api/bookings/reminders`` and its twin)."""

from __future__ import annotations

import pytest
import time_machine
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from notifications.models import BookingReminder
from notifications.tests.test_reminders import (  # noqa: F401  (memory_delivery: an autouse fixture)
    DAY_BEFORE,
    NOW,
    available_instructor,
    book,
    counts,
    memory_delivery,
    reminder_event_type,
    reminders_of,
)
from scheduling.services import api_key_create
from scheduling.tests.factories import BrandFactory

pytestmark = pytest.mark.django_db

SECRET = "cron-secret-for-tests"
PATHS = [
    "/api/bookings/reminders",
    "/api/bookings/reminders/",
    "/api/workers/process-booking-reminders",
    "/api/workers/process-booking-reminders/",
]


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def booking(clock, brand):
    return book(brand, available_instructor(brand), reminder_event_type(brand)).booking


@pytest.fixture
def due(booking, clock):
    clock.move_to(DAY_BEFORE)
    return booking


@pytest.fixture
def cron_secret(settings):
    settings.BOOKING_REMINDER_CRON_SECRET = SECRET
    return SECRET


@pytest.fixture
def no_cron_secret(settings):
    settings.BOOKING_REMINDER_CRON_SECRET = ""


def post(client: APIClient, path: str = PATHS[0], **headers):
    return client.post(path, headers=headers)


@pytest.mark.parametrize("path", PATHS)
def test_the_right_secret_runs_a_pass(due, cron_secret, anonymous_api, path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(anonymous_api, path, **{"x-booking-cron-secret": SECRET})
    assert response.status_code == 200, response.content
    assert response.json() == counts(processed=2, sent=2)
    assert BookingReminder.objects.filter(booking=due, status=BookingReminder.Status.SENT).count() == 2
    assert post(anonymous_api, path, **{"x-booking-cron-secret": SECRET}).json() == counts()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("header", [None, "", "wrong", SECRET + "x", SECRET[:-1], "çron"])
def test_a_wrong_or_missing_secret_is_401_and_sends_nothing(due, cron_secret, anonymous_api, path, header):
    headers = {} if header is None else {"x-booking-cron-secret": header}
    response = post(anonymous_api, path, **headers)
    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"
    assert {r.status for r in reminders_of(due).values()} == {BookingReminder.Status.SCHEDULED}


def test_with_a_cron_secret_configured_an_api_key_alone_is_not_enough(due, cron_secret, api):
    assert post(api).status_code == 401
    assert {r.status for r in reminders_of(due).values()} == {BookingReminder.Status.SCHEDULED}


def test_get_is_not_allowed(cron_secret, anonymous_api):
    response = anonymous_api.get(PATHS[0], headers={"x-booking-cron-secret": SECRET})
    assert response.status_code == 405


@pytest.mark.parametrize("path", PATHS)
def test_without_a_cron_secret_a_secret_key_runs_a_pass_for_its_brand(
    due, no_cron_secret, api, clock, path, django_capture_on_commit_callbacks
):
    other = BrandFactory(slug="other-brand")
    clock.move_to(due.created_at)
    other_booking = book(other, available_instructor(other), reminder_event_type(other), email="bo@example.com")
    clock.move_to(DAY_BEFORE)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, path)
    assert response.status_code == 200, response.content
    assert response.json() == counts(processed=2, sent=2)
    other_statuses = {r.status for r in reminders_of(other_booking.booking).values()}
    assert other_statuses == {BookingReminder.Status.SCHEDULED}  # another tenant's reminders are not touched


def test_without_a_cron_secret_a_public_key_is_403(due, no_cron_secret, public_api):
    response = post(public_api)
    assert response.status_code == 403
    assert {r.status for r in reminders_of(due).values()} == {BookingReminder.Status.SCHEDULED}


def test_without_a_cron_secret_no_key_is_401(due, no_cron_secret, anonymous_api):
    assert post(anonymous_api).status_code == 401


def test_without_a_cron_secret_an_empty_header_does_not_authorise(due, no_cron_secret, anonymous_api):
    assert post(anonymous_api, **{"x-booking-cron-secret": ""}).status_code == 401


def test_a_revoked_or_unknown_key_is_401(no_cron_secret, brand):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer nope.nope")
    assert post(client).status_code == 401
    api_key, key = api_key_create(brand=brand, scope="secret")
    api_key.revoked = True
    api_key.save()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert post(client).status_code == 401


def test_the_schema_documents_both_endpoints():
    schema = SchemaGenerator(urlconf="booking_project.urls").get_schema(request=None, public=True)
    for path in ("/api/bookings/reminders", "/api/workers/process-booking-reminders"):
        operation = next(op for p, item in schema["paths"].items() if p.rstrip("/") == path for op in [item["post"]])
        names = {(parameter["in"], parameter["name"]) for parameter in operation.get("parameters", [])}
        assert ("header", "x-booking-cron-secret") in names
        assert {"200", "401", "403"} <= set(operation["responses"])
        response_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        component = response_schema["$ref"].rsplit("/", 1)[-1]
        properties = schema["components"]["schemas"][component]["properties"]
        assert set(properties) == {"processed", "sent", "skipped", "failed"}
    assert "ReminderCronSecret" in schema["components"]["securitySchemes"]
