"""The data ``make bench`` measures, written straight into the bench's own database.

These are fixtures, not a door into the product: rows are bulk-inserted (as
the test factories do) because creating 10,000 bookings through the booking
service would take minutes and would measure the loader, not the reads. Every
row is one the services could have written (active bookings never overlap, so
PostgreSQL's exclusion constraint accepts them; reminders are planned the way
``notifications.reminders`` plans them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.utils import timezone

AVAILABILITY_DAYS = 90
AVAILABILITY_BOOKINGS = 2_000
AVAILABILITY_OVERRIDES = 50
SESSION_MINUTES = 60
BOOKED_MINUTES = 30
INSTRUCTOR_TIMEZONE = "Europe/Berlin"
# Bookings of the availability scenario lie between 16:30 and 07:00 UTC: outside 09:00-17:00 Berlin in
# winter and summer alike, with room for the buffer on both sides.
EVENING_START = dt.time(16, 30)
EVENING_HOURS = dt.timedelta(hours=14, minutes=30)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """What a measurement needs to know about the rows it loaded."""

    brand_id: int
    instructor_id: int
    event_type_id: int
    start_date: dt.date
    days: int


def analyze() -> None:
    """Refresh PostgreSQL's planner statistics after a bulk load, as autovacuum would do soon after."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def bench_brand(*, slug: str = "bench"):
    """The brand every measurement works in, and a secret and a public key of it (clear keys)."""
    from scheduling.services import api_key_create, brand_get_or_create

    brand, _ = brand_get_or_create(slug=slug, name="Bench Coaching")
    _, secret = api_key_create(brand=brand, scope="secret")
    _, public = api_key_create(brand=brand, scope="public")
    return brand, secret, public


def instructor_with_hours(
    *, brand, slug: str, opens: dt.time, closes: dt.time, buffer_minutes: int = 15, duration: int = SESSION_MINUTES
):
    """An instructor of ``brand`` working ``opens``-``closes`` every day, and a free session type of ``duration``.

    The type needs no confirmation and has no price, so a booking is
    ``confirmed`` at once; its only reminder is an email a day before.
    """
    from scheduling.models import EventType, Instructor, InstructorBrand, WeeklyAvailability

    instructor = Instructor.objects.create(name=f"Coach {slug}", email=f"{slug}@example.com", slug=slug)
    assignment = InstructorBrand.objects.create(
        instructor=instructor,
        brand=brand,
        timezone=INSTRUCTOR_TIMEZONE,
        buffer_minutes=buffer_minutes,
        advance_booking_days=365,
    )
    WeeklyAvailability.objects.bulk_create(
        WeeklyAvailability(assignment=assignment, weekday=day, start_time=opens, end_time=closes) for day in range(7)
    )
    event_type = EventType.objects.create(
        brand=brand,
        name=f"Session {slug}",
        slug=f"session-{slug}",
        duration_minutes=duration,
        requires_confirmation=False,
        reminder_minutes_before=[1440],
        reminder_channels=["email"],
    )
    return assignment, event_type


def evening_starts(*, count: int, first_day: dt.date, days: int, length: dt.timedelta) -> list[dt.datetime]:
    """``count`` back-to-back starts, evening by evening from 16:30 UTC, spread evenly over ``days`` days.

    Pure, so the bench's tests can check that bookings built from it never
    overlap: a night holds at most 29 sessions of 30 minutes before 07:00 UTC.
    """
    per_day, extra = divmod(count, days)
    if per_day + (extra > 0) > EVENING_HOURS // length:
        raise ValueError(f"{count} bookings do not fit in {days} evenings")
    starts = []
    for day in range(days):
        evening = dt.datetime.combine(first_day + dt.timedelta(days=day), EVENING_START, tzinfo=dt.UTC)
        starts.extend(evening + index * length for index in range(per_day + (day < extra)))
    return starts


def bookings_rows(*, brand, assignment, event_type, starts: list[dt.datetime], minutes: int, email_prefix: str):
    """Confirmed bookings of ``assignment``'s instructor at ``starts``, inserted in batches."""
    from bookings.models import Booking, BookingStatus

    length = dt.timedelta(minutes=minutes)
    return Booking.objects.bulk_create(
        [
            Booking(
                brand=brand,
                instructor_id=assignment.instructor_id,
                event_type=event_type,
                start_at=start,
                end_at=start + length,
                status=BookingStatus.CONFIRMED,
                attendee_name=f"Student {index}",
                attendee_email=f"{email_prefix}{index}@example.com",
                instructor_timezone=assignment.timezone,
            )
            for index, start in enumerate(starts)
        ],
        batch_size=1000,
    )


def availability_scenario(*, brand, days: int = AVAILABILITY_DAYS) -> Scenario:
    """An instructor with 2,000 active bookings and 50 overrides in the next ``days`` days: the worst case.

    Open 09:00-17:00 every day (Europe/Berlin), 15-minute buffer, 60-minute
    sessions: 720 slots in 90 days with nothing booked, as in the figures
    the goal was set from. The 2,000 half-hour bookings (staff may book
    outside the hours) lie in the evenings, so the read must fetch every one
    of them while nearly every slot of the working hours is still offered
    and rendered: both costs at their largest at once. The 50 overrides
    (every other day from the second) alternate between a day off and
    10:00-16:00. The window starts tomorrow in UTC, the request's student
    timezone.
    """
    from scheduling.models import DateOverride

    assignment, event_type = instructor_with_hours(
        brand=brand, slug="bench-availability", opens=dt.time(9), closes=dt.time(17)
    )
    start_date = (timezone.now() + dt.timedelta(days=1)).date()
    bookings_rows(
        brand=brand,
        assignment=assignment,
        event_type=event_type,
        starts=evening_starts(
            count=AVAILABILITY_BOOKINGS,
            first_day=start_date,
            days=days,
            length=dt.timedelta(minutes=BOOKED_MINUTES),
        ),
        minutes=BOOKED_MINUTES,
        email_prefix="availability",
    )
    DateOverride.objects.bulk_create(
        DateOverride(
            assignment=assignment,
            date=start_date + dt.timedelta(days=2 * index + 1),
            unavailable=index % 2 == 0,
            ranges=[] if index % 2 == 0 else [{"start": "10:00", "end": "16:00"}],
        )
        for index in range(AVAILABILITY_OVERRIDES)
    )
    return Scenario(
        brand_id=brand.pk,
        instructor_id=assignment.instructor_id,
        event_type_id=event_type.pk,
        start_date=start_date,
        days=days,
    )
