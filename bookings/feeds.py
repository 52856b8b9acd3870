"""The instructor's calendar feed: a secret iCalendar URL that calendar apps subscribe to.

One feed per instructor, covering every brand they work for (an instructor is
one person with one calendar). The URL carries a random token
(:class:`~bookings.models.CalendarFeed`, issued and rotated by
``bookings.services.calendar_feed_rotate``); it is compared in constant time,
and a wrong, rotated or another instructor's token is a plain 404.

What it shows. The URL ends up in calendar apps, on phones, and in the sync
services between them, so it is treated as readable by others: an event shows
the session type and the student's **first name** only (plus the brand and
whether the booking still awaits confirmation), never an email address, a
phone number, a surname or the student's notes. That is enough to teach the
session; the rest is in the back office.

Which bookings: those overlapping the 30 days before today and the 180 days
after it (UTC dates), in every status but ``cancelled``: a cancelled session
disappears from the calendar, while a session marked completed or no-show
stays where it happened. Each event's UID is the booking's (stable across
changes), its SEQUENCE the booking's (bumped on each reschedule) and its
DTSTAMP the booking's last change, so the same bookings give the same bytes.

Calendar apps poll often, so the answer is conditional: a strong ``ETag`` (a
hash of the body) and ``Last-Modified`` (the latest change of any booking in
the window, cancelled ones included, or the start of today, when the window
last moved), and 304 when the client's copy is current.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import icalendar
from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_cache_control
from django.utils.crypto import constant_time_compare
from django.utils.http import http_date, quote_etag
from django.views.decorators.http import require_safe

from .ics import site_host
from .models import Booking, BookingStatus, CalendarFeed
from .selectors import instructor_calendar_bookings

DAYS_BEFORE = 30
DAYS_AFTER = 180
PRODID = "-//Coaching booking//Instructor calendar feed//EN"


def calendar_feed_url(feed: CalendarFeed) -> str:
    """The absolute subscription URL of ``feed`` (secret: whoever has it reads the calendar)."""
    path = reverse("instructor-calendar-feed", kwargs={"instructor_id": feed.instructor_id, "token": feed.token})
    return f"{settings.SITE_URL}{path}"


def first_name(full_name: str) -> str:
    """The first word of the attendee's name: all the feed says about who the student is."""
    words = full_name.split()
    return words[0] if words else "Student"


def _event(booking: Booking, host: str) -> icalendar.Event:
    event = icalendar.Event()
    event.add("uid", f"{booking.uid}@{host}")
    event.add("dtstamp", booking.updated_at.astimezone(dt.UTC))
    event.add("last-modified", booking.updated_at.astimezone(dt.UTC))
    event.add("dtstart", booking.start_at.astimezone(dt.UTC))
    event.add("dtend", booking.end_at.astimezone(dt.UTC))
    event.add("sequence", booking.sequence)
    event.add("summary", f"{booking.event_type.name}: {first_name(booking.attendee_name)}")
    pending = booking.status == BookingStatus.PENDING
    event.add("description", f"{booking.brand.name}" + (" (awaiting confirmation)" if pending else ""))
    event.add("status", "TENTATIVE" if pending else "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event


def instructor_calendar(*, feed: CalendarFeed, now: dt.datetime) -> tuple[bytes, dt.datetime]:
    """The feed's iCalendar body and when it last changed."""
    today = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(0), tzinfo=dt.UTC)
    bookings = instructor_calendar_bookings(
        instructor_id=feed.instructor_id,
        start=today - dt.timedelta(days=DAYS_BEFORE),
        end=today + dt.timedelta(days=DAYS_AFTER + 1),
    )
    host = site_host()
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{feed.instructor.name}: sessions")
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", icalendar.vDuration(dt.timedelta(hours=1)))
    for booking in bookings:
        if booking.status != BookingStatus.CANCELLED:
            calendar.add_component(_event(booking, host))
    changes = [today, feed.created_at, *(booking.updated_at for booking in bookings)]
    changes += [booking.event_type.updated_at for booking in bookings]
    return calendar.to_ical(), max(changes)


@require_safe
def instructor_calendar_feed(request, instructor_id: int, token: str) -> HttpResponse:
    """``GET /feeds/instructors/<id>/<token>.ics``: no login, the token is the key."""
    feed = CalendarFeed.objects.select_related("instructor").filter(instructor_id=instructor_id).first()
    if feed is None or not constant_time_compare(feed.token, token):
        raise Http404("Unknown calendar feed.")
    body, last_modified = instructor_calendar(feed=feed, now=timezone.now())
    etag = quote_etag(hashlib.sha256(body).hexdigest())
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified.timestamp())
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    patch_cache_control(response, private=True, no_cache=True)
    return get_conditional_response(request, etag=etag, last_modified=int(last_modified.timestamp()), response=response)
