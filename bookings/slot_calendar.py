"""The week of free times shown on the booking and reschedule pages.

The times come from :func:`bookings.availability.instructor_slots`, the same
rules that accept a booking, so every time shown can be booked (until someone
else takes it). The page lays them out by the student's local day, one week
(Monday to Sunday in the student's timezone) at a time, and lets the student
move between the weeks the instructor's advance window allows.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.utils import timezone as django_timezone

from booking_project.formats import utc_iso
from scheduling.models import EventType, InstructorBrand
from scheduling.slots import Slot, student_date_window

from .availability import instructor_slots

DAYS_IN_WEEK = 7


@dataclass(frozen=True)
class SlotChoice:
    start: dt.datetime  # UTC
    local_start: dt.datetime  # in the student's timezone

    @property
    def value(self) -> str:
        """How the pages send the slot back: UTC ISO 8601."""
        return utc_iso(self.start)


@dataclass(frozen=True)
class CalendarDay:
    date: dt.date
    slots: list[SlotChoice]


@dataclass(frozen=True)
class WeekCalendar:
    timezone: str
    week_start: dt.date
    days: list[CalendarDay]
    previous_week: dt.date | None
    next_week: dt.date | None

    @property
    def has_slots(self) -> bool:
        return any(day.slots for day in self.days)

    @property
    def week_end(self) -> dt.date:
        return self.week_start + dt.timedelta(days=DAYS_IN_WEEK - 1)

    def offers(self, start: dt.datetime) -> bool:
        return any(slot.start == start for day in self.days for slot in day.slots)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _bookable_weeks(
    *, assignment: InstructorBrand, zone: zoneinfo.ZoneInfo, now: dt.datetime
) -> tuple[dt.date, dt.date]:
    """The first and last week (their Mondays, in the student's zone) that can hold a free time."""
    last_start = now + dt.timedelta(days=assignment.advance_booking_days)
    return monday_of(now.astimezone(zone).date()), monday_of(last_start.astimezone(zone).date())


def _slots(
    *,
    assignment: InstructorBrand,
    event_type: EventType,
    window: tuple[dt.datetime, dt.datetime],
    now: dt.datetime,
    exclude_booking_id: int | None,
) -> list[Slot]:
    return instructor_slots(
        assignment=assignment,
        window_start=window[0],
        window_end=window[1],
        session_minutes=event_type.duration_minutes,
        interval_minutes=event_type.slot_interval_minutes,
        now=now,
        exclude_booking_id=exclude_booking_id,
    )


def week_calendar(
    *,
    assignment: InstructorBrand,
    event_type: EventType,
    student_timezone: str,
    week: dt.date | None = None,
    exclude_booking_id: int | None = None,
    hide_start: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> WeekCalendar:
    """The free times of one week, by the student's local day.

    ``week`` is any date of the wanted week; it is kept inside the weeks the
    advance window allows. Without it the calendar opens on the first week
    that has a free time (the current week if it has one). ``exclude_booking_id``
    and ``hide_start`` serve a reschedule: the booking's own time does not
    block the others, and is not offered as a place to move to.
    """
    now = now or django_timezone.now()
    zone = zoneinfo.ZoneInfo(student_timezone)
    first_week, last_week = _bookable_weeks(assignment=assignment, zone=zone, now=now)

    def fetch(week_start: dt.date, days: int) -> list[Slot]:
        window = student_date_window(start_date=week_start, days=days, timezone=student_timezone)
        found = _slots(
            assignment=assignment,
            event_type=event_type,
            window=window,
            now=now,
            exclude_booking_id=exclude_booking_id,
        )
        return [slot for slot in found if slot.start != hide_start]

    if week is not None:
        week_start = min(max(monday_of(week), first_week), last_week)
        slots = fetch(week_start, DAYS_IN_WEEK)
    else:
        week_start = first_week
        slots = fetch(week_start, DAYS_IN_WEEK)
        if not slots and first_week < last_week:
            # Look once through the rest of the window for the first free time.
            later_start = first_week + dt.timedelta(days=DAYS_IN_WEEK)
            later = fetch(later_start, (last_week - later_start).days + DAYS_IN_WEEK)
            if later:
                week_start = monday_of(later[0].start.astimezone(zone).date())
                week_end = week_start + dt.timedelta(days=DAYS_IN_WEEK)
                slots = [slot for slot in later if slot.start.astimezone(zone).date() < week_end]

    by_day: dict[dt.date, list[SlotChoice]] = {
        week_start + dt.timedelta(days=offset): [] for offset in range(DAYS_IN_WEEK)
    }
    for slot in slots:
        local_start = slot.start.astimezone(zone)
        by_day.setdefault(local_start.date(), []).append(SlotChoice(start=slot.start, local_start=local_start))
    days = [CalendarDay(date=date, slots=choices) for date, choices in sorted(by_day.items())]
    return WeekCalendar(
        timezone=student_timezone,
        week_start=week_start,
        days=days,
        previous_week=week_start - dt.timedelta(days=DAYS_IN_WEEK) if week_start > first_week else None,
        next_week=week_start + dt.timedelta(days=DAYS_IN_WEEK) if week_start < last_week else None,
    )
