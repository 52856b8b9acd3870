"""The booking as an iCalendar (``.ics``) event: one builder for every door.

The notification emails attach it and the booking page offers it as a
download, so both live here, in the app that owns the booking
(``notifications`` imports ``bookings``, never the reverse). Built with the
``icalendar`` library; nothing here reads the clock, so a caller that passes
the same values gets the same bytes (email retries rely on that).
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import icalendar
from django.conf import settings

from .links import manage_url
from .models import BookingStatus

PRODID = "-//Coaching booking//Notifications//EN"


def site_host() -> str:
    """The host in every event UID, so calendars match the same booking across messages and downloads."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def booking_ics(
    booking,
    *,
    cancelled: bool = False,
    status: str | None = None,
    stamp: dt.datetime,
    start_at: dt.datetime | None = None,
    end_at: dt.datetime | None = None,
    sequence: int | None = None,
    method: str | None = None,
) -> bytes:
    """An iCalendar event for ``booking``.

    One UID per booking (``<uid>@<site host>``) so calendars update the same
    entry; SEQUENCE bumped on reschedule; ``STATUS:CANCELLED`` when
    ``cancelled``. Times in UTC. ``status``, ``start_at``, ``end_at`` and
    ``sequence`` are the booking as the message describes it (pending:
    TENTATIVE); each defaults to the booking's own. ``method`` defaults to
    ``REQUEST`` (``CANCEL`` when cancelled), what an emailed invitation
    carries; a plain download passes ``PUBLISH``.
    """
    status = status or booking.status
    start_at = start_at or booking.start_at
    end_at = end_at or booking.end_at
    sequence = booking.sequence if sequence is None else sequence
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method or ("CANCEL" if cancelled else "REQUEST"))
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
