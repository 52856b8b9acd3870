"""Domain refusals of the booking services.

Each is a :class:`~booking_project.refusals.Refusal`: the API answers it with
its status (409 unless stated) and ``{"detail", "code", ...}``; pages and the
admin show its ``message``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from booking_project.refusals import Refusal
from scheduling.slots import (
    BEYOND_WINDOW,
    BUFFER,
    IN_PAST,
    LIMIT_REACHED,
    MINIMUM_NOTICE,
    OFF_GRID,
    OUTSIDE_AVAILABILITY,
    TAKEN,
)


class BookingConflict(Refusal):
    code = "conflict"


class SlotUnavailable(BookingConflict):
    """The time cannot be booked; ``reason`` says why (one of ``scheduling.slots.REFUSAL_ORDER``)."""

    code = "slot_unavailable"

    def __init__(self, reason: str, *, assignment: Any = None, message: str | None = None, **details: Any):
        super().__init__(message or slot_refusal_message(reason, assignment), reason=reason, **details)
        self.reason = reason


class SeriesUnavailable(SlotUnavailable):
    """Occurrences of a weekly series cannot be booked, so none was booked.

    ``conflicts`` lists each refused occurrence as ``{"start_at", "reason"}``;
    ``reason`` (the first conflict's) and the sentence describe the first one,
    so a client that only knows single bookings still reads a sensible answer.
    """

    def __init__(
        self, conflicts: list[dict[str, str]], *, count: int, assignment: Any = None, student_timezone: str = "UTC"
    ):
        first = conflicts[0]
        when = dt.datetime.fromisoformat(first["start_at"]).astimezone(zoneinfo.ZoneInfo(student_timezone))
        if len(conflicts) == count:
            summary = f"None of the {count} weekly sessions can be booked."
        else:
            summary = f"{len(conflicts)} of the {count} weekly sessions cannot be booked, so none was booked."
        message = (
            f"{summary} The first of them, {when:%A} {when.day} {when:%B %Y} at {when:%H:%M} ({student_timezone}): "
            f"{slot_refusal_message(first['reason'], assignment)}"
        )
        super().__init__(first["reason"], message=message, conflicts=conflicts)
        self.conflicts = conflicts


class InvalidTransition(BookingConflict):
    code = "invalid_transition"


class CutoffPassed(BookingConflict):
    code = "cutoff_passed"


class PaymentRequired(BookingConflict):
    code = "payment_required"


class IdempotencyKeyReused(BookingConflict):
    """The same ``Idempotency-Key`` came with a different body."""

    code = "idempotency_key_reused"
    http_status = 422


def _duration(minutes: int) -> str:
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day" + ("s" if days != 1 else "")
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" + ("s" if hours != 1 else "")
    return f"{minutes} minute" + ("s" if minutes != 1 else "")


def slot_refusal_message(reason: str, assignment: Any = None) -> str:
    """A sentence a student understands for a refusal ``reason``.

    ``assignment`` (the instructor's scheduling settings in the brand) fills in
    the numbers: the buffer, the notice, the advance window.
    """
    if reason == IN_PAST:
        return "This time has already passed. Please choose a time in the future."
    if reason == MINIMUM_NOTICE and assignment is not None:
        notice = _duration(assignment.minimum_notice_minutes)
        possessive = "'" if notice.endswith("s") else "'s"
        return f"Bookings need at least {notice}{possessive} notice. Please choose a later time."
    if reason == BEYOND_WINDOW and assignment is not None:
        window = _duration(assignment.advance_booking_days * 1440)
        return f"Bookings open at most {window} ahead. Please choose an earlier time."
    if reason == OUTSIDE_AVAILABILITY:
        return "The instructor is not available at this time. Please choose one of the times offered."
    if reason == OFF_GRID:
        return "Sessions start at set times. Please choose one of the times offered."
    if reason == LIMIT_REACHED and assignment is not None:
        per_day, per_week = assignment.max_bookings_per_day, assignment.max_bookings_per_week
        limits = []
        if per_day is not None:
            limits.append(f"{per_day} session{'' if per_day == 1 else 's'} a day")
        if per_week is not None:
            limits.append(
                f"{per_week} a week" if limits else f"{per_week} session{'' if per_week == 1 else 's'} a week"
            )
        if limits:
            return (
                f"The instructor takes at most {' and '.join(limits)} here, and that day or week is full. "
                "Please choose another day."
            )
    if reason == LIMIT_REACHED:
        return "The instructor's day or week is fully booked. Please choose another day."
    if reason == TAKEN:
        return "This time was just booked by someone else. Please choose another time."
    if reason == BUFFER and assignment is not None:
        buffer = _duration(assignment.buffer_minutes)
        return (
            f"This time is too close to another session: the instructor keeps {buffer} free between "
            "sessions. Please choose another time."
        )
    return "This time is not available. Please choose another time."
