"""What every student page shares: finding the brand's objects, the calendar block, and the headers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from scheduling.embedding import allowed_origins, frame_ancestors
from scheduling.models import Brand, EventType, InstructorBrand

from ..forms import CalendarQueryForm, timezone_choices
from ..slot_calendar import WeekCalendar, week_calendar

# Student pages load nothing from anywhere else: scripts, styles and images are this site's own.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'"
)


def page_response(
    request: HttpRequest, template: str, context: dict, *, brand: Brand | None, status: int = 200
) -> HttpResponse:
    """Render a student page with its security headers.

    Pages of a brand that lists embed origins may be framed by those sites
    (``frame-ancestors 'self' <origins>``, and no ``X-Frame-Options: DENY``);
    every other page refuses framing (``frame-ancestors 'none'`` plus the
    middleware's ``DENY``).
    """
    response = render(request, template, {"brand": brand, **context}, status=status)
    origins = allowed_origins(brand.embed_origins) if brand is not None else []
    response["Content-Security-Policy"] = f"{CONTENT_SECURITY_POLICY}; frame-ancestors {frame_ancestors(origins)}"
    if origins:
        response.xframe_options_exempt = True
    return response


# --- the brand's objects, by slug; anything unknown or inactive is a plain 404 ----------


def brand_or_404(brand_slug: str) -> Brand:
    brand = Brand.objects.filter(slug=brand_slug).first()
    if brand is None:
        raise Http404("Unknown brand.")
    return brand


def assignment_or_404(brand: Brand, instructor_slug: str) -> InstructorBrand:
    """The instructor's assignment to ``brand``: an instructor of another brand is unknown here."""
    assignment = (
        InstructorBrand.objects.select_related("instructor")
        .filter(brand=brand, instructor__slug=instructor_slug)
        .first()
    )
    if assignment is None:
        raise Http404("Unknown instructor.")
    return assignment


def event_type_or_404(brand: Brand, event_type_slug: str) -> EventType:
    event_type = EventType.objects.filter(brand=brand, slug=event_type_slug, is_active=True).first()
    if event_type is None:
        raise Http404("Unknown session type.")
    return event_type


# --- the calendar block: timezone select, week navigation, free times -----------------


@dataclass
class CalendarView:
    """Everything the calendar partial shows, and the status the page answers with."""

    query: CalendarQueryForm
    calendar: WeekCalendar
    timezone_choices: list[tuple[str, str]]
    keep: dict[str, str]
    detect_timezone: bool

    @property
    def status(self) -> int:
        return 400 if self.query.errors else 200

    @property
    def keep_query(self) -> str:
        """The parameters every calendar link carries (timezone, and the booking's token)."""
        return urlencode(self.keep)

    @property
    def timezone(self) -> str:
        return self.calendar.timezone


def calendar_view(
    request: HttpRequest,
    *,
    assignment: InstructorBrand,
    event_type: EventType,
    default_timezone: str,
    timezone: str | None = None,
    week: dt.date | None = None,
    keep: dict[str, str] | None = None,
    exclude_booking_id: int | None = None,
    hide_start: dt.datetime | None = None,
) -> CalendarView:
    """The calendar as the address asks (``?tz=&week=``), unless the caller decides ``timezone``/``week``.

    An unknown timezone or a malformed week is reported on the page (400) and
    the calendar falls back to the default. Without ``tz`` in the address the
    page asks the browser's script to detect the student's zone.
    """
    query = CalendarQueryForm(request.GET)
    query.is_valid()
    chosen_timezone = timezone or query.cleaned_data.get("tz") or default_timezone
    calendar = week_calendar(
        assignment=assignment,
        event_type=event_type,
        student_timezone=chosen_timezone,
        week=week or query.cleaned_data.get("week"),
        exclude_booking_id=exclude_booking_id,
        hide_start=hide_start,
    )
    return CalendarView(
        query=query,
        calendar=calendar,
        timezone_choices=timezone_choices(chosen_timezone),
        keep={**(keep or {}), "tz": chosen_timezone},
        detect_timezone=request.method == "GET" and not request.GET.get("tz"),
    )
