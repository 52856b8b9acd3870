"""Template helpers of the back office's calendars: times in a given instructor's timezone."""

from __future__ import annotations

import datetime as dt

from django import template

from booking_project.admin_times import local_hours as _local_hours
from booking_project.admin_times import zone
from booking_project.formats import utc_iso as _utc_iso

register = template.Library()


@register.simple_tag
def local_hours(start: dt.datetime, end: dt.datetime, zone_name: str):
    """``11:00–12:00`` in ``zone_name``, UTC on hover."""
    return _local_hours(start, end, zone_name)


@register.filter
def local_clock(value: dt.datetime, zone_name: str) -> str:
    """``11:00``: the local wall clock of ``value`` in ``zone_name``."""
    return f"{value.astimezone(zone(zone_name)):%H:%M}"


@register.filter
def utc_iso(value: dt.datetime) -> str:
    """``2026-12-02T10:00:00Z``: an instant safe to put in a URL or a form value."""
    return _utc_iso(value)
