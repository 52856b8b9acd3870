"""Availability API (API.md: Availability): free slots, and the scheduling settings.

The slots need existing bookings, so this lives on the ``bookings`` side and
hands them to the pure engine through ``bookings.availability``. Query
parameters are accepted in ``snake_case`` and in the older camelCase
(``instructorId``); an error names the parameter as the client spelled it.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping

from django.utils import timezone as django_timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bookings.availability import instructor_slots
from bookings.formats import utc_iso
from scheduling import selectors, services
from scheduling.api.permissions import HasBrand, SecretForWrites, resolve_brand
from scheduling.api.serializers import (
    AvailabilityReplaceSerializer,
    AvailabilitySettingsSerializer,
    TimezoneNameField,
    service_errors,
)
from scheduling.slots import student_date_window
from scheduling.validators import MAX_SESSION_MINUTES, MIN_SESSION_MINUTES

MAX_DAYS = 180
DEFAULT_DAYS = 14
DEFAULT_SESSION_MINUTES = 60

# snake_case name -> the other spellings accepted for it (the first is documented).
QUERY_ALIASES: dict[str, tuple[str, ...]] = {
    "instructor_id": ("instructorId",),
    "start_date": ("startDate",),
    "days": (),
    "session_minutes": ("sessionMinutes",),
    "event_type_id": ("eventTypeId",),
    "interval_minutes": ("intervalMinutes", "interval"),
    "student_timezone": ("studentTimezone",),
}


def parse_query(params: Mapping, serializer_class: type[serializers.Serializer]) -> dict:
    """Validate query parameters given in either spelling; empty values count as absent.

    Errors are keyed by the spelling the client used (``sessionMinutes``), and a
    missing required parameter by its ``snake_case`` name with the alias in the
    message, so the answer always names the field.
    """
    data: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for name in serializer_class().fields:
        for spelling in (name, *QUERY_ALIASES.get(name, ())):
            value = params.get(spelling)
            if value not in (None, ""):
                data[name], spelled[name] = value, spelling
                break
    serializer = serializer_class(data=data)
    if serializer.is_valid():
        return serializer.validated_data
    errors = {}
    for name, messages in serializer.errors.items():
        if name in spelled:
            errors[spelled[name]] = messages
        else:
            spellings = " or ".join((name, *QUERY_ALIASES.get(name, ())))
            errors[name] = [f"{message} (query parameter {spellings})" for message in messages]
    raise serializers.ValidationError(errors)


class InstructorQuerySerializer(serializers.Serializer):
    instructor_id = serializers.IntegerField(min_value=1)


class AvailabilityQuerySerializer(InstructorQuerySerializer):
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
    instructor_id = serializers.IntegerField()
    instructor_timezone = serializers.CharField()
    student_timezone = serializers.CharField()
    session_minutes = serializers.IntegerField()
    slots = AvailabilitySlotSerializer(many=True)


def _aliased(name: str, description: str, *, kind=OpenApiTypes.INT, required: bool = False) -> OpenApiParameter:
    aliases = QUERY_ALIASES.get(name, ())
    if aliases:
        description += " Also accepted as " + ", ".join(f"`{alias}`" for alias in aliases) + "."
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=required, description=description)


INSTRUCTOR_PARAMETER = _aliased(
    "instructor_id", "An instructor assigned to the key's brand (another brand's: 404).", required=True
)

AVAILABILITY_PARAMETERS = [
    INSTRUCTOR_PARAMETER,
    _aliased(
        "start_date",
        "First date (YYYY-MM-DD) in the student's timezone; default today there.",
        kind=OpenApiTypes.DATE,
    ),
    _aliased("days", f"Number of days, 1..{MAX_DAYS}; default {DEFAULT_DAYS}."),
    _aliased(
        "session_minutes",
        f"Slot length, {MIN_SESSION_MINUTES}..{MAX_SESSION_MINUTES}; default {DEFAULT_SESSION_MINUTES}, "
        "or the event type's duration.",
    ),
    _aliased(
        "event_type_id",
        "An event type of the brand whose duration gives the slot length (must agree with session_minutes "
        "when both are given).",
    ),
    _aliased(
        "interval_minutes",
        f"Grid step between slot starts, {MIN_SESSION_MINUTES}..{MAX_SESSION_MINUTES}; default the slot length.",
    ),
    _aliased("student_timezone", "IANA timezone of the student; default UTC.", kind=OpenApiTypes.STR),
]


class AvailabilityView(APIView):
    """``GET``: free slots (any key of the brand). ``PUT``: replace the schedule (secret key)."""

    permission_classes = [SecretForWrites]

    @extend_schema(
        summary="Free slots of an instructor",
        description=(
            "Slots starting on the requested days (in the student's timezone), sorted, never overlapping an "
            "active booking of the instructor in any brand (widened by the buffer), the past, the minimum "
            "notice or the advance window. `start_at`/`end_at` are UTC; `student_*` carry the student's offset."
        ),
        parameters=AVAILABILITY_PARAMETERS,
        responses=AvailabilitySerializer,
    )
    def get(self, request):
        brand = resolve_brand(request)
        query = parse_query(request.query_params, AvailabilityQuerySerializer)
        assignment = selectors.assignment_for(brand=brand, instructor_id=query["instructor_id"])
        session_minutes = query.get("session_minutes")
        if "event_type_id" in query:
            event_type = selectors.event_type_for(brand=brand, event_type_id=query["event_type_id"])
            if session_minutes not in (None, event_type.duration_minutes):
                raise serializers.ValidationError(
                    {
                        "session_minutes": [
                            f"The event type lasts {event_type.duration_minutes} minutes; "
                            "leave sessionMinutes out or give the same value."
                        ]
                    }
                )
            session_minutes = event_type.duration_minutes
            # Bookings of this type are validated on the type's grid, so the slots shown use it too.
            interval_minutes = query.get("interval_minutes")
            if interval_minutes not in (None, event_type.slot_interval_minutes):
                raise serializers.ValidationError(
                    {"interval_minutes": ["The event type sets its own slot interval; leave intervalMinutes out."]}
                )
            query["interval_minutes"] = event_type.slot_interval_minutes
        session_minutes = session_minutes or DEFAULT_SESSION_MINUTES

        student_timezone = query["student_timezone"]
        student_zone = zoneinfo.ZoneInfo(student_timezone)
        now = django_timezone.now()
        start_date = query.get("start_date") or now.astimezone(student_zone).date()
        window_start, window_end = student_date_window(
            start_date=start_date, days=query["days"], timezone=student_timezone
        )
        slots = instructor_slots(
            assignment=assignment,
            window_start=window_start,
            window_end=window_end,
            session_minutes=session_minutes,
            interval_minutes=query.get("interval_minutes"),
            now=now,
        )
        return Response(
            {
                "instructor_id": assignment.instructor_id,
                "instructor_timezone": assignment.timezone,
                "student_timezone": student_timezone,
                "session_minutes": session_minutes,
                "slots": [
                    {
                        "start_at": utc_iso(slot.start),
                        "end_at": utc_iso(slot.end),
                        "student_start": slot.start.astimezone(student_zone).isoformat(timespec="seconds"),
                        "student_end": slot.end.astimezone(student_zone).isoformat(timespec="seconds"),
                    }
                    for slot in slots
                ],
            }
        )

    @extend_schema(
        summary="Replace an instructor's scheduling settings, weekly ranges and overrides (secret key)",
        description=(
            "Atomic: settings left out keep their value; `weekly` and `overrides` replace the stored ones "
            "(left out means none). Any bad range anywhere answers 400 naming the field and writes nothing."
        ),
        request=AvailabilityReplaceSerializer,
        responses=AvailabilitySettingsSerializer,
    )
    def put(self, request):
        brand = resolve_brand(request)
        serializer = AvailabilityReplaceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        assignment = selectors.assignment_for(brand=brand, instructor_id=data["instructor_id"])
        with service_errors():
            services.availability_replace(
                assignment=assignment,
                settings=serializer.settings(),
                weekly=data["weekly"],
                overrides=data["overrides"],
            )
        return Response(AvailabilitySettingsSerializer(assignment).data)


class AvailabilitySettingsView(APIView):
    """The stored scheduling settings of one instructor in the key's brand (any key)."""

    permission_classes = [HasBrand]

    @extend_schema(
        summary="An instructor's scheduling settings, weekly ranges and overrides",
        parameters=[INSTRUCTOR_PARAMETER],
        responses=AvailabilitySettingsSerializer,
    )
    def get(self, request):
        query = parse_query(request.query_params, InstructorQuerySerializer)
        assignment = selectors.assignment_for(brand=resolve_brand(request), instructor_id=query["instructor_id"])
        return Response(AvailabilitySettingsSerializer(assignment).data)
