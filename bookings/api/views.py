"""Booking API: bookings, the event log and free slots, thin views over ``bookings.services``.

Views validate input, call a service and render the result; a service's
refusal reaches the client through the API's exception handler
(``booking_project.api.errors``), never through a catch here.

Who may see a booking: a ``secret`` key (or staff) sees every booking of its
brand. A ``public`` key is embedded in a web site, so anyone can read it: it
opens one booking only together with that booking's token (``X-Booking-Token``,
the ``token`` of its ``manage_url``), and the answer leaves out what the studio
keeps for itself. Without the token the booking does not exist for it.
"""

from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo

from django.db.models import Prefetch, prefetch_related_objects
from django.http import Http404
from django.utils import timezone as django_timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from booking_project.api.permissions import HasBrand, SecretForWrites, SecretScope, is_secret, resolve_brand
from booking_project.api.query import AliasFilterBackend, aliased_parameter, parse_query
from booking_project.formats import IsoText
from bookings import services
from bookings.availability import instructor_slot_starts
from bookings.feeds import calendar_feed_url
from bookings.links import manage_token_opens
from bookings.models import Booking, BookingSeries, Event, IdempotencyRecord, Payment
from scheduling import selectors
from scheduling.api.views import INSTRUCTOR_PARAMETER, AvailabilityScheduleView
from scheduling.models import ApiKey, EventType, InstructorBrand
from scheduling.slots import REFUSAL_ORDER, student_date_window

from .filters import BookingFilter, EventFilter
from .serializers import (
    DEFAULT_SESSION_MINUTES,
    MAX_DAYS,
    AvailabilityQuerySerializer,
    AvailabilitySerializer,
    BookingCreatedSerializer,
    BookingCreateSerializer,
    BookingDetailSerializer,
    BookingSerializer,
    BookingUpdateSerializer,
    CalendarFeedUrlSerializer,
    EventSerializer,
    SeriesCancelQuerySerializer,
    SeriesCreatedSerializer,
    StudentBookingCreatedSerializer,
    StudentBookingSerializer,
)
from .throttles import PublicKeyWriteThrottle

BOOKING_TOKEN_HEADER = "X-Booking-Token"
IDEMPOTENCY_KEY_MAX_LENGTH = IdempotencyRecord._meta.get_field("key").max_length
# What a public key may change: cancel (with a reason) or reschedule.
WRITE_SCOPE_FOR_PUBLIC = {"status", "start_at", "end_at", "cancellation_reason"}


def actor_for(request) -> str:
    """Public keys act for students (cutoff applies); secret keys for the API; sessions for staff."""
    if isinstance(request.auth, ApiKey):
        return services.API if request.auth.is_secret else services.STUDENT
    return services.STAFF


TOKEN_PARAMETER = OpenApiParameter(
    BOOKING_TOKEN_HEADER,
    str,
    OpenApiParameter.HEADER,
    description=(
        "The booking's token (the `token` of its `manage_url`). Required with a `public` key: without it, or "
        "with another booking's, the answer is 404 as for an unknown booking. Ignored with a `secret` key."
    ),
)
LOOKUP_PARAMETER = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The booking's `id`, or its `uid`.")
SLOT_UNAVAILABLE = (
    "409 `slot_unavailable` when the time cannot be booked, with `reason` (one of "
    + ", ".join(f"`{reason}`" for reason in REFUSAL_ORDER)
    + "; the first that applies in this order) and a `detail` sentence a student understands."
)
PUBLIC_VIEW = "A `public` key's answer leaves out `instructor_notes` and `payments`."
SERIES = (
    ' With `recurrence` (`{"frequency": "weekly", "count": 2..26, "interval": 1..4}`, only for session types '
    "with `allow_recurring`, `count` at most their `max_occurrences`) it books a weekly series at the same local time "
    "in the instructor's timezone, every occurrence checked like a single booking, all or nothing: one refused "
    "occurrence makes the answer 409 `slot_unavailable` with `conflicts: [{start_at, reason}]` and books nothing. "
    "With `skip_conflicts: true` the free occurrences are booked and the others listed in `skipped`. The answer to a "
    "series is `{series_id, bookings, skipped, warnings}`."
)
BOOKING_OR_SERIES = PolymorphicProxySerializer(
    component_name="BookingOrSeriesCreated",
    serializers=[BookingCreatedSerializer, SeriesCreatedSerializer],
    resource_type_field_name=None,
)


@extend_schema_view(
    list=extend_schema(
        summary="The brand's bookings: the instructor calendar feed (secret key)",
        description=(
            "Sorted by `start_at`. Filters: `instructor_id`, `upcoming_only` (not yet ended), `status` "
            "(repeatable), `from`/`to` (times with an offset), `attendee_email`, `event_type_id`; the "
            "camelCase spellings (`instructorId`, `upcomingOnly`...) work too."
        ),
    ),
    retrieve=extend_schema(
        summary="One booking, with its payments",
        description="By `id` or `uid`. A `public` key needs the booking's token. " + PUBLIC_VIEW,
        parameters=[LOOKUP_PARAMETER, TOKEN_PARAMETER],
        responses=BookingDetailSerializer,
    ),
)
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
    # A booking is addressed by its id or its uid, nothing else, so fixed paths
    # under /api/bookings/ (availability, instructors, reminders) never reach it.
    lookup_value_regex = r"[0-9]+|[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def get_permissions(self):
        if self.action == "list":
            return [SecretScope()]
        return [HasBrand()]

    def get_throttles(self):
        if self.action == "create":
            return [PublicKeyWriteThrottle()]
        return []

    def get_queryset(self):
        return Booking.objects.filter(brand=resolve_brand(self.request)).order_by("start_at", "id")

    def get_serializer_class(self):
        if self.action == "list":
            return BookingSerializer
        if self.action == "create":
            return BookingCreateSerializer
        if self.action == "partial_update":
            return BookingUpdateSerializer
        return BookingDetailSerializer

    def get_object(self) -> Booking:
        """The booking by id or uid; for a public key only with its token. Otherwise a 404 like any unknown one."""
        lookup = self.kwargs["pk"]
        bookings = self.get_queryset()
        if lookup.isdigit():
            booking = bookings.filter(pk=int(lookup)).first()
        else:
            booking = bookings.filter(uid=uuid.UUID(lookup)).first()
        opens = booking is not None and (
            is_secret(self.request) or manage_token_opens(booking, self.request.headers.get(BOOKING_TOKEN_HEADER))
        )
        if not opens:
            raise Http404(f"No booking {lookup} in this brand.")
        return booking

    def _answer(
        self, booking: Booking, warnings: list[str] | None = None, status_code: int = 200, *, new: bool = False
    ) -> Response:
        """The booking in the caller's view; with ``warnings`` for a create.

        A ``new`` booking (created by this request) has no payments yet, so they are not asked for.
        """
        full_view = is_secret(self.request)
        if full_view:
            prefetch_related_objects([booking], Prefetch("payments", queryset=Payment.objects.none() if new else None))
        if warnings is None:
            serializer_class = BookingDetailSerializer if full_view else StudentBookingSerializer
        else:
            booking.warnings = warnings
            serializer_class = BookingCreatedSerializer if full_view else StudentBookingCreatedSerializer
        return Response(serializer_class(booking).data, status=status_code)

    def retrieve(self, request, *args, **kwargs):
        return self._answer(self.get_object())

    @extend_schema(
        summary="Book a session",
        description=(
            "Any key of the brand. The booking starts `pending`, or `confirmed` when the session type needs no "
            "confirmation and has no price. `end_at` defaults to `start_at` plus the type's duration. "
            "The time must be one that `GET /api/bookings/availability` would offer; otherwise "
            + SLOT_UNAVAILABLE
            + " An `Idempotency-Key` makes retries safe. The answer's `manage_url` carries the booking's token. "
            + PUBLIC_VIEW
            + SERIES
        ),
        request=BookingCreateSerializer,
        responses={201: BOOKING_OR_SERIES},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description=(
                    "Retries with the same key (per brand) and body return the first result instead of booking "
                    "again; the same key with another body is 422 `idempotency_key_reused`."
                ),
            )
        ],
    )
    def create(self, request, *args, **kwargs):
        brand = resolve_brand(request)
        serializer = BookingCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        recurrence = data.pop("recurrence", None)
        skip_conflicts = data.pop("skip_conflicts")
        assignment = (
            InstructorBrand.objects.select_related("instructor")
            .filter(instructor_id=data.pop("instructor_id"), brand=brand)
            .first()
        )
        if assignment is None:
            raise exceptions.ValidationError({"instructor_id": ["Unknown instructor."]})
        event_type = EventType.objects.filter(pk=data.pop("event_type_id"), brand=brand).first()
        if event_type is None:
            raise exceptions.ValidationError({"event_type_id": ["Unknown session type."]})
        idempotency_key = request.headers.get("Idempotency-Key", "").strip() or None
        if idempotency_key and len(idempotency_key) > IDEMPOTENCY_KEY_MAX_LENGTH:
            raise exceptions.ValidationError(
                {"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters (a UUID is a good key)."]}
            )
        common = {
            "brand": brand,
            "instructor": assignment.instructor,
            "assignment": assignment,
            "event_type": event_type,
            "idempotency_key": idempotency_key,
            "fingerprint": services.request_fingerprint(request.data),
            **data,
        }
        if recurrence is None:
            result = services.booking_create(**common)
            response = self._answer(result.booking, result.warnings, status.HTTP_201_CREATED, new=not result.replayed)
        else:
            result = services.booking_series_create(
                **common,
                frequency=recurrence["frequency"],
                count=recurrence["count"],
                interval_weeks=recurrence["interval"],
                skip_conflicts=skip_conflicts,
            )
            response = self._series_answer(result)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response

    def _series_answer(self, result: services.SeriesResult) -> Response:
        """``{series_id, bookings, skipped, warnings}``, each booking in the caller's view."""
        full_view = is_secret(self.request)
        if full_view:
            prefetch_related_objects(result.bookings, "payments")
        serializer_class = BookingDetailSerializer if full_view else StudentBookingSerializer
        body = {
            "series_id": str(result.series.pk),
            "bookings": serializer_class(result.bookings, many=True).data,
            "skipped": result.skipped,
            "warnings": result.warnings,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a booking: confirm, pay, cancel, reschedule, complete, no-show, notes",
        description=(
            "One request is one atomic change; a refused request changes nothing. `status` follows the "
            "lifecycle (409 `invalid_transition` otherwise); a confirm may carry a `payment` (a failed one "
            "answers 200 with the booking still pending) or, for a secret key, `payment_status: waived` "
            "(409 `payment_required` for a priced type without either). `start_at` reschedules: "
            + SLOT_UNAVAILABLE
            + " A `public` key needs the booking's token and may only cancel or reschedule (403 otherwise), "
            "and not within the cancellation cutoff (409 `cutoff_passed`, saying when it passed). " + PUBLIC_VIEW
        ),
        request=BookingUpdateSerializer,
        responses={200: BookingDetailSerializer},
        parameters=[LOOKUP_PARAMETER, TOKEN_PARAMETER],
    )
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
        result = services.booking_update(booking=booking, changes=changes, actor=actor_for(request))
        return self._answer(result.booking)

    @extend_schema(
        summary="Cancel a booking",
        description=(
            "The record stays, with status `cancelled`; answers 204. A `public` key needs the booking's token "
            "and is bound by the cancellation cutoff (409 `cutoff_passed`)."
        ),
        parameters=[LOOKUP_PARAMETER, TOKEN_PARAMETER],
        responses={204: None},
    )
    def destroy(self, request, *args, **kwargs):
        services.booking_cancel(booking=self.get_object(), actor=actor_for(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class BookingSeriesView(APIView):
    """``DELETE /api/bookings/series/{series_id}?from=<uid>``: cancel an occurrence and the rest of its series."""

    permission_classes = [HasBrand]

    @extend_schema(
        summary="Cancel an occurrence of a weekly series and every later one",
        description=(
            "Cancels the `from` occurrence (its `uid`) and every later active occurrence of the series; earlier "
            "ones stay. Each is cancelled as by `DELETE /api/bookings/{id}` (event, emails, reminders stopped), in "
            "one transaction. A `secret` key may cancel any series of its brand; a `public` key needs the token of "
            "the `from` booking (`X-Booking-Token`) and is bound by the cancellation cutoff of every occurrence "
            "it cancels (409 `cutoff_passed`, nothing cancelled). An unknown or another brand's series, a `from` "
            "that is not one of its occurrences, or a missing token: 404. Answers 204."
        ),
        parameters=[
            OpenApiParameter("series_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The `series_id`."),
            OpenApiParameter(
                "from",
                OpenApiTypes.UUID,
                OpenApiParameter.QUERY,
                required=True,
                description="The `uid` of the first occurrence to cancel.",
            ),
            TOKEN_PARAMETER,
        ],
        responses={204: OpenApiResponse(description="Cancelled.")},
    )
    def delete(self, request, series_id):
        query = parse_query(request.query_params, SeriesCancelQuerySerializer)
        try:
            series_id = uuid.UUID(series_id)
        except ValueError:
            raise Http404(f"No series {series_id} in this brand.") from None
        series = BookingSeries.objects.filter(pk=series_id, brand=resolve_brand(request)).first()
        from_booking = series.bookings.filter(uid=query["from"]).first() if series else None
        opens = from_booking is not None and (
            is_secret(request) or manage_token_opens(from_booking, request.headers.get(BOOKING_TOKEN_HEADER))
        )
        if not opens:
            raise Http404(f"No series {series_id} with an occurrence {query['from']} in this brand.")
        services.booking_series_cancel(series=series, from_booking=from_booking, actor=actor_for(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CalendarFeedView(APIView):
    """``POST /api/instructors/{id}/calendar-feed``: a new secret feed URL for the instructor (secret key)."""

    permission_classes = [SecretScope]

    @extend_schema(
        summary="Issue a new calendar feed URL for an instructor (secret key)",
        description=(
            'Answers `{"url"}`: a secret iCalendar subscription URL (`text/calendar`) of the instructor\'s '
            "sessions in all their brands, from 30 days ago to 180 days ahead, showing the session type and the "
            "student's first name only. Each call issues a new URL; the previous one answers 404 from then on. "
            "Unknown or another brand's instructor: 404."
        ),
        parameters=[OpenApiParameter("id", int, OpenApiParameter.PATH, description="The instructor's `id`.")],
        request=None,
        responses=CalendarFeedUrlSerializer,
    )
    def post(self, request, id):
        assignment = selectors.assignment_for(brand=resolve_brand(request), instructor_id=id)
        feed = services.calendar_feed_rotate(instructor=assignment.instructor)
        return Response({"url": calendar_feed_url(feed)})


@extend_schema_view(
    list=extend_schema(
        summary="The stored event bus of the brand, newest first (secret key)",
        description="Filters: `type` (an event name such as `booking.created`) and `booking_id` (or `bookingId`).",
    ),
    retrieve=extend_schema(summary="One stored event (secret key)"),
)
class EventViewSet(viewsets.ReadOnlyModelViewSet):
    """The stored event bus of the key's brand, newest first."""

    permission_classes = [SecretScope]
    serializer_class = EventSerializer
    filter_backends = [AliasFilterBackend]
    filterset_class = EventFilter

    def get_queryset(self):
        return Event.objects.filter(brand=resolve_brand(self.request)).order_by("-created_at", "-id")


AVAILABILITY_PARAMETERS = [
    INSTRUCTOR_PARAMETER,
    aliased_parameter(
        "start_date",
        "First date (YYYY-MM-DD) in the student's timezone; default today there.",
        kind=OpenApiTypes.DATE,
    ),
    aliased_parameter("days", f"Number of days, 1..{MAX_DAYS}; default 14."),
    aliased_parameter(
        "session_minutes",
        f"Slot length, 5..720; default {DEFAULT_SESSION_MINUTES}, or the event type's duration.",
    ),
    aliased_parameter(
        "event_type_id",
        "An event type of the brand whose duration gives the slot length (must agree with session_minutes "
        "when both are given).",
    ),
    aliased_parameter("interval_minutes", "Grid step between slot starts, 5..720; default the slot length."),
    aliased_parameter("student_timezone", "IANA timezone of the student; default UTC.", kind=OpenApiTypes.STR),
]


def render_slots(starts: list[int], session_minutes: int, student_zone: zoneinfo.ZoneInfo) -> list[dict[str, str]]:
    """The slots (starts in epoch microseconds) as the answer's plain dicts: UTC with a ``Z``, and in the student's
    timezone with its offset.

    Hundreds of slots per answer, so no serializer and no ``datetime`` per
    slot: :class:`~booking_project.formats.IsoText` writes the same text as
    ``utc_iso`` and ``isoformat`` from pieces made once per answer.
    """
    length = session_minutes * 60_000_000
    ends = [start + length for start in starts]
    in_utc, in_student_zone = IsoText(dt.UTC, zulu=True), IsoText(student_zone)
    return [
        {"start_at": start_at, "end_at": end_at, "student_start": student_start, "student_end": student_end}
        for start_at, end_at, student_start, student_end in zip(
            in_utc.texts(starts),
            in_utc.texts(ends),
            in_student_zone.texts(starts),
            in_student_zone.texts(ends),
            strict=True,
        )
    ]


class AvailabilityView(AvailabilityScheduleView):
    """``/api/bookings/availability``: ``GET`` free slots (any key), ``PUT`` the schedule (secret key).

    The ``PUT`` is the scheduling app's (``AvailabilityScheduleView``); the
    ``GET`` needs the instructor's bookings, so it is assembled here.
    """

    permission_classes = [SecretForWrites]

    @extend_schema(
        summary="Free slots of an instructor",
        description=(
            "Slots starting on the requested days (in the student's timezone), sorted, never overlapping an "
            "active booking of the instructor in any brand (widened by the buffer), the past, the minimum "
            "notice or the advance window, and none on a local day or ISO week that has reached the "
            "assignment's `max_bookings_per_day` / `max_bookings_per_week`. `start_at`/`end_at` are UTC; "
            "`student_*` carry the student's offset. Any key of the brand."
        ),
        parameters=AVAILABILITY_PARAMETERS,
        responses=AvailabilitySerializer,
    )
    def get(self, request):
        brand = resolve_brand(request)
        query = parse_query(request.query_params, AvailabilityQuerySerializer)
        assignment = selectors.assignment_for(brand=brand, instructor_id=query["instructor_id"])
        session_minutes = query.get("session_minutes")
        interval_minutes = query.get("interval_minutes")
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
            if interval_minutes not in (None, event_type.slot_interval_minutes):
                raise serializers.ValidationError(
                    {"interval_minutes": ["The event type sets its own slot interval; leave intervalMinutes out."]}
                )
            interval_minutes = event_type.slot_interval_minutes
        session_minutes = session_minutes or DEFAULT_SESSION_MINUTES

        student_timezone = query["student_timezone"]
        student_zone = zoneinfo.ZoneInfo(student_timezone)
        now = django_timezone.now()
        start_date = query.get("start_date") or now.astimezone(student_zone).date()
        window_start, window_end = student_date_window(
            start_date=start_date, days=query["days"], timezone=student_timezone
        )
        starts = instructor_slot_starts(
            assignment=assignment,
            window_start=window_start,
            window_end=window_end,
            session_minutes=session_minutes,
            interval_minutes=interval_minutes,
            now=now,
        )
        return Response(
            {
                "instructor_id": assignment.instructor_id,
                "instructor_timezone": assignment.timezone,
                "student_timezone": student_timezone,
                "session_minutes": session_minutes,
                "slots": render_slots(starts, session_minutes, student_zone),
            }
        )
