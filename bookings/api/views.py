"""Booking API: thin views over ``bookings.services`` (API.md: Bookings, events)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import prefetch_related_objects
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response

from bookings import services
from bookings.errors import BookingConflict, IdempotencyKeyReused
from bookings.models import Booking, Event, IdempotencyRecord
from scheduling.api.errors import Conflict
from scheduling.api.permissions import HasBrand, SecretScope, is_secret, resolve_brand
from scheduling.api.serializers import field_errors
from scheduling.models import ApiKey, EventType, Instructor

from .filters import AliasFilterBackend, BookingFilter, EventFilter
from .serializers import (
    BookingCreatedSerializer,
    BookingCreateSerializer,
    BookingDetailSerializer,
    BookingSerializer,
    BookingUpdateSerializer,
    EventSerializer,
)
from .throttles import PublicKeyWriteThrottle


def actor_for(request) -> str:
    """Public keys act for students (cutoff applies); secret keys for the API; sessions for staff."""
    if isinstance(request.auth, ApiKey):
        return services.API if request.auth.is_secret else services.STUDENT
    return services.STAFF


class _Unprocessable(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY


def call_service(function, **kwargs):
    """Run a service, turning its refusals into API errors (409 with a code, 400 with fields)."""
    try:
        return function(**kwargs)
    except IdempotencyKeyReused as error:
        raise _Unprocessable(detail=error.message, code=error.code) from error
    except BookingConflict as error:
        raise Conflict(error.message, error.code) from error
    except DjangoValidationError as error:
        raise exceptions.ValidationError(field_errors(error)) from error


IDEMPOTENCY_KEY_MAX_LENGTH = IdempotencyRecord._meta.get_field("key").max_length
WRITE_SCOPE_FOR_PUBLIC = {"status", "start_at", "end_at", "cancellation_reason"}


class BookingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Bookings of the key's brand. Another brand's booking is a 404."""

    filter_backends = [AliasFilterBackend]
    filterset_class = BookingFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self):
        if self.action in ("create", "partial_update", "destroy"):
            return [HasBrand()]
        return [SecretScope()]

    def get_throttles(self):
        if self.action == "create":
            return [PublicKeyWriteThrottle()]
        return []

    def get_queryset(self):
        queryset = Booking.objects.filter(brand=resolve_brand(self.request)).order_by("start_at", "id")
        if self.action == "retrieve" or self.action == "partial_update":
            queryset = queryset.prefetch_related("payments")
        return queryset

    def get_serializer_class(self):
        if self.action == "list":
            return BookingSerializer
        if self.action == "create":
            return BookingCreateSerializer
        if self.action == "partial_update":
            return BookingUpdateSerializer
        return BookingDetailSerializer

    def _detail(self, booking: Booking, warnings: list[str] | None = None, status_code: int = 200) -> Response:
        prefetch_related_objects([booking], "payments")
        if warnings is None:
            return Response(BookingDetailSerializer(booking).data, status=status_code)
        booking.warnings = warnings
        return Response(BookingCreatedSerializer(booking).data, status=status_code)

    @extend_schema(
        request=BookingCreateSerializer,
        responses={201: BookingCreatedSerializer},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Retries with the same key and body return the first result instead of booking again.",
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        brand = resolve_brand(request)
        serializer = BookingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        instructor = Instructor.objects.filter(pk=data.pop("instructor_id"), assignments__brand=brand).first()
        if instructor is None:
            raise exceptions.ValidationError({"instructor_id": ["Unknown instructor."]})
        event_type = EventType.objects.filter(pk=data.pop("event_type_id"), brand=brand).first()
        if event_type is None:
            raise exceptions.ValidationError({"event_type_id": ["Unknown session type."]})
        idempotency_key = request.headers.get("Idempotency-Key", "").strip() or None
        if idempotency_key and len(idempotency_key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            raise exceptions.ValidationError(
                {"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters (a UUID is a good key)."]}
            )
        result = call_service(
            services.booking_create,
            brand=brand,
            instructor=instructor,
            event_type=event_type,
            idempotency_key=idempotency_key,
            fingerprint=services.request_fingerprint(request.data),
            **data,
        )
        response = self._detail(result.booking, result.warnings, status.HTTP_201_CREATED)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    @extend_schema(request=BookingUpdateSerializer, responses={200: BookingDetailSerializer})
    def partial_update(self, request, *args, **kwargs):
        booking = self.get_object()
        serializer = BookingUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if not is_secret(request):
            refused = set(changes) - WRITE_SCOPE_FOR_PUBLIC
            if refused or changes.get("status", "cancelled") != "cancelled":
                raise exceptions.PermissionDenied("A public key may only cancel or reschedule a booking.")
        if "payment" in changes:
            changes["payment"] = dict(changes["payment"])
        result = call_service(services.booking_update, booking=booking, changes=changes, actor=actor_for(request))
        return self._detail(result.booking)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Cancels the booking (the record stays with status ``cancelled``)."""
        booking = self.get_object()
        call_service(services.booking_cancel, booking=booking, actor=actor_for(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EventViewSet(viewsets.ReadOnlyModelViewSet):
    """The stored event bus of the key's brand, newest first."""

    permission_classes = [SecretScope]
    serializer_class = EventSerializer
    filter_backends = [AliasFilterBackend]
    filterset_class = EventFilter

    def get_queryset(self):
        return Event.objects.filter(brand=resolve_brand(self.request)).order_by("-created_at", "-id")
