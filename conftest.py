"""Project-wide test fixtures and the service markers.

Tests marked ``postgres`` or ``redis`` skip with the reason when the service
is not configured, except under ``REQUIRE_SERVICES=1`` (set by ``.ci/run`` for
its PostgreSQL + Redis pass), where they fail instead: CI never hides them.
Tests marked ``browser`` drive Debian's Chromium (``devtools.browser``) and
follow the same rule when Chromium, Playwright or axe-core is missing.
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
    if marker == "browser":
        from devtools.browser import missing_reason

        return missing_reason()
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "redis", "browser"):
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


# --- the browser (``browser`` marker): one Chromium per test session, a fresh context per test ---------


@pytest.fixture(scope="session")
def chromium():
    from devtools.browser import launched_chromium

    with launched_chromium() as browser:
        yield browser


@pytest.fixture
def browser_page(chromium, live_server):
    """Open pages of the live server: ``browser_page(timezone_id=..., viewport=...)`` gives a new page.

    Each call gets its own browser context (cookies, timezone), closed after
    the test. Relative URLs go to ``live_server``.
    """
    contexts = []

    def open_page(*, timezone_id: str = "UTC", viewport: dict | None = None, **options):
        context = chromium.new_context(
            base_url=live_server.url,
            timezone_id=timezone_id,
            locale="en-GB",
            viewport=viewport or {"width": 1100, "height": 900},
            accept_downloads=True,
            **options,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
