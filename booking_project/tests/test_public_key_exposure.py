"""What a stranger holding a brand's ``public`` key can read: no one's email or phone.

A public key sits in a brand's web site, so anyone may hold it. This test
walks every GET operation of the OpenAPI schema (so an endpoint added later is
covered without touching this file), fills in the ids of real objects of the
brand, and checks that no instructor's, host's or student's email address or
phone number appears in any answer. The one exception is by design: with a
booking's own token, its student sees their own booking.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from bookings import services as booking_services
from bookings.links import manage_token
from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, InstructorFactory, available_every_day

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)
PRIVATE = {
    "instructor email": "coach.private@example.com",
    "instructor phone": "+4915111111111",
    "host email": "team.private@example.com",
    "student A email": "student.a@example.com",
    "student A phone": "+4915122222222",
    "student B email": "student.b@example.com",
    "student B phone": "+4915133333333",
    "other brand instructor email": "other.coach@example.com",
}


@pytest.fixture
def world(brand, other_brand):
    with time_machine.travel(NOW, tick=False):
        instructor = InstructorFactory(email=PRIVATE["instructor email"], phone=PRIVATE["instructor phone"])
        assignment = AssignmentFactory(instructor=instructor, brand=brand, timezone="UTC", buffer_minutes=0)
        available_every_day(assignment)
        event_type = EventTypeFactory(
            brand=brand, duration_minutes=60, booking_notification_emails=[PRIVATE["host email"]]
        )
        other = AssignmentFactory(
            brand=other_brand, instructor=InstructorFactory(email=PRIVATE["other brand instructor email"])
        )
        made = []
        for index, student in enumerate("AB"):
            made.append(
                booking_services.booking_create(
                    brand=brand,
                    instructor=instructor,
                    event_type=event_type,
                    start_at=NOW + dt.timedelta(days=1, hours=2 + 2 * index),
                    attendee_name=f"Student {student}",
                    attendee_email=PRIVATE[f"student {student} email"],
                    attendee_phone=PRIVATE[f"student {student} phone"],
                ).booking
            )
    return {"instructor": instructor, "event_type": event_type, "bookings": made, "other": other}


def get_operations() -> list[tuple[str, dict]]:
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(path, item["get"]) for path, item in schema["paths"].items() if "get" in item]


def fill(path: str, operation: dict, world: dict) -> tuple[str, dict]:
    """The path with real ids of the brand in it, and every required query parameter."""
    booking = world["bookings"][0]
    ids = {
        "instructors": world["instructor"].id,
        "event-types": world["event_type"].id,
        "bookings": booking.id,
        "events": 1,
    }
    resource = path.strip("/").split("/")[1]
    filled = re.sub(r"\{[^}]+\}", lambda _match: str(ids.get(resource, 1)), path)
    query = {}
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query" and parameter["name"] in ("instructor_id", "instructorId"):
            query[parameter["name"]] = world["instructor"].id
    return filled, query


def leaks(text: str, allowed: set[str] = frozenset()) -> list[str]:
    return [label for label, value in PRIVATE.items() if label not in allowed and value in text]


def test_no_get_endpoint_shows_a_public_key_anyones_email_or_phone(public_api, world):
    operations = get_operations()
    assert len(operations) >= 8  # the walk really covers the API
    answered = []
    with time_machine.travel(NOW, tick=False):
        for path, operation in operations:
            filled, query = fill(path, operation, world)
            response = public_api.get(filled, query)
            answered.append((filled, response.status_code))
            assert response.status_code < 500, (filled, response.content)
            assert not leaks(response.content.decode()), (filled, leaks(response.content.decode()))
    # The walk reached real data, not only refusals.
    assert {"/api/instructors/", "/api/event-types/", "/api/bookings/availability/"} <= {
        path for path, status in answered if status == 200
    }


def test_with_a_bookings_token_the_student_sees_only_their_own_contact_details(public_api, world):
    booking_a, booking_b = world["bookings"]

    with time_machine.travel(NOW, tick=False):
        own = public_api.get(f"/api/bookings/{booking_a.id}", HTTP_X_BOOKING_TOKEN=manage_token(booking_a.uid))
        theirs = public_api.get(f"/api/bookings/{booking_b.id}", HTTP_X_BOOKING_TOKEN=manage_token(booking_a.uid))

    assert own.status_code == 200
    assert leaks(own.content.decode()) == ["student A email", "student A phone"]
    assert theirs.status_code == 404
    assert not leaks(theirs.content.decode())


def test_a_public_key_cannot_probe_instructor_emails_with_a_filter(public_api, world):
    with time_machine.travel(NOW, tick=False):
        hit = public_api.get("/api/instructors", {"email": PRIVATE["instructor email"]}).json()
        miss = public_api.get("/api/instructors", {"email": "nobody@example.com"}).json()

    assert hit["count"] == miss["count"] == 1  # the filter is ignored for public keys


def test_a_public_key_sees_only_active_session_types_without_host_addresses(public_api, world, brand):
    hidden = EventTypeFactory(brand=brand, is_active=False, name="Retired")

    body = public_api.get("/api/event-types").json()
    detail = public_api.get(f"/api/event-types/{hidden.id}")

    assert [row["id"] for row in body["results"]] == [world["event_type"].id]
    assert "booking_notification_emails" not in body["results"][0]
    assert "reminder_channels" not in body["results"][0]
    assert detail.status_code == 404
