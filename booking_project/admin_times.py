"""Times in the back office: shown in the instructor's timezone, filtered by local days.

Bookings are stored in UTC, but a manager in Berlin thinks of "the 13:00
session", not "noon UTC". Every admin page shows a time in the zone of the
instructor it belongs to (a booking's ``instructor_timezone``), names the
zone, and keeps the UTC time at hand: in the hover title, or beside it where
there is room (the booking's own page).

"Today" and "this week" are local too: a booking is today's if it starts
today *in its own instructor's timezone*, so one list can hold instructors in
Berlin and New York and still mean what a manager expects. Weeks run Monday to
Sunday (ISO).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.utils import timezone as django_timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from scheduling.validators import available_timezones


def zone(name: str | None) -> zoneinfo.ZoneInfo:
    """The zone called ``name``; UTC for an empty or unknown name (rows written before a rule existed)."""
    if name and name in available_timezones():
        return zoneinfo.ZoneInfo(name)
    return zoneinfo.ZoneInfo("UTC")


def local_now(zone_name: str | None, now: dt.datetime | None = None) -> dt.datetime:
    return (now or django_timezone.now()).astimezone(zone(zone_name))


def local_today(zone_name: str | None, now: dt.datetime | None = None) -> dt.date:
    return local_now(zone_name, now).date()


def week_start(day: dt.date) -> dt.date:
    """The Monday of ``day``'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def local_midnight(day: dt.date, zone_name: str | None) -> dt.datetime:
    """The UTC instant at which ``day`` starts in ``zone_name`` (DST-correct)."""
    return dt.datetime.combine(day, dt.time(0), zone(zone_name)).astimezone(dt.UTC)


def local_days_range(first: dt.date, days: int, zone_name: str | None) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` in UTC covering ``days`` local days from ``first`` in ``zone_name``."""
    return local_midnight(first, zone_name), local_midnight(first + dt.timedelta(days=days), zone_name)


def _utc_label(value: dt.datetime) -> str:
    return f"{value.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def local_time(value: dt.datetime | None, zone_name: str | None, *, utc_beside: bool = False, year: bool = True):
    """``Wed 2 Dec 2026, 11:00`` in ``zone_name``, the zone named, UTC on hover (or beside).

    A ``<time>`` element carries the exact instant for machines and the UTC
    time as its title, so the list stays narrow and nothing is lost.
    """
    if value is None:
        return "-"
    local = value.astimezone(zone(zone_name))
    shown = f"{local:%a} {local.day} {local:%b}{f' {local:%Y}' if year else ''}, {local:%H:%M}"
    abbreviation = local.tzname() or ""
    zone_label = zone_name or "UTC"
    if abbreviation and abbreviation != zone_label and not abbreviation.startswith(("+", "-")):
        zone_label = f"{zone_label}, {abbreviation}"
    utc = _utc_label(value)
    if utc_beside:
        return format_html(
            '<time datetime="{}" title="{}">{}</time> <span class="bo-zone">({})</span>'
            ' <span class="bo-utc">· {}</span>',
            value.astimezone(dt.UTC).isoformat(),
            utc,
            shown,
            zone_label,
            utc,
        )
    return format_html(
        '<time datetime="{}" title="{}">{}</time> <span class="bo-zone">{}</span>',
        value.astimezone(dt.UTC).isoformat(),
        utc,
        shown,
        zone_label,
    )


def local_hours(start: dt.datetime, end: dt.datetime, zone_name: str | None) -> SafeString:
    """``11:00–12:00`` in ``zone_name``, UTC on hover: a session inside a day already named."""
    local_zone = zone(zone_name)
    return format_html(
        '<time datetime="{}" title="{} – {}">{}–{}</time>',
        start.astimezone(dt.UTC).isoformat(),
        _utc_label(start),
        f"{end.astimezone(dt.UTC):%H:%M} UTC",
        f"{start.astimezone(local_zone):%H:%M}",
        f"{end.astimezone(local_zone):%H:%M}",
    )


# --- local day filters ------------------------------------------------------------------------------


def local_window_q(*, field: str, zone_field: str, zones: Iterable[str], first: dt.date, days: int) -> Q:
    """Rows whose ``field`` falls on the local days ``[first, first + days)`` of their own ``zone_field``.

    One ``(zone = name AND start in [local midnight, local midnight))`` term
    per zone present, so the database does the filtering with the stored UTC
    times and the index on them.
    """
    condition = Q(pk__in=[])
    for zone_name in zones:
        start, end = local_days_range(first, days, zone_name)
        condition |= Q(**{zone_field: zone_name, f"{field}__gte": start, f"{field}__lt": end})
    return condition


def zones_in(queryset: QuerySet, zone_field: str) -> list[str]:
    """The distinct timezone names of ``queryset`` (one small query)."""
    return list(queryset.order_by().values_list(zone_field, flat=True).distinct())


def local_window(name: str, today: dt.date) -> tuple[dt.date, int]:
    """``(first local day, number of days)`` of ``today``, ``tomorrow``, ``this_week`` or ``next_week``."""
    if name == "today":
        return today, 1
    if name == "tomorrow":
        return today + dt.timedelta(days=1), 1
    if name == "this_week":
        return week_start(today), 7
    if name == "next_week":
        return week_start(today) + dt.timedelta(days=7), 7
    raise ValueError(name)


class LocalDateFilter(admin.SimpleListFilter):
    """Today, tomorrow, this week, next week, upcoming or past, each in the row's own local time.

    The model admin names the time and its zone: ``local_date_field`` (e.g.
    ``"start_at"``) and ``local_zone_field`` (e.g. ``"instructor_timezone"``).
    """

    title = "when (local time)"
    parameter_name = "when"
    CHOICES = (
        ("today", "Today"),
        ("tomorrow", "Tomorrow"),
        ("this_week", "This week"),
        ("next_week", "Next week"),
        ("upcoming", "Upcoming"),
        ("past", "Past"),
    )

    def lookups(self, request, model_admin):
        return self.CHOICES

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        field = self.model_admin.local_date_field
        if value == "upcoming":
            return queryset.filter(**{f"{field}__gte": django_timezone.now()})
        if value == "past":
            return queryset.filter(**{f"{field}__lt": django_timezone.now()})
        if value not in dict(self.CHOICES):
            return queryset.none()
        zone_field = self.model_admin.local_zone_field
        condition = Q(pk__in=[])
        for zone_name in zones_in(queryset, zone_field):
            first, days = local_window(value, local_today(zone_name))
            condition |= local_window_q(field=field, zone_field=zone_field, zones=[zone_name], first=first, days=days)
        return queryset.filter(condition)

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)
