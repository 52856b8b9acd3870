"""What a notification says: Django templates rendered per kind, plus the ``.ics``.

Templates live under ``templates/notifications/``:

* ``email/<kind>_subject.txt``, ``email/<kind>.txt``, ``email/<kind>.html``
  (each may be specialised per audience as ``<kind>_<audience>...``);
* ``sms/<kind>.txt`` for SMS and WhatsApp.

Times are shown in the recipient's timezone: the attendee sees the
student's timezone, the host the instructor's, with the zone's name.

Rendering is deterministic for one notification: a retry sends the very
same request, which Resend's ``Idempotency-Key`` requires (the same key with
another body is refused). So nothing is read from "now" (the ``.ics``
DTSTAMP is the notification's creation time), and the booking's changing
state (times, status, iCalendar SEQUENCE) never comes from the live booking:

* a message caused by an event renders the booking as that event left it:
  its stored payload (``bookings.services.event_payload``) for the times,
  status and zones, and for SEQUENCE the number of ``booking.rescheduled``
  events of the booking up to and including this event;
* a message no event caused (a reminder, or a resent copy of one) renders
  ``Notification.booking_snapshot``, which the send step stores at the first
  attempt (:func:`booking_snapshot`); its lead time ("in 24 hours") is
  ``Notification.minutes_before``.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import icalendar
from django.conf import settings
from django.template.loader import render_to_string, select_template
from django.urls import reverse

from bookings.links import manage_url
from bookings.models import Booking, BookingStatus, Event
from bookings.services import event_payload

from .backends import Attachment
from .models import Channel, Notification

ICS_FILENAME = "booking.ics"
PRODID = "-//Coaching booking//Notifications//EN"


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...] = ()
    reply_to: str = ""


# --- links ---------------------------------------------------------------------------


def _admin_url(booking) -> str:
    return f"{settings.SITE_URL}{reverse('admin:bookings_booking_change', args=[booking.pk])}"


def site_host() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


# --- times ---------------------------------------------------------------------------


def _local(value: dt.datetime, zone_name: str) -> dt.datetime:
    return value.astimezone(zoneinfo.ZoneInfo(zone_name))


def format_when(start: dt.datetime, end: dt.datetime, zone_name: str) -> str:
    """``Wednesday, 2 December 2026, 11:00–12:00 (Europe/Berlin, CET)``."""
    local_start, local_end = _local(start, zone_name), _local(end, zone_name)
    day = f"{local_start:%A}, {local_start.day} {local_start:%B %Y}"
    if local_end.date() == local_start.date():
        hours = f"{local_start:%H:%M}\u2013{local_end:%H:%M}"
    else:
        hours = f"{local_start:%H:%M} \u2013 {local_end:%A}, {local_end.day} {local_end:%B} {local_end:%H:%M}"
    abbreviation = f"{local_start:%Z}"
    label = zone_name if abbreviation in (zone_name, "") else f"{zone_name}, {abbreviation}"
    return f"{day}, {hours} ({label})"


def format_short(start: dt.datetime, zone_name: str) -> str:
    """``Wed 2 Dec 2026, 11:00 (Europe/Berlin)``: subjects and SMS."""
    local_start = _local(start, zone_name)
    return f"{local_start:%a} {local_start.day} {local_start:%b %Y}, {local_start:%H:%M} ({zone_name})"


def lead_time(minutes: int) -> str:
    """``in 24 hours``, ``in 1 hour``, ``in 30 minutes``, ``in 2 days``."""
    if minutes % 1440 == 0 and minutes >= 2880:
        count, unit = minutes // 1440, "day"
    elif minutes % 60 == 0:
        count, unit = minutes // 60, "hour"
    else:
        count, unit = minutes, "minute"
    return f"in {count} {unit}{'' if count == 1 else 's'}"


def _parse_iso(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


# --- what the message says about the booking ------------------------------------------


RESCHEDULED = "booking.rescheduled"


@dataclass(frozen=True)
class BookingState:
    """The booking's changing fields as one message describes them (never read from the live booking)."""

    start_at: dt.datetime
    end_at: dt.datetime
    status: str
    sequence: int
    student_timezone: str
    instructor_timezone: str
    previous_start_at: dt.datetime | None = None
    previous_end_at: dt.datetime | None = None


def booking_snapshot(booking: Booking) -> dict[str, Any]:
    """The booking as it is now, in the event payload's shape plus the iCalendar ``sequence``.

    Stored on a notification that no event caused (a reminder) at its first
    attempt, so that its retries render the same message.
    """
    return {**event_payload(booking), "sequence": booking.sequence}


def _sequence_at(event: Event) -> int:
    """SEQUENCE at ``event``: its booking's reschedules up to and including it.

    Events of one booking are written under the booking's row lock, so their
    ids follow their order; the count is the same on every retry.
    """
    return Event.objects.filter(booking_id=event.booking_id, type=RESCHEDULED, pk__lte=event.pk).count()


def _state_from(payload: dict[str, Any], *, sequence: int, booking: Booking) -> BookingState:
    # The fallbacks cover payloads written before a field existed; every payload has the times.
    return BookingState(
        start_at=_parse_iso(payload.get("start_at")) or booking.start_at,
        end_at=_parse_iso(payload.get("end_at")) or booking.end_at,
        status=payload.get("status") or booking.status,
        sequence=sequence,
        student_timezone=payload.get("student_timezone") or booking.student_timezone,
        instructor_timezone=payload.get("instructor_timezone") or booking.instructor_timezone,
        previous_start_at=_parse_iso(payload.get("previous_start_at")),
        previous_end_at=_parse_iso(payload.get("previous_end_at")),
    )


def booking_state(notification: Notification) -> BookingState:
    """What ``notification`` says about its booking: its event's payload, else its stored snapshot.

    A notification without an event whose snapshot is not stored yet (it has
    not been attempted; the send step stores it first) shows the booking now.
    """
    booking = notification.booking
    if notification.event_id:
        event = notification.event
        return _state_from(event.payload, sequence=_sequence_at(event), booking=booking)
    snapshot = notification.booking_snapshot or booking_snapshot(booking)
    return _state_from(snapshot, sequence=int(snapshot.get("sequence", booking.sequence)), booking=booking)


# --- calendar ------------------------------------------------------------------------


def booking_ics(
    booking,
    *,
    cancelled: bool = False,
    status: str | None = None,
    stamp: dt.datetime,
    start_at: dt.datetime | None = None,
    end_at: dt.datetime | None = None,
    sequence: int | None = None,
) -> bytes:
    """An iCalendar invitation for ``booking``.

    One UID per booking (``<uid>@<site host>``) so calendars update the same
    entry; SEQUENCE bumped on reschedule; ``METHOD:CANCEL`` +
    ``STATUS:CANCELLED`` when ``cancelled``. Times in UTC. ``status``,
    ``start_at``, ``end_at`` and ``sequence`` are the booking as the message
    describes it (pending: TENTATIVE); each defaults to the booking's own.
    """
    status = status or booking.status
    start_at = start_at or booking.start_at
    end_at = end_at or booking.end_at
    sequence = booking.sequence if sequence is None else sequence
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("uid", f"{booking.uid}@{site_host()}")
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("dtstart", start_at.astimezone(dt.UTC))
    event.add("dtend", end_at.astimezone(dt.UTC))
    event.add("sequence", sequence)
    event.add("summary", f"{booking.event_type.name} with {booking.instructor.name}")
    manage_link = manage_url(booking)
    description = f"Manage your booking: {manage_link}"
    if booking.notes:
        description += f"\n\nYour notes: {booking.notes}"
    event.add("description", description)
    event.add("url", manage_link)
    if cancelled:
        event.add("status", "CANCELLED")
    elif status == BookingStatus.PENDING:
        event.add("status", "TENTATIVE")
    else:
        event.add("status", "CONFIRMED")
    organizer = icalendar.vCalAddress(f"mailto:{booking.instructor.email}")
    organizer.params["cn"] = icalendar.vText(booking.instructor.name)
    event.add("organizer", organizer)
    attendee = icalendar.vCalAddress(f"mailto:{booking.attendee_email}")
    attendee.params["cn"] = icalendar.vText(booking.attendee_name)
    attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = icalendar.vText("DECLINED" if cancelled else "ACCEPTED")
    attendee.params["rsvp"] = icalendar.vText("FALSE")
    event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


# --- rendering -----------------------------------------------------------------------


def _context(notification: Notification, state: BookingState) -> dict[str, Any]:
    booking = notification.booking
    is_host = notification.audience == Notification.Audience.HOST
    zone_name = state.instructor_timezone if is_host else state.student_timezone
    previous_start, previous_end = state.previous_start_at, state.previous_end_at
    return {
        "notification": notification,
        "booking": booking,
        "brand": booking.brand,
        "instructor": booking.instructor,
        "event_type": booking.event_type,
        "audience": notification.audience,
        "is_host": is_host,
        "has_calendar": notification.channel == Channel.EMAIL and carries_calendar(notification),
        "timezone": zone_name,
        "when": format_when(state.start_at, state.end_at, zone_name),
        "when_short": format_short(state.start_at, zone_name),
        "previous_when": format_when(previous_start, previous_end, zone_name)
        if previous_start and previous_end
        else "",
        "status": state.status,
        "is_pending": state.status == BookingStatus.PENDING,
        "manage_url": "" if is_host else manage_url(booking),
        "admin_url": _admin_url(booking) if is_host else "",
        "lead_time": lead_time(notification.minutes_before) if notification.minutes_before else "",
        "duration_minutes": booking.event_type.duration_minutes,
    }


def _templates(kind: str, audience: str, suffix: str) -> list[str]:
    return [f"notifications/email/{kind}_{audience}{suffix}", f"notifications/email/{kind}{suffix}"]


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def carries_calendar(notification: Notification) -> bool:
    """Whether the email carries the booking's ``.ics``: the attendee's, about the booking itself.

    Not a reminder: the calendar entry came with the confirmation, and every
    change since (reschedule, cancellation) brought its own. A reminder's
    copy would change nothing in a calendar, and leaving it out lets
    reminders go to Resend's batch endpoint, which takes no attachments.
    """
    return notification.audience == Notification.Audience.ATTENDEE and notification.kind != Notification.Kind.REMINDER


def render_email(notification: Notification) -> RenderedMessage:
    """Subject, plain text, HTML and (for the attendee, except reminders) the ``.ics``."""
    state = booking_state(notification)
    context = _context(notification, state)
    kind, audience = notification.kind, notification.audience
    subject = _one_line(select_template(_templates(kind, audience, "_subject.txt")).render(context))
    text = _tidy_text(select_template(_templates(kind, audience, ".txt")).render(context))
    html = select_template(_templates(kind, audience, ".html")).render(context)
    booking = notification.booking
    attachments: tuple[Attachment, ...] = ()
    if carries_calendar(notification):
        cancelled = kind == Notification.Kind.CANCELLATION
        ics = booking_ics(
            booking,
            cancelled=cancelled,
            status=state.status,
            stamp=notification.created_at,
            start_at=state.start_at,
            end_at=state.end_at,
            sequence=state.sequence,
        )
        method = "CANCEL" if cancelled else "REQUEST"
        attachments = (Attachment(ICS_FILENAME, ics, f"text/calendar; charset=utf-8; method={method}"),)
    reply_to = booking.attendee_email if audience == Notification.Audience.HOST else booking.instructor.email
    return RenderedMessage(subject=subject, text=text, html=html, attachments=attachments, reply_to=reply_to)


def render_text_message(notification: Notification) -> RenderedMessage:
    """The short text of an SMS or WhatsApp message."""
    context = _context(notification, booking_state(notification))
    text = render_to_string(f"notifications/sms/{notification.kind}.txt", context)
    return RenderedMessage(subject="", text=_tidy_text(text).strip(), html="")


def render(notification: Notification) -> RenderedMessage:
    if notification.channel == Channel.EMAIL:
        return render_email(notification)
    return render_text_message(notification)
