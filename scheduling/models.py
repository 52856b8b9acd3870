"""Tenancy and scheduling: brands, instructors, their per-brand settings and
availability, session (event) types, and brand API keys."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from .fields import PhoneNumberField
from .validators import (
    MAX_BOOKINGS_PER_DAY,
    MAX_BOOKINGS_PER_WEEK,
    MAX_SERIES_OCCURRENCES,
    MAX_SESSION_MINUTES,
    MIN_SERIES_OCCURRENCES,
    MIN_SESSION_MINUTES,
    ranges_overlap_error,
    validate_brand_slug,
    validate_currency,
    validate_embed_origins,
    validate_notification_emails,
    validate_reminder_channels,
    validate_reminder_minutes,
    validate_timezone_name,
)


class Brand(models.Model):
    """A tenant. Its sender identity overrides the global provider settings."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=100,
        unique=True,
        validators=[validate_brand_slug],
        help_text="The brand's booking page is /<slug>/.",
    )
    from_name = models.CharField(max_length=200, blank=True)
    from_email = models.EmailField(blank=True)
    sms_from = models.CharField(max_length=32, blank=True, help_text="Twilio sender for SMS.")
    whatsapp_from = models.CharField(max_length=40, blank=True, help_text="Twilio WhatsApp sender.")
    staff = models.ManyToManyField(
        "auth.User", blank=True, related_name="brands", help_text="Staff who manage this brand."
    )
    embed_origins = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_embed_origins],
        help_text=(
            'Web sites allowed to show the booking pages in an iframe, e.g. ["https://www.example.com"]. '
            "Every other site is refused."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Instructor(models.Model):
    name = models.CharField(max_length=200)
    email = models.EmailField()
    phone = PhoneNumberField()
    slug = models.SlugField(max_length=100, unique=True)
    bio = models.TextField(blank=True, max_length=2000, help_text="Public: shown to students on the booking pages.")
    brands = models.ManyToManyField(Brand, through="InstructorBrand", related_name="instructors")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class InstructorBrand(models.Model):
    """An instructor's assignment to a brand, carrying that brand's scheduling settings."""

    instructor = models.ForeignKey(Instructor, on_delete=models.CASCADE, related_name="assignments")
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="assignments")
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone_name])
    buffer_minutes = models.PositiveIntegerField(default=15, validators=[MaxValueValidator(1440)])
    advance_booking_days = models.PositiveIntegerField(
        default=90, validators=[MinValueValidator(1), MaxValueValidator(730)]
    )
    cancellation_cutoff_hours = models.PositiveIntegerField(default=24, validators=[MaxValueValidator(8760)])
    minimum_notice_minutes = models.PositiveIntegerField(default=0, validators=[MaxValueValidator(525600)])
    max_bookings_per_day = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_BOOKINGS_PER_DAY)],
        help_text="At most this many active bookings in this brand per local day; empty = no limit.",
    )
    max_bookings_per_week = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_BOOKINGS_PER_WEEK)],
        help_text="At most this many active bookings in this brand per ISO week (Monday to Sunday, local); "
        "empty = no limit.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "instructors_brands"
        verbose_name = "instructor assignment"
        constraints = [
            models.UniqueConstraint(fields=["instructor", "brand"], name="unique_instructor_brand"),
            models.CheckConstraint(
                condition=models.Q(advance_booking_days__gte=1, advance_booking_days__lte=730),
                name="assignment_advance_days_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instructor} @ {self.brand}"


class WeeklyAvailability(models.Model):
    """One weekly range in the instructor's local time (weekday 0 = Monday)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0
        TUESDAY = 1
        WEDNESDAY = 2
        THURSDAY = 3
        FRIDAY = 4
        SATURDAY = 5
        SUNDAY = 6

    assignment = models.ForeignKey(InstructorBrand, on_delete=models.CASCADE, related_name="weekly_ranges")
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField()
    end_time = models.TimeField()

    class Meta:
        db_table = "instructor_weekly_availability"
        ordering = ["weekday", "start_time"]
        verbose_name_plural = "weekly availability"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(start_time__lt=models.F("end_time")), name="weekly_start_before_end"
            ),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="weekly_weekday_range"),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start_time:%H:%M}-{self.end_time:%H:%M}"

    def clean(self) -> None:
        """Refuse an empty range, and one overlapping the stored ranges of its weekday.

        For a row saved on its own; ``availability_replace``, which replaces a
        whole week at once, compares the new rows with each other instead.
        """
        if self.start_time and self.end_time and self.start_time >= self.end_time:
            raise ValidationError({"end_time": "The end must be after the start."})
        if self.assignment_id and self.start_time and self.end_time and self.weekday is not None:
            siblings = WeeklyAvailability.objects.filter(
                assignment_id=self.assignment_id, weekday=self.weekday
            ).exclude(pk=self.pk)
            ranges = [(r.start_time, r.end_time) for r in siblings] + [(self.start_time, self.end_time)]
            message = ranges_overlap_error(ranges)
            if message:
                raise ValidationError({"start_time": message})


def override_time_ranges(*, unavailable: bool, ranges: list[dict[str, str]]) -> list[tuple[dt.time, dt.time]]:
    """A date override's stored ``ranges`` as ``(start, end)`` times; empty when unavailable.

    A function of the two columns, so a read of plain values needs no model instance.
    """
    if unavailable:
        return []
    return [(dt.time.fromisoformat(r["start"]), dt.time.fromisoformat(r["end"])) for r in ranges]


class DateOverride(models.Model):
    """A local date that replaces the weekly ranges: unavailable, or its own ranges.

    ``ranges`` holds ``[{"start": "HH:MM", "end": "HH:MM"}, ...]``; it is empty
    when ``unavailable`` is set.
    """

    assignment = models.ForeignKey(InstructorBrand, on_delete=models.CASCADE, related_name="overrides")
    date = models.DateField()
    unavailable = models.BooleanField(default=False)
    ranges = models.JSONField(default=list, blank=True)

    class Meta:
        db_table = "instructor_date_overrides"
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["assignment", "date"], name="unique_override_date")]

    def __str__(self) -> str:
        return f"{self.date} ({'unavailable' if self.unavailable else 'custom hours'})"

    def time_ranges(self) -> list[tuple[dt.time, dt.time]]:
        """The ranges as ``(start, end)`` times; empty when unavailable."""
        return override_time_ranges(unavailable=self.unavailable, ranges=self.ranges)

    def clean(self) -> None:
        if self.unavailable and self.ranges:
            raise ValidationError({"ranges": "An unavailable date has no ranges."})
        if not self.unavailable and not self.ranges:
            raise ValidationError({"ranges": "Give ranges, or mark the date unavailable."})
        try:
            parsed = self.time_ranges()
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ValidationError({"ranges": 'Each range is {"start": "HH:MM", "end": "HH:MM"}.'}) from None
        message = ranges_overlap_error(parsed)
        if message:
            raise ValidationError({"ranges": message})


def default_reminder_minutes() -> list[int]:
    return [1440]


def default_reminder_channels() -> list[str]:
    return ["email"]


class EventType(models.Model):
    """A bookable session type of a brand."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="event_types")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(MIN_SESSION_MINUTES), MaxValueValidator(MAX_SESSION_MINUTES)]
    )
    slot_interval_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(MIN_SESSION_MINUTES), MaxValueValidator(MAX_SESSION_MINUTES)],
        help_text="Start times every N minutes from each range's start; empty = every session length.",
    )
    price_amount = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default="EUR", validators=[validate_currency])
    requires_confirmation = models.BooleanField(default=True)
    send_email_confirmation = models.BooleanField(default=True)
    send_sms_confirmation = models.BooleanField(default=False)
    booking_notification_emails = models.JSONField(default=list, blank=True, validators=[validate_notification_emails])
    reminder_minutes_before = models.JSONField(
        default=default_reminder_minutes, blank=True, validators=[validate_reminder_minutes]
    )
    reminder_channels = models.JSONField(default=default_reminder_channels, validators=[validate_reminder_channels])
    allow_recurring = models.BooleanField(
        default=False, help_text="Students may book it as a weekly series (the same local time every week)."
    )
    max_occurrences = models.PositiveSmallIntegerField(
        default=MAX_SERIES_OCCURRENCES,
        validators=[MinValueValidator(MIN_SERIES_OCCURRENCES), MaxValueValidator(MAX_SERIES_OCCURRENCES)],
        help_text=f"The most sessions one weekly series may book ({MIN_SERIES_OCCURRENCES}..{MAX_SERIES_OCCURRENCES}).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["brand", "slug"], name="unique_event_type_slug"),
            models.CheckConstraint(
                condition=models.Q(
                    duration_minutes__gte=MIN_SESSION_MINUTES, duration_minutes__lte=MAX_SESSION_MINUTES
                ),
                name="event_type_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.duration_minutes} min)"

    @property
    def is_paid(self) -> bool:
        return bool(self.price_amount)


class ApiKeyManager(BaseAPIKeyManager):
    def get_usable_keys(self):
        return super().get_usable_keys().select_related("brand")


class ApiKey(AbstractAPIKey):
    """A brand's API key: hashed at rest, shown once, revocable.

    ``secret`` keys do everything; ``public`` keys may only list instructors
    and event types, read availability and create/cancel/reschedule bookings.
    """

    class Scope(models.TextChoices):
        SECRET = "secret"
        PUBLIC = "public"

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="api_keys")
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.SECRET)
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Updated at most once a minute."
    )

    objects = ApiKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    @property
    def is_secret(self) -> bool:
        return self.scope == self.Scope.SECRET
