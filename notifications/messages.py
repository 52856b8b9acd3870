"""What a notification says: Django templates rendered per kind, plus the ``.ics`` (built by ``bookings.ics``).

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

A weekly series is announced by one message per recipient, written for the
``booking.created`` of its first occurrence (``notifications.receivers``). It
lists every occurrence as its own ``booking.created`` event stored it
(:func:`series_occurrences`; all of them are written in the series' one
transaction, so the list never changes), and the attendee's copy carries one
``.ics`` with an event per occurrence (:func:`series_ics`).
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

import icalendar
from django.conf import settings
from django.template.loader import render_to_string, select_template
from django.urls import reverse

from bookings.ics import PRODID, booking_ics
from bookings.links import manage_url
from bookings.models import Booking, BookingStatus, Event
from bookings.services import event_payload

from .backends import Attachment
from .models import Channel, Notification

ICS_FILENAME = "booking.ics"


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
CREATED = "booking.created"


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


def booking_state(notification: Notification, *, with_sequence: bool = True) -> BookingState:
    """What ``notification`` says about its booking: its event's payload, else its stored snapshot.

    A notification without an event whose snapshot is not stored yet (it has
    not been attempted; the send step stores it first) shows the booking now.
    ``with_sequence=False`` leaves the iCalendar SEQUENCE at 0 instead of
    counting the booking's reschedules (a query), for texts that never show it.
    """
    booking = notification.booking
    if notification.event_id:
        event = notification.event
        sequence = _sequence_at(event) if with_sequence else 0
        return _state_from(event.payload, sequence=sequence, booking=booking)
    snapshot = notification.booking_snapshot or booking_snapshot(booking)
    return _state_from(snapshot, sequence=int(snapshot.get("sequence", booking.sequence)), booking=booking)


# --- a weekly series ------------------------------------------------------------------


def announced_series_id(notification: Notification) -> str | None:
    """The series a message announces: set when its event is the ``booking.created`` of a series' occurrence."""
    event = notification.event if notification.event_id else None
    if event is None or event.type != CREATED:
        return None
    return event.payload.get("series_id")


def series_occurrences(notification: Notification) -> list[tuple[Booking, BookingState]]:
    """Every occurrence of the series ``notification`` announces, in time order, as its creation left it.

    Empty when the message announces no series. Read from the stored
    ``booking.created`` events (a series' occurrences are all created in one
    transaction), so every attempt lists the same sessions.
    """
    series_id = announced_series_id(notification)
    if not series_id:
        return []
    events = (
        Event.objects.filter(type=CREATED, booking__series_id=series_id)
        .select_related("booking__event_type", "booking__instructor")
        .order_by("booking__start_at", "booking_id")
    )
    return [(event.booking, _state_from(event.payload, sequence=0, booking=event.booking)) for event in events]


def series_ics(occurrences: list[tuple[Booking, BookingState]], *, stamp: dt.datetime) -> bytes:
    """One ``.ics`` with an event per occurrence, each with its booking's own UID.

    ``METHOD:PUBLISH``: an iTIP invitation (``REQUEST``) may only hold one UID,
    while every occurrence is its own booking that later messages (a
    reschedule, a cancellation) update by its UID. Each event is the one the
    single-booking invitation would carry.
    """
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    for booking, state in occurrences:
        single = booking_ics(
            booking,
            status=state.status,
            stamp=stamp,
            start_at=state.start_at,
            end_at=state.end_at,
            sequence=state.sequence,
        )
        for component in icalendar.Calendar.from_ical(single).walk("VEVENT"):
            calendar.add_component(component)
    return calendar.to_ical()


# --- rendering -----------------------------------------------------------------------


def _context(
    notification: Notification, state: BookingState, occurrences: list[tuple[Booking, BookingState]]
) -> dict[str, Any]:
    booking = notification.booking
    is_host = notification.audience == Notification.Audience.HOST
    zone_name = state.instructor_timezone if is_host else state.student_timezone
    previous_start, previous_end = state.previous_start_at, state.previous_end_at
    series = [
        {
            "when": format_when(occurrence.start_at, occurrence.end_at, zone_name),
            "manage_url": "" if is_host else manage_url(occurrence_booking),
        }
        for occurrence_booking, occurrence in occurrences
    ]
    interval = booking.series.interval_weeks if series else 1
    return {
        "series": series,
        "series_every": "week" if interval == 1 else f"{interval} weeks",
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
    """Subject, plain text, HTML and (for the attendee, except reminders) the ``.ics``; a series' announcement
    lists every session and its ``.ics`` holds them all."""
    state = booking_state(notification)
    occurrences = series_occurrences(notification)
    context = _context(notification, state, occurrences)
    kind, audience = notification.kind, notification.audience
    subject = _one_line(select_template(_templates(kind, audience, "_subject.txt")).render(context))
    text = _tidy_text(select_template(_templates(kind, audience, ".txt")).render(context))
    html = select_template(_templates(kind, audience, ".html")).render(context)
    booking = notification.booking
    attachments: tuple[Attachment, ...] = ()
    if carries_calendar(notification) and occurrences:
        ics = series_ics(occurrences, stamp=notification.created_at)
        attachments = (Attachment(ICS_FILENAME, ics, "text/calendar; charset=utf-8; method=PUBLISH"),)
    elif carries_calendar(notification):
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
    context = _context(notification, booking_state(notification), series_occurrences(notification))
    text = render_to_string(f"notifications/sms/{notification.kind}.txt", context)
    return RenderedMessage(subject="", text=_tidy_text(text).strip(), html="")


def subject_line(notification: Notification) -> str:
    """The message in one line, for the back office's lists: an email's subject, a text message's words.

    Rendered from the same templates and the same booking state as the
    message itself (its event's payload or its snapshot), so staff read what
    the recipient got; the iCalendar SEQUENCE is left out (only the
    attachment shows it), so listing messages costs no query per row, except
    one for each message announcing a weekly series (its subject counts the
    sessions).
    """
    context = _context(notification, booking_state(notification, with_sequence=False), series_occurrences(notification))
    if notification.channel == Channel.EMAIL:
        template = select_template(_templates(notification.kind, notification.audience, "_subject.txt"))
        return _one_line(template.render(context))
    return _one_line(render_to_string(f"notifications/sms/{notification.kind}.txt", context))


def render(notification: Notification) -> RenderedMessage:
    if notification.channel == Channel.EMAIL:
        return render_email(notification)
    return render_text_message(notification)
