"""Cron endpoints: one pass over due reminders, for deployments without celery-beat.

``POST /api/bookings/reminders`` and ``POST /api/workers/process-booking-reminders``
are the same view. With ``BOOKING_REMINDER_CRON_SECRET`` set, only the header
``x-booking-cron-secret`` authorises (constant-time compare; 401 when wrong or
missing) and the pass covers every brand. With the setting empty, a ``secret``
API key is required instead (public key 403, none 401) and the pass covers the
key's brand only, so one tenant's key never acts on another's reminders.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions, permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from booking_project.api.authentication import ApiKeyAuthentication
from booking_project.api.permissions import SecretScope, resolve_brand
from notifications.reminders import reminders_process_due

CRON_SECRET_HEADER = "x-booking-cron-secret"


class CronCaller(AnonymousUser):
    """The request's user when the cron secret authorised it: no brand, no Django user."""

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True


class CronSecret:
    """``request.auth`` for a call authorised by the cron secret."""


def _digest(value: str) -> bytes:
    # Hashing first makes the comparison constant-time in the length too.
    return hashlib.sha256(value.encode("utf-8")).digest()


class CronSecretAuthentication(authentication.BaseAuthentication):
    """``x-booking-cron-secret`` against ``BOOKING_REMINDER_CRON_SECRET``.

    When the setting is empty this authenticator steps aside (returns None) so
    the API key decides; an empty setting never matches an empty header.
    """

    def authenticate(self, request):
        expected = settings.BOOKING_REMINDER_CRON_SECRET
        if not expected:
            return None
        given = request.headers.get(CRON_SECRET_HEADER, "")
        if not given or not hmac.compare_digest(_digest(given), _digest(expected)):
            raise exceptions.AuthenticationFailed(f"Send the '{CRON_SECRET_HEADER}' header with the cron secret.")
        return CronCaller(), CronSecret()

    def authenticate_header(self, request) -> str:
        # Non-empty, so DRF answers 401 (not 403) when no credentials were sent.
        return "X-Booking-Cron-Secret" if settings.BOOKING_REMINDER_CRON_SECRET else "Bearer"


class CronSecretOrSecretKey(permissions.BasePermission):
    """The cron secret, or (only when no cron secret is configured) a secret key of a brand."""

    message = "This endpoint needs the cron secret or a secret API key."

    def has_permission(self, request, view) -> bool:
        if isinstance(request.auth, CronSecret):
            return True
        return SecretScope().has_permission(request, view)


class CronSecretScheme(OpenApiAuthenticationExtension):
    target_class = "notifications.api.views.CronSecretAuthentication"
    name = "ReminderCronSecret"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": CRON_SECRET_HEADER,
            "description": "The value of `BOOKING_REMINDER_CRON_SECRET` (when that setting is not empty).",
        }


class ReminderPassSerializer(serializers.Serializer):
    processed = serializers.IntegerField(help_text="Due reminders this pass handled (sent + skipped + failed).")
    sent = serializers.IntegerField(help_text="Handed to the notification outbox for delivery.")
    skipped = serializers.IntegerField(
        help_text="Not sent, with the reason on the reminder (e.g. booking not confirmed)."
    )
    failed = serializers.IntegerField(help_text="Could not be queued; retried by the next pass.")


class ProcessRemindersView(APIView):
    authentication_classes = [
        CronSecretAuthentication,
        ApiKeyAuthentication,
        authentication.SessionAuthentication,
    ]
    permission_classes = [CronSecretOrSecretKey]
    throttle_classes: list = []

    @extend_schema(
        summary="Run one pass over due reminders",
        description=(
            "Sends the reminders that are due now, exactly once even alongside celery-beat and other calls. "
            f"Authorised by the `{CRON_SECRET_HEADER}` header when `BOOKING_REMINDER_CRON_SECRET` is set "
            "(401 when wrong or missing; covers all brands); otherwise by a `secret` API key "
            "(public key 403, none 401; covers the key's brand)."
        ),
        tags=["workers"],
        request=None,
        parameters=[
            OpenApiParameter(
                CRON_SECRET_HEADER,
                OpenApiTypes.STR,
                location=OpenApiParameter.HEADER,
                required=False,
                description="The cron secret (`BOOKING_REMINDER_CRON_SECRET`).",
            )
        ],
        responses={
            200: ReminderPassSerializer,
            401: OpenApiResponse(description="Cron secret wrong or missing (or, without one configured, no API key)."),
            403: OpenApiResponse(description="No cron secret configured and the API key is not a secret key."),
        },
    )
    def post(self, request, *args, **kwargs):
        brand_id = None
        if not isinstance(request.auth, CronSecret):
            brand_id = resolve_brand(request).id
        counts = reminders_process_due(brand_id=brand_id)
        return Response(ReminderPassSerializer(counts).data)
