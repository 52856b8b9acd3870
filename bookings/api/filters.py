"""Query filters for the booking list (the instructor calendar) and the event log.

The camelCase spellings (``instructorId``, ``upcomingOnly``...) are accepted
through ``booking_project.api.query.AliasFilterBackend``.
"""

from __future__ import annotations

import django_filters
from django.utils import timezone

from booking_project.api.query import AwareDateTimeFilter
from bookings.models import Booking, BookingStatus, Event
from bookings.signals import EVENT_NAMES


class BookingFilter(django_filters.FilterSet):
    instructor_id = django_filters.NumberFilter(field_name="instructor_id")
    event_type_id = django_filters.NumberFilter(field_name="event_type_id")
    series_id = django_filters.UUIDFilter(field_name="series_id", label="The occurrences of one weekly series")
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
    type = django_filters.ChoiceFilter(choices=[(name, name) for name in EVENT_NAMES])
    booking_id = django_filters.NumberFilter(field_name="booking_id")

    class Meta:
        model = Event
        fields: list[str] = []
