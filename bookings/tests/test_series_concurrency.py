"""Fifty weekly series race for one shared occurrence on PostgreSQL: one wins it, the others book nothing.

Each thread is a separate client with its own database connection, through
the whole API stack. Every series contains the same Wednesday 10:00 and
otherwise different weeks (every 1 to 4 weeks, starting and ending at
different weeks), so a loser's other occurrences are free: a series that is
not all-or-nothing, or that checks only some occurrences, would book them.
"""

import datetime as dt
import itertools
import uuid

import pytest
from rest_framework.test import APIClient

from bookings.models import ACTIVE_STATUSES, Booking, BookingSeries, Event
from bookings.tests.conftest import SLOT, iso
from bookings.tests.test_concurrency import race
from scheduling.services import api_key_create
from scheduling.tests.factories import AssignmentFactory, BrandFactory, EventTypeFactory, available_every_day

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

WEEK = dt.timedelta(weeks=1)
SHARED = SLOT + 6 * WEEK  # Wednesday 13 January 2027, 10:00 UTC


def series_through_the_shared_week(limit: int) -> list[tuple[int, int, int]]:
    """``(interval, before, count)`` of distinct series that all contain :data:`SHARED`, within the window.

    The shared occurrence is the ``before``-th of each (0-based); every series
    lies between ``SLOT`` and ``SLOT + 12`` weeks, inside the 90-day window.
    """
    by_interval = {}
    for interval in (1, 2, 3, 4):
        reach = 6 // interval
        by_interval[interval] = [
            (interval, before, before + after + 1)
            for before, after in itertools.product(range(reach + 1), repeat=2)
            if before + after >= 1
        ]
    chosen = by_interval[4] + by_interval[3] + by_interval[2]
    chosen += by_interval[1][: limit - len(chosen)]
    assert len(chosen) == limit
    return chosen


def test_fifty_series_overlapping_in_one_occurrence_one_wins_and_the_losers_book_nothing():
    brand = BrandFactory(slug="series-race")
    assignment = AssignmentFactory(brand=brand, timezone="UTC", buffer_minutes=0, advance_booking_days=90)
    available_every_day(assignment)
    event_type = EventTypeFactory(brand=brand, duration_minutes=60, allow_recurring=True, max_occurrences=26)
    clients = []
    for _ in range(5):
        _, key = api_key_create(brand=brand, scope="secret")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        clients.append(client)
    plans = series_through_the_shared_week(50)

    def make(number, interval, before, count):
        body = {
            "instructor_id": assignment.instructor_id,
            "event_type_id": event_type.id,
            "start_at": iso(SHARED - before * interval * WEEK),
            "attendee_name": f"Student {number}",
            "attendee_email": f"student{number}@example.com",
            "recurrence": {"frequency": "weekly", "count": count, "interval": interval},
        }
        return lambda: clients[number % 5].post("/api/bookings", body, format="json")

    responses = race([make(number, *plan) for number, plan in enumerate(plans)])  # each returns its response

    assert len(responses) == 50
    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [409] * 49, codes
    (winner,) = [response.json() for response in responses if response.status_code == 201]
    for loser in (response.json() for response in responses if response.status_code == 409):
        assert loser["code"] == "slot_unavailable"
        assert {"start_at": iso(SHARED), "reason": "taken"} in loser["conflicts"]
    active = Booking.objects.filter(status__in=ACTIVE_STATUSES)
    assert active.count() == len(winner["bookings"]) == Booking.objects.count()
    assert set(active.values_list("series_id", flat=True)) == {uuid.UUID(winner["series_id"])}
    assert active.filter(start_at=SHARED).count() == 1
    assert BookingSeries.objects.count() == 1
    assert Event.objects.filter(type="booking.created").count() == len(winner["bookings"])
