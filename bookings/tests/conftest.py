"""Shared set-up for booking tests: a fixed clock and an instructor of ``brand``
available 09:00-17:00 UTC every day, buffer 0, with three session types."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from scheduling.tests.factories import AssignmentFactory, EventTypeFactory, available_every_day

NOW = dt.datetime(2026, 12, 1, 8, 0, tzinfo=dt.UTC)  # a Tuesday
SLOT = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)  # on the grid, in hours, tomorrow


def iso(value: dt.datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def assignment(brand):
    assignment = AssignmentFactory(brand=brand, timezone="UTC", buffer_minutes=0, cancellation_cutoff_hours=24)
    available_every_day(assignment)
    return assignment


@pytest.fixture
def instructor(assignment):
    return assignment.instructor


@pytest.fixture
def session_type(brand):
    return EventTypeFactory(brand=brand, duration_minutes=60, requires_confirmation=True)


@pytest.fixture
def instant_type(brand):
    return EventTypeFactory(brand=brand, duration_minutes=60, requires_confirmation=False)


@pytest.fixture
def paid_type(brand):
    return EventTypeFactory(brand=brand, duration_minutes=60, price_amount=Decimal("50.00"), currency="EUR")


@pytest.fixture
def booking_body(instructor, session_type):
    def build(**overrides):
        body = {
            "instructor_id": instructor.id,
            "event_type_id": session_type.id,
            "start_at": iso(SLOT),
            "attendee_name": "Ada Student",
            "attendee_email": "ada@example.com",
            "attendee_phone": "+4915112345678",
            "student_timezone": "Europe/Berlin",
            "notes": "First session",
        }
        body.update(overrides)
        return {k: v for k, v in body.items() if v is not None}

    return build


# --- the back office (admin pages of bookings) ---------------------------------------------------------
# NOW is 09:00 in Berlin. An instructor of ``brand`` works 09:00-17:00 Berlin time every day; one of
# ``other_brand`` likewise, with a booking a brand-A staff user must never see.

BERLIN = "Europe/Berlin"
BERLIN_SLOT = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)  # Wednesday 11:00 in Berlin


@pytest.fixture
def berlin_coach(brand):
    assignment = AssignmentFactory(
        brand=brand, timezone=BERLIN, buffer_minutes=0, instructor__name="Clara Berg", cancellation_cutoff_hours=24
    )
    available_every_day(assignment)
    return assignment


@pytest.fixture
def staff_client(frozen, brand, berlin_coach, other_world):
    """A logged-in staff user of ``brand`` only."""
    from django.test import Client

    from scheduling.services import staff_user_create

    client = Client()
    client.force_login(staff_user_create(username="alice", password="pw", brands=[brand]))
    return client


@pytest.fixture
def other_world(frozen, other_brand):
    """``other_brand``'s instructor, session type and a booking today at 13:00 Berlin time."""
    from bookings.services import booking_create

    assignment = AssignmentFactory(brand=other_brand, timezone=BERLIN, buffer_minutes=0, instructor__name="Oscar Other")
    available_every_day(assignment)
    event_type = EventTypeFactory(brand=other_brand, name="Globex deep dive", duration_minutes=60)
    booking = booking_create(
        brand=other_brand,
        instructor=assignment.instructor,
        event_type=event_type,
        start_at=dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC),
        attendee_name="Grace Hidden",
        attendee_email="grace@globex.example",
    ).booking
    return {"assignment": assignment, "event_type": event_type, "booking": booking}


def book_at(assignment, event_type, start, *, name="Ada Student", **fields):
    """A booking through the booking service (as every door makes them)."""
    from bookings.services import booking_create

    return booking_create(
        brand=assignment.brand,
        instructor=assignment.instructor,
        event_type=event_type,
        start_at=start,
        attendee_name=name,
        attendee_email=fields.pop("attendee_email", f"{name.split()[0].lower()}@example.com"),
        **fields,
    ).booking
