"""``/api/instructors``, ``/api/event-types``, ``/api/bookings/instructors`` and
``/api/bookings/availability/settings``.

``PUT /api/bookings/availability`` is this app's too, but shares its path with
the free-slots read, so ``bookings.api.urls`` serves both (see
``AvailabilityScheduleView``).
"""

from django.urls import re_path

from booking_project.api.routers import OptionalSlashRouter

from .views import AvailabilitySettingsView, EventTypeViewSet, InstructorViewSet

router = OptionalSlashRouter()
router.register("instructors", InstructorViewSet, basename="instructor")
router.register("event-types", EventTypeViewSet, basename="event-type")

urlpatterns = [
    re_path(r"^bookings/instructors/?$", InstructorViewSet.as_view({"get": "list"}), name="booking-instructors"),
    re_path(r"^bookings/availability/settings/?$", AvailabilitySettingsView.as_view(), name="availability-settings"),
    *router.urls,
]
