"""Student pages at the site root (mounted last by ``booking_project.urls``).

``/booking/<uid>/...`` and ``/feeds/...`` come first, and a brand slug never matches a reserved
word (``scheduling.validators.RESERVED_BRAND_SLUGS``: admin, api, static,
booking...), so a brand can never shadow a path of the site itself.
"""

from django.urls import path, register_converter
from django.urls.converters import SlugConverter

from scheduling.validators import RESERVED_BRAND_SLUGS

from . import feeds
from .views import book, browse, manage


class BrandSlugConverter(SlugConverter):
    """A slug that is not one of the site's own top-level paths (no match, so routing goes on)."""

    def to_python(self, value: str) -> str:
        if value in RESERVED_BRAND_SLUGS:
            raise ValueError(f"'{value}' is a path of the site, not a brand.")
        return value


register_converter(BrandSlugConverter, "brand")

urlpatterns = [
    path("booking/<uuid:uid>/", manage.booking_page, name="booking-manage"),
    path("booking/<uuid:uid>/calendar.ics", manage.booking_calendar_file, name="booking-ics"),
    path("booking/<uuid:uid>/cancel/", manage.booking_cancel, name="booking-cancel"),
    path("booking/<uuid:uid>/reschedule/", manage.booking_reschedule, name="booking-reschedule"),
    path(
        "feeds/instructors/<int:instructor_id>/<slug:token>.ics",
        feeds.instructor_calendar_feed,
        name="instructor-calendar-feed",
    ),
    path("<brand:brand_slug>/", browse.brand_page, name="brand-page"),
    path("<brand:brand_slug>/<slug:instructor_slug>/", browse.instructor_page, name="instructor-page"),
    path(
        "<brand:brand_slug>/<slug:instructor_slug>/<slug:event_type_slug>/",
        book.book_page,
        name="book-page",
    ),
]
