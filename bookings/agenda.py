"""The back office's calendars: days of sessions and free time per instructor, in local time.

A column is one instructor in one brand (an assignment): its bookings in
that brand and its free, bookable time, placed on the days of the
instructor's own timezone. The week calendar shows one column (one
instructor) or one per instructor of a brand; the "today" page lists the
sessions of one local day across brands.

Queries do not grow with the number of bookings: one query reads every
column's bookings; free time costs the slot engine's two queries per
column (``bookings.availability.instructor_slots``: weekly ranges and
overrides in the window, busy time of every brand).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import QuerySet
from django.utils import timezone as django_timezone

from booking_project.admin_times import local_days_range, local_today, zone
from scheduling.models import EventType, InstructorBrand

from .availability import instructor_slots
from .models import Booking, BookingStatus

DEFAULT_SESSION_MINUTES = 60


@dataclass
class FreeTime:
    """Consecutive bookable slots merged into one stretch; ``starts`` are the slots' start times (UTC)."""

    start: dt.datetime
    end: dt.datetime
    starts: list[dt.datetime] = field(default_factory=list)


@dataclass
class Day:
    date: dt.date
    is_today: bool
    bookings: list[Booking] = field(default_factory=list)
    free: list[FreeTime] = field(default_factory=list)


@dataclass
class Column:
    assignment: InstructorBrand
    days: list[Day]

    @property
    def timezone(self) -> str:
        return self.assignment.timezone


@dataclass
class Agenda:
    first_day: dt.date
    dates: list[dt.date]
    columns: list[Column]
    session_minutes: int
    event_type: EventType | None

    def rows(self) -> list[tuple[dt.date, list[tuple[Column, Day]]]]:
        """Day by day, each column with its day (the brand calendar: a row per day, a cell per instructor)."""
        return [
            (date, [(column, column.days[index]) for column in self.columns]) for index, date in enumerate(self.dates)
        ]


def merge_slots(slots: Iterable, *, into: dict[dt.date, list[FreeTime]], timezone: str) -> None:
    """Merge touching or overlapping slots into stretches of free time, filed under their local start date."""
    local_zone = zone(timezone)
    current: FreeTime | None = None
    for slot in slots:
        if current is not None and slot.start <= current.end:
            current.end = max(current.end, slot.end)
            current.starts.append(slot.start)
            continue
        current = FreeTime(start=slot.start, end=slot.end, starts=[slot.start])
        into[slot.start.astimezone(local_zone).date()].append(current)


def agenda(
    *,
    assignments: Sequence[InstructorBrand],
    bookings: QuerySet[Booking],
    first_day: dt.date,
    days: int = 7,
    event_type: EventType | None = None,
    show_cancelled: bool = True,
    now: dt.datetime | None = None,
) -> Agenda:
    """``days`` local days from ``first_day`` for each assignment: its bookings and its free time.

    ``bookings`` is the queryset the viewer may see (the admin's brand-scoped
    one); each column shows those of its instructor in its brand. Free time
    is what a student could book now for ``event_type`` (its length and grid;
    60-minute sessions without one), so past time and the minimum notice are
    never free.
    """
    now = now or django_timezone.now()
    session_minutes = event_type.duration_minutes if event_type else DEFAULT_SESSION_MINUTES
    interval_minutes = event_type.slot_interval_minutes if event_type else None
    dates = [first_day + dt.timedelta(days=offset) for offset in range(days)]
    windows = {a.pk: local_days_range(first_day, days, a.timezone) for a in assignments}

    by_column: dict[tuple[int, int], list[Booking]] = defaultdict(list)
    if assignments:
        earliest = min(start for start, _ in windows.values())
        latest = max(end for _, end in windows.values())
        rows = bookings.filter(
            instructor_id__in={a.instructor_id for a in assignments},
            brand_id__in={a.brand_id for a in assignments},
            start_at__lt=latest,
            end_at__gt=earliest,
        ).select_related("event_type")
        if not show_cancelled:
            rows = rows.exclude(status=BookingStatus.CANCELLED)
        for booking in rows.order_by("start_at", "id"):
            by_column[(booking.instructor_id, booking.brand_id)].append(booking)

    columns = []
    for assignment in assignments:
        local_zone = zone(assignment.timezone)
        today = local_today(assignment.timezone, now)
        window_start, window_end = windows[assignment.pk]
        booked: dict[dt.date, list[Booking]] = defaultdict(list)
        for booking in by_column[(assignment.instructor_id, assignment.brand_id)]:
            if window_start <= booking.start_at < window_end:
                booked[booking.start_at.astimezone(local_zone).date()].append(booking)
        free: dict[dt.date, list[FreeTime]] = defaultdict(list)
        if window_end > now:
            slots = instructor_slots(
                assignment=assignment,
                window_start=max(window_start, now),
                window_end=window_end,
                session_minutes=session_minutes,
                interval_minutes=interval_minutes,
                now=now,
            )
            merge_slots(slots, into=free, timezone=assignment.timezone)
        columns.append(
            Column(
                assignment=assignment,
                days=[Day(date=d, is_today=d == today, bookings=booked[d], free=free[d]) for d in dates],
            )
        )
    return Agenda(
        first_day=first_day, dates=dates, columns=columns, session_minutes=session_minutes, event_type=event_type
    )


def day_sessions(*, bookings: QuerySet[Booking], date: dt.date | None = None, now: dt.datetime | None = None):
    """The sessions of one local day, each on the day of its own instructor's timezone, sorted by time.

    ``date`` None means today, which is each instructor's own today (near
    midnight Berlin's today is already New York's tomorrow). One query: the
    candidates are read for the UTC days around it and kept by local date.
    """
    now = now or django_timezone.now()
    around = date or now.astimezone(dt.UTC).date()
    candidates = bookings.filter(
        start_at__gte=dt.datetime.combine(around - dt.timedelta(days=1), dt.time(0), dt.UTC),
        start_at__lt=dt.datetime.combine(around + dt.timedelta(days=2), dt.time(0), dt.UTC),
    ).select_related("instructor", "event_type", "brand")
    sessions = []
    for booking in candidates.order_by("start_at", "id"):
        wanted = date or local_today(booking.instructor_timezone, now)
        if booking.start_at.astimezone(zone(booking.instructor_timezone)).date() == wanted:
            sessions.append(booking)
    return sessions
