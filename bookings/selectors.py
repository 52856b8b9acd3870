"""Reads for bookings."""

from __future__ import annotations

import datetime as dt

from .models import ACTIVE_STATUSES, Booking


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
