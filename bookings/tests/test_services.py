"""``bookings.services.booking_create`` and the assignment its caller may already hold."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bookings import services
from bookings.tests.conftest import SLOT
from scheduling.tests.factories import AssignmentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]


def book(brand, instructor, event_type, start_at, **extra):
    return services.booking_create(
        brand=brand,
        instructor=instructor,
        event_type=event_type,
        start_at=start_at,
        attendee_name="Ada Student",
        attendee_email="ada@example.com",
        **extra,
    )


def test_the_assignment_the_caller_holds_is_not_read_again(brand, instructor, assignment, instant_type):
    with CaptureQueriesContext(connection) as reading:
        book(brand, instructor, instant_type, SLOT)
    with CaptureQueriesContext(connection) as holding:
        result = book(brand, instructor, instant_type, SLOT.replace(hour=12), assignment=assignment)

    assert len(holding) == len(reading) - 1
    assert result.booking.instructor_timezone == assignment.timezone


def test_an_assignment_of_another_instructor_or_brand_is_not_trusted(
    brand, other_brand, instructor, assignment, instant_type
):
    someone_else = AssignmentFactory(brand=brand, timezone="Asia/Tokyo")
    elsewhere = AssignmentFactory(brand=other_brand, instructor=instructor, timezone="America/New_York")

    first = book(brand, instructor, instant_type, SLOT, assignment=someone_else)
    second = book(brand, instructor, instant_type, SLOT.replace(hour=12), assignment=elsewhere)

    assert first.booking.instructor_timezone == second.booking.instructor_timezone == assignment.timezone == "UTC"
