"""The booking page ``/booking/<uid>/?token=...``: status, times, ``.ics``, reschedule and cancel.

Bookings are made through the booking service; the clock is frozen at
Tuesday 2026-12-01 08:00 UTC and the session at ``SLOT`` (Wednesday 10:00
UTC), so the 24 h cutoff passes on Tuesday at 10:00.
"""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import pytest
from django.test import Client

from bookings import services
from bookings.links import manage_path, manage_token
from bookings.models import Booking, BookingStatus, Event
from bookings.tests.conftest import SLOT, iso
from bookings.tests.factories import BookingFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

LATER = SLOT + dt.timedelta(days=1, hours=3)  # Thursday 13:00 UTC, free


def book(event_type, instructor, **details) -> Booking:
    """A booking at ``SLOT`` made through the service, as any door makes it."""
    details = {"attendee_name": "Ada Student", "attendee_email": "ada@example.com", **details}
    return services.booking_create(
        brand=event_type.brand, instructor=instructor, event_type=event_type, start_at=SLOT, **details
    ).booking


@pytest.fixture
def booking(instructor, session_type) -> Booking:
    return book(session_type, instructor, student_timezone="America/New_York", notes="Bring the score")


def token_of(booking) -> str:
    return manage_token(booking.uid)


def offered_values(html: str) -> list[str]:
    return re.findall(r'name="start_at" id="slot-\d+" value="([^"]+)"', html)


def unchanged(booking) -> bool:
    fresh = Booking.objects.get(pk=booking.pk)
    return (fresh.status, fresh.start_at, fresh.sequence) == (booking.status, booking.start_at, booking.sequence)


# --- showing --------------------------------------------------------------------------


def test_the_page_shows_status_both_zones_and_what_happens_next(client, booking):
    response = client.get(manage_path(booking))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Pending" in html
    # 10:00 UTC: 05:00 in New York (the student's zone) and 10:00 UTC (the instructor's).
    assert 'Wednesday 2 December 2026, 05:00 to 06:00 <span class="zone">(America/New_York)</span>' in html
    assert 'Wednesday 2 December 2026, 10:00 to 11:00 <span class="zone">(UTC)</span>' in html
    assert "What happens next" in html and "will look at your request and confirm it" in html
    assert "Bring the score" in html
    assert "until Tuesday 1 December 2026, 05:00" in html  # the cutoff, in the student's zone
    assert "<title>Your booking:" in html


def test_a_priced_pending_booking_explains_the_payment(client, instructor, paid_type):
    booking = book(paid_type, instructor)
    html = client.get(manage_path(booking)).content.decode()
    assert "This session costs <strong>50.00 EUR</strong>" in html
    assert "confirms your booking once it is paid" in html
    assert "payment unpaid" in html


def test_a_confirmed_booking_has_no_next_steps(client, instructor, instant_type):
    booking = book(instant_type, instructor)
    html = client.get(manage_path(booking)).content.decode()
    assert "Confirmed" in html and "What happens next" not in html


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?token=",
        "?token=0000000000000000000000000000000000000000",
        "?token={token}x",
        "?token={token_short}",
        "?token={token_upper}",
    ],
)
def test_a_missing_or_altered_token_shows_nothing_of_the_booking(client, booking, query):
    token = token_of(booking)
    url = f"/booking/{booking.uid}/" + query.format(token=token, token_short=token[:-1], token_upper=token.upper())
    response = client.get(url)
    html = response.content.decode()
    assert response.status_code == 404
    assert "This link does not open a booking" in html
    for secret in ("Ada Student", "ada@example.com", booking.instructor.name, booking.event_type.name, "Pending"):
        assert secret not in html


def test_another_bookings_token_does_not_open_this_one(client, booking, brand, instructor, session_type):
    other = BookingFactory(brand=brand, instructor=instructor, event_type=session_type, start_at=LATER)
    response = client.get(f"/booking/{booking.uid}/?token={token_of(other)}")
    assert response.status_code == 404
    assert "Ada Student" not in response.content.decode()


def test_an_unknown_booking_answers_exactly_like_a_wrong_token(client, booking):
    unknown = client.get("/booking/00000000-0000-4000-8000-000000000000/?token=" + token_of(booking))
    wrong = client.get(f"/booking/{booking.uid}/?token=" + "0" * 40)
    assert unknown.status_code == wrong.status_code == 404
    assert unknown.content == wrong.content


def test_the_link_expires_when_the_session_ends(client, booking, frozen):
    frozen.move_to(booking.end_at)
    response = client.get(manage_path(booking))
    assert response.status_code == 404
    assert "Ada Student" not in response.content.decode()
    assert client.get(f"/booking/{booking.uid}/calendar.ics?token={token_of(booking)}").status_code == 404


# --- the .ics -------------------------------------------------------------------------


def test_the_ics_download_is_the_booking_with_its_stable_uid(client, booking):
    response = client.get(f"/booking/{booking.uid}/calendar.ics?token={token_of(booking)}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="booking.ics"'
    calendar = icalendar.Calendar.from_ical(response.content)
    (event,) = calendar.walk("VEVENT")
    assert calendar["METHOD"] == "PUBLISH"
    assert str(event["UID"]) == f"{booking.uid}@testserver"
    assert event.decoded("DTSTART") == SLOT
    assert event["STATUS"] == "TENTATIVE"


def test_the_ics_needs_the_token(client, booking):
    response = client.get(f"/booking/{booking.uid}/calendar.ics?token=" + "0" * 40)
    assert response.status_code == 404
    assert b"BEGIN:VCALENDAR" not in response.content


def test_a_cancelled_bookings_ics_says_cancelled(client, booking):
    services.booking_cancel(booking=booking, actor=services.STAFF)
    calendar = icalendar.Calendar.from_ical(
        client.get(f"/booking/{booking.uid}/calendar.ics?token={token_of(booking)}").content
    )
    assert calendar.walk("VEVENT")[0]["STATUS"] == "CANCELLED"


# --- cancel ----------------------------------------------------------------------------


def test_cancel_cancels_once_as_the_student(client, booking):
    response = client.post(f"/booking/{booking.uid}/cancel/", {"token": token_of(booking), "reason": "Ill"})
    assert response.status_code == 302
    assert response["Location"] == f"{manage_path(booking)}&notice=cancelled"
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED
    assert (booking.cancelled_by, booking.cancellation_reason) == ("student", "Ill")
    assert Event.objects.filter(type="booking.cancelled").count() == 1
    html = client.get(response["Location"]).content.decode()
    assert "Your booking is cancelled" in html and "Cancel my booking" not in html
    again = client.post(f"/booking/{booking.uid}/cancel/", {"token": token_of(booking)})
    assert again.status_code == 409
    assert Event.objects.filter(type="booking.cancelled").count() == 1


def test_cancel_after_the_cutoff_says_when_it_passed_and_changes_nothing(client, booking, frozen):
    frozen.move_to(SLOT - dt.timedelta(hours=23))
    response = client.post(f"/booking/{booking.uid}/cancel/", {"token": token_of(booking)})
    html = response.content.decode()
    assert response.status_code == 409
    assert "Changes are possible until 24 hours before the session; the cutoff passed at 2026-12-01T10:00:00Z." in html
    assert "reply to your confirmation email" in html
    assert unchanged(booking)
    assert not Event.objects.filter(type="booking.cancelled").exists()


@pytest.mark.parametrize("token", ["", "0" * 40, "not-a-token"])
def test_cancel_with_a_wrong_token_changes_nothing(client, booking, token):
    response = client.post(f"/booking/{booking.uid}/cancel/", {"token": token})
    assert response.status_code == 404
    assert "Ada Student" not in response.content.decode()
    assert unchanged(booking)


def test_cancel_with_an_overlong_reason_is_refused(client, booking):
    response = client.post(f"/booking/{booking.uid}/cancel/", {"token": token_of(booking), "reason": "x" * 2001})
    assert response.status_code == 400
    assert "at most 2000 characters" in response.content.decode()
    assert unchanged(booking)


def test_cancel_is_a_post(client, booking):
    assert client.get(f"/booking/{booking.uid}/cancel/?token={token_of(booking)}").status_code == 405
    assert unchanged(booking)


# --- reschedule ------------------------------------------------------------------------


def test_reschedule_offers_only_valid_times_and_not_the_current_one(client, brand, instructor, session_type, booking):
    BookingFactory(brand=brand, instructor=instructor, event_type=session_type, start_at=LATER)
    values = offered_values(client.get(manage_path(booking) + "&tz=UTC").content.decode())
    assert iso(SLOT) not in values  # its own time
    assert iso(LATER) not in values  # taken
    assert iso(SLOT + dt.timedelta(hours=1)) in values
    assert values[0] == "2026-12-01T09:00:00Z"


def test_reschedule_moves_the_booking_once(client, booking):
    response = client.post(f"/booking/{booking.uid}/reschedule/", {"token": token_of(booking), "start_at": iso(LATER)})
    assert response.status_code == 302
    assert response["Location"].endswith("&notice=rescheduled")
    booking.refresh_from_db()
    assert booking.start_at == LATER and booking.end_at == LATER + dt.timedelta(hours=1)
    assert booking.sequence == 1
    assert Event.objects.filter(type="booking.rescheduled").count() == 1
    assert "Your booking has moved" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("start", "sentence"),
    [
        (SLOT + dt.timedelta(minutes=30), "Sessions start at set times"),
        (dt.datetime(2026, 12, 3, 22, 0, tzinfo=dt.UTC), "not available at this time"),
    ],
)
def test_a_tampered_reschedule_time_is_refused_and_changes_nothing(client, booking, start, sentence):
    response = client.post(f"/booking/{booking.uid}/reschedule/", {"token": token_of(booking), "start_at": iso(start)})
    assert response.status_code == 409
    assert sentence in response.content.decode()
    assert unchanged(booking)


def test_reschedule_to_a_taken_time_shows_the_refreshed_week(client, brand, instructor, session_type, booking):
    BookingFactory(brand=brand, instructor=instructor, event_type=session_type, start_at=LATER)
    response = client.post(
        f"/booking/{booking.uid}/reschedule/", {"token": token_of(booking), "start_at": iso(LATER), "tz": "UTC"}
    )
    html = response.content.decode()
    assert response.status_code == 409
    assert "This time was just booked by someone else" in html
    assert iso(LATER) not in offered_values(html) and iso(LATER + dt.timedelta(hours=1)) in offered_values(html)
    assert unchanged(booking)


def test_reschedule_after_the_cutoff_is_refused(client, booking, frozen):
    frozen.move_to(SLOT - dt.timedelta(hours=2))
    response = client.post(f"/booking/{booking.uid}/reschedule/", {"token": token_of(booking), "start_at": iso(LATER)})
    assert response.status_code == 409
    assert "the cutoff passed at 2026-12-01T10:00:00Z" in response.content.decode()
    assert unchanged(booking)


@pytest.mark.parametrize("start", ["", "tomorrow", "2026-12-03T13:00:00"])
def test_a_malformed_reschedule_time_is_a_400(client, booking, start):
    response = client.post(f"/booking/{booking.uid}/reschedule/", {"token": token_of(booking), "start_at": start})
    assert response.status_code == 400
    assert unchanged(booking)


def test_reschedule_with_a_wrong_token_changes_nothing(client, booking):
    response = client.post(f"/booking/{booking.uid}/reschedule/", {"token": "0" * 40, "start_at": iso(LATER)})
    assert response.status_code == 404
    assert unchanged(booking)


def test_after_the_cutoff_the_page_explains_instead_of_offering_changes(client, booking, frozen):
    frozen.move_to(SLOT - dt.timedelta(hours=2))
    html = client.get(manage_path(booking)).content.decode()
    assert "Changes online were possible until Tuesday 1 December 2026, 05:00" in html
    assert "Cancel my booking" not in html and "Move my booking" not in html


def test_the_reschedule_calendar_rejects_an_unknown_timezone(client, booking):
    response = client.get(manage_path(booking) + "&tz=Nowhere/Land")
    assert response.status_code == 400
    assert "Unknown timezone" in response.content.decode()


def test_the_forms_need_their_csrf_token(booking):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/booking/{booking.uid}/cancel/", {"token": token_of(booking)}).status_code == 403
    assert (
        strict.post(
            f"/booking/{booking.uid}/reschedule/", {"token": token_of(booking), "start_at": iso(LATER)}
        ).status_code
        == 403
    )
    assert unchanged(booking)


def test_the_page_costs_a_flat_number_of_queries(
    client, brand, instructor, session_type, booking, django_assert_max_num_queries
):
    for day in range(2, 6):
        BookingFactory(
            brand=brand, instructor=instructor, event_type=session_type, start_at=SLOT + dt.timedelta(days=day)
        )
    with django_assert_max_num_queries(5):
        assert client.get(manage_path(booking)).status_code == 200
