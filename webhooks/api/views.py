"""Webhook API: subscriptions of the key's brand, their delivery log, redelivery, test pings, secret rotation.

Secret keys only (a public key is embedded in web pages, and a subscription
holds a signing secret). Thin views: a serializer checks the input's types,
a ``webhooks.services`` function applies the rules and writes; its refusals
reach the client through the API's exception handler. Another brand's
subscription or delivery is a 404, exactly like an unknown one.
"""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from booking_project.api.permissions import SecretScope
from booking_project.api.query import AliasFilterBackend
from booking_project.api.views import BrandScopedViewSet
from webhooks import services
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

from .filters import DeliveryFilter
from .serializers import (
    DeliverySerializer,
    RotateSecretSerializer,
    SubscriptionCreateSerializer,
    SubscriptionDetailSerializer,
    SubscriptionSerializer,
    SubscriptionUpdateSerializer,
)

URL_RULES = (
    "`url` must be http(s); unless `WEBHOOK_ALLOW_PRIVATE_TARGETS` is set, a URL whose host is or resolves to "
    "a loopback, private, link-local, shared (CGNAT), multicast or reserved address is refused with 400 on `url`. "
    "`event_types` are event names (400 naming the unknown ones)."
)
DISABLED_REFUSAL = "409 `subscription_disabled` when the subscription is disabled (re-enable it first)."
DELIVERY_ID = OpenApiParameter(
    "delivery_id", int, OpenApiParameter.PATH, description="A delivery of this subscription."
)
DELIVERY_FILTERS = [
    OpenApiParameter("status", str, many=True, enum=WebhookDelivery.Status.values, description="Delivery status."),
    OpenApiParameter("event_type", str, description="An event name, or webhook.test."),
    OpenApiParameter("from", OpenApiTypes.DATETIME, description="Created at or after (with an offset or Z)."),
    OpenApiParameter("to", OpenApiTypes.DATETIME, description="Created before (with an offset or Z)."),
]


@extend_schema_view(
    list=extend_schema(summary="Webhook subscriptions of the brand (secret key)", description="Newest first."),
    create=extend_schema(
        summary="Subscribe a URL to event types (secret key)",
        description="The answer carries the signing `secret` (generated unless given). " + URL_RULES,
        request=SubscriptionCreateSerializer,
        responses={201: SubscriptionDetailSerializer},
    ),
    retrieve=extend_schema(summary="One subscription, with its secret (secret key)"),
    partial_update=extend_schema(
        summary="Change a subscription; is_active: true re-enables it (secret key)",
        description="Re-enabling clears `disabled_reason` and resets `consecutive_failures`. " + URL_RULES,
        request=SubscriptionUpdateSerializer,
        responses={200: SubscriptionDetailSerializer},
    ),
    destroy=extend_schema(summary="Delete a subscription and its delivery log (secret key)", responses={204: None}),
)
class WebhookViewSet(BrandScopedViewSet):
    """Webhook subscriptions of the key's brand."""

    permission_classes = [SecretScope]
    queryset = WebhookSubscription.objects.none()
    lookup_value_regex = "[0-9]+"
    filter_backends = [AliasFilterBackend]
    filterset_fields = ["is_active"]

    def get_queryset(self):
        if self.is_schema_generation:
            return WebhookSubscription.objects.none()
        return WebhookSubscription.objects.filter(brand=self.brand).order_by("-created_at", "-id")

    def filter_queryset(self, queryset):
        # ``is_active`` filters the list only: a subscription is found by its id alone.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        if self.action == "list":
            return SubscriptionSerializer
        if self.action == "deliveries":
            return DeliverySerializer
        return SubscriptionDetailSerializer

    def _detail(self, subscription: WebhookSubscription, code: int = status.HTTP_200_OK) -> Response:
        return Response(SubscriptionDetailSerializer(subscription).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = SubscriptionCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        subscription = services.subscription_create(brand=self.brand, **serializer.validated_data)
        return self._detail(subscription, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        subscription = self.get_object()
        serializer = SubscriptionUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._detail(services.subscription_update(subscription=subscription, **serializer.validated_data))

    def destroy(self, request, *args, **kwargs):
        services.subscription_delete(subscription=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The subscription's delivery log, newest first, with each delivery's attempts (secret key)",
        parameters=DELIVERY_FILTERS,
        responses=DeliverySerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def deliveries(self, request, pk=None):
        subscription = self.get_object()
        filters = DeliveryFilter(request.query_params, queryset=subscription.deliveries.order_by("-created_at", "-id"))
        if not filters.is_valid():
            raise ValidationError(filters.errors)
        deliveries = filters.qs.prefetch_related(
            Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("number"))
        )
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(
        summary="Send a finished delivery again, with the same body and webhook-id (secret key)",
        description=(
            "Answers 202 with the new delivery. 409 `delivery_in_progress` while the delivery is still being "
            "attempted; " + DISABLED_REFUSAL
        ),
        request=None,
        parameters=[DELIVERY_ID],
        responses={202: DeliverySerializer},
    )
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]+)/redeliver")
    def redeliver(self, request, pk=None, delivery_id=None):
        subscription = self.get_object()
        delivery = subscription.deliveries.filter(pk=delivery_id).first()
        if delivery is None:
            raise Http404(f"No delivery {delivery_id} for this webhook subscription.")
        copy = services.delivery_redeliver(delivery=delivery)
        return Response(DeliverySerializer(copy).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Send a webhook.test event to the subscription (secret key)",
        description="Answers 202 with the delivery; follow it in the delivery log. " + DISABLED_REFUSAL,
        request=None,
        responses={202: DeliverySerializer},
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = services.subscription_ping(subscription=self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Replace the signing secret; the old one keeps signing for 24 hours (secret key)",
        description=(
            "Answers with the subscription and its new `secret`. Until `previous_secret_expires_at` every "
            "delivery carries two signatures (space-separated in `webhook-signature`): one with the new secret, "
            "one with the old, so receivers can switch at any time in between."
        ),
        request=RotateSecretSerializer,
        responses={200: SubscriptionDetailSerializer},
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        subscription = self.get_object()
        serializer = RotateSecretSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._detail(services.subscription_rotate_secret(subscription=subscription, **serializer.validated_data))
