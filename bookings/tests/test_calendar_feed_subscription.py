"""A calendar client subscribes to the feed over real HTTP, as a calendar app does.

``icalevents`` downloads an iCal URL (``http://`` or ``webcal://``) and lists
its events, the way a subscribed calendar polls; the site runs in a live
server thread.
"""

import datetime as dt

import pytest
from icalevents.icalevents import events
from rest_framework.test import APIClient

from bookings.tests.factories import BookingFactory
from scheduling.services import api_key_create
from scheduling.tests.factories import AssignmentFactory, BrandFactory, EventTypeFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_calendar_client_subscribes_and_lists_the_instructors_sessions(live_server, settings):
    settings.SITE_URL = live_server.url
    brand = BrandFactory(slug="feedbrand")
    assignment = AssignmentFactory(brand=brand, timezone="Europe/Berlin")
    event_type = EventTypeFactory(brand=brand, name="Swim lesson")
    start = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    for offset, name in enumerate(["Ada Lovelace", "Grace Hopper"]):
        BookingFactory(
            brand=brand,
            instructor=assignment.instructor,
            event_type=event_type,
            start_at=start + dt.timedelta(hours=2 * offset),
            attendee_name=name,
        )
    BookingFactory(
        brand=brand, instructor=assignment.instructor, event_type=event_type, start_at=start, status="cancelled"
    )
    _, key = api_key_create(brand=brand, scope="secret")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    url = client.post(f"/api/instructors/{assignment.instructor_id}/calendar-feed").json()["url"]

    window = {"start": start - dt.timedelta(days=1), "end": start + dt.timedelta(days=1)}
    listed = events(url=url, **window, sort=True)
    listed_webcal = events(url=url.replace("http://", "webcal://", 1), fix_apple=True, **window, sort=True)

    assert [(event.summary, event.start) for event in listed] == [
        ("Swim lesson: Ada", start),
        ("Swim lesson: Grace", start + dt.timedelta(hours=2)),
    ]
    assert [event.uid for event in listed_webcal] == [event.uid for event in listed]
