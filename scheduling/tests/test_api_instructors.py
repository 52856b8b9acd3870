"""Instructors API: /api/instructors (CRUD) and /api/bookings/instructors (list)."""

import datetime as dt

import pytest
import time_machine
from rest_framework.test import APIClient

from booking_project.api.authentication import KEY_USE_QUERIES
from scheduling.models import ApiKey, Instructor, InstructorBrand
from scheduling.services import api_key_create, api_key_revoke
from scheduling.tests.factories import (
    AssignmentFactory,
    DateOverrideFactory,
    InstructorFactory,
    WeeklyAvailabilityFactory,
)

pytestmark = pytest.mark.django_db

LIST_PATHS = ["/api/instructors", "/api/instructors/", "/api/bookings/instructors", "/api/bookings/instructors/"]


@pytest.fixture
def instructor(brand):
    return AssignmentFactory(brand=brand, timezone="Europe/Berlin", instructor__name="Ada Coach").instructor


@pytest.fixture
def foreign_instructor(other_brand):
    return AssignmentFactory(brand=other_brand, timezone="America/New_York").instructor


def counts() -> tuple[int, int]:
    return Instructor.objects.count(), InstructorBrand.objects.count()


# --- reads ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", LIST_PATHS)
def test_list_shows_the_brands_instructors_with_their_timezone_in_this_brand(path, api, instructor, foreign_instructor):
    response = api.get(path)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1
    assert body["results"] == [
        {
            "id": instructor.id,
            "name": "Ada Coach",
            "email": instructor.email,
            "phone": instructor.phone,
            "slug": instructor.slug,
            "timezone": "Europe/Berlin",
            "bio": "",
        }
    ]


def test_an_instructor_of_two_brands_shows_each_brands_timezone(api, other_api, brand, other_brand, instructor):
    AssignmentFactory(instructor=instructor, brand=other_brand, timezone="Asia/Tokyo")

    mine = api.get("/api/instructors").json()["results"]
    theirs = other_api.get("/api/instructors").json()["results"]

    assert [(row["id"], row["timezone"]) for row in mine] == [(instructor.id, "Europe/Berlin")]
    assert [(row["id"], row["timezone"]) for row in theirs] == [(instructor.id, "Asia/Tokyo")]


def test_public_key_may_list_and_read(public_api, instructor):
    assert public_api.get("/api/instructors").status_code == 200
    assert public_api.get("/api/bookings/instructors").status_code == 200
    assert public_api.get(f"/api/instructors/{instructor.id}").status_code == 200


def test_list_is_paginated(api, brand):
    for _ in range(3):
        AssignmentFactory(brand=brand)

    body = api.get("/api/instructors?limit=2").json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"] is not None


def test_list_filters_by_slug(api, brand, instructor):
    AssignmentFactory(brand=brand)

    body = api.get(f"/api/instructors?slug={instructor.slug}").json()

    assert [row["id"] for row in body["results"]] == [instructor.id]


@pytest.mark.parametrize("path", ["/api/instructors", "/api/bookings/instructors"])
def test_list_query_count_is_flat(path, api, brand, django_assert_max_num_queries):
    for _ in range(2):
        AssignmentFactory(brand=brand)
    # The key's first request also stamps its last use (once a minute).
    with django_assert_max_num_queries(3 + KEY_USE_QUERIES):
        assert api.get(path).json()["count"] == 2

    for _ in range(18):
        AssignmentFactory(brand=brand)
    with django_assert_max_num_queries(3):
        assert len(api.get(path).json()["results"]) == 20


@pytest.mark.parametrize("path", ["/api/instructors/{id}", "/api/instructors/{id}/"])
def test_retrieve(path, api, instructor):
    response = api.get(path.format(id=instructor.id))

    assert response.status_code == 200
    assert response.json()["timezone"] == "Europe/Berlin"


# --- create -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/instructors", "/api/instructors/"])
def test_create_assigns_to_the_brand_and_normalises_the_phone(path, api, brand):
    response = api.post(
        path,
        {"name": "Bea Trainer", "email": "bea@example.com", "phone": "+49 151 1234 5678", "timezone": "Europe/Paris"},
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == "+4915112345678"
    assert body["slug"] == "bea-trainer"
    assert body["timezone"] == "Europe/Paris"
    assignment = InstructorBrand.objects.get(instructor_id=body["id"])
    assert assignment.brand == brand
    assert assignment.timezone == "Europe/Paris"
    assert assignment.buffer_minutes == 15  # the documented defaults


def test_create_defaults(api):
    response = api.post("/api/instructors", {"name": "Cy", "email": "cy@example.com"})

    assert response.status_code == 201, response.content
    assert response.json()["timezone"] == "UTC"
    assert response.json()["phone"] == ""


def test_create_accepts_a_leading_00_and_a_given_slug(api):
    response = api.post(
        "/api/instructors", {"name": "Dee", "email": "dee@example.com", "phone": "0049-151-12345678", "slug": "dee"}
    )

    assert response.status_code == 201, response.content
    assert response.json()["phone"] == "+4915112345678"
    assert response.json()["slug"] == "dee"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "email": "x@example.com", "phone": "12345"}, "phone"),
        ({"name": "X", "email": "x@example.com", "phone": "0151 1234 5678"}, "phone"),
        ({"name": "X", "email": "x@example.com", "phone": "+49 1"}, "phone"),
        ({"name": "X", "email": "x@example.com", "phone": "call me"}, "phone"),
        ({"name": "X", "email": "x@example.com", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "X", "email": "x@example.com", "timezone": "+02:00"}, "timezone"),
        ({"name": "X", "email": "not-an-email"}, "email"),
        ({"email": "x@example.com"}, "name"),
        ({"name": "X"}, "email"),
        ({"name": "X", "email": "x@example.com", "slug": "not a slug"}, "slug"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(api, brand, body, field):
    before = counts()

    response = api.post("/api/instructors", body)

    assert response.status_code == 400
    assert field in response.json()
    assert counts() == before


def test_create_refuses_a_taken_slug(api, instructor):
    before = counts()

    response = api.post("/api/instructors", {"name": "Y", "email": "y@example.com", "slug": instructor.slug})

    assert response.status_code == 400
    assert "slug" in response.json()
    assert counts() == before


def test_create_refuses_malformed_json(api):
    before = counts()

    response = api.post("/api/instructors", data='{"name": ', content_type="application/json")

    assert response.status_code == 400
    assert counts() == before


# --- update / delete -------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/instructors/{id}", "/api/instructors/{id}/"])
def test_patch_changes_the_instructor_and_this_brands_timezone_only(path, api, other_brand, instructor):
    # The name may change while this brand is the instructor's only one; once shared,
    # sending the same name again is no change (see the instructor_shared tests below).
    assert api.patch(path.format(id=instructor.id), {"name": "Ada Lovelace"}).status_code == 200
    AssignmentFactory(instructor=instructor, brand=other_brand, timezone="Asia/Tokyo")

    response = api.patch(path.format(id=instructor.id), {"name": "Ada Lovelace", "timezone": "Europe/Lisbon"})

    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Ada Lovelace"
    assert response.json()["timezone"] == "Europe/Lisbon"
    timezones = dict(InstructorBrand.objects.filter(instructor=instructor).values_list("brand__slug", "timezone"))
    assert timezones == {"acme": "Europe/Lisbon", "globex": "Asia/Tokyo"}


def test_patch_refuses_a_bad_phone_and_changes_nothing(api, instructor):
    response = api.patch(f"/api/instructors/{instructor.id}", {"phone": "12", "name": "Changed"})

    assert response.status_code == 400
    assert "phone" in response.json()
    instructor.refresh_from_db()
    assert instructor.name == "Ada Coach"


def test_patch_refuses_a_bad_timezone_and_changes_nothing(api, instructor):
    response = api.patch(f"/api/instructors/{instructor.id}", {"timezone": "Nowhere/Land", "name": "Changed"})

    assert response.status_code == 400
    assert "timezone" in response.json()
    instructor.refresh_from_db()
    assert instructor.name == "Ada Coach"
    assert InstructorBrand.objects.get(instructor=instructor).timezone == "Europe/Berlin"


def test_patch_refuses_another_instructors_slug(api, brand, instructor):
    other = AssignmentFactory(brand=brand).instructor

    response = api.patch(f"/api/instructors/{instructor.id}", {"slug": other.slug})

    assert response.status_code == 400
    assert "slug" in response.json()


def test_put_is_not_offered(api, instructor):
    response = api.put(f"/api/instructors/{instructor.id}", {"name": "X", "email": "x@example.com"})

    assert response.status_code == 405


@pytest.mark.parametrize("path", ["/api/instructors/{id}", "/api/instructors/{id}/"])
def test_delete_unassigns_from_this_brand_only(path, api, other_brand, instructor):
    AssignmentFactory(instructor=instructor, brand=other_brand)

    response = api.delete(path.format(id=instructor.id))

    assert response.status_code == 204
    assert list(InstructorBrand.objects.filter(instructor=instructor).values_list("brand__slug", flat=True)) == [
        "globex"
    ]
    assert Instructor.objects.filter(pk=instructor.pk).exists()
    assert api.get(f"/api/instructors/{instructor.id}").status_code == 404


# --- an instructor shared by two brands --------------------------------------------------


@pytest.fixture
def shared_instructor(brand, other_brand, instructor):
    """``instructor`` (Acme, Europe/Berlin) also works for Globex (Asia/Tokyo)."""
    AssignmentFactory(instructor=instructor, brand=other_brand, timezone="Asia/Tokyo")
    return instructor


def timezones_of(instructor) -> dict[str, str]:
    return dict(InstructorBrand.objects.filter(instructor=instructor).values_list("brand__slug", "timezone"))


def identity(instructor) -> tuple:
    instructor.refresh_from_db()
    return instructor.name, instructor.email, instructor.phone, instructor.slug


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Hijacked Name"),
        ("email", "attacker@example.com"),
        ("phone", "+4930123456"),
        ("slug", "hijacked-slug"),
    ],
)
def test_another_brand_cannot_change_a_shared_instructors_identity(other_api, shared_instructor, field, value):
    before = identity(shared_instructor)

    response = other_api.patch(
        f"/api/instructors/{shared_instructor.id}", {field: value, "timezone": "Europe/Lisbon"}, format="json"
    )

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "instructor_shared"
    assert "other brands" in body["detail"] and field in body["detail"]
    assert identity(shared_instructor) == before
    assert timezones_of(shared_instructor) == {"acme": "Europe/Berlin", "globex": "Asia/Tokyo"}  # nothing changed


def test_the_first_brand_cannot_change_a_shared_instructors_identity_either(api, shared_instructor):
    response = api.patch(f"/api/instructors/{shared_instructor.id}", {"email": "new@example.com"})

    assert response.status_code == 409
    assert response.json()["code"] == "instructor_shared"
    shared_instructor.refresh_from_db()
    assert shared_instructor.email != "new@example.com"


def test_another_brand_may_change_its_own_timezone_of_a_shared_instructor(other_api, shared_instructor):
    response = other_api.patch(f"/api/instructors/{shared_instructor.id}", {"timezone": "Europe/Lisbon"})

    assert response.status_code == 200, response.content
    assert response.json()["timezone"] == "Europe/Lisbon"
    assert timezones_of(shared_instructor) == {"acme": "Europe/Berlin", "globex": "Europe/Lisbon"}


def test_resending_a_shared_instructors_current_identity_is_not_a_change(other_api, shared_instructor):
    name, email, phone, slug = identity(shared_instructor)

    response = other_api.patch(
        f"/api/instructors/{shared_instructor.id}",
        {"name": name, "email": email, "phone": phone, "slug": slug, "timezone": "Europe/Paris"},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert identity(shared_instructor) == (name, email, phone, slug)
    assert response.json()["timezone"] == "Europe/Paris"


def test_identity_is_editable_again_once_the_other_brand_lets_go(api, other_api, shared_instructor):
    assert other_api.delete(f"/api/instructors/{shared_instructor.id}").status_code == 204

    response = api.patch(f"/api/instructors/{shared_instructor.id}", {"email": "ada@example.com"})

    assert response.status_code == 200, response.content
    assert identity(shared_instructor)[1] == "ada@example.com"


def test_delete_by_another_brand_leaves_this_brands_assignment_and_schedule(api, other_api, brand, shared_instructor):
    own = InstructorBrand.objects.get(instructor=shared_instructor, brand=brand)
    WeeklyAvailabilityFactory(assignment=own, weekday=2)
    DateOverrideFactory(assignment=own)
    InstructorBrand.objects.filter(pk=own.pk).update(buffer_minutes=25)

    assert other_api.delete(f"/api/instructors/{shared_instructor.id}").status_code == 204

    assert list(InstructorBrand.objects.filter(instructor=shared_instructor)) == [own]
    own.refresh_from_db()
    assert (own.timezone, own.buffer_minutes) == ("Europe/Berlin", 25)
    assert own.weekly_ranges.count() == 1 and own.overrides.count() == 1
    assert api.get(f"/api/instructors/{shared_instructor.id}").status_code == 200
    assert other_api.get(f"/api/instructors/{shared_instructor.id}").status_code == 404


# --- tenancy and auth --------------------------------------------------------------------


def test_another_brands_instructor_is_a_404_for_every_method(api, foreign_instructor):
    path = f"/api/instructors/{foreign_instructor.id}"
    before = counts()

    assert api.get(path).status_code == 404
    assert api.patch(path, {"name": "Hijacked"}).status_code == 404
    assert api.delete(path).status_code == 404

    foreign_instructor.refresh_from_db()
    assert foreign_instructor.name != "Hijacked"
    assert counts() == before
    assert foreign_instructor.id not in [row["id"] for row in api.get("/api/instructors").json()["results"]]


def test_unknown_instructor_is_a_404(api):
    assert api.get("/api/instructors/999999").status_code == 404
    assert api.get("/api/instructors/abc").status_code == 404


def test_public_key_cannot_write(public_api, instructor):
    before = counts()
    path = f"/api/instructors/{instructor.id}"

    assert public_api.post("/api/instructors", {"name": "P", "email": "p@example.com"}).status_code == 403
    assert public_api.patch(path, {"name": "P"}).status_code == 403
    assert public_api.delete(path).status_code == 403

    assert counts() == before
    instructor.refresh_from_db()
    assert instructor.name == "Ada Coach"


@pytest.mark.parametrize("path", LIST_PATHS)
def test_no_key_is_a_401(path, anonymous_api, instructor):
    assert anonymous_api.get(path).status_code == 401


def test_no_key_cannot_create(anonymous_api, brand):
    before = counts()

    assert anonymous_api.post("/api/instructors", {"name": "A", "email": "a@example.com"}).status_code == 401
    assert counts() == before


@pytest.mark.parametrize("header", ["Bearer nope.nothing", "Bearer ", "Token abc", "Basic dXNlcjpwYXNz"])
def test_bad_key_is_a_401(header, brand):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get("/api/instructors").status_code == 401
    assert client.get("/api/bookings/instructors").status_code == 401


def test_instructors_only_in_another_brand_never_leak_into_the_list(api, brand, foreign_instructor):
    InstructorFactory()  # assigned nowhere

    assert api.get("/api/instructors").json()["count"] == 0


def test_a_request_stamps_its_keys_last_use_once_a_minute(brand):
    api_key, key = api_key_create(brand=brand)
    other_key, _ = api_key_create(brand=brand)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    start = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)

    with time_machine.travel(start, tick=False):
        assert client.get("/api/instructors").status_code == 200
    with time_machine.travel(start + dt.timedelta(seconds=30), tick=False):
        assert client.get("/api/instructors").status_code == 200
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == start
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        assert client.get("/api/instructors").status_code == 200
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == start + dt.timedelta(minutes=2)
    assert ApiKey.objects.get(pk=other_key.pk).last_used_at is None


def test_a_refused_key_is_not_stamped(brand):
    api_key, key = api_key_create(brand=brand)
    api_key_revoke(api_key=api_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert client.get("/api/instructors").status_code == 401
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is None
