"""The floor endpoints exist only when BENCH_ENDPOINTS is on, and then behave like the API they stand for."""

import datetime as dt
import importlib
import json
import zoneinfo

import pytest
from django.test import override_settings
from django.urls import Resolver404, clear_url_caches, resolve

from bench.floor import precomputed_availability

pytestmark = pytest.mark.django_db

FLOOR_PATHS = ["/bench/floor/availability", "/bench/floor/bookings"]


def _reload_urls():
    import booking_project.urls

    clear_url_caches()
    importlib.reload(booking_project.urls)


@pytest.fixture
def bench_endpoints_on():
    with override_settings(BENCH_ENDPOINTS=True):
        _reload_urls()
        yield
    _reload_urls()


def test_the_setting_is_off_unless_asked_for(settings):
    assert settings.BENCH_ENDPOINTS is False


@pytest.mark.parametrize("path", FLOOR_PATHS)
def test_floor_endpoints_are_absent_in_normal_operation(path, api, anonymous_api):
    with pytest.raises(Resolver404):
        resolve(path)
    assert api.get(path).status_code == 404
    assert api.post(path, {"a": 1}).status_code == 404
    assert anonymous_api.get(path).status_code == 404


@pytest.mark.parametrize("path", FLOOR_PATHS)
def test_floor_endpoints_need_a_key_like_the_api(bench_endpoints_on, anonymous_api, path):
    response = anonymous_api.get(path) if path.endswith("availability") else anonymous_api.post(path, {})

    assert response.status_code == 401


def test_availability_floor_answers_the_requested_number_of_slots(bench_endpoints_on, public_api):
    response = public_api.get("/bench/floor/availability?slots=7")

    assert response.status_code == 200
    body = response.json()
    assert len(body["slots"]) == 7
    assert set(body) == {"instructor_id", "instructor_timezone", "student_timezone", "session_minutes", "slots"}
    assert set(body["slots"][0]) == {"start_at", "end_at", "student_start", "student_end"}


def test_availability_floor_is_as_long_as_a_real_answer_with_as_many_slots():
    """Same keys, same fixed-width times: only the instructor id's digits can differ."""
    from bookings.api.views import render_slots
    from scheduling.slots import epoch_micros

    start = epoch_micros(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))
    starts = [start + n * 3_600_000_000 for n in range(40)]
    real = {**precomputed_availability(40), "slots": render_slots(starts, 60, zoneinfo.ZoneInfo("UTC"))}

    assert len(json.dumps(precomputed_availability(40))) == len(json.dumps(real))


def test_booking_floor_inserts_one_row_per_request(bench_endpoints_on, api, brand):
    from django.db import connection

    from bench.floor import CREATE_FLOOR_TABLE, FLOOR_TABLE

    with connection.cursor() as cursor:
        cursor.execute(CREATE_FLOOR_TABLE)

    first = api.post("/bench/floor/bookings", {"attendee_name": "Ada"}, format="json")
    api.post("/bench/floor/bookings", {"attendee_name": "Bea"}, format="json")

    assert first.status_code == 201
    assert first.json()["attendee_name"] == "Ada"
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT brand_id, body FROM {FLOOR_TABLE}")  # noqa: S608 - a constant
        rows = cursor.fetchall()
    assert sorted((brand_id, json.loads(body)["attendee_name"]) for brand_id, body in rows) == [
        (brand.pk, "Ada"),
        (brand.pk, "Bea"),
    ]
