"""Query parameters: ``snake_case`` names, with the older camelCase spellings as aliases.

The older clients of this API spell query parameters in camelCase
(``instructorId``, ``upcomingOnly``); both spellings are accepted everywhere
through the one table :data:`ALIASES`. List endpoints use
:class:`AliasFilterBackend` (django-filter); plain views such as the
availability read use :func:`parse_query`. Either way an error names the
parameter as the client spelled it.
"""

from __future__ import annotations

from collections.abc import Mapping

import django_filters
from django import forms
from django.utils.dateparse import parse_datetime
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

# snake_case name -> the other spellings accepted for it.
ALIASES: dict[str, tuple[str, ...]] = {
    "instructor_id": ("instructorId",),
    "event_type_id": ("eventTypeId",),
    "booking_id": ("bookingId",),
    "attendee_email": ("attendeeEmail",),
    "upcoming_only": ("upcomingOnly",),
    "start_date": ("startDate",),
    "session_minutes": ("sessionMinutes",),
    "interval_minutes": ("intervalMinutes", "interval"),
    "student_timezone": ("studentTimezone",),
}


def spellings(name: str) -> tuple[str, ...]:
    """``name`` first, then its aliases."""
    return (name, *ALIASES.get(name, ()))


class AliasFilterBackend(DjangoFilterBackend):
    """django-filter that also reads each filter under its aliases."""

    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        data = kwargs["data"].copy()
        for name, aliases in ALIASES.items():
            if name in data:
                continue
            for alias in aliases:
                if alias in data:
                    data[name] = data[alias]
                    break
        kwargs["data"] = data
        return kwargs


def parse_query(params: Mapping, serializer_class: type[serializers.Serializer]) -> dict:
    """Validate query parameters given in either spelling; empty values count as absent.

    Errors are keyed by the spelling the client used (``sessionMinutes``), and a
    missing required parameter by its ``snake_case`` name with the aliases in
    the message, so the answer always names the field.
    """
    data: dict[str, str] = {}
    spelled: dict[str, str] = {}
    for name in serializer_class._declared_fields:  # the names, without building the fields twice
        for spelling in spellings(name):
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
            errors[name] = [f"{message} (query parameter {' or '.join(spellings(name))})" for message in messages]
    raise serializers.ValidationError(errors)


def aliased_parameter(
    name: str, description: str, *, kind=OpenApiTypes.INT, required: bool = False
) -> OpenApiParameter:
    """An OpenAPI query parameter whose description lists its aliases."""
    aliases = ALIASES.get(name, ())
    if aliases:
        description += " Also accepted as " + ", ".join(f"`{alias}`" for alias in aliases) + "."
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, required=required, description=description)


class AwareIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with an offset or Z: a naive time is refused, as in request bodies."""

    default_error_messages = {"invalid": "Give an ISO 8601 time with an offset or Z, e.g. 2026-12-01T09:00:00Z."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        parsed = parse_datetime(str(value).strip())
        if parsed is None or parsed.tzinfo is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed


class AwareDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = AwareIsoDateTimeField
