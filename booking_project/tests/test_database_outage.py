"""A database that cannot answer mid-request: a clean 503, nothing half-written.

Here the connection error is raised inside the booking's transaction, after
its first INSERT, by a patched step of the service; the fault suite
(``booking_project/tests/test_faults_database.py``) drops a real PostgreSQL
connection under a real server.
"""

from __future__ import annotations

import pytest
import time_machine
from django.db import InterfaceError, OperationalError

from bookings import services as booking_services
from bookings.models import Booking, Event
from notifications.models import BookingReminder, Notification
from notifications.tests.factories import NOW, SLOT, bookable

pytestmark = pytest.mark.django_db

LOST = OperationalError("server closed the connection unexpectedly")


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def booking_request(instructor, event_type) -> dict:
    return {
        "instructor_id": instructor.id,
        "event_type_id": event_type.id,
        "start_at": SLOT.isoformat().replace("+00:00", "Z"),
        "attendee_name": "Ada Student",
        "attendee_email": "ada@example.com",
        "student_timezone": "Europe/Berlin",
    }


@pytest.mark.parametrize("error", [LOST, InterfaceError("connection already closed")])
def test_an_api_request_whose_database_connection_drops_answers_503_and_writes_nothing(
    api, brand, clock, monkeypatch, error
):
    instructor, event_type = bookable(brand)
    emit = booking_services._emit

    def lose_the_connection_after_the_insert(*args, **kwargs):
        assert Booking.objects.count() == 1  # the booking row is written, inside the transaction
        raise error

    monkeypatch.setattr(booking_services, "_emit", lose_the_connection_after_the_insert)
    response = api.post("/api/bookings", booking_request(instructor, event_type), format="json")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "The service is briefly unavailable. Nothing was changed; please try again in a moment.",
        "code": "service_unavailable",
    }
    assert response["Retry-After"] == "5"
    assert (Booking.objects.count(), Event.objects.count(), Notification.objects.count()) == (0, 0, 0)
    assert BookingReminder.objects.count() == 0

    monkeypatch.setattr(booking_services, "_emit", emit)
    assert api.post("/api/bookings", booking_request(instructor, event_type), format="json").status_code == 201


def test_a_page_whose_database_connection_drops_answers_a_plain_503_page(client, monkeypatch):
    from booking_project import views

    def unreachable(*args, **kwargs):
        raise LOST

    monkeypatch.setattr(views.Brand.objects, "order_by", unreachable)
    response = client.get("/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    page = response.content.decode()
    assert "Briefly unavailable" in page and "nothing was changed" in page
    assert "Traceback" not in page and "OperationalError" not in page


def test_other_database_errors_stay_server_errors(api, brand, clock, monkeypatch):
    """A bug (a ProgrammingError, an IntegrityError) is not an outage: no 503 hides it."""
    from django.db import ProgrammingError

    instructor, event_type = bookable(brand)

    def broken(*args, **kwargs):
        raise ProgrammingError("relation does not exist")

    monkeypatch.setattr(booking_services, "_emit", broken)
    api.raise_request_exception = False
    response = api.post("/api/bookings", booking_request(instructor, event_type), format="json")

    assert response.status_code == 500
    assert Booking.objects.count() == 0


def test_an_outage_is_logged_with_the_request(api, brand, clock, monkeypatch, caplog):
    instructor, event_type = bookable(brand)
    monkeypatch.setattr(booking_services, "_emit", lambda *a, **k: (_ for _ in ()).throw(LOST))

    api.post("/api/bookings", booking_request(instructor, event_type), format="json")

    (record,) = [r for r in caplog.records if r.name == "booking_project.database_outage"]
    assert record.levelname == "ERROR" and "POST /api/bookings" in record.getMessage()
