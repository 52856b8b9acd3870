"""Scheduling API shapes (API.md: Instructors, Event types, Availability).

Serializers parse and validate; the views hand ``validated_data`` to
``scheduling.services``. Refusals raised by a service (Django
``ValidationError``) come back through :func:`service_errors` as the same
``{"field": ["message"]}`` map.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator

import phonenumbers
from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_array_type, build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers
from rest_framework.settings import api_settings
from rest_framework.utils import html
from rest_framework.validators import UniqueValidator

from scheduling.models import EventType, Instructor, InstructorBrand
from scheduling.services import ASSIGNMENT_SETTINGS
from scheduling.validators import (
    MAX_REMINDER_MINUTES,
    MAX_SESSION_MINUTES,
    MIN_REMINDER_MINUTES,
    MIN_SESSION_MINUTES,
    REMINDER_CHANNELS,
    validate_currency,
    validate_notification_emails,
    validate_reminder_channels,
    validate_reminder_minutes,
    validate_timezone_name,
)

# --- errors -------------------------------------------------------------------

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*")


@contextlib.contextmanager
def service_errors() -> Iterator[None]:
    """Turn a service's ``ValidationError`` into DRF's 400 field map.

    Keys such as ``weekly[2].start`` are reported under their top-level field
    (``weekly``), and model-wide errors under ``non_field_errors``.
    """
    try:
        yield
    except DjangoValidationError as error:
        raise serializers.ValidationError(field_errors(error)) from None


def field_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: list(error.messages)}
    result: dict[str, list[str]] = {}
    for key, errors in error.message_dict.items():
        match = _FIELD_NAME.match(key) if key != NON_FIELD_ERRORS else None
        name = match.group(0) if match else api_settings.NON_FIELD_ERRORS_KEY
        messages = list(errors)
        if name != key and key != NON_FIELD_ERRORS:
            messages = [f"{key}: {message}" for message in messages]
        result.setdefault(name, []).extend(messages)
    return result


# --- fields -------------------------------------------------------------------


def normalise_phone(value: str) -> str:
    """E.164 (``+4915112345678``). Spaces, dashes, brackets and a leading ``00`` are accepted."""
    value = (value or "").strip()
    if not value:
        return ""
    candidate = "+" + value[2:] if value.startswith("00") else value
    if not candidate.startswith("+"):
        raise serializers.ValidationError(
            "Give the number in international format with its country code, e.g. +4915112345678."
        )
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        raise serializers.ValidationError(
            "Give the number in international format with its country code, e.g. +4915112345678."
        ) from None
    if not phonenumbers.is_valid_number(number):
        raise serializers.ValidationError(f"'{value}' is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class PhoneNumberField(serializers.CharField):
    """A phone number, stored and returned in E.164."""

    def to_internal_value(self, data):
        return normalise_phone(super().to_internal_value(data))


class TimezoneNameField(serializers.CharField):
    """An IANA timezone name (``Europe/Berlin``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("validators", [validate_timezone_name])
        super().__init__(**kwargs)


class CurrencyField(serializers.CharField):
    """An ISO 4217 code, upper-cased on input (``"usd"`` is ``USD``), checked by
    ``scheduling.validators.validate_currency`` like the model field."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("validators", [validate_currency])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


class StringOrListField(serializers.ListField):
    """A list; also its JSON-array string (``"[1440, 60]"``) or, with
    ``comma_separated`` (the default), a comma-separated string
    (``"a@example.com, b@example.com"``). Output: a list.

    Without ``comma_separated`` any other string is refused: ``"1440,60"`` is
    not a form API.md offers for ``reminder_minutes_before``. A form post's
    single value is then one item (``reminder_minutes_before=60`` is ``[60]``).
    """

    default_error_messages = {
        "not_a_list": 'Expected a list, a JSON array string or a comma-separated string, got "{input_type}".',
        "not_a_list_or_json": 'Expected a list or a JSON array string such as "[1440, 60]", got "{input}".',
        "invalid_json": "Not a valid JSON array.",
    }

    def __init__(self, *, comma_separated: bool = True, **kwargs):
        self.comma_separated = comma_separated
        super().__init__(**kwargs)
        if not comma_separated:
            self.error_messages["not_a_list"] = 'Expected a list or a JSON array string, got "{input_type}".'

    def get_value(self, dictionary):
        # Form input: one value is the string form; several are the list itself.
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            values = dictionary.getlist(self.field_name)
            if len(values) == 1:
                value = values[0]
                if self.comma_separated or value.strip().startswith("[") or not value.strip():
                    return value
                return [value]
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        if isinstance(data, str):
            text = data.strip()
            if text.startswith("["):
                try:
                    data = json.loads(text)
                except ValueError:
                    self.fail("invalid_json")
            elif not text:
                data = []
            elif self.comma_separated:
                data = [part.strip() for part in text.split(",") if part.strip()]
            else:
                self.fail("not_a_list_or_json", input=text[:50])
        return super().to_internal_value(data)


class StringOrListFieldSchema(OpenApiSerializerFieldExtension):
    """Documents the string forms on requests; responses are always arrays."""

    target_class = StringOrListField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        items = auto_schema._map_serializer_field(self.target.child, direction)
        array = build_array_type(items)
        if direction == "response":
            return array
        text = build_basic_type(OpenApiTypes.STR)
        text["description"] = "JSON array string" + (
            " or comma-separated values" if self.target.comma_separated else ""
        )
        return {"oneOf": [array, text]}


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
        fields = ["id", "name", "email", "phone", "slug", "timezone"]

    def validate_phone(self, value: str | None) -> str:
        return value or ""


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
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        extra_kwargs = {
            "duration_minutes": {"min_value": MIN_SESSION_MINUTES, "max_value": MAX_SESSION_MINUTES},
            "slot_interval_minutes": {"min_value": MIN_SESSION_MINUTES, "max_value": MAX_SESSION_MINUTES},
        }


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
