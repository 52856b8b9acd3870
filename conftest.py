"""Project-wide test fixtures and the service markers.

Tests marked ``postgres`` or ``redis`` skip with the reason when the service
is not configured, except under ``REQUIRE_SERVICES=1`` (set by ``.ci/run`` for
its PostgreSQL + Redis pass), where they fail instead: CI never hides them.
"""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from rest_framework.test import APIClient

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def _service_missing(marker: str) -> str | None:
    if marker == "postgres" and settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    if marker == "redis" and not settings.CELERY_BROKER_URL.startswith("redis"):
        return "needs Redis: set CELERY_BROKER_URL=redis://..."
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis"):
        if item.get_closest_marker(marker):
            reason = _service_missing(marker)
            if reason:
                if REQUIRE_SERVICES:
                    pytest.fail(f"REQUIRE_SERVICES=1 but this test {reason}", pytrace=False)
                pytest.skip(reason)


@pytest.fixture
def brand(db):
    from scheduling.tests.factories import BrandFactory

    return BrandFactory(slug="acme", name="Acme Coaching")


@pytest.fixture
def other_brand(db):
    from scheduling.tests.factories import BrandFactory

    return BrandFactory(slug="globex", name="Globex Coaching")


def _client_for(brand, scope: str) -> APIClient:
    from scheduling.services import api_key_create

    _, key = api_key_create(brand=brand, scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def api(brand) -> APIClient:
    """A client with a secret key of ``brand``."""
    return _client_for(brand, "secret")


@pytest.fixture
def public_api(brand) -> APIClient:
    """A client with a public key of ``brand``."""
    return _client_for(brand, "public")


@pytest.fixture
def other_api(other_brand) -> APIClient:
    """A client with a secret key of ``other_brand``."""
    return _client_for(other_brand, "secret")


@pytest.fixture
def anonymous_api() -> APIClient:
    return APIClient()
