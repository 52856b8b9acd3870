"""Webhook subscriptions, their deliveries and each delivery's attempts.

A :class:`WebhookDelivery` is one message (an event, or a test ping) for one
subscription. It is written in the same transaction as its event (the
outbox) and carries everything needed to send it again identically: the
body and the ``webhook-id``. Each try at the receiver is a
:class:`WebhookAttempt` (status code, the first 64 KiB of the answer,
duration, error). ``webhooks.delivery`` sends them; ``docs/webhooks.md``
explains the retry schedule and the disable rule.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from bookings.models import Event
from scheduling.models import Brand


class WebhookSubscription(models.Model):
    """A brand's receiver URL, the event types it wants, and its signing secret(s).

    The secret is kept in clear: every attempt signs with it (an HMAC needs
    the key itself). After a rotation the previous secret keeps signing
    until ``previous_secret_expires_at``.
    """

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    url = models.CharField(max_length=2000, help_text="http(s) URL that receives the deliveries.")
    event_types = models.JSONField(default=list, help_text="Event names this subscription receives.")
    description = models.CharField(max_length=500, blank=True)
    secret = models.CharField(max_length=120, help_text="whsec_ + base64; signs every delivery.")
    previous_secret = models.CharField(max_length=120, blank=True)
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Until then deliveries are signed with the previous secret too."
    )
    is_active = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Deliveries in a row that failed after all their attempts; reset by a success."
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["brand", "is_active"], name="webhook_sub_brand_active")]

    def __str__(self) -> str:
        return self.url

    def wants(self, event_name: str) -> bool:
        return event_name in (self.event_types or [])

    def signing_secrets(self, now) -> list[str]:
        """The secrets that sign a delivery at ``now``: the current one, then the previous one while it lasts."""
        secrets = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            secrets.append(self.previous_secret)
        return secrets


class WebhookDelivery(models.Model):
    """One message for one subscription, retried until delivered or given up."""

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for its first attempt or between attempts
        SENDING = "sending"  # claimed by a worker
        DELIVERED = "delivered"  # the receiver answered 2xx
        FAILED = "failed"  # gave up: attempts exhausted, or HTTP 410
        SKIPPED = "skipped"  # the subscription was disabled before it could be sent

    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(
        Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="webhook_deliveries"
    )
    event_type = models.CharField(max_length=64, help_text="The body's type, e.g. booking.created or webhook.test.")
    message_id = models.CharField(
        max_length=64, db_index=True, help_text="The webhook-id header: the same on every attempt and redelivery."
    )
    body = models.TextField(help_text="The exact JSON sent on every attempt.")
    redelivery_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="redeliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["subscription", "-created_at"], name="webhook_delivery_sub_created"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.subscription_id} ({self.status})"

    @property
    def is_in_progress(self) -> bool:
        return self.status in (self.Status.PENDING, self.Status.SENDING)


class WebhookAttempt(models.Model):
    """One request to the receiver and what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    succeeded = models.BooleanField()
    response_status = models.PositiveIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, help_text="The first 64 KiB of the answer.")
    response_truncated = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"
