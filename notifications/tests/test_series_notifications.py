"""A weekly series is announced once: one email to the student listing every date, with one ``.ics``.

End to end through the real Resend and Twilio SDKs against the stand-ins, as
in ``test_delivery``: the series service writes the rows, the send tasks run
eagerly on commit.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bookings import services as booking_services
from bookings.models import Booking
from notifications import messages
from notifications.models import BookingReminder, Notification
from notifications.services import notification_send
from notifications.tests.factories import PHONE, SLOT, bookable, emails_to, ics_of

pytestmark = pytest.mark.django_db

WEEK = dt.timedelta(weeks=1)


@pytest.fixture
def weekly(clock):
    return bookable(
        allow_recurring=True,
        booking_notification_emails=["team@example.com"],
        send_sms_confirmation=True,
        reminder_minutes_before=[1440, 60],
        reminder_channels=["email", "sms"],
    )


def book_series(instructor, event_type, *, count=8, django_capture_on_commit_callbacks, **kwargs):
    with django_capture_on_commit_callbacks(execute=True):
        return booking_services.booking_series_create(
            brand=event_type.brand,
            instructor=instructor,
            event_type=event_type,
            start_at=SLOT,
            count=count,
            attendee_name="Ada Student",
            attendee_email="ada@example.com",
            attendee_phone=PHONE,
            student_timezone="America/New_York",
            **kwargs,
        )


def test_eight_weekly_sessions_give_the_student_one_email_with_one_ics_of_all_of_them(
    standins, weekly, django_capture_on_commit_callbacks
):
    instructor, event_type = weekly

    result = book_series(instructor, event_type, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    (email,) = emails_to(standins.resend, "ada@example.com")
    assert email["subject"] == (
        f"Booking request received: 8 sessions of {event_type.name} with {instructor.name}, "
        "weekly from Wed 2 Dec 2026, 05:00 (America/New_York)"
    )
    for number, booking in enumerate(result.bookings):
        local = (SLOT + number * WEEK).astimezone(dt.timezone(dt.timedelta(hours=-5)))
        assert f"{local:%A}, {local.day} {local:%B %Y}, 05:00" in email["text"]
        assert f"/booking/{booking.uid}/?token=" in email["text"]  # each occurrence has its own link
    assert "8 sessions, every week" in email["text"]
    calendar = ics_of(email)
    assert str(calendar["method"]) == "PUBLISH"
    events = calendar.walk("VEVENT")
    assert [str(event["uid"]).split("@")[0] for event in events] == [str(b.uid) for b in result.bookings]
    assert [event.decoded("dtstart") for event in events] == [SLOT + n * WEEK for n in range(8)]
    assert {str(event["status"]) for event in events} == {"TENTATIVE"}


def test_the_host_gets_one_email_listing_the_series_and_the_student_one_sms(
    standins, weekly, django_capture_on_commit_callbacks
):
    instructor, event_type = weekly

    book_series(instructor, event_type, count=4, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)

    (team,) = emails_to(standins.resend, "team@example.com")
    (coach,) = emails_to(standins.resend, instructor.email)
    assert "4 x" in team["subject"] and "weekly from" in team["subject"]
    assert "booked 4 weekly sessions of" in team["text"]
    assert "token=" not in team["text"] and not team.get("attachments")
    assert coach["subject"] == team["subject"]
    (sms,) = standins.twilio.messages
    assert "4 sessions of" in sms["body"] and "every week from" in sms["body"]
    assert len(standins.resend.emails) == 3  # student, team, instructor: once each


def test_reminders_stay_per_occurrence(weekly, django_capture_on_commit_callbacks):
    instructor, event_type = weekly

    result = book_series(
        instructor, event_type, count=3, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )

    for booking in result.bookings:
        assert BookingReminder.objects.filter(booking=booking).count() == 4  # 2 offsets x 2 channels


def test_only_the_first_occurrence_carries_the_announcement(weekly, django_capture_on_commit_callbacks):
    instructor, event_type = weekly

    result = book_series(
        instructor, event_type, count=5, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )

    first = result.bookings[0]
    rows = Notification.objects.exclude(kind=Notification.Kind.REMINDER)
    assert set(rows.values_list("booking_id", flat=True)) == {first.pk}
    assert sorted(rows.values_list("kind", "channel", "audience")) == [
        ("confirmation", "email", "attendee"),
        ("confirmation", "sms", "attendee"),
        ("host_new_booking", "email", "host"),
        ("host_new_booking", "email", "host"),
    ]


def test_each_confirmation_after_that_is_its_own_message(standins, weekly, django_capture_on_commit_callbacks):
    instructor, event_type = weekly
    result = book_series(
        instructor, event_type, count=3, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )

    with django_capture_on_commit_callbacks(execute=True):
        booking_services.booking_confirm(booking=result.bookings[1])

    emails = emails_to(standins.resend, "ada@example.com")
    assert len(emails) == 2
    assert emails[1]["subject"].startswith(f"Booking confirmed: {event_type.name}")
    assert "sessions" not in emails[1]["subject"]
    (event,) = ics_of(emails[1]).walk("VEVENT")
    assert str(event["uid"]).split("@")[0] == str(result.bookings[1].uid)


def test_the_announcement_renders_the_same_on_every_attempt(weekly, clock, django_capture_on_commit_callbacks):
    instructor, event_type = weekly
    result = book_series(
        instructor, event_type, count=3, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    notification = Notification.objects.get(kind="confirmation", channel="email")
    first = messages.render(notification)

    clock.shift(dt.timedelta(hours=3))
    booking_services.booking_reschedule(
        booking=result.bookings[2], start_at=SLOT + 2 * WEEK + dt.timedelta(hours=1), actor=booking_services.STAFF
    )
    again = messages.render(Notification.objects.get(pk=notification.pk))

    assert (again.subject, again.text, again.html, again.attachments) == (
        first.subject,
        first.text,
        first.html,
        first.attachments,
    )


def test_the_announcement_still_goes_out_if_only_the_first_occurrence_was_cancelled(
    weekly, django_capture_on_commit_callbacks, settings
):
    settings.NOTIFICATIONS_BACKENDS = {"email": "memory", "sms": "memory"}
    instructor, event_type = weekly
    with django_capture_on_commit_callbacks(execute=False):  # the broker is slow: nothing sent yet
        result = booking_services.booking_series_create(
            brand=event_type.brand,
            instructor=instructor,
            event_type=event_type,
            start_at=SLOT,
            count=3,
            attendee_name="Ada",
            attendee_email="ada@example.com",
        )
    booking_services.booking_cancel(booking=result.bookings[0], actor=booking_services.STAFF)
    announcement = Notification.objects.get(kind="confirmation", channel="email", event__type="booking.created")

    assert notification_send(notification_id=announcement.pk).status == "sent"

    for booking in result.bookings[1:]:
        booking_services.booking_cancel(booking=booking, actor=booking_services.STAFF)
    host = Notification.objects.filter(kind="host_new_booking").first()
    assert notification_send(notification_id=host.pk).status == "skipped"
    assert Booking.objects.filter(status="cancelled").count() == 3
