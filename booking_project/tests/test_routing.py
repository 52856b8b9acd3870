"""Routing: every path has exactly one owner, so the order of the URL includes does not matter."""

from __future__ import annotations

import re

import pytest
from django.urls import URLResolver, get_resolver, resolve
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

UID = "3f2b8a52-64c1-4a8e-9a40-1b2c3d4e5f60"


def matching_patterns(patterns, path: str) -> int:
    """How many leaf URL patterns match ``path`` (not only the first one, as Django's resolver stops at)."""
    count = 0
    for pattern in patterns:
        match = pattern.pattern.match(path)
        if not match:
            continue
        if isinstance(pattern, URLResolver):
            count += matching_patterns(pattern.url_patterns, match[0])
        else:
            count += 1
    return count


def api_paths() -> list[str]:
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = [f"api/bookings/{UID}", f"api/bookings/{UID}/"]  # a booking is also addressed by its uid
    for template in schema["paths"]:
        concrete = re.sub(r"\{[^}]+\}", "7", template).lstrip("/")
        paths += [concrete, concrete.rstrip("/")]
    return sorted(set(paths))


@pytest.mark.parametrize("path", api_paths())
def test_every_api_path_has_exactly_one_pattern(path):
    count = matching_patterns(get_resolver().url_patterns, path)
    assert count == 1, f"{path} is matched by {count} patterns"


@pytest.mark.parametrize(
    ("path", "view_name"),
    [
        ("/api/bookings/availability", "availability"),
        ("/api/bookings/availability/settings/", "availability-settings"),
        ("/api/bookings/instructors", "booking-instructors"),
        ("/api/bookings/reminders/", "booking-reminders-process"),
        ("/api/bookings/42", "booking-detail"),
        (f"/api/bookings/{UID}/", "booking-detail"),
        ("/api/bookings", "booking-list"),
        (f"/api/bookings/series/{UID}", "booking-series"),
        ("/api/instructors/7/calendar-feed", "calendar-feed"),
        ("/api/instructors/7", "instructor-detail"),
    ],
)
def test_fixed_paths_under_bookings_reach_their_own_view(path, view_name):
    assert resolve(path).url_name == view_name
