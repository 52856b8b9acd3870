"""Scheduling API shapes: instructors, event types, scheduling settings.

Serializers parse and validate; the views hand ``validated_data`` to
``scheduling.services``. A refusal raised by a service (a Django
``ValidationError``) reaches the client as the same ``{"field": ["message"]}``
map through the API's exception handler.
"""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.validators import UniqueValidator

from booking_project.api.fields import CurrencyField, PhoneNumberField, StringOrListField, TimezoneNameField
from scheduling.models import EventType, Instructor, InstructorBrand
from scheduling.services import ASSIGNMENT_SETTINGS
from scheduling.validators import (
    MAX_BOOKINGS_PER_DAY,
    MAX_BOOKINGS_PER_WEEK,
    MAX_REMINDER_MINUTES,
    MAX_SERIES_OCCURRENCES,
    MAX_SESSION_MINUTES,
    MIN_REMINDER_MINUTES,
    MIN_SERIES_OCCURRENCES,
    MIN_SESSION_MINUTES,
    REMINDER_CHANNELS,
    validate_notification_emails,
    validate_reminder_channels,
    validate_reminder_minutes,
)

# --- instructors --------------------------------------------------------------


class InstructorSerializer(serializers.ModelSerializer):
    """An instructor as seen by one brand: ``timezone`` is that brand's assignment setting."""

    phone = PhoneNumberField(
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        max_length=32,
        help_text="E.164, e.g. +4915112345678; other obvious international forms are normalised.",
    )
    slug = serializers.SlugField(
        required=False,
        allow_blank=True,
        max_length=100,
        validators=[UniqueValidator(queryset=Instructor.objects.all(), message="This slug is already taken.")],
        help_text="Unique; made from the name when left out.",
    )
    timezone = TimezoneNameField(
        required=False, default="UTC", help_text="IANA name; the instructor's timezone in this brand."
    )

    class Meta:
        model = Instructor
        fields = ["id", "name", "email", "phone", "slug", "timezone", "bio"]

    def validate_phone(self, value: str | None) -> str:
        return value or ""


class InstructorPublicSerializer(serializers.ModelSerializer):
    """What a ``public`` key (and so anyone on the internet) may see of an instructor."""

    timezone = serializers.CharField(read_only=True, help_text="The instructor's timezone in this brand.")

    class Meta:
        model = Instructor
        fields = ["id", "name", "slug", "timezone", "bio"]
        read_only_fields = fields


class InstructorQuerySerializer(serializers.Serializer):
    instructor_id = serializers.IntegerField(min_value=1)


# --- event types ----------------------------------------------------------------


class EventTypeSerializer(serializers.ModelSerializer):
    slug = serializers.SlugField(
        required=False, allow_blank=True, max_length=100, help_text="Unique in the brand; made from the name."
    )
    price_amount = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        default=None,
        help_text='Decimal string, e.g. "50.00"; null when free.',
    )
    currency = CurrencyField(required=False, default="EUR", help_text="ISO 4217 code, e.g. EUR; upper-cased.")
    booking_notification_emails = StringOrListField(
        child=serializers.EmailField(),
        required=False,
        default=list,
        validators=[validate_notification_emails],
        help_text="Host/team addresses told about new bookings.",
    )
    reminder_minutes_before = StringOrListField(
        child=serializers.IntegerField(min_value=MIN_REMINDER_MINUTES, max_value=MAX_REMINDER_MINUTES),
        comma_separated=False,
        required=False,
        default=lambda: [1440],
        validators=[validate_reminder_minutes],
        help_text=f"Minutes before the session, each {MIN_REMINDER_MINUTES}..{MAX_REMINDER_MINUTES}.",
    )
    reminder_channels = StringOrListField(
        child=serializers.ChoiceField(choices=REMINDER_CHANNELS),
        required=False,
        default=lambda: ["email"],
        validators=[validate_reminder_channels],
    )

    class Meta:
        model = EventType
        fields = [
            "id",
            "name",
            "slug",
            "duration_minutes",
            "slot_interval_minutes",
            "description",
            "price_amount",
            "currency",
            "requires_confirmation",
            "send_email_confirmation",
            "send_sms_confirmation",
            "booking_notification_emails",
            "reminder_minutes_before",
            "reminder_channels",
            "allow_recurring",
            "max_occurrences",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "duration_minutes": {"min_value": MIN_SESSION_MINUTES, "max_value": MAX_SESSION_MINUTES},
            "slot_interval_minutes": {"min_value": MIN_SESSION_MINUTES, "max_value": MAX_SESSION_MINUTES},
            "max_occurrences": {"min_value": MIN_SERIES_OCCURRENCES, "max_value": MAX_SERIES_OCCURRENCES},
        }


# The brand's own business: who is told about bookings, and how students are reminded.
EVENT_TYPE_PRIVATE_FIELDS = (
    "send_email_confirmation",
    "send_sms_confirmation",
    "booking_notification_emails",
    "reminder_minutes_before",
    "reminder_channels",
    "created_at",
    "updated_at",
)


class PublicEventTypeSerializer(serializers.ModelSerializer):
    """What a ``public`` key may see of a session type: what a student needs to choose and book it."""

    class Meta:
        model = EventType
        fields = [name for name in EventTypeSerializer.Meta.fields if name not in EVENT_TYPE_PRIVATE_FIELDS]
        read_only_fields = fields


# --- availability settings ------------------------------------------------------------

TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S"]


class TimeRangeSerializer(serializers.Serializer):
    start = serializers.TimeField(format="%H:%M", input_formats=TIME_INPUT_FORMATS, help_text="Local HH:MM.")
    end = serializers.TimeField(format="%H:%M", input_formats=TIME_INPUT_FORMATS, help_text="Local HH:MM.")


class WeeklyRangeSerializer(TimeRangeSerializer):
    weekday = serializers.IntegerField(min_value=0, max_value=6, help_text="0 = Monday ... 6 = Sunday.")

    class Meta:
        fields = ["weekday", "start", "end"]


class DateOverrideSerializer(serializers.Serializer):
    date = serializers.DateField(input_formats=["%Y-%m-%d"], help_text="Local date, YYYY-MM-DD.")
    unavailable = serializers.BooleanField(required=False, default=False)
    ranges = TimeRangeSerializer(many=True, required=False, default=list)

    def validate(self, attrs):
        if attrs["unavailable"] and attrs["ranges"]:
            raise serializers.ValidationError({"ranges": ['Give either "unavailable": true or "ranges", not both.']})
        if not attrs["unavailable"] and not attrs["ranges"]:
            raise serializers.ValidationError({"ranges": ['Give "ranges", or mark the date "unavailable": true.']})
        return attrs


class AvailabilityReplaceSerializer(serializers.Serializer):
    """``PUT /api/bookings/availability``: settings are upserted (left-out ones keep their
    value); ``weekly`` and ``overrides`` replace the stored ones (left out = none)."""

    instructor_id = serializers.IntegerField(min_value=1)
    timezone = TimezoneNameField(required=False)
    buffer_minutes = serializers.IntegerField(min_value=0, max_value=1440, required=False)
    advance_booking_days = serializers.IntegerField(min_value=1, max_value=730, required=False)
    cancellation_cutoff_hours = serializers.IntegerField(min_value=0, max_value=8760, required=False)
    minimum_notice_minutes = serializers.IntegerField(min_value=0, max_value=525600, required=False)
    max_bookings_per_day = serializers.IntegerField(
        min_value=0,
        max_value=MAX_BOOKINGS_PER_DAY,
        allow_null=True,
        required=False,
        help_text="At most this many active bookings in this brand per local day; null = no limit.",
    )
    max_bookings_per_week = serializers.IntegerField(
        min_value=0,
        max_value=MAX_BOOKINGS_PER_WEEK,
        allow_null=True,
        required=False,
        help_text="At most this many active bookings in this brand per ISO week (Monday to Sunday, local); "
        "null = no limit.",
    )
    weekly = WeeklyRangeSerializer(many=True, required=False, default=list)
    overrides = DateOverrideSerializer(many=True, required=False, default=list)

    def settings(self) -> dict:
        """The settings sent (left-out ones are absent, so they keep their stored value)."""
        return {name: self.validated_data[name] for name in ASSIGNMENT_SETTINGS if name in self.validated_data}


class AvailabilitySettingsSerializer(serializers.Serializer):
    """The stored settings of one assignment, in the shape ``PUT`` accepts.

    An override reads ``{"date", "unavailable": true}`` or ``{"date", "ranges": [...]}``.
    """

    instructor_id = serializers.IntegerField()
    timezone = serializers.CharField()
    buffer_minutes = serializers.IntegerField()
    advance_booking_days = serializers.IntegerField()
    cancellation_cutoff_hours = serializers.IntegerField()
    minimum_notice_minutes = serializers.IntegerField()
    max_bookings_per_day = serializers.IntegerField(allow_null=True, help_text="null = no limit.")
    max_bookings_per_week = serializers.IntegerField(allow_null=True, help_text="null = no limit.")
    weekly = WeeklyRangeSerializer(many=True)
    overrides = DateOverrideSerializer(many=True)

    def to_representation(self, instance: InstructorBrand) -> dict:
        return {
            "instructor_id": instance.instructor_id,
            **{name: getattr(instance, name) for name in ASSIGNMENT_SETTINGS},
            "weekly": [
                {"weekday": row.weekday, "start": f"{row.start_time:%H:%M}", "end": f"{row.end_time:%H:%M}"}
                for row in instance.weekly_ranges.order_by("weekday", "start_time")
            ],
            "overrides": [_override_json(row) for row in instance.overrides.order_by("date")],
        }


def _override_json(row) -> dict:
    if row.unavailable:
        return {"date": row.date.isoformat(), "unavailable": True}
    return {"date": row.date.isoformat(), "ranges": [{"start": r["start"], "end": r["end"]} for r in row.ranges]}
