"""Free slots of an instructor: the bookings side assembles the slot engine's inputs.

``scheduling.slots`` is a pure engine; it learns about existing bookings only
as plain ``(start, end)`` busy intervals handed over from here (CONVENTIONS:
``bookings`` imports ``scheduling``, never the reverse). Whatever the window
and the number of bookings, this costs three queries: the assignment's weekly
ranges, its overrides inside the window, and the instructor's active bookings
in every brand (the assignment itself is loaded by the caller).

The booking services call :func:`instructor_slot_refusal` so that a booking
is accepted only if the same rules would have offered it as a slot, and a
refusal says why.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone as django_timezone

from scheduling.models import InstructorBrand
from scheduling.selectors import schedule_inputs
from scheduling.slots import Slot, compute_slots, slot_refusal

from .selectors import busy_intervals


def _local_dates(*, start: dt.datetime, end: dt.datetime, timezone: str) -> tuple[dt.date, dt.date]:
    """The instructor-local dates that ``[start, end)`` can touch, with a day's margin each side."""
    zone = zoneinfo.ZoneInfo(timezone)
    return (
        start.astimezone(zone).date() - dt.timedelta(days=1),
        end.astimezone(zone).date() + dt.timedelta(days=1),
    )


def instructor_slots(
    *,
    assignment: InstructorBrand,
    window_start: dt.datetime,
    window_end: dt.datetime,
    session_minutes: int,
    interval_minutes: int | None = None,
    now: dt.datetime | None = None,
    exclude_booking_id: int | None = None,
) -> list[Slot]:
    """Free slots starting in ``[window_start, window_end)``, sorted, in UTC.

    Busy time is read for the whole reach of those slots: a slot may start just
    before ``window_end`` and last ``session_minutes``, and the buffer widens
    both sides. ``exclude_booking_id`` leaves out a booking being rescheduled,
    so the times it could move to include those overlapping its own.
    """
    now = now or django_timezone.now()
    buffer = dt.timedelta(minutes=assignment.buffer_minutes)
    reach_start = window_start - buffer
    reach_end = window_end + dt.timedelta(minutes=session_minutes) + buffer
    from_date, to_date = _local_dates(start=reach_start, end=reach_end, timezone=assignment.timezone)
    return compute_slots(
        **schedule_inputs(assignment=assignment, from_date=from_date, to_date=to_date),
        busy=busy_intervals(
            instructor_id=assignment.instructor_id,
            start=reach_start,
            end=reach_end,
            exclude_booking_id=exclude_booking_id,
        ),
        now=now,
        session_minutes=session_minutes,
        interval_minutes=interval_minutes,
        window_start=window_start,
        window_end=window_end,
    )


def instructor_slot_refusal(
    *,
    assignment: InstructorBrand,
    start: dt.datetime,
    session_minutes: int,
    now: dt.datetime | None = None,
    exclude_booking_id: int | None = None,
    interval_minutes: int | None = None,
) -> str | None:
    """Why a session at ``start`` would not be offered by ``assignment``, or None if it would.

    The same rules as :func:`instructor_slots` (availability, overrides, busy
    time of every brand widened by the buffer, notice, advance window, grid),
    answered by the engine's ``slot_refusal`` (its docstring gives the reasons
    and their order). ``exclude_booking_id`` leaves out the booking being
    rescheduled, so moving a booking by less than its length does not collide
    with itself.
    """
    now = now or django_timezone.now()
    buffer = dt.timedelta(minutes=assignment.buffer_minutes)
    reach_start = start - buffer
    reach_end = start + dt.timedelta(minutes=session_minutes) + buffer
    from_date, to_date = _local_dates(start=reach_start, end=reach_end, timezone=assignment.timezone)
    return slot_refusal(
        start=start,
        **schedule_inputs(assignment=assignment, from_date=from_date, to_date=to_date),
        busy=busy_intervals(
            instructor_id=assignment.instructor_id,
            start=reach_start,
            end=reach_end,
            exclude_booking_id=exclude_booking_id,
        ),
        now=now,
        session_minutes=session_minutes,
        interval_minutes=interval_minutes,
    )
