"""Scheduling API: instructors and event types of the key's brand (API.md).

Thin viewsets: the serializer validates, a ``scheduling.services`` function
writes, and the answer is read back through the brand-scoped selector. Reads
are open to any key of the brand; writes need a ``secret`` key. Another
brand's object is a 404, exactly like an unknown one.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.response import Response

from scheduling import selectors, services
from scheduling.api.errors import Conflict
from scheduling.api.permissions import SecretForWrites, resolve_brand
from scheduling.models import EventType, Instructor

from .serializers import EventTypeSerializer, InstructorSerializer, service_errors


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents ``scheduling.api.authentication.ApiKeyAuthentication`` in the schema."""

    target_class = "scheduling.api.authentication.ApiKeyAuthentication"
    name = "BrandApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A brand API key: `Authorization: Bearer <key>`. `secret` keys may do everything; "
                "`public` keys may read instructors, event types and availability and book."
            ),
        }


# API.md names PATCH for changes; PUT is not offered (405).
HTTP_METHODS = ["get", "post", "patch", "delete", "head", "options"]


class BrandScopedViewSet(viewsets.ModelViewSet):
    permission_classes = [SecretForWrites]
    http_method_names = HTTP_METHODS

    @property
    def brand(self):
        return resolve_brand(self.request)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["brand"] = self.brand
        return context

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            noun = self.queryset.model._meta.verbose_name
            raise selectors.NotInBrand(f"No {noun} {self.kwargs.get('pk')} in this brand.") from None

    def _fields_for_update(self, serializer) -> dict:
        fields = dict(serializer.validated_data)
        if "slug" in fields and not fields["slug"]:
            fields.pop("slug")  # a blank slug on update keeps the current one
        return fields


@extend_schema_view(
    list=extend_schema(summary="Instructors assigned to the key's brand"),
    create=extend_schema(summary="Create an instructor assigned to the key's brand (secret key)"),
    retrieve=extend_schema(summary="One instructor of the brand"),
    partial_update=extend_schema(
        summary="Change an instructor; timezone is this brand's setting (secret key)",
        description=(
            "`timezone` is this brand's setting and can always be changed. `name`, `email`, `phone` and "
            "`slug` belong to the person and are shared by every brand that employs them: while the "
            "instructor also works for another brand, changing them answers 409 "
            '`{"detail": ..., "code": "instructor_shared"}` and changes nothing.'
        ),
    ),
    destroy=extend_schema(summary="Unassign the instructor from this brand (secret key)"),
)
class InstructorViewSet(BrandScopedViewSet):
    """Instructors of the brand. ``timezone`` is the instructor's timezone in this
    brand (per assignment). DELETE unassigns the instructor from this brand only:
    the instructor stays for its other brands and its bookings' history. The
    identity (name, email, phone, slug) of an instructor shared with other
    brands is read-only here (409 ``instructor_shared``)."""

    serializer_class = InstructorSerializer
    queryset = Instructor.objects.none()
    filterset_fields = ["slug", "email"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Instructor.objects.none()
        return selectors.brand_instructors(brand=self.brand)

    def _answer(self, instructor: Instructor, code: int = status.HTTP_200_OK) -> Response:
        instructor = self.get_queryset().get(pk=instructor.pk)
        return Response(self.get_serializer(instructor).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            instructor = services.instructor_create(brand=self.brand, **serializer.validated_data)
        return self._answer(instructor, status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instructor = self.get_object()
        serializer = self.get_serializer(instructor, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        try:
            with service_errors():
                services.instructor_update(
                    instructor=instructor, brand=self.brand, **self._fields_for_update(serializer)
                )
        except services.InstructorShared as error:
            raise Conflict(error.message, error.code) from error
        return self._answer(instructor)

    def destroy(self, request, *args, **kwargs):
        instructor = self.get_object()
        services.instructor_unassign(instructor=instructor, brand=self.brand)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(summary="Event (session) types of the brand"),
    create=extend_schema(summary="Create an event type (secret key)"),
    retrieve=extend_schema(summary="One event type"),
    partial_update=extend_schema(summary="Change an event type (secret key)"),
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

    serializer_class = EventTypeSerializer
    queryset = EventType.objects.none()
    filterset_fields = ["is_active", "slug"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return EventType.objects.none()
        return selectors.brand_event_types(brand=self.brand)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            event_type = services.event_type_create(brand=self.brand, **serializer.validated_data)
        return Response(self.get_serializer(event_type).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        event_type = self.get_object()
        serializer = self.get_serializer(event_type, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        with service_errors():
            event_type = services.event_type_update(event_type=event_type, **self._fields_for_update(serializer))
        return Response(self.get_serializer(event_type).data)

    def destroy(self, request, *args, **kwargs):
        services.event_type_delete(event_type=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
