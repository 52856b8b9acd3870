"""What a notification says: Django templates rendered per kind, plus the ``.ics``.

Templates live under ``templates/notifications/``:

* ``email/<kind>_subject.txt``, ``email/<kind>.txt``, ``email/<kind>.html``
  (each may be specialised per audience as ``<kind>_<audience>...``);
* ``sms/<kind>.txt`` for SMS and WhatsApp.

Times are shown in the recipient's timezone: the attendee sees
``booking.student_timezone``, the host ``booking.instructor_timezone``, with
the zone's name. Rendering is deterministic for one notification (no "now"
anywhere, the ``.ics`` DTSTAMP is the notification's creation time): a retry
sends the very same request, which Resend's ``Idempotency-Key`` requires.
The wording follows the event that caused the notification (its stored
payload), not the booking's current state, for the same reason.
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
from django.urls import NoReverseMatch, reverse

from bookings.models import BookingStatus

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


def bookings_manage_url(booking) -> str:
    """The signed link that lets the attendee view, reschedule or cancel the booking."""
    from bookings.links import manage_token, manage_url

    try:
        return manage_url(booking)
    except NoReverseMatch:  # the student pages' URLconf is not wired (yet): same shape by hand
        return f"{settings.SITE_URL}/booking/{booking.uid}/?token={manage_token(booking.uid)}"


def _admin_url(booking) -> str:
    try:
        return f"{settings.SITE_URL}{reverse('admin:bookings_booking_change', args=[booking.pk])}"
    except NoReverseMatch:
        return ""


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


# --- calendar ------------------------------------------------------------------------


def booking_ics(booking, *, cancelled: bool = False, status: str | None = None, stamp: dt.datetime) -> bytes:
    """An iCalendar invitation for ``booking``.

    One UID per booking (``<uid>@<site host>``) so calendars update the same
    entry; SEQUENCE is ``booking.sequence`` (bumped on reschedule);
    ``METHOD:CANCEL`` + ``STATUS:CANCELLED`` when ``cancelled``. Times in UTC.
    ``status`` is the booking status the message describes (pending: TENTATIVE).
    """
    status = status or booking.status
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = icalendar.Event()
    event.add("uid", f"{booking.uid}@{site_host()}")
    event.add("dtstamp", stamp.astimezone(dt.UTC))
    event.add("dtstart", booking.start_at.astimezone(dt.UTC))
    event.add("dtend", booking.end_at.astimezone(dt.UTC))
    event.add("sequence", booking.sequence)
    event.add("summary", f"{booking.event_type.name} with {booking.instructor.name}")
    manage_link = bookings_manage_url(booking)
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


def _context(notification: Notification) -> dict[str, Any]:
    booking = notification.booking
    is_host = notification.audience == Notification.Audience.HOST
    zone_name = booking.instructor_timezone if is_host else booking.student_timezone
    payload = notification.event.payload if notification.event_id and notification.event else {}
    status_at_event = payload.get("status") or booking.status
    previous_start = _parse_iso(payload.get("previous_start_at"))
    previous_end = _parse_iso(payload.get("previous_end_at"))
    reminder = notification.reminder if notification.reminder_id else None
    return {
        "notification": notification,
        "booking": booking,
        "brand": booking.brand,
        "instructor": booking.instructor,
        "event_type": booking.event_type,
        "audience": notification.audience,
        "is_host": is_host,
        "timezone": zone_name,
        "when": format_when(booking.start_at, booking.end_at, zone_name),
        "when_short": format_short(booking.start_at, zone_name),
        "previous_when": format_when(previous_start, previous_end, zone_name)
        if previous_start and previous_end
        else "",
        "status": status_at_event,
        "is_pending": status_at_event == BookingStatus.PENDING,
        "manage_url": "" if is_host else bookings_manage_url(booking),
        "admin_url": _admin_url(booking) if is_host else "",
        "lead_time": lead_time(reminder.minutes_before) if reminder else "",
        "duration_minutes": booking.event_type.duration_minutes,
    }


def _templates(kind: str, audience: str, suffix: str) -> list[str]:
    return [f"notifications/email/{kind}_{audience}{suffix}", f"notifications/email/{kind}{suffix}"]


def _tidy_text(text: str) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def render_email(notification: Notification) -> RenderedMessage:
    """Subject, plain text, HTML and (for the attendee) the ``.ics``."""
    context = _context(notification)
    kind, audience = notification.kind, notification.audience
    subject = _one_line(select_template(_templates(kind, audience, "_subject.txt")).render(context))
    text = _tidy_text(select_template(_templates(kind, audience, ".txt")).render(context))
    html = select_template(_templates(kind, audience, ".html")).render(context)
    booking = notification.booking
    attachments: tuple[Attachment, ...] = ()
    if audience == Notification.Audience.ATTENDEE:
        cancelled = kind == Notification.Kind.CANCELLATION
        ics = booking_ics(booking, cancelled=cancelled, status=context["status"], stamp=notification.created_at)
        method = "CANCEL" if cancelled else "REQUEST"
        attachments = (Attachment(ICS_FILENAME, ics, f"text/calendar; charset=utf-8; method={method}"),)
    reply_to = booking.attendee_email if audience == Notification.Audience.HOST else booking.instructor.email
    return RenderedMessage(subject=subject, text=text, html=html, attachments=attachments, reply_to=reply_to)


def render_text_message(notification: Notification) -> RenderedMessage:
    """The short text of an SMS or WhatsApp message."""
    text = render_to_string(f"notifications/sms/{notification.kind}.txt", _context(notification))
    return RenderedMessage(subject="", text=_tidy_text(text).strip(), html="")


def render(notification: Notification) -> RenderedMessage:
    if notification.channel == Channel.EMAIL:
        return render_email(notification)
    return render_text_message(notification)
