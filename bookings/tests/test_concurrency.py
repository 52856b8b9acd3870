"""Never double-booked, under real concurrency on PostgreSQL.

Each thread has its own database connection (Django opens one per thread) and
goes through the whole API stack, as concurrent clients would.
"""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction
from rest_framework.test import APIClient

from bookings import services
from bookings.models import Booking
from bookings.tests.conftest import NOW, SLOT, iso
from bookings.tests.factories import BookingFactory
from scheduling.services import api_key_create
from scheduling.tests.factories import AssignmentFactory, BrandFactory, EventTypeFactory, available_every_day

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def client_for(brand):
    _, key = api_key_create(brand=brand, scope="public")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


def race(requests):
    """Run callables at the same instant from separate threads; return their status codes."""
    barrier = threading.Barrier(len(requests))
    codes = []
    lock = threading.Lock()

    def run(request):
        try:
            barrier.wait()
            code = request()
            with lock:
                codes.append(code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(request,)) for request in requests]
    with time_machine.travel(NOW, tick=True):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    return codes


def setup_instructor(*brands):
    instructor = None
    types = []
    for brand in brands:
        assignment = AssignmentFactory(
            brand=brand, timezone="UTC", buffer_minutes=0, **({"instructor": instructor} if instructor else {})
        )
        instructor = assignment.instructor
        available_every_day(assignment)
        types.append(EventTypeFactory(brand=brand, duration_minutes=60))
    return instructor, types


def body(instructor, event_type, start, n):
    return {
        "instructor_id": instructor.id,
        "event_type_id": event_type.id,
        "start_at": iso(start),
        "attendee_name": f"Student {n}",
        "attendee_email": f"student{n}@example.com",
        "student_timezone": "UTC",
    }


def test_fifty_clients_race_for_one_slot():
    brand = BrandFactory(slug="race")
    instructor, (event_type,) = setup_instructor(brand)
    clients = [client_for(brand) for _ in range(5)]

    def make(n):
        return lambda: (
            clients[n % 5].post("/api/bookings", body(instructor, event_type, SLOT, n), format="json").status_code
        )

    codes = race([make(n) for n in range(50)])
    assert len(codes) == 50
    assert codes.count(201) == 1, codes
    assert codes.count(409) == 49, codes
    assert Booking.objects.filter(status__in=["pending", "confirmed"]).count() == 1


def test_overlapping_slots_through_two_brands():
    first, second = BrandFactory(slug="first"), BrandFactory(slug="second")
    instructor, (type_one, type_two) = setup_instructor(first, second)
    client_one, client_two = client_for(first), client_for(second)
    type_two.duration_minutes = 30
    type_two.save()

    def make(n):
        if n % 2:
            return lambda: (
                client_one.post("/api/bookings", body(instructor, type_one, SLOT, n), format="json").status_code
            )
        later = SLOT + dt.timedelta(minutes=30)
        return lambda: client_two.post("/api/bookings", body(instructor, type_two, later, n), format="json").status_code

    codes = race([make(n) for n in range(20)])
    assert codes.count(201) == 1, codes
    assert codes.count(409) == 19, codes


def test_exclusion_constraint_refuses_overlap_written_directly():
    booking = BookingFactory(start_at=SLOT)
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingFactory(
            brand=booking.brand,
            instructor=booking.instructor,
            event_type=booking.event_type,
            start_at=SLOT + dt.timedelta(minutes=30),
        )
    # adjacent and cancelled bookings are allowed by the constraint
    BookingFactory(
        brand=booking.brand,
        instructor=booking.instructor,
        event_type=booking.event_type,
        start_at=SLOT + dt.timedelta(hours=1),
    )
    BookingFactory(
        brand=booking.brand,
        instructor=booking.instructor,
        event_type=booking.event_type,
        start_at=SLOT,
        status="cancelled",
    )
    assert Booking.objects.count() == 3


def test_notes_plus_reschedule_races_a_reschedule_without_deadlock():
    """Both requests take the instructor lock first, so neither dies with a deadlock.

    Both moves go to free times, so each must succeed; taking the booking's
    lock before the instructor's in one of them would deadlock regularly (and
    be reported as a 409).
    """
    brand = BrandFactory(slug="locks")
    assignment = AssignmentFactory(brand=brand, timezone="UTC", buffer_minutes=0)
    available_every_day(assignment)
    event_type = EventTypeFactory(brand=brand, duration_minutes=60)
    with time_machine.travel(NOW, tick=True):
        booking = services.booking_create(
            brand=brand,
            instructor=assignment.instructor,
            event_type=event_type,
            start_at=SLOT,
            attendee_name="Ada",
            attendee_email="ada@example.com",
        ).booking
        errors = []
        barrier = threading.Barrier(2)

        def run(change):
            try:
                barrier.wait()
                services.booking_update(booking=Booking.objects.get(pk=booking.pk), changes=change, actor="api")
            except Exception as error:  # noqa: BLE001 - both moves are to free times: any failure is a bug
                errors.append(error)
            finally:
                connection.close()

        for _ in range(5):
            threads = [
                threading.Thread(
                    target=run,
                    args=({"instructor_notes": "x", "start_at": SLOT + dt.timedelta(hours=2)},),
                ),
                threading.Thread(target=run, args=({"start_at": SLOT + dt.timedelta(hours=4)},)),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
    assert errors == []
