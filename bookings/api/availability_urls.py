"""Fixed paths under ``/api/bookings/`` (included before the bookings router's ``{id}``)."""

from django.urls import re_path

from scheduling.api.views import InstructorViewSet

from .availability_views import AvailabilitySettingsView, AvailabilityView

urlpatterns = [
    re_path(
        r"^bookings/instructors/?$",
        InstructorViewSet.as_view({"get": "list"}),
        name="booking-instructors",
    ),
    re_path(r"^bookings/availability/settings/?$", AvailabilitySettingsView.as_view(), name="availability-settings"),
    re_path(r"^bookings/availability/?$", AvailabilityView.as_view(), name="availability"),
]
