"""Scheduling API: instructors, event types and the scheduling settings of the key's brand.

Thin views: the serializer validates, a ``scheduling.services`` function
writes, and the answer is read back through the brand-scoped selector.
Refusals raised by the services reach the client through the API's exception
handler (``booking_project.api.errors``). Reads are open to any key of the
brand, writes need a ``secret`` key; a ``public`` key (embedded in a web site,
so readable by anyone) gets the public fields only. Another brand's object is
a 404, exactly like an unknown one.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from booking_project.api.permissions import HasBrand, SecretForWrites, resolve_brand
from booking_project.api.query import aliased_parameter, parse_query
from booking_project.api.views import BrandScopedViewSet
from scheduling import selectors, services
from scheduling.models import EventType, Instructor

from .serializers import (
    AvailabilityReplaceSerializer,
    AvailabilitySettingsSerializer,
    EventTypeSerializer,
    InstructorPublicSerializer,
    InstructorQuerySerializer,
    InstructorSerializer,
    PublicEventTypeSerializer,
)


@extend_schema_view(
    list=extend_schema(
        summary="Instructors assigned to the key's brand",
        description=(
            "Sorted by name. `timezone` is the instructor's timezone in this brand. A `public` key gets the "
            "public fields only (`id`, `name`, `slug`, `timezone`, `bio`): never an email or a phone number, "
            "and it cannot filter by `email`."
        ),
        responses=InstructorSerializer(many=True),
    ),
    create=extend_schema(
        summary="Create an instructor assigned to the key's brand (secret key)",
        description="The slug is made from the name when left out; the phone is normalised to E.164.",
    ),
    retrieve=extend_schema(
        summary="One instructor of the brand",
        description="A `public` key gets the public fields only (`id`, `name`, `slug`, `timezone`, `bio`).",
    ),
    partial_update=extend_schema(
        summary="Change an instructor; timezone is this brand's setting (secret key)",
        description=(
            "`timezone` is this brand's setting and can always be changed. `name`, `email`, `phone`, `slug` "
            "and `bio` belong to the person and are shared by every brand that employs them: while the "
            "instructor also works for another brand, changing them answers 409 "
            '`{"detail": ..., "code": "instructor_shared"}` and changes nothing.'
        ),
    ),
    destroy=extend_schema(
        summary="Unassign the instructor from this brand (secret key)",
        description="The instructor stays for its other brands, and every booking stays. Answers 204.",
    ),
)
class InstructorViewSet(BrandScopedViewSet):
    """Instructors of the brand. DELETE unassigns the instructor from this brand only."""

    queryset = Instructor.objects.none()

    @property
    def filterset_fields(self) -> list[str]:
        # Filtering by email would let a public key test whether an address is an instructor's.
        return ["slug", "email"] if self.is_secret else ["slug"]

    def get_serializer_class(self):
        if self.is_schema_generation or self.is_secret:
            return InstructorSerializer
        return InstructorPublicSerializer

    def get_queryset(self):
        if self.is_schema_generation:
            return Instructor.objects.none()
        return selectors.brand_instructors(brand=self.brand)

    def _answer(self, instructor: Instructor, code: int = status.HTTP_200_OK) -> Response:
        instructor = self.get_queryset().get(pk=instructor.pk)
        return Response(self.get_serializer(instructor).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        instructor = services.instructor_create(brand=self.brand, **serializer.validated_data)
        return self._answer(instructor, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instructor = self.get_object()
        serializer = self.get_serializer(instructor, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        services.instructor_update(instructor=instructor, brand=self.brand, **self.fields_for_update(serializer))
        return self._answer(instructor)

    def destroy(self, request, *args, **kwargs):
        services.instructor_unassign(instructor=self.get_object(), brand=self.brand)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="Event (session) types of the brand",
        description=(
            "Sorted by name. A `public` key sees the active types only, without the host notification "
            "addresses and reminder settings."
        ),
    ),
    create=extend_schema(
        summary="Create an event type (secret key)",
        description="The slug is made from the name when left out and is unique in the brand.",
    ),
    retrieve=extend_schema(
        summary="One event type",
        description="A `public` key sees active types only, with their public fields.",
    ),
    partial_update=extend_schema(
        summary="Change an event type (secret key)",
        description="Bookings already made keep the reminder settings they were made with.",
    ),
    destroy=extend_schema(
        summary="Delete an event type, or deactivate it when it has bookings (secret key)",
        description=(
            "Answers 204 in both cases. An event type that bookings refer to is kept for their "
            "history and switched off (`is_active: false`); one without bookings is deleted."
        ),
    ),
)
class EventTypeViewSet(BrandScopedViewSet):
    """Event (session) types of the brand.

    DELETE answers 204 either way: an event type without bookings is deleted;
    one that bookings refer to is deactivated (``is_active=false``) so that
    those bookings keep their type, reminders and payments.
    """

    queryset = EventType.objects.none()
    filterset_fields = ["is_active", "slug"]

    def get_serializer_class(self):
        if self.is_schema_generation or self.is_secret:
            return EventTypeSerializer
        return PublicEventTypeSerializer

    def get_queryset(self):
        if self.is_schema_generation:
            return EventType.objects.none()
        event_types = selectors.brand_event_types(brand=self.brand)
        return event_types if self.is_secret else event_types.filter(is_active=True)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        event_type = services.event_type_create(brand=self.brand, **serializer.validated_data)
        return Response(self.get_serializer(event_type).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        event_type = self.get_object()
        serializer = self.get_serializer(event_type, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        event_type = services.event_type_update(event_type=event_type, **self.fields_for_update(serializer))
        return Response(self.get_serializer(event_type).data)

    def destroy(self, request, *args, **kwargs):
        services.event_type_delete(event_type=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


INSTRUCTOR_PARAMETER = aliased_parameter(
    "instructor_id", "An instructor assigned to the key's brand (another brand's: 404).", required=True
)


class AvailabilityScheduleView(APIView):
    """``PUT /api/bookings/availability``: replace an instructor's schedule (secret key).

    The path is shared with the free-slots read, which needs bookings and so
    lives in ``bookings.api.views.AvailabilityView``; that view inherits this
    ``put`` and adds the ``get``.
    """

    permission_classes = [SecretForWrites]

    @extend_schema(
        summary="Replace an instructor's scheduling settings, weekly ranges and overrides (secret key)",
        description=(
            "Atomic: settings left out keep their value; `weekly` and `overrides` replace the stored ones "
            "(left out means none). Every bad range, in `weekly` and in `overrides`, is reported at once "
            "(400 naming each field) and nothing is written. Unknown or another brand's instructor: 404."
        ),
        request=AvailabilityReplaceSerializer,
        responses=AvailabilitySettingsSerializer,
    )
    def put(self, request):
        serializer = AvailabilityReplaceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        assignment = selectors.assignment_for(brand=resolve_brand(request), instructor_id=data["instructor_id"])
        services.availability_replace(
            assignment=assignment, settings=serializer.settings(), weekly=data["weekly"], overrides=data["overrides"]
        )
        return Response(AvailabilitySettingsSerializer(assignment).data)


class AvailabilitySettingsView(APIView):
    """The stored scheduling settings of one instructor in the key's brand (any key)."""

    permission_classes = [HasBrand]

    @extend_schema(
        summary="An instructor's scheduling settings, weekly ranges and overrides",
        description=(
            "The shape `PUT /api/bookings/availability` accepts. Open to `public` keys: it holds no personal "
            "data, and a booking site may show the cancellation cutoff and the working hours."
        ),
        parameters=[INSTRUCTOR_PARAMETER],
        responses=AvailabilitySettingsSerializer,
    )
    def get(self, request):
        query = parse_query(request.query_params, InstructorQuerySerializer)
        assignment = selectors.assignment_for(brand=resolve_brand(request), instructor_id=query["instructor_id"])
        return Response(AvailabilitySettingsSerializer(assignment).data)
