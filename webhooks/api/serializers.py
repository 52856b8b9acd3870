"""Webhook API shapes: subscriptions (input and output) and deliveries with their attempts.

Input serializers check types and lengths only; the rules (known event
types, the URL guard, the secret's form) are the services' and reach the
client as field errors through the exception handler.
"""

from __future__ import annotations

from django.utils.text import Truncator
from rest_framework import serializers

from booking_project.api.fields import AwareDateTimeField, StringOrListField
from bookings.signals import EVENT_NAMES
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from webhooks.services import TEST_EVENT

EVENT_TYPES_HELP = "Event names to receive, any of: " + ", ".join(EVENT_NAMES) + "."
RESPONSE_EXCERPT_CHARS = 1000

SUBSCRIPTION_FIELDS = [
    "id",
    "url",
    "event_types",
    "description",
    "is_active",
    "disabled_reason",
    "disabled_at",
    "consecutive_failures",
    "last_success_at",
    "last_failure_at",
    "previous_secret_expires_at",
    "created_at",
    "updated_at",
]


class SubscriptionSerializer(serializers.ModelSerializer):
    """A subscription as listed: everything but the secret."""

    event_types = serializers.ListField(child=serializers.CharField(), read_only=True, help_text=EVENT_TYPES_HELP)
    disabled_at = AwareDateTimeField(read_only=True)
    last_success_at = AwareDateTimeField(read_only=True)
    last_failure_at = AwareDateTimeField(read_only=True)
    previous_secret_expires_at = AwareDateTimeField(
        read_only=True, help_text="Until then each delivery is also signed with the secret before the last rotation."
    )
    created_at = AwareDateTimeField(read_only=True)
    updated_at = AwareDateTimeField(read_only=True)

    class Meta:
        model = WebhookSubscription
        fields = SUBSCRIPTION_FIELDS
        read_only_fields = fields


class SubscriptionDetailSerializer(SubscriptionSerializer):
    """One subscription, with its signing secret."""

    class Meta(SubscriptionSerializer.Meta):
        fields = [*SUBSCRIPTION_FIELDS[:5], "secret", *SUBSCRIPTION_FIELDS[5:]]
        read_only_fields = fields


class SubscriptionCreateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, help_text="An http(s) URL on a public address.")
    event_types = StringOrListField(child=serializers.CharField(max_length=64), help_text=EVENT_TYPES_HELP)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    secret = serializers.CharField(
        max_length=120, required=False, help_text="whsec_ + base64 of 24 to 64 bytes; generated when left out."
    )


class SubscriptionUpdateSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=2000, required=False)
    event_types = StringOrListField(
        child=serializers.CharField(max_length=64), required=False, help_text=EVENT_TYPES_HELP
    )
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    is_active = serializers.BooleanField(
        required=False, help_text="true re-enables a disabled subscription and resets its failure count."
    )
    secret = serializers.CharField(required=False, write_only=True, help_text="Not changeable here: see rotate-secret.")

    def validate_secret(self, value):
        raise serializers.ValidationError("Change the secret with POST /api/webhooks/{id}/rotate-secret.")

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["Nothing to change."]})
        return attrs


class RotateSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(
        max_length=120, required=False, help_text="The new secret (whsec_ + base64); generated when left out."
    )


class AttemptSerializer(serializers.ModelSerializer):
    response_excerpt = serializers.SerializerMethodField(
        help_text=f"The first {RESPONSE_EXCERPT_CHARS} characters of the answer (64 KiB are kept)."
    )
    created_at = AwareDateTimeField(read_only=True)

    class Meta:
        model = WebhookAttempt
        fields = [
            "number",
            "succeeded",
            "response_status",
            "response_excerpt",
            "response_truncated",
            "error",
            "duration_ms",
            "created_at",
        ]
        read_only_fields = fields

    def get_response_excerpt(self, attempt: WebhookAttempt) -> str:
        return Truncator(attempt.response_body).chars(RESPONSE_EXCERPT_CHARS)


class DeliverySerializer(serializers.ModelSerializer):
    subscription_id = serializers.IntegerField(read_only=True)
    event_id = serializers.IntegerField(read_only=True, allow_null=True)
    event_type = serializers.CharField(read_only=True, help_text=f"An event name, or {TEST_EVENT} for a test ping.")
    webhook_id = serializers.CharField(
        source="message_id", read_only=True, help_text="The webhook-id header; the same on retries and redeliveries."
    )
    redelivery_of = serializers.PrimaryKeyRelatedField(read_only=True)
    next_attempt_at = serializers.SerializerMethodField(help_text="When the next attempt is due (pending only).")
    last_attempt_at = AwareDateTimeField(read_only=True)
    delivered_at = AwareDateTimeField(read_only=True)
    created_at = AwareDateTimeField(read_only=True)
    attempts = AttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "subscription_id",
            "event_id",
            "event_type",
            "webhook_id",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_attempt_at",
            "last_response_status",
            "last_error",
            "delivered_at",
            "redelivery_of",
            "created_at",
            "attempts",
        ]
        read_only_fields = fields

    def get_next_attempt_at(self, delivery: WebhookDelivery) -> str | None:
        if delivery.status != WebhookDelivery.Status.PENDING:
            return None
        return AwareDateTimeField().to_representation(delivery.next_attempt_at)
