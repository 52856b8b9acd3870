"""Booking API shapes: bookings, payments, the event log and free slots.

Two views of a booking: the full one for ``secret`` keys and staff, and the
student's own view for a ``public`` key holding the booking's token, which
leaves out ``instructor_notes`` and ``payments`` (what the studio writes and
receives about the student is the studio's business).
"""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers

from booking_project.api.fields import AwareDateTimeField, PhoneNumberField, TimezoneNameField
from bookings.links import manage_url
from bookings.models import Booking, BookingSeries, BookingStatus, Event, Payment
from scheduling.slots import REFUSAL_ORDER
from scheduling.validators import (
    MAX_SERIES_INTERVAL_WEEKS,
    MAX_SERIES_OCCURRENCES,
    MAX_SESSION_MINUTES,
    MIN_SERIES_OCCURRENCES,
    MIN_SESSION_MINUTES,
    validate_currency,
)


class PaymentSerializer(serializers.ModelSerializer):
    created_at = AwareDateTimeField(read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "amount", "currency", "provider", "reference", "status", "created_at"]


class PaymentInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    currency = serializers.CharField(max_length=3)
    provider = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(choices=[Payment.Status.SUCCEEDED, Payment.Status.FAILED])

    def validate_currency(self, value: str) -> str:
        value = value.upper()
        validate_currency(value)
        return value


class BookingSerializer(serializers.ModelSerializer):
    brand_id = serializers.IntegerField(read_only=True)
    instructor_id = serializers.IntegerField(read_only=True)
    event_type_id = serializers.IntegerField(read_only=True)
    series_id = serializers.UUIDField(
        read_only=True, allow_null=True, help_text="The weekly series this booking belongs to; null for a single one."
    )
    start_at = AwareDateTimeField(read_only=True)
    end_at = AwareDateTimeField(read_only=True)
    created_at = AwareDateTimeField(read_only=True)
    updated_at = AwareDateTimeField(read_only=True)
    manage_url = serializers.SerializerMethodField()

    class Meta:
        model = Booking
        fields = [
            "id",
            "uid",
            "brand_id",
            "instructor_id",
            "event_type_id",
            "series_id",
            "start_at",
            "end_at",
            "status",
            "payment_status",
            "attendee_name",
            "attendee_email",
            "attendee_phone",
            "student_timezone",
            "instructor_timezone",
            "notes",
            "instructor_notes",
            "cancellation_reason",
            "manage_url",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_manage_url(self, booking: Booking) -> str:
        return manage_url(booking)


class BookingDetailSerializer(BookingSerializer):
    payments = PaymentSerializer(many=True, read_only=True)

    class Meta(BookingSerializer.Meta):
        fields = [*BookingSerializer.Meta.fields, "payments"]
        read_only_fields = fields


WARNINGS_HELP = "What could not be attempted, e.g. an SMS confirmation without a phone number."


class BookingCreatedSerializer(BookingDetailSerializer):
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True, help_text=WARNINGS_HELP)

    class Meta(BookingDetailSerializer.Meta):
        fields = [*BookingDetailSerializer.Meta.fields, "warnings"]
        read_only_fields = fields


STUDENT_HIDDEN_FIELDS = ("instructor_notes", "payments")


class StudentBookingSerializer(BookingSerializer):
    """A booking as its student sees it through a ``public`` key."""

    class Meta(BookingSerializer.Meta):
        fields = [name for name in BookingSerializer.Meta.fields if name not in STUDENT_HIDDEN_FIELDS]
        read_only_fields = fields


class StudentBookingCreatedSerializer(StudentBookingSerializer):
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True, help_text=WARNINGS_HELP)

    class Meta(StudentBookingSerializer.Meta):
        fields = [*StudentBookingSerializer.Meta.fields, "warnings"]
        read_only_fields = fields


class RecurrenceSerializer(serializers.Serializer):
    frequency = serializers.ChoiceField(choices=BookingSeries.Frequency.choices, help_text="Only `weekly`.")
    count = serializers.IntegerField(
        min_value=MIN_SERIES_OCCURRENCES,
        max_value=MAX_SERIES_OCCURRENCES,
        help_text=f"Sessions in the series, {MIN_SERIES_OCCURRENCES}..{MAX_SERIES_OCCURRENCES}, and at most the "
        "session type's `max_occurrences`.",
    )
    interval = serializers.IntegerField(
        min_value=1,
        max_value=MAX_SERIES_INTERVAL_WEEKS,
        default=1,
        help_text=f"Weeks between sessions, 1..{MAX_SERIES_INTERVAL_WEEKS} (2 = every other week).",
    )


class BookingCreateSerializer(serializers.Serializer):
    instructor_id = serializers.IntegerField()
    event_type_id = serializers.IntegerField()
    start_at = AwareDateTimeField()
    end_at = AwareDateTimeField(required=False)
    attendee_name = serializers.CharField(max_length=200)
    attendee_email = serializers.EmailField()
    attendee_phone = PhoneNumberField(max_length=40, required=False, allow_blank=True, default="")
    student_timezone = TimezoneNameField(required=False, default="UTC")
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    recurrence = RecurrenceSerializer(
        required=False,
        help_text="Book a weekly series starting at `start_at`, at the same local time in the instructor's "
        "timezone; only for session types with `allow_recurring`.",
    )
    skip_conflicts = serializers.BooleanField(
        required=False,
        default=False,
        help_text="With `recurrence`: book the free occurrences and list the others in `skipped`, instead of "
        "refusing the whole series.",
    )

    def validate(self, attrs):
        if "end_at" in attrs and attrs["end_at"] <= attrs["start_at"]:
            raise serializers.ValidationError({"end_at": "end_at must be after start_at."})
        if attrs["skip_conflicts"] and "recurrence" not in attrs:
            raise serializers.ValidationError({"skip_conflicts": "It applies to a series: send it with recurrence."})
        return attrs


class SeriesOccurrenceSerializer(serializers.Serializer):
    start_at = serializers.DateTimeField(help_text="UTC start of the occurrence.")
    reason = serializers.ChoiceField(choices=REFUSAL_ORDER, help_text="Why it cannot be booked.")


class SeriesCreatedSerializer(serializers.Serializer):
    """Documents the answer to a series; the view assembles it, each booking in the caller's view."""

    series_id = serializers.UUIDField()
    bookings = BookingDetailSerializer(many=True, help_text="The booked occurrences in time order.")
    skipped = SeriesOccurrenceSerializer(many=True, help_text="Occurrences left out (`skip_conflicts`).")
    warnings = serializers.ListField(child=serializers.CharField(), help_text=WARNINGS_HELP)


class SeriesCancelQuerySerializer(serializers.Serializer):
    """``?from=<uid>`` (``from`` is a Python keyword: the field is declared below under its name)."""


SeriesCancelQuerySerializer._declared_fields["from"] = serializers.UUIDField(
    help_text="The uid of the first occurrence to cancel."
)


class CalendarFeedUrlSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="The secret iCalendar subscription URL; keep it private.")


class BookingUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.CANCELLED, BookingStatus.NO_SHOW],
        required=False,
    )
    payment = PaymentInputSerializer(required=False)
    payment_status = serializers.ChoiceField(choices=["waived"], required=False)
    start_at = AwareDateTimeField(required=False)
    end_at = AwareDateTimeField(required=False)
    instructor_notes = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    cancellation_reason = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError({"non_field_errors": ["Nothing to change."]})
        status = attrs.get("status")
        if "end_at" in attrs and "start_at" not in attrs:
            raise serializers.ValidationError({"start_at": "Give start_at to reschedule."})
        if "start_at" in attrs and status:
            raise serializers.ValidationError({"status": "Reschedule and status changes are separate requests."})
        if "start_at" in attrs and "end_at" in attrs and attrs["end_at"] <= attrs["start_at"]:
            raise serializers.ValidationError({"end_at": "end_at must be after start_at."})
        if ("payment" in attrs or "payment_status" in attrs) and status != BookingStatus.CONFIRMED:
            raise serializers.ValidationError({"payment": "A payment comes with status 'confirmed'."})
        if "cancellation_reason" in attrs and status != BookingStatus.CANCELLED:
            raise serializers.ValidationError({"cancellation_reason": "Give it with status 'cancelled'."})
        return attrs


class EventSerializer(serializers.ModelSerializer):
    booking_id = serializers.IntegerField(read_only=True)
    created_at = AwareDateTimeField(read_only=True)

    class Meta:
        model = Event
        fields = ["id", "type", "booking_id", "payload", "created_at"]
        read_only_fields = fields


# --- free slots -------------------------------------------------------------------

MAX_DAYS = 180
DEFAULT_DAYS = 14
DEFAULT_SESSION_MINUTES = 60


class AvailabilityQuerySerializer(serializers.Serializer):
    instructor_id = serializers.IntegerField(min_value=1)
    start_date = serializers.DateField(required=False, input_formats=["%Y-%m-%d"])
    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=DEFAULT_DAYS)
    session_minutes = serializers.IntegerField(
        min_value=MIN_SESSION_MINUTES, max_value=MAX_SESSION_MINUTES, required=False
    )
    event_type_id = serializers.IntegerField(min_value=1, required=False)
    interval_minutes = serializers.IntegerField(
        min_value=MIN_SESSION_MINUTES, max_value=MAX_SESSION_MINUTES, required=False
    )
    student_timezone = TimezoneNameField(default="UTC")

    def validate_start_date(self, value: dt.date) -> dt.date:
        if not dt.date(1970, 1, 1) <= value <= dt.date(9000, 12, 31):
            raise serializers.ValidationError("Give a date between 1970-01-01 and 9000-12-31.")
        return value


class AvailabilitySlotSerializer(serializers.Serializer):
    start_at = serializers.DateTimeField(help_text="UTC, e.g. 2026-03-02T08:00:00Z.")
    end_at = serializers.DateTimeField(help_text="UTC.")
    student_start = serializers.DateTimeField(help_text="In the student's timezone, with its offset.")
    student_end = serializers.DateTimeField(help_text="In the student's timezone, with its offset.")


class AvailabilitySerializer(serializers.Serializer):
    """Documents the free-slots answer; the view builds it as plain data (no per-slot serializer)."""

    instructor_id = serializers.IntegerField()
    instructor_timezone = serializers.CharField()
    student_timezone = serializers.CharField()
    session_minutes = serializers.IntegerField()
    slots = AvailabilitySlotSerializer(many=True)
