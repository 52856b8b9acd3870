"""The embedded database is never double-booked either: on SQLite the booking
service's IMMEDIATE transaction takes the write lock before it checks the slot."""

import threading

import pytest
import time_machine
from django.db import connection
from rest_framework.test import APIClient

from bookings.models import Booking
from bookings.tests.conftest import NOW, SLOT, iso
from scheduling.services import api_key_create
from scheduling.tests.factories import AssignmentFactory, BrandFactory, EventTypeFactory, available_every_day


@pytest.mark.django_db(transaction=True)
def test_concurrent_clients_get_one_booking():
    brand = BrandFactory(slug="race")
    assignment = AssignmentFactory(brand=brand, timezone="UTC", buffer_minutes=0)
    available_every_day(assignment)
    event_type = EventTypeFactory(brand=brand, duration_minutes=60)
    _, key = api_key_create(brand=brand, scope="secret")
    barrier = threading.Barrier(10)
    codes, lock = [], threading.Lock()

    def run(n):
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
            body = {
                "instructor_id": assignment.instructor_id,
                "event_type_id": event_type.id,
                "start_at": iso(SLOT),
                "attendee_name": f"Student {n}",
                "attendee_email": f"s{n}@example.com",
            }
            barrier.wait()
            code = client.post("/api/bookings", body, format="json").status_code
            with lock:
                codes.append(code)
        finally:
            connection.close()

    with time_machine.travel(NOW, tick=True):
        threads = [threading.Thread(target=run, args=(n,)) for n in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert sorted(codes) == [201] + [409] * 9
    assert Booking.objects.count() == 1
