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
