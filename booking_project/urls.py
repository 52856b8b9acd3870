"""Root URLs: admin, API, schema and docs, student pages.

API paths answer with and without a trailing slash (no redirect, POST
included): app URL modules use ``/?$`` patterns and routers built with
``booking_project.routers.OptionalSlashRouter``.
"""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

api_patterns = [
    # Reminder cron endpoints first: /api/bookings/reminders is not a booking id.
    path("", include("notifications.api.urls")),
    # bookings.api.urls comes first: it owns /api/bookings/... including
    # /api/bookings/instructors and /api/bookings/availability.
    path("", include("bookings.api.urls")),
    path("", include("scheduling.api.urls")),
]

urlpatterns = [
    path("admin/", admin.site.urls),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="api-schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(api_patterns)),
    path("", include("bookings.urls")),
]
