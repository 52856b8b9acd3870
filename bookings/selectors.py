"""Reads for bookings."""

from __future__ import annotations

import datetime as dt

from scheduling.models import InstructorBrand

from .models import ACTIVE_STATUSES, Booking

DEFAULT_CUTOFF_HOURS = InstructorBrand._meta.get_field("cancellation_cutoff_hours").default


def busy_intervals(
    *, instructor_id: int, start: dt.datetime, end: dt.datetime, exclude_booking_id: int | None = None
) -> list[tuple[dt.datetime, dt.datetime]]:
    """``(start_at, end_at)`` of the instructor's active bookings overlapping ``[start, end)``.

    Every brand counts: an instructor is one person, so a booking made through
    another brand makes the time busy here too. ``exclude_booking_id`` leaves
    out the booking being rescheduled. One query, plain tuples, sorted.
    """
    bookings = Booking.objects.filter(
        instructor_id=instructor_id, status__in=ACTIVE_STATUSES, start_at__lt=end, end_at__gt=start
    )
    if exclude_booking_id is not None:
        bookings = bookings.exclude(pk=exclude_booking_id)
    return list(bookings.order_by("start_at").values_list("start_at", "end_at"))


def student_change_deadline(*, booking: Booking, assignment: InstructorBrand | None = None) -> dt.datetime:
    """Until when the student may cancel or reschedule ``booking``: its start minus the cutoff hours.

    The cutoff is the assignment's (instructor x brand) setting; an instructor
    removed from the brand keeps the default for the bookings left behind. The
    booking services refuse a student's change from this instant on, and the
    booking page announces the same instant, so the two never disagree.
    """
    if assignment is None:
        assignment = InstructorBrand.objects.filter(
            instructor_id=booking.instructor_id, brand_id=booking.brand_id
        ).first()
    hours = assignment.cancellation_cutoff_hours if assignment else DEFAULT_CUTOFF_HOURS
    return booking.start_at - dt.timedelta(hours=hours)


def active_booking_starts(
    *, instructor_id: int, brand_id: int, start: dt.datetime, end: dt.datetime, exclude_booking_id: int | None = None
) -> list[dt.datetime]:
    """Start times of the instructor's active bookings in one brand starting in ``[start, end)``.

    What the booking limits count: unlike busy time, a limit is per brand (an
    instructor may take five sessions a day for one studio and three for
    another). ``exclude_booking_id`` leaves out the booking being rescheduled.
    One query, plain values.
    """
    bookings = Booking.objects.filter(
        instructor_id=instructor_id,
        brand_id=brand_id,
        status__in=ACTIVE_STATUSES,
        start_at__gte=start,
        start_at__lt=end,
    )
    if exclude_booking_id is not None:
        bookings = bookings.exclude(pk=exclude_booking_id)
    return list(bookings.values_list("start_at", flat=True))


def instructor_calendar_bookings(*, instructor_id: int, start: dt.datetime, end: dt.datetime) -> list[Booking]:
    """The instructor's bookings in every brand that overlap ``[start, end)``, any status, by start.

    One query (session type and brand joined). Cancelled ones are included on
    purpose: the calendar feed leaves them out of its events but dates its
    ``Last-Modified`` by them, since removing an event is a change too.
    """
    return list(
        Booking.objects.filter(instructor_id=instructor_id, start_at__lt=end, end_at__gt=start)
        .select_related("event_type", "brand")
        .order_by("start_at", "id")
    )
