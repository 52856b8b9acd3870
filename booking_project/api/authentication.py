"""Bearer API-key authentication.

``Authorization: Bearer <prefix>.<secret>``: the key is looked up by its
prefix and checked against its SHA-512 hash (djangorestframework-api-key), so
keys are never stored in clear. The authenticated ``request.auth`` is the
:class:`~scheduling.models.ApiKey`, whose brand scopes every query.

A successful authentication stamps the key's ``last_used_at`` for the back
office, at most once a minute per key (``scheduling.services.api_key_record_use``):
a key's first request in a minute costs one ``UPDATE`` more
(:data:`KEY_USE_QUERIES`), every other request nothing.
"""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from scheduling.models import ApiKey
from scheduling.services import api_key_record_use

KEY_USE_QUERIES = 1
"""Queries the last-use stamp adds to a key's first request in a minute (query budgets in tests name it)."""


class ApiKeyUser(AnonymousUser):
    """The request's user for key-authenticated calls: not a Django user, but authenticated."""

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not key.strip():
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        try:
            api_key = ApiKey.objects.get_from_key(key.strip())
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        api_key_record_use(api_key=api_key)
        return ApiKeyUser(), api_key

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) when no credentials were sent.
        return self.keyword


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents :class:`ApiKeyAuthentication` in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "BrandApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A brand API key: `Authorization: Bearer <key>`. `secret` keys may do everything for their "
                "brand. `public` keys are meant to be embedded in a web site: they read instructors' public "
                "fields, event types and availability, create bookings, and read, cancel or reschedule one "
                "booking only together with its token (`X-Booking-Token`)."
            ),
        }
