"""``/api/bookings`` (and ``/{id}``), ``/api/bookings/availability``, ``/api/events``.

Routing does not depend on the order in which ``booking_project.urls`` mounts
the apps: a booking is addressed only by a number or a uid
(``BookingViewSet.lookup_value_regex``), so the fixed paths other apps own
under ``/api/bookings/`` never match it.
"""

from django.urls import re_path

from booking_project.api.routers import OptionalSlashRouter

from .views import AvailabilityView, BookingViewSet, EventViewSet

router = OptionalSlashRouter()
router.register("bookings", BookingViewSet, basename="booking")
router.register("events", EventViewSet, basename="event")

urlpatterns = [
    re_path(r"^bookings/availability/?$", AvailabilityView.as_view(), name="availability"),
    *router.urls,
]
