"""Root URLs: admin, API (with and without trailing slashes), schema, pages."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
