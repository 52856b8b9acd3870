"""Every 409 ``slot_unavailable`` says why: ``reason`` for machines, ``detail`` for students.

Both doors that pick a time, booking and rescheduling, answer with the slot
engine's own reason (``scheduling.slots.slot_refusal``), so what the API says
is what the availability read would have shown. Nothing is written on a refusal.
"""

import datetime as dt

import pytest

from bookings.models import Booking, Event
from bookings.tests.conftest import NOW, SLOT, iso

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def settle(assignment, **settings) -> None:
    for name, value in settings.items():
        setattr(assignment, name, value)
    assignment.save()


# (start, assignment settings, reason, words the student reads)
CASES = {
    "in_past": (NOW - dt.timedelta(hours=22), {}, "already passed"),
    "minimum_notice": (NOW + dt.timedelta(hours=2), {"minimum_notice_minutes": 180}, "at least 3 hours' notice"),
    "beyond_window": (NOW + dt.timedelta(days=40, hours=2), {"advance_booking_days": 30}, "at most 30 days ahead"),
    "outside_availability": (SLOT.replace(hour=20), {}, "not available at this time"),
    "off_grid": (SLOT.replace(minute=30), {}, "start at set times"),
    "taken": (SLOT, {}, "just booked by someone else"),
    "buffer": (SLOT + dt.timedelta(hours=1), {"buffer_minutes": 15}, "keeps 15 minutes free between sessions"),
}


@pytest.fixture
def existing(api, booking_body):
    """A booking at SLOT (10:00-11:00 tomorrow), made before the settings change."""
    response = api.post("/api/bookings", booking_body(attendee_email="first@example.com"), format="json")
    assert response.status_code == 201
    return Booking.objects.get()


def snapshot() -> tuple:
    return list(Booking.objects.order_by("pk").values_list("pk", "start_at", "status")), Event.objects.count()


@pytest.mark.parametrize("reason", list(CASES))
def test_create_says_why_the_time_cannot_be_booked(api, booking_body, assignment, existing, reason):
    start, settings, words = CASES[reason]
    settle(assignment, **settings)
    before = snapshot()

    response = api.post("/api/bookings", booking_body(start_at=iso(start)), format="json")

    assert response.status_code == 409, response.content
    body = response.json()
    assert (body["code"], body["reason"]) == ("slot_unavailable", reason)
    assert words in body["detail"]
    assert snapshot() == before


@pytest.mark.parametrize("reason", list(CASES))
def test_reschedule_says_why_the_time_cannot_be_booked(api, booking_body, assignment, existing, reason):
    start, settings, words = CASES[reason]
    moving = api.post(
        "/api/bookings",
        booking_body(start_at=iso(SLOT + dt.timedelta(days=1)), attendee_email="mover@example.com"),
        format="json",
    ).json()
    settle(assignment, **settings)
    before = snapshot()

    response = api.patch(f"/api/bookings/{moving['id']}", {"start_at": iso(start)}, format="json")

    assert response.status_code == 409, response.content
    body = response.json()
    assert (body["code"], body["reason"]) == ("slot_unavailable", reason)
    assert words in body["detail"]
    assert snapshot() == before


def test_a_public_key_gets_the_same_reason(public_api, booking_body, existing):
    response = public_api.post("/api/bookings", booking_body(), format="json")

    assert response.status_code == 409
    assert response.json()["reason"] == "taken"


def test_moving_a_booking_into_its_own_time_or_buffer_is_not_refused(api, booking_body, assignment, existing):
    settle(assignment, buffer_minutes=15)
    response = api.patch(f"/api/bookings/{existing.id}", {"start_at": iso(SLOT + dt.timedelta(hours=1))}, format="json")
    assert response.status_code == 200, response.content
