"""``/booking/<uid>/?token=...``: the student's booking, reached only through its signed link.

The token (``bookings.links``) is an HMAC of the booking's uid; it opens the
booking until the session ends. A missing, altered or expired token gets the
same 404 page as an unknown booking, showing nothing of it, and every form
here sends the token back, so a change without it changes nothing.

Changes go through the booking services as the student (``STUDENT``): the
cancellation cutoff applies and its refusal says when it passed; a
reschedule offers only the times the service would accept.
"""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone as django_timezone
from django.views.decorators.http import require_GET, require_POST

from booking_project.refusals import Refusal
from scheduling.models import InstructorBrand

from .. import services
from ..errors import SlotUnavailable
from ..forms import CancelForm, RescheduleForm, TimezoneField
from ..ics import booking_ics
from ..links import manage_path, manage_token_opens
from ..models import ACTIVE_STATUSES, Booking, BookingStatus
from ..selectors import student_change_deadline
from .shared import calendar_view, page_response

NOTICES = ("booked", "cancelled", "rescheduled")
ICS_DOWNLOAD_NAME = "booking.ics"


def _opened_booking(uid, token: str | None) -> Booking | None:
    """The booking if ``token`` opens it (its own token, session not over), else None."""
    booking = Booking.objects.select_related("brand", "instructor", "event_type").filter(uid=uid).first()
    if booking is None or not manage_token_opens(booking, token):
        return None
    return booking


def _link_refused(request):
    """One answer for an unknown booking and a wrong or expired token: nothing tells them apart."""
    return page_response(request, "bookings/link_invalid.html", {}, brand=None, status=404)


@require_GET
def booking_page(request, uid):
    token = request.GET.get("token")
    booking = _opened_booking(uid, token)
    if booking is None:
        return _link_refused(request)
    notice = request.GET.get("notice")
    return _render(request, booking, token, notice=notice if notice in NOTICES else "")


@require_GET
def booking_calendar_file(request, uid):
    """The booking as an ``.ics`` to add to a calendar (a cancelled one says so, under the same UID)."""
    booking = _opened_booking(uid, request.GET.get("token"))
    if booking is None:
        return _link_refused(request)
    content = booking_ics(
        booking,
        cancelled=booking.status == BookingStatus.CANCELLED,
        stamp=booking.updated_at,
        method="PUBLISH",
    )
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ICS_DOWNLOAD_NAME}"'
    return response


def _posted(request, uid, form_class):
    """The posted form, its token, and the booking that token opens (None: the link is refused)."""
    form = form_class(request.POST)
    token = form.data.get("token")
    return form, token, _opened_booking(uid, token)


@require_POST
def booking_cancel(request, uid):
    form, token, booking = _posted(request, uid, CancelForm)
    if booking is None:
        return _link_refused(request)
    if not form.is_valid():
        return _render(request, booking, token, cancel_form=form, status=400)
    try:
        services.booking_cancel(booking=booking, actor=services.STUDENT, reason=form.cleaned_data["reason"])
    except Refusal as refusal:
        booking.refresh_from_db()
        return _render(request, booking, token, cancel_form=form, change_error=refusal.message, status=409)
    return redirect(f"{manage_path(booking)}&notice=cancelled")


@require_POST
def booking_reschedule(request, uid):
    form, token, booking = _posted(request, uid, RescheduleForm)
    if booking is None:
        return _link_refused(request)
    if not form.is_valid():
        return _render(request, booking, token, reschedule_form=form, status=400)
    start_at = form.cleaned_data["start_at"]
    try:
        services.booking_reschedule(booking=booking, start_at=start_at, actor=services.STUDENT)
    except SlotUnavailable as refusal:
        booking.refresh_from_db()
        week = start_at.astimezone(zoneinfo.ZoneInfo(_calendar_timezone(request, booking))).date()
        return _render(request, booking, token, slot_error=refusal.message, week=week, status=409)
    except Refusal as refusal:
        booking.refresh_from_db()
        return _render(request, booking, token, change_error=refusal.message, status=409)
    except ValidationError as error:
        form.add_error("start_at", error.messages)
        return _render(request, booking, token, reschedule_form=form, status=400)
    return redirect(f"{manage_path(booking)}&notice=rescheduled")


def _calendar_timezone(request, booking: Booking) -> str:
    """The zone the reschedule calendar was shown in (sent back with the form), else the booking's."""
    try:
        return TimezoneField(required=False).clean(request.POST.get("tz", "")) or booking.student_timezone
    except ValidationError:
        return booking.student_timezone


def _series_starts(booking: Booking) -> list:
    """The start times of the weekly series the booking belongs to (its active sessions), or nothing."""
    if not booking.series_id:
        return []
    return list(
        Booking.objects.filter(series_id=booking.series_id, status__in=ACTIVE_STATUSES)
        .order_by("start_at")
        .values_list("start_at", flat=True)
    )


def _render(
    request,
    booking: Booking,
    token: str,
    *,
    notice: str = "",
    cancel_form: CancelForm | None = None,
    reschedule_form: RescheduleForm | None = None,
    change_error: str = "",
    slot_error: str = "",
    week=None,
    status: int = 200,
):
    assignment = (
        InstructorBrand.objects.filter(instructor_id=booking.instructor_id, brand_id=booking.brand_id)
        .select_related("instructor")
        .first()
    )
    deadline = student_change_deadline(booking=booking, assignment=assignment)
    can_change = booking.is_active and django_timezone.now() < deadline
    calendar = None
    if can_change and assignment is not None:
        calendar = calendar_view(
            request,
            assignment=assignment,
            event_type=booking.event_type,
            default_timezone=booking.student_timezone,
            timezone=_calendar_timezone(request, booking) if request.method == "POST" else None,
            week=week,
            keep={"token": token},
            exclude_booking_id=booking.id,
            hide_start=booking.start_at,
        )
        if calendar.status != 200:
            status = calendar.status
    return page_response(
        request,
        "bookings/manage.html",
        {
            "booking": booking,
            "event_type": booking.event_type,
            "instructor": booking.instructor,
            "series_starts": _series_starts(booking),
            "token": token,
            "notice": notice,
            "deadline": deadline,
            "can_change": can_change,
            "calendar_view": calendar,
            "calendar": calendar.calendar if calendar else None,
            # The free times unfold when the student is working with them (a week, a zone, an error).
            "show_reschedule": bool(
                slot_error
                or reschedule_form
                or {"tz", "week"} & set(request.GET)
                or (calendar and calendar.status != 200)
            ),
            "page_url": reverse("booking-manage", kwargs={"uid": booking.uid}),
            "cancel_form": cancel_form or CancelForm(initial={"token": token}),
            "reschedule_form": reschedule_form or RescheduleForm(initial={"token": token}),
            "change_error": change_error,
            "slot_error": slot_error or _first_error(reschedule_form, "start_at"),
        },
        brand=booking.brand,
        status=status,
    )


def _first_error(form, field: str) -> str:
    errors = form.errors.get(field) if form is not None else None
    return errors[0] if errors else ""
