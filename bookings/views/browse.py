"""The brand page and an instructor's page: who teaches what, with a link to each calendar.

Every session type of a brand can be booked with every instructor of that
brand (session types belong to the brand), so a page lists the instructors
and, under each, the brand's active session types.
"""

from __future__ import annotations

from scheduling.models import EventType, Instructor

from .shared import assignment_or_404, brand_or_404, page_response


def brand_page(request, brand_slug: str):
    """``/<brand>/``: the brand's instructors and session types (three queries whatever their number)."""
    brand = brand_or_404(brand_slug)
    instructors = list(Instructor.objects.filter(assignments__brand=brand).order_by("name", "id"))
    event_types = list(EventType.objects.filter(brand=brand, is_active=True).order_by("name", "id"))
    return page_response(
        request,
        "bookings/brand.html",
        {"instructors": instructors, "event_types": event_types},
        brand=brand,
    )


def instructor_page(request, brand_slug: str, instructor_slug: str):
    """``/<brand>/<instructor>/``: one instructor's session types, the page an instructor's embed shows."""
    brand = brand_or_404(brand_slug)
    assignment = assignment_or_404(brand, instructor_slug)
    event_types = list(EventType.objects.filter(brand=brand, is_active=True).order_by("name", "id"))
    return page_response(
        request,
        "bookings/instructor.html",
        {"instructor": assignment.instructor, "assignment": assignment, "event_types": event_types},
        brand=brand,
    )
