"""``/api/bookings`` (and ``/{id}``), ``/api/bookings/availability``, ``/api/bookings/series/{id}``,
``/api/events`` and ``/api/instructors/{id}/calendar-feed`` (a feed of bookings, so this app's).

Routing does not depend on the order in which ``booking_project.urls`` mounts
the apps: a booking is addressed only by a number or a uid
(``BookingViewSet.lookup_value_regex``), so the fixed paths other apps own
under ``/api/bookings/`` never match it.
"""

from django.urls import re_path

from booking_project.api.routers import OptionalSlashRouter

from .views import AvailabilityView, BookingSeriesView, BookingViewSet, CalendarFeedView, EventViewSet

router = OptionalSlashRouter()
router.register("bookings", BookingViewSet, basename="booking")
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    re_path(r"^bookings/availability/?$", AvailabilityView.as_view(), name="availability"),
    re_path(r"^bookings/series/(?P<series_id>[^/]+)/?$", BookingSeriesView.as_view(), name="booking-series"),
    re_path(r"^instructors/(?P<id>[0-9]+)/calendar-feed/?$", CalendarFeedView.as_view(), name="calendar-feed"),
    *router.urls,
]
