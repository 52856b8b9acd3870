"""The notification outbox/log and the reminder schedule.

A :class:`Notification` row is written in the same transaction as the event
that causes it (status ``pending``), then a Celery task sends it after
commit. The row is the log too: attempts, provider message id, last error.
A sweep re-enqueues rows left ``pending`` (broker down at commit, a task lost
with its worker) and takes back rows whose claim (``lease_expires_at``)
lapsed while ``sending`` (the worker died mid-attempt).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from bookings.models import Booking, Event


class Channel(models.TextChoices):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"


class Notification(models.Model):
    class Kind(models.TextChoices):
        CONFIRMATION = "confirmation", "Booking confirmation (attendee)"
        HOST_NEW_BOOKING = "host_new_booking", "New booking (host/team)"
        CANCELLATION = "cancellation", "Cancellation"
        RESCHEDULE = "reschedule", "Reschedule"
        REMINDER = "reminder", "Reminder"

    class Audience(models.TextChoices):
        ATTENDEE = "attendee"
        HOST = "host"

    class Status(models.TextChoices):
        PENDING = "pending"  # written, waiting for (or between) attempts
        SENDING = "sending"  # claimed by a worker, until lease_expires_at
        SENT = "sent"
        FAILED = "failed"  # gave up: permanent error or retries exhausted
        SKIPPED = "skipped"  # nothing to do (e.g. reminder for a cancelled booking)

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="notifications")
    event = models.ForeignKey(Event, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications")
    reminder = models.OneToOneField(
        "BookingReminder", on_delete=models.SET_NULL, null=True, blank=True, related_name="notification"
    )
    minutes_before = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Reminders: how long before the session it is meant to arrive (its 'in 24 hours' wording). "
        "Kept on the row, so a resent copy, which has no reminder, says the same.",
    )
    booking_snapshot = models.JSONField(
        default=dict,
        blank=True,
        help_text="A message no event caused (reminders): the booking's times, status and iCalendar sequence "
        "as its first attempt rendered them, so every retry sends the same body under the same Idempotency-Key.",
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    audience = models.CharField(max_length=16, choices=Audience.choices, default=Audience.ATTENDEE)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    recipient = models.CharField(max_length=254)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    lease_expires_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="While sending: when the worker's claim lapses. A worker that has not recorded the attempt's "
        "outcome by then is presumed dead: the sweep logs the attempt as lost and sends the message again.",
    )
    batch_key = models.CharField(
        max_length=100,
        blank=True,
        help_text="Emails sent together in one Resend batch request: that request's Idempotency-Key. "
        "Until the batch's outcome is known, its emails are only ever sent again together, under this key.",
    )
    provider_message_id = models.CharField(max_length=100, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="notification_due")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.channel} to {self.recipient} ({self.status})"


class NotificationAttempt(models.Model):
    """One try at the provider: every attempt is logged, successful or not."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    succeeded = models.BooleanField()
    provider_message_id = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    note = models.TextField(blank=True, help_text="What the provider's answer meant, when it is not plain.")
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["notification", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.notification_id}"


class BookingReminder(models.Model):
    """One reminder per offset x channel, snapshotted from the event type at booking time."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled"
        SENT = "sent"  # handed to a Notification (which tracks delivery and retries)
        SKIPPED = "skipped"
        CANCELLED = "cancelled"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="reminders")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    minutes_before = models.PositiveIntegerField()
    remind_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, help_text="Why it was skipped or failed.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["remind_at", "id"]
        indexes = [models.Index(fields=["status", "remind_at"], name="reminder_due")]
        constraints = [
            models.UniqueConstraint(fields=["booking", "channel", "minutes_before"], name="unique_booking_reminder")
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} reminder {self.minutes_before} min before the session"
