"""Rendering: templates per kind and audience, times in the recipient's zone, the ``.ics``."""

from __future__ import annotations

import datetime as dt

import icalendar
import pytest
import time_machine

from bookings import services as booking_services
from bookings.ics import booking_ics
from bookings.links import manage_url
from notifications import messages
from notifications.models import Notification
from notifications.tests.factories import LATER_SLOT, NOW, book, bookable

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def rendered(**filters) -> messages.RenderedMessage:
    return messages.render(Notification.objects.get(**filters))


# --- times -----------------------------------------------------------------------------------


def test_times_are_shown_in_the_zone_with_its_name():
    start = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
    assert messages.format_when(start, start + dt.timedelta(hours=1), "Asia/Kolkata") == (
        "Wednesday, 2 December 2026, 15:30\u201316:30 (Asia/Kolkata, IST)"
    )
    assert messages.format_short(start, "Asia/Tokyo") == "Wed 2 Dec 2026, 19:00 (Asia/Tokyo)"


def test_a_session_across_midnight_names_both_days():
    start = dt.datetime(2026, 12, 2, 22, 30, tzinfo=dt.UTC)
    assert messages.format_when(start, start + dt.timedelta(hours=1), "UTC") == (
        "Wednesday, 2 December 2026, 22:30\u201323:30 (UTC)"
    )
    late = dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC)
    assert messages.format_when(late, late + dt.timedelta(hours=1), "UTC") == (
        "Wednesday, 2 December 2026, 23:30 \u2013 Thursday, 3 December 00:30 (UTC)"
    )


def test_summer_time_shows_the_summer_abbreviation():
    start = dt.datetime(2027, 7, 1, 10, 0, tzinfo=dt.UTC)
    assert messages.format_when(start, start + dt.timedelta(hours=1), "Europe/Berlin").endswith(
        "12:00\u201313:00 (Europe/Berlin, CEST)"
    )


@pytest.mark.parametrize(
    ("minutes", "phrase"),
    [(1440, "in 24 hours"), (60, "in 1 hour"), (30, "in 30 minutes"), (2880, "in 2 days"), (90, "in 90 minutes")],
)
def test_lead_time(minutes, phrase):
    assert messages.lead_time(minutes) == phrase


# --- emails ----------------------------------------------------------------------------------


def test_attendee_and_host_see_their_own_timezone():
    instructor, event_type = bookable(timezone="Europe/Berlin")
    book(instructor, event_type, student_timezone="Asia/Tokyo")

    attendee = rendered(audience="attendee")
    host = rendered(audience="host")

    assert "Wednesday, 2 December 2026, 19:00\u201320:00 (Asia/Tokyo, JST)" in attendee.text
    assert "Wednesday, 2 December 2026, 19:00\u201320:00 (Asia/Tokyo, JST)" in attendee.html
    assert "Wednesday, 2 December 2026, 11:00\u201312:00 (Europe/Berlin, CET)" in host.text


def test_the_attendee_email_has_the_manage_link_and_the_ics_the_host_email_neither():
    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    link = manage_url(booking)

    attendee = rendered(audience="attendee")
    host = rendered(audience="host")

    assert link.startswith(f"http://testserver/booking/{booking.uid}/?token=")
    assert link in attendee.text and link in attendee.html
    assert [a.filename for a in attendee.attachments] == ["booking.ics"]
    assert attendee.reply_to == instructor.email
    assert link not in host.text and host.attachments == ()
    assert host.reply_to == "ada@example.com"


def test_a_reminder_email_has_the_manage_link_but_no_ics_and_does_not_promise_one():
    instructor, event_type = bookable(requires_confirmation=False)
    booking = book(instructor, event_type).booking
    reminder = Notification.objects.create(
        booking=booking, kind="reminder", channel="email", recipient=booking.attendee_email, minutes_before=60
    )
    confirmation = rendered(audience="attendee", kind="confirmation")

    message = messages.render(reminder)

    assert message.attachments == ()
    assert manage_url(booking) in message.text and manage_url(booking) in message.html
    assert "booking.ics" not in message.text and "booking.ics" not in message.html
    assert "The attached booking.ics adds the session to your calendar." in confirmation.text


def test_the_manage_link_is_the_bookings_apps_signed_link():
    from bookings.links import manage_token_is_valid

    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    token = manage_url(booking).rsplit("token=", 1)[1]
    assert manage_token_is_valid(booking.uid, token)


def test_a_pending_booking_gets_a_request_received_email_a_confirmed_one_a_confirmation():
    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    booking_services.booking_confirm(booking=booking)

    created = Notification.objects.get(kind="confirmation", event__type="booking.created")
    confirmed = Notification.objects.get(kind="confirmation", event__type="booking.confirmed")

    # The wording follows the event, even though the booking is confirmed by now.
    assert messages.render(created).subject.startswith("Booking request received:")
    assert "will confirm your session soon" in messages.render(created).text
    assert messages.render(confirmed).subject.startswith("Booking confirmed:")


def test_user_input_is_escaped_in_html_and_left_alone_in_text():
    instructor, event_type = bookable()
    book(instructor, event_type, name="Ada <script>alert(1)</script> & Co")

    host = rendered(audience="host")

    assert "<script>" not in host.html and "&lt;script&gt;" in host.html
    assert "Ada <script>alert(1)</script> & Co" in host.text
    assert "Ada <script>alert(1)</script> & Co" in host.subject


def test_rendering_is_deterministic_so_a_retry_sends_the_same_request(clock):
    instructor, event_type = bookable()
    book(instructor, event_type)
    notification = Notification.objects.get(audience="attendee")

    first = messages.render(notification)
    clock.shift(dt.timedelta(hours=2))
    again = messages.render(Notification.objects.get(pk=notification.pk))

    assert first == again


def test_cancellation_and_reschedule_texts():
    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    booking_services.booking_reschedule(booking=booking, start_at=LATER_SLOT, actor="staff")
    booking_services.booking_cancel(booking=booking, actor="student", reason="Moving house")

    reschedule = rendered(kind="reschedule", audience="host")
    cancellation = rendered(kind="cancellation", audience="host")

    assert reschedule.subject.startswith("Rescheduled: Ada Student,")
    assert "Was:      Wednesday, 2 December 2026, 11:00\u201312:00 (Europe/Berlin, CET)" in reschedule.text
    assert "(by student)" in cancellation.text and "Reason: Moving house" in cancellation.text


def test_sms_texts_are_short_and_in_the_attendees_zone(settings):
    settings.NOTIFICATIONS_BACKENDS = {"sms": "memory"}
    instructor, event_type = bookable(send_sms_confirmation=True)
    book(instructor, event_type)

    sms = rendered(channel="sms")

    assert sms.subject == "" and sms.html == "" and "\n" not in sms.text
    assert "Wed 2 Dec 2026, 05:00 (America/New_York)" in sms.text
    assert len(sms.text) < 320


# --- the calendar attachment ------------------------------------------------------------------


def test_the_ics_has_a_stable_uid_sequence_and_utc_times():
    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    stamp = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)

    calendar = icalendar.Calendar.from_ical(booking_ics(booking, stamp=stamp))
    (event,) = calendar.walk("VEVENT")

    assert calendar["METHOD"] == "REQUEST" and calendar["VERSION"] == "2.0"
    assert str(event["UID"]) == f"{booking.uid}@testserver"
    assert event["SEQUENCE"] == 0
    assert event.decoded("DTSTART") == dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
    assert event.decoded("DTEND") == dt.datetime(2026, 12, 2, 11, 0, tzinfo=dt.UTC)
    assert event.decoded("DTSTAMP") == stamp
    assert event["ORGANIZER"].params["CN"] == instructor.name
    assert event["ATTENDEE"].params["CN"] == "Ada Student"
    assert manage_url(booking) in str(event["DESCRIPTION"])
    assert b"DTSTART:20261202T100000Z" in booking_ics(booking, stamp=stamp)


def test_the_ics_cancel_and_reschedule_keep_the_uid():
    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    stamp = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
    uid = str(icalendar.Calendar.from_ical(booking_ics(booking, stamp=stamp)).walk("VEVENT")[0]["UID"])

    booking = booking_services.booking_reschedule(booking=booking, start_at=LATER_SLOT, actor="staff").booking
    moved = icalendar.Calendar.from_ical(booking_ics(booking, stamp=stamp))
    cancelled = icalendar.Calendar.from_ical(booking_ics(booking, cancelled=True, stamp=stamp))

    assert str(moved.walk("VEVENT")[0]["UID"]) == uid == str(cancelled.walk("VEVENT")[0]["UID"])
    assert moved.walk("VEVENT")[0]["SEQUENCE"] == 1
    assert cancelled["METHOD"] == "CANCEL"
    assert cancelled.walk("VEVENT")[0]["STATUS"] == "CANCELLED"
    assert cancelled.walk("VEVENT")[0]["SEQUENCE"] == 1


# --- rendering follows the event, not the live booking ---------------------------------------

THIRD_SLOT = dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin


def ics_event(message: messages.RenderedMessage) -> icalendar.Event:
    (attachment,) = message.attachments
    (event,) = icalendar.Calendar.from_ical(attachment.content).walk("VEVENT")
    return event


def test_an_event_message_shows_the_booking_as_its_event_left_it():
    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    booking_services.booking_confirm(booking=booking)
    confirmation = Notification.objects.get(kind="confirmation", event__type="booking.confirmed")
    first = messages.render(confirmation)

    booking_services.booking_reschedule(booking=booking, start_at=LATER_SLOT, actor="staff")
    again = messages.render(Notification.objects.get(pk=confirmation.pk))

    # A retry after the reschedule must send the very same request (same Idempotency-Key).
    assert again == first
    assert "Wednesday, 2 December 2026, 05:00\u201306:00 (America/New_York, EST)" in again.text
    event = ics_event(again)
    assert event.decoded("DTSTART") == dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
    assert (event["SEQUENCE"], event["STATUS"]) == (0, "CONFIRMED")


def test_each_reschedule_message_carries_its_own_time_and_sequence():
    instructor, event_type = bookable()
    booking = book(instructor, event_type).booking
    booking_services.booking_reschedule(booking=booking, start_at=LATER_SLOT, actor="staff")
    booking_services.booking_reschedule(booking=booking, start_at=THIRD_SLOT, actor="staff")
    booking_services.booking_cancel(booking=booking, actor="staff")

    first, second = Notification.objects.filter(kind="reschedule", audience="attendee").order_by("pk")
    cancellation = Notification.objects.get(kind="cancellation", audience="attendee")

    first_event, second_event = ics_event(messages.render(first)), ics_event(messages.render(second))
    assert (first_event.decoded("DTSTART"), first_event["SEQUENCE"]) == (LATER_SLOT, 1)
    assert (second_event.decoded("DTSTART"), second_event["SEQUENCE"]) == (THIRD_SLOT, 2)
    assert "Thursday, 3 December 2026, 08:00\u201309:00 (America/New_York, EST)" in messages.render(first).text
    host_first = messages.render(Notification.objects.filter(kind="reschedule", audience="host").order_by("pk")[0])
    assert "Thursday, 3 December 2026, 14:00\u201315:00 (Europe/Berlin, CET)" in host_first.text
    cancelled_event = ics_event(messages.render(cancellation))
    assert (cancelled_event.decoded("DTSTART"), cancelled_event["SEQUENCE"]) == (THIRD_SLOT, 2)


def test_a_message_without_an_event_renders_from_its_stored_snapshot():
    instructor, event_type = bookable(requires_confirmation=False)
    booking = book(instructor, event_type).booking
    notification = Notification.objects.create(
        booking=booking,
        kind="reminder",
        channel="email",
        recipient=booking.attendee_email,
        minutes_before=1440,
        booking_snapshot=messages.booking_snapshot(booking),
    )
    first = messages.render(notification)

    booking_services.booking_reschedule(booking=booking, start_at=LATER_SLOT, actor="staff")
    again = messages.render(Notification.objects.get(pk=notification.pk))

    assert again == first
    assert first.subject.startswith("Reminder: ") and "in 24 hours" in first.subject
    assert "Wed 2 Dec 2026, 05:00 (America/New_York)" in first.subject
    assert "Wednesday, 2 December 2026, 05:00\u201306:00 (America/New_York, EST)" in again.text
