"""Query filters for the calendar feed and the event log.

camelCase names from the older work order (``instructorId``,
``upcomingOnly``, ``eventTypeId``, ``attendeeEmail``) are accepted as
aliases of the snake_case ones.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend

from bookings.models import Booking, BookingStatus, Event
from bookings.signals import EVENT_TYPES

ALIASES = {
    "instructorId": "instructor_id",
    "upcomingOnly": "upcoming_only",
    "eventTypeId": "event_type_id",
    "attendeeEmail": "attendee_email",
    "bookingId": "booking_id",
}


class AliasFilterBackend(DjangoFilterBackend):
    def get_filterset_kwargs(self, request, queryset, view):
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        data = kwargs["data"].copy()
        for camel, snake in ALIASES.items():
            if camel in data and snake not in data:
                data[snake] = data[camel]
        kwargs["data"] = data
        return kwargs


class AwareIsoDateTimeField(IsoDateTimeField):
    """ISO 8601 with an offset or Z: a naive time is refused (API.md), as in request bodies."""

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


class BookingFilter(django_filters.FilterSet):
    instructor_id = django_filters.NumberFilter(field_name="instructor_id")
    event_type_id = django_filters.NumberFilter(field_name="event_type_id")
    status = django_filters.MultipleChoiceFilter(choices=BookingStatus.choices)
    attendee_email = django_filters.CharFilter(field_name="attendee_email", lookup_expr="iexact")
    upcoming_only = django_filters.BooleanFilter(method="filter_upcoming", label="Only sessions that have not ended")
    start_from = AwareDateTimeFilter(field_name="end_at", lookup_expr="gt", label="from")
    to = AwareDateTimeFilter(field_name="start_at", lookup_expr="lt")

    class Meta:
        model = Booking
        fields: list[str] = []

    def filter_upcoming(self, queryset, name, value):
        return queryset.filter(end_at__gt=timezone.now()) if value else queryset


# ``from`` is a Python keyword, so the filter is declared under another name and renamed.
BookingFilter.base_filters["from"] = BookingFilter.base_filters.pop("start_from")


class EventFilter(django_filters.FilterSet):
    type = django_filters.ChoiceFilter(choices=[(t, t) for t in EVENT_TYPES])
    booking_id = django_filters.NumberFilter(field_name="booking_id")

    class Meta:
        model = Event
        fields: list[str] = []
