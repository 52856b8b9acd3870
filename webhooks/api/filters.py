"""Query filters for a subscription's delivery log."""

from __future__ import annotations

import django_filters

from booking_project.api.query import AwareDateTimeFilter
from bookings.signals import EVENT_NAMES
from webhooks.models import WebhookDelivery
from webhooks.services import TEST_EVENT


class DeliveryFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=WebhookDelivery.Status.choices)
    event_type = django_filters.ChoiceFilter(choices=[(name, name) for name in (*EVENT_NAMES, TEST_EVENT)])
    start_from = AwareDateTimeFilter(field_name="created_at", lookup_expr="gte", label="created from")
    to = AwareDateTimeFilter(field_name="created_at", lookup_expr="lt", label="created before")

    class Meta:
        model = WebhookDelivery
        fields: list[str] = []


# ``from`` is a Python keyword, so the filter is declared under another name and renamed.
DeliveryFilter.base_filters["from"] = DeliveryFilter.base_filters.pop("start_from")
