"""Root URLs: the landing page, the admin, the API with its schema and docs, the student pages.

Every app owns its API paths in ``<app>/api/urls.py``; none of them overlap,
so the order below does not matter (``booking_project/tests`` checks that each
API path is matched by exactly one pattern). API paths answer with and without
a trailing slash, with no redirect (``booking_project.api.routers``).
"""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

api_patterns = [
    path("", include("scheduling.api.urls")),
    path("", include("bookings.api.urls")),
    path("", include("notifications.api.urls")),
    path("", include("webhooks.api.urls")),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    re_path(r"^api/schema/?$", SpectacularAPIView.as_view(), name="api-schema"),
    re_path(r"^api/docs/?$", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/", include(api_patterns)),
    path("", include("bookings.urls")),
]
if settings.BENCH_ENDPOINTS:
    # `make bench` only: floor endpoints to measure the API against (bench/floor.py).
    urlpatterns.insert(0, path("bench/", include("bench.floor")))
