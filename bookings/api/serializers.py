"""Booking API input and output shapes (API.md: Bookings, events)."""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers

from bookings.formats import utc_iso
from bookings.links import manage_url
from bookings.models import Booking, BookingStatus, Event, Payment
from scheduling.api.serializers import TimezoneNameField, normalise_phone
from scheduling.validators import validate_currency


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset or Z; a naive time is refused (API.md), output in UTC ``Z``."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise serializers.ValidationError("Not an ISO 8601 date-time, e.g. 2026-12-01T09:00:00Z.") from None
            if parsed.tzinfo is None:
                raise serializers.ValidationError("Give an offset or Z, e.g. 2026-12-01T09:00:00Z.")
            return parsed.astimezone(dt.UTC)
        raise serializers.ValidationError("Not an ISO 8601 date-time, e.g. 2026-12-01T09:00:00Z.")

    def to_representation(self, value):
        return utc_iso(value)


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


class BookingCreatedSerializer(BookingDetailSerializer):
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(BookingDetailSerializer.Meta):
        fields = [*BookingDetailSerializer.Meta.fields, "warnings"]
        read_only_fields = fields


class BookingCreateSerializer(serializers.Serializer):
    instructor_id = serializers.IntegerField()
    event_type_id = serializers.IntegerField()
    start_at = AwareDateTimeField()
    end_at = AwareDateTimeField(required=False)
    attendee_name = serializers.CharField(max_length=200)
    attendee_email = serializers.EmailField()
    attendee_phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    student_timezone = TimezoneNameField(required=False, default="UTC")
    notes = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)

    def validate_attendee_phone(self, value: str) -> str:
        return normalise_phone(value)

    def validate(self, attrs):
        if "end_at" in attrs and attrs["end_at"] <= attrs["start_at"]:
            raise serializers.ValidationError({"end_at": "end_at must be after start_at."})
        return attrs


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
