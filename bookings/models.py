"""Bookings and their payments.

State changes go through ``bookings.services`` only; model methods state
facts about one row.
"""

from __future__ import annotations

import uuid
import zoneinfo

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from scheduling.fields import PhoneNumberField
from scheduling.models import Brand, EventType, Instructor
from scheduling.validators import validate_currency, validate_timezone_name


def _zone_or_utc(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


class BookingStatus(models.TextChoices):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    NO_SHOW = "no_show"


ACTIVE_STATUSES = (BookingStatus.PENDING, BookingStatus.CONFIRMED)

# The lifecycle (docs/product.md): anything else is refused with 409.
TRANSITIONS: dict[str, frozenset[str]] = {
    BookingStatus.PENDING: frozenset({BookingStatus.CONFIRMED, BookingStatus.CANCELLED}),
    BookingStatus.CONFIRMED: frozenset({BookingStatus.COMPLETED, BookingStatus.CANCELLED, BookingStatus.NO_SHOW}),
    BookingStatus.CANCELLED: frozenset(),
    BookingStatus.COMPLETED: frozenset(),
    BookingStatus.NO_SHOW: frozenset(),
}


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid"
    PAID = "paid"
    REFUNDED = "refunded"
    WAIVED = "waived"


class BookingSeries(models.Model):
    """A weekly series booked in one request; each occurrence is an ordinary :class:`Booking`.

    The occurrences point here (``Booking.series``) and live their own lives:
    each is confirmed, rescheduled or cancelled on its own. The row keeps what
    was asked for (``count`` occurrences every ``interval_weeks`` weeks) and
    which occurrences were left out because they could not be booked
    (``skipped``), so a replayed request answers exactly as the first did.
    """

    class Frequency(models.TextChoices):
        WEEKLY = "weekly"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="booking_series")
    instructor = models.ForeignKey(Instructor, on_delete=models.PROTECT, related_name="booking_series")
    event_type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="booking_series")
    frequency = models.CharField(max_length=16, choices=Frequency.choices, default=Frequency.WEEKLY)
    interval_weeks = models.PositiveSmallIntegerField(default=1)
    count = models.PositiveSmallIntegerField(help_text="Occurrences asked for, booked or skipped.")
    skipped = models.JSONField(
        default=list, blank=True, help_text='Occurrences left out: [{"start_at": "...Z", "reason": "taken"}].'
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "booking series"

    def __str__(self) -> str:
        return f"{self.count} x every {self.interval_weeks} week(s), series {self.id}"


class Booking(models.Model):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    series = models.ForeignKey(
        BookingSeries,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bookings",
        help_text="The weekly series this booking is an occurrence of; empty for a single booking.",
    )
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="bookings")
    instructor = models.ForeignKey(Instructor, on_delete=models.PROTECT, related_name="bookings")
    event_type = models.ForeignKey(EventType, on_delete=models.PROTECT, related_name="bookings")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=BookingStatus.choices, default=BookingStatus.PENDING)
    payment_status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.UNPAID)
    attendee_name = models.CharField(max_length=200)
    attendee_email = models.EmailField()
    attendee_phone = PhoneNumberField()
    student_timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    instructor_timezone = models.CharField(max_length=64, validators=[validate_timezone_name])
    notes = models.TextField(blank=True)
    instructor_notes = models.TextField(blank=True)
    cancellation_reason = models.TextField(blank=True)
    cancelled_by = models.CharField(max_length=32, blank=True, help_text="student, staff or api")
    cancelled_at = models.DateTimeField(null=True, blank=True)
    sequence = models.PositiveIntegerField(default=0, help_text="iCalendar SEQUENCE; bumped on reschedule.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_at", "id"]
        indexes = [
            models.Index(fields=["instructor", "start_at"], name="booking_instructor_start"),
            models.Index(fields=["brand", "start_at"], name="booking_brand_start"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(end_at__gt=models.F("start_at")), name="booking_end_after_start"),
            # The no-overlap exclusion constraint is PostgreSQL-only and lives
            # in migration 0002 (RunSQL), so SQLite migrations still apply.
        ]

    def __str__(self) -> str:
        """``Ada Lovelace, 2026-12-02 11:00 Europe/Berlin``: the instructor's local time, as staff think of it."""
        local = self.start_at.astimezone(_zone_or_utc(self.instructor_timezone)) if self.start_at else None
        when = f"{local:%Y-%m-%d %H:%M} {self.instructor_timezone or 'UTC'}" if local else "unscheduled"
        return f"{self.attendee_name}, {when}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def has_started(self) -> bool:
        return timezone.now() >= self.start_at

    @property
    def has_ended(self) -> bool:
        return timezone.now() >= self.end_at

    def can_transition_to(self, status: str) -> bool:
        return status in TRANSITIONS.get(self.status, frozenset())


class Payment(models.Model):
    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        REFUNDED = "refunded"

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="payments")
    amount = models.DecimalField(max_digits=10, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.CharField(max_length=3, validators=[validate_currency])
    provider = models.CharField(max_length=50, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    raw_payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount__gte=0), name="payment_amount_not_negative")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} {self.status}"


class Event(models.Model):
    """One entry of the event bus, written in the same transaction as its change.

    Webhook deliveries and notifications are derived from it by receivers;
    ``payload`` is the ``data`` of the webhook body.
    """

    type = models.CharField(max_length=64, db_index=True)
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="events")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["brand", "-created_at"], name="event_brand_created")]

    def __str__(self) -> str:
        return f"{self.type} #{self.booking_id}"


class IdempotencyRecord(models.Model):
    """The first result of a ``POST /api/bookings`` sent with an ``Idempotency-Key``.

    Looked up under the instructor lock, so a concurrent double submit waits
    for the first and then replays its result instead of booking again.
    """

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="+")
    warnings = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "key"], name="unique_idempotency_key")]

    def __str__(self) -> str:
        return self.key


class CalendarFeed(models.Model):
    """An instructor's secret iCalendar subscription: one per instructor, covering every brand.

    ``token`` is the secret part of the feed's URL. Rotating it (the only
    change) makes every earlier URL answer 404.
    """

    instructor = models.OneToOneField(Instructor, on_delete=models.CASCADE, related_name="calendar_feed")
    token = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, help_text="When the current token was issued.")

    def __str__(self) -> str:
        return f"Calendar feed of {self.instructor}"
