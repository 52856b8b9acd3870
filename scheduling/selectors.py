"""Reads for tenancy and scheduling: brand-scoped lookups and the slot engine's inputs.

The engine (``scheduling.slots``) takes plain values; ``schedule_inputs`` turns
one assignment's stored schedule into them with a constant number of queries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import (
    BooleanField,
    DateField,
    F,
    FilteredRelation,
    IntegerField,
    JSONField,
    Q,
    QuerySet,
    TimeField,
    Value,
)
from django.http import Http404

from .models import (
    Brand,
    DateOverride,
    EventType,
    Instructor,
    InstructorBrand,
    WeeklyAvailability,
    override_time_ranges,
)


class NotInBrand(Http404):
    """An object that does not exist, or belongs to another brand: both are a plain 404.

    A subclass of ``Http404`` so that pages get Django's 404 and the API gets
    DRF's; ``default_code`` is what the API's error handler reports as ``code``.
    """

    default_code = "not_found"


def _as_id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def assignment_for(*, brand: Brand, instructor_id: Any) -> InstructorBrand:
    """The instructor's assignment to ``brand``; 404 for unknown or other-brand instructors."""
    number = _as_id(instructor_id)
    assignment = (
        InstructorBrand.objects.select_related("instructor").filter(brand=brand, instructor_id=number).first()
        if number
        else None
    )
    if assignment is None:
        raise NotInBrand(f"Instructor {instructor_id} is not assigned to this brand.")
    return assignment


def event_type_for(*, brand: Brand, event_type_id: Any) -> EventType:
    """One of the brand's event types; 404 for unknown or other-brand ones."""
    number = _as_id(event_type_id)
    event_type = EventType.objects.filter(brand=brand, pk=number).first() if number else None
    if event_type is None:
        raise NotInBrand(f"Event type {event_type_id} does not exist in this brand.")
    return event_type


def brand_instructors(*, brand: Brand) -> QuerySet[Instructor]:
    """The brand's instructors, each annotated with ``timezone`` (its assignment's, in this brand).

    A ``FilteredRelation`` joins exactly the one assignment row per instructor,
    so the list costs one query whatever the number of brands an instructor has.
    """
    return (
        Instructor.objects.annotate(this_brand=FilteredRelation("assignments", condition=Q(assignments__brand=brand)))
        .filter(this_brand__isnull=False)
        .annotate(timezone=F("this_brand__timezone"))
        .order_by("name", "id")
    )


def brand_event_types(*, brand: Brand) -> QuerySet[EventType]:
    return EventType.objects.filter(brand=brand).order_by("name", "id")


def schedule_inputs(
    *, assignment: InstructorBrand, from_date: dt.date | None = None, to_date: dt.date | None = None
) -> dict[str, Any]:
    """The assignment's schedule in the slot engine's plain shapes.

    Returns the keyword arguments ``weekly``, ``overrides``, ``timezone``,
    ``buffer_minutes``, ``minimum_notice_minutes``, ``advance_booking_days``,
    ``max_bookings_per_day`` and ``max_bookings_per_week`` of
    ``scheduling.slots.compute_slots`` (the limits' counts come from the
    bookings side, like the busy intervals). Weekly ranges and overrides are
    read in one query (``UNION ALL``, plain values, no model instances)
    whatever their number; ``from_date`` / ``to_date`` (local dates,
    inclusive) restrict the overrides to a window so that years of past
    overrides are never read.
    """
    weekly_rows = (
        WeeklyAvailability.objects.filter(assignment_id=assignment.pk)
        .annotate(
            on_date=Value(None, output_field=DateField()),
            date_ranges=Value(None, output_field=JSONField()),
            date_off=Value(None, output_field=BooleanField()),
        )
        .order_by()
        .values_list("weekday", "start_time", "end_time", "on_date", "date_ranges", "date_off")
    )
    override_rows = DateOverride.objects.filter(assignment_id=assignment.pk)
    if from_date is not None:
        override_rows = override_rows.filter(date__gte=from_date)
    if to_date is not None:
        override_rows = override_rows.filter(date__lte=to_date)
    override_rows = (
        override_rows.annotate(
            no_weekday=Value(None, output_field=IntegerField()),
            no_start=Value(None, output_field=TimeField()),
            no_end=Value(None, output_field=TimeField()),
        )
        .order_by()
        .values_list("no_weekday", "no_start", "no_end", "date", "ranges", "unavailable")
    )

    weekly: dict[int, list[tuple[dt.time, dt.time]]] = {}
    overrides: dict[dt.date, list[tuple[dt.time, dt.time]]] = {}
    for weekday, start, end, date, ranges, unavailable in weekly_rows.union(override_rows, all=True):
        if date is None:
            weekly.setdefault(weekday, []).append((start, end))
        else:
            overrides[date] = override_time_ranges(unavailable=unavailable, ranges=ranges)
    for ranges in weekly.values():
        ranges.sort()
    return {
        "weekly": weekly,
        "overrides": overrides,
        "timezone": assignment.timezone,
        "buffer_minutes": assignment.buffer_minutes,
        "minimum_notice_minutes": assignment.minimum_notice_minutes,
        "advance_booking_days": assignment.advance_booking_days,
        "max_bookings_per_day": assignment.max_bookings_per_day,
        "max_bookings_per_week": assignment.max_bookings_per_week,
    }
