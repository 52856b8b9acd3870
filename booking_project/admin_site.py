"""The back office's admin site: a dashboard on the index, and business apps apart from system ones.

It is Django's default site (``booking_project.apps.BackOfficeAdminConfig``),
so every ``@admin.register`` lands here. Two things differ from the stock one:

- **The dashboard.** Apps add panels with :func:`dashboard_panel` (bookings:
  today's sessions and pending confirmations; notifications: failed
  messages; webhooks: failing subscriptions). The project
  knows no app; each panel reads only what its app owns, through that app's
  brand-scoped admin, so brand staff see their brands' numbers only.
- **Grouping.** The apps staff run the business with come first, in the
  order of a working day; accounts and django-celery-beat's schedules follow
  under "System", where they are not mistaken for business data.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib import admin
from django.http import HttpRequest
from django.utils.safestring import SafeString

BUSINESS_APPS = ("bookings", "scheduling", "notifications", "webhooks")


@dataclass
class DashboardRow:
    text: SafeString | str
    url: str = ""
    note: SafeString | str = ""


@dataclass
class DashboardPanel:
    """One box on the admin index: a number, a few rows and a link to all of them."""

    title: str
    count: int
    url: str
    link_text: str
    rows: list[DashboardRow] = field(default_factory=list)
    empty_text: str = "Nothing here."
    alert: bool = False
    """Shown in warning colours when ``count`` is not zero (failures, things waiting for staff)."""
    links: list[tuple[str, str]] = field(default_factory=list)
    """Further ``(text, url)`` links under the panel."""


class ReadOnlyAdminMixin:
    """Rows only the services and workers write (logs, attempts): viewable, never added, edited or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def first_and_count(queryset, limit: int) -> tuple[list, int]:
    """The first ``limit`` rows of ``queryset`` and how many there are: one query, two when there are more."""
    first = list(queryset[:limit])
    return first, (len(first) if len(first) < limit else queryset.count())


_PANELS: list[tuple[int, Callable[[HttpRequest], DashboardPanel | None]]] = []


def dashboard_panel(order: int):
    """Register ``function(request) -> DashboardPanel | None`` on the admin index, sorted by ``order``.

    Return None to show nothing (e.g. when the user may not view that model).
    Registering the same function again (a module imported twice) is a no-op.
    """

    def register(function: Callable[[HttpRequest], DashboardPanel | None]):
        name = f"{function.__module__}.{function.__qualname__}"
        if not any(f"{f.__module__}.{f.__qualname__}" == name for _, f in _PANELS):
            _PANELS.append((order, function))
            _PANELS.sort(key=lambda item: item[0])
        return function

    return register


def dashboard_panels(request: HttpRequest) -> list[DashboardPanel]:
    panels = (function(request) for _, function in _PANELS)
    return [panel for panel in panels if panel is not None]


class BackOfficeSite(admin.AdminSite):
    site_header = "Coaching back office"
    site_title = "Back office"
    index_title = "Today and this week"

    def get_app_list(self, request, app_label=None):
        apps = super().get_app_list(request, app_label)

        def position(app: dict) -> tuple[int, str]:
            label = app["app_label"]
            return (BUSINESS_APPS.index(label), "") if label in BUSINESS_APPS else (len(BUSINESS_APPS), app["name"])

        apps.sort(key=position)
        for app in apps:
            app["is_business"] = app["app_label"] in BUSINESS_APPS
        return apps

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "dashboard_panels": dashboard_panels(request)}
        return super().index(request, extra_context)
