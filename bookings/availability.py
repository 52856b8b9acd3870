"""Free slots of an instructor: the bookings side assembles the slot engine's inputs.

``scheduling.slots`` is a pure engine; it learns about existing bookings only
as plain values handed over from here (``bookings`` imports ``scheduling``,
never the reverse): ``(start, end)`` busy intervals, and, when the assignment
has booking limits, the number of its bookings per local date and ISO week.
Whatever the window and the number of bookings, this costs two queries: the
assignment's weekly ranges and its overrides inside the window (one query),
and the instructor's busy time in every brand, merged and in epoch
microseconds; a third, the brand's bookings over the whole ISO weeks the
window touches, only when a limit is set (the assignment itself is loaded by
the caller).

The booking services call :func:`instructor_slot_refusal` (one booking) and
:func:`instructor_series_refusals` (every occurrence of a weekly series) so
that a booking is accepted only if the same rules would have offered it as a
slot, and a refusal says why.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.utils import timezone as django_timezone

from scheduling.models import InstructorBrand
from scheduling.selectors import schedule_inputs
from scheduling.slots import Slot, compute_slots, count_bookings, epoch_micros, free_slot_starts, slot_refusal

from .selectors import active_booking_starts, busy_intervals


def _local_dates(*, start: dt.datetime, end: dt.datetime, timezone: str) -> tuple[dt.date, dt.date]:
    """The instructor-local dates that ``[start, end)`` can touch, with a day's margin each side."""
    zone = zoneinfo.ZoneInfo(timezone)
    return (
        start.astimezone(zone).date() - dt.timedelta(days=1),
        end.astimezone(zone).date() + dt.timedelta(days=1),
    )


def _limit_counts(
    *, assignment: InstructorBrand, start: dt.datetime, end: dt.datetime, exclude_booking_id: int | None = None
) -> dict[str, dict]:
    """The engine's ``bookings_per_day`` / ``bookings_per_week`` for slots starting in ``[start, end]``.

    Nothing (and no query) without a limit. A week's count needs all of its
    bookings, so the brand's bookings are read over the whole ISO weeks (in the
    instructor's timezone) that the slots can fall in, plus a day each side
    for any UTC offset.
    """
    if assignment.max_bookings_per_day is None and assignment.max_bookings_per_week is None:
        return {}
    first_day, last_day = _local_dates(start=start, end=end, timezone=assignment.timezone)
    first_monday = first_day - dt.timedelta(days=first_day.weekday())
    last_sunday = last_day + dt.timedelta(days=6 - last_day.weekday())
    starts = active_booking_starts(
        instructor_id=assignment.instructor_id,
        brand_id=assignment.brand_id,
        start=dt.datetime.combine(first_monday - dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC),
        end=dt.datetime.combine(last_sunday + dt.timedelta(days=2), dt.time(0), tzinfo=dt.UTC),
        exclude_booking_id=exclude_booking_id,
    )
    per_day, per_week = count_bookings(starts, assignment.timezone)
    return {"bookings_per_day": per_day, "bookings_per_week": per_week}


def _slot_inputs(
    *,
    assignment: InstructorBrand,
    window_start: dt.datetime,
    window_end: dt.datetime,
    session_minutes: int,
    interval_minutes: int | None,
    now: dt.datetime | None,
    exclude_booking_id: int | None,
) -> dict[str, Any]:
    """The engine's keyword arguments for the free slots starting in ``[window_start, window_end)``.

    Busy time is read for the whole reach of those slots: a slot may start just
    before ``window_end`` and last ``session_minutes``, and the buffer widens
    both sides.
    """
    buffer = dt.timedelta(minutes=assignment.buffer_minutes)
    reach_start = window_start - buffer
    reach_end = window_end + dt.timedelta(minutes=session_minutes) + buffer
    from_date, to_date = _local_dates(start=reach_start, end=reach_end, timezone=assignment.timezone)
    return {
        **schedule_inputs(assignment=assignment, from_date=from_date, to_date=to_date),
        "busy": busy_intervals(
            instructor_id=assignment.instructor_id,
            start=reach_start,
            end=reach_end,
            exclude_booking_id=exclude_booking_id,
        ),
        **_limit_counts(
            assignment=assignment, start=window_start, end=window_end, exclude_booking_id=exclude_booking_id
        ),
        "now": now or django_timezone.now(),
        "session_minutes": session_minutes,
        "interval_minutes": interval_minutes,
        "window_start": window_start,
        "window_end": window_end,
    }


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

    ``exclude_booking_id`` leaves out a booking being rescheduled, so the
    times it may move to are exactly those the reschedule accepts.
    """
    return compute_slots(
        **_slot_inputs(
            assignment=assignment,
            window_start=window_start,
            window_end=window_end,
            session_minutes=session_minutes,
            interval_minutes=interval_minutes,
            now=now,
            exclude_booking_id=exclude_booking_id,
        )
    )


def instructor_slot_starts(
    *,
    assignment: InstructorBrand,
    window_start: dt.datetime,
    window_end: dt.datetime,
    session_minutes: int,
    interval_minutes: int | None = None,
    now: dt.datetime | None = None,
) -> list[int]:
    """The starts of :func:`instructor_slots`, in epoch microseconds: for rendering hundreds of slots at once."""
    return free_slot_starts(
        **_slot_inputs(
            assignment=assignment,
            window_start=window_start,
            window_end=window_end,
            session_minutes=session_minutes,
            interval_minutes=interval_minutes,
            now=now,
            exclude_booking_id=None,
        )
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
    and their order), with the booking limits. ``exclude_booking_id`` leaves
    out the booking being rescheduled, so moving a booking by less than its
    length does not collide with itself, and moving it within a full day does
    not count it twice.
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
        **_limit_counts(assignment=assignment, start=start, end=start, exclude_booking_id=exclude_booking_id),
        now=now,
        session_minutes=session_minutes,
        interval_minutes=interval_minutes,
    )


def instructor_series_refusals(
    *,
    assignment: InstructorBrand,
    starts: list[dt.datetime],
    session_minutes: int,
    interval_minutes: int | None = None,
    now: dt.datetime | None = None,
) -> list[str | None]:
    """Why each start of a series would not be booked (None where it would), in the order given.

    The answer is the one the occurrences would get if they were booked one
    after the other by separate requests: every start accepted is added to the
    busy time and to the limits' counts before the next one is asked. (Weekly
    occurrences are at least a week apart, while a buffer is at most a day and
    each occurrence falls in its own local day and ISO week, so in practice one
    occurrence never blocks another; the rule says what happens if it did.)

    The schedule, the busy time and the counts are read once for the whole
    span, so a series of 26 costs the same few queries as one booking.
    """
    if not starts:
        return []
    now = now or django_timezone.now()
    session = dt.timedelta(minutes=session_minutes)
    buffer = dt.timedelta(minutes=assignment.buffer_minutes)
    reach_start = min(starts) - buffer
    reach_end = max(starts) + session + buffer
    from_date, to_date = _local_dates(start=reach_start, end=reach_end, timezone=assignment.timezone)
    schedule = schedule_inputs(assignment=assignment, from_date=from_date, to_date=to_date)
    busy = busy_intervals(instructor_id=assignment.instructor_id, start=reach_start, end=reach_end)
    counts = _limit_counts(assignment=assignment, start=min(starts), end=max(starts))
    reasons: list[str | None] = []
    for start in starts:
        reach_start, reach_end = epoch_micros(start - buffer), epoch_micros(start + session + buffer)
        near = [(b_start, b_end) for b_start, b_end in busy if b_start < reach_end and b_end > reach_start]
        reason = slot_refusal(
            start=start,
            **schedule,
            busy=near,
            **counts,
            now=now,
            session_minutes=session_minutes,
            interval_minutes=interval_minutes,
        )
        reasons.append(reason)
        if reason is None:
            busy.append((epoch_micros(start), epoch_micros(start + session)))
            if counts:
                day_counts, week_counts = count_bookings([start], assignment.timezone)
                for day, number in day_counts.items():
                    counts["bookings_per_day"][day] = counts["bookings_per_day"].get(day, 0) + number
                for week, number in week_counts.items():
                    counts["bookings_per_week"][week] = counts["bookings_per_week"].get(week, 0) + number
    return reasons
