"""The back office pages staff run the day from: week calendar, today, phone booking, booking buttons.

They are admin views of :class:`bookings.admin.BookingAdmin` (its ``get_urls``),
so they share its login, permissions and brand scoping: every booking comes
from the admin's brand-scoped queryset and every instructor from the
assignments of the user's brands, so another brand's object is a 404 here
as on the admin's own pages.

Every change goes through ``bookings.services`` (the API's path). A refusal
(taken slot, cutoff, wrong transition, missing payment) is shown with its
``message`` and changes nothing; a ``ValidationError`` goes next to the field
it names (``admin_forms.add_service_errors``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone as django_timezone
from django.utils.http import url_has_allowed_host_and_scheme

from booking_project.admin_scoping import brands_of
from booking_project.admin_times import local_days_range, local_hours, local_time, local_today, week_start, zone
from booking_project.formats import utc_iso
from booking_project.refusals import Refusal
from scheduling.models import EventType, InstructorBrand

from . import services
from .admin_forms import (
    CancelForm,
    ConfirmForm,
    ConfirmStepForm,
    PhoneBookingForm,
    RefundForm,
    TimeChoiceForm,
    add_service_errors,
)
from .agenda import agenda, day_sessions
from .availability import instructor_slots
from .feeds import calendar_feed_url
from .models import Booking, BookingStatus, CalendarFeed, PaymentStatus

SLOT_PICKER_DAYS = 7


def _as_id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _as_date(value) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _page(model_admin, request, template: str, context: dict) -> TemplateResponse:
    return TemplateResponse(
        request,
        template,
        {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta, **context},
    )


def page_url(name: str, *args, **query) -> str:
    url = reverse(f"admin:bookings_booking_{name}", args=args)
    query = {key: value for key, value in query.items() if value not in (None, "")}
    return f"{url}?{urlencode(query)}" if query else url


def _assignments_of(request):
    return InstructorBrand.objects.filter(brand__in=brands_of(request)).select_related("instructor", "brand")


def _assignment_of_booking(booking: Booking) -> InstructorBrand | None:
    return InstructorBrand.objects.filter(instructor_id=booking.instructor_id, brand_id=booking.brand_id).first()


# --- slots offered to pick from -----------------------------------------------------------------------


@dataclass
class SlotDay:
    date: dt.date
    slots: list[tuple[str, str, str]]  # (value, local "HH:MM", UTC title)


def slot_days(
    *,
    assignment: InstructorBrand,
    event_type: EventType,
    first_day: dt.date,
    exclude_booking_id: int | None = None,
) -> list[SlotDay]:
    """The free times of ``SLOT_PICKER_DAYS`` local days from ``first_day``, grouped by local day."""
    now = django_timezone.now()
    window_start, window_end = local_days_range(first_day, SLOT_PICKER_DAYS, assignment.timezone)
    days: dict[dt.date, list[tuple[str, str, str]]] = defaultdict(list)
    if window_end > now:
        local_zone = zone(assignment.timezone)
        for slot in instructor_slots(
            assignment=assignment,
            window_start=max(window_start, now),
            window_end=window_end,
            session_minutes=event_type.duration_minutes,
            interval_minutes=event_type.slot_interval_minutes,
            exclude_booking_id=exclude_booking_id,
            now=now,
        ):
            local = slot.start.astimezone(local_zone)
            days[local.date()].append(
                (utc_iso(slot.start), f"{local:%H:%M}", f"{slot.start.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC")
            )
    return [
        SlotDay(date=day, slots=days[day])
        for day in (first_day + dt.timedelta(days=offset) for offset in range(SLOT_PICKER_DAYS))
    ]


# --- the booking's buttons ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingAction:
    """One button on a booking: when it applies, its form, and the service it calls."""

    name: str
    label: str
    title: str
    applies: Callable[[Booking], bool]
    run: Callable  # (request, booking, form) -> log message
    quick: Callable[[Booking], bool] = lambda booking: False
    """True when the button can act at once (no input needed), e.g. on the today page."""
    danger: bool = False


class _FormIncomplete(Exception):
    """The form needs more input (its errors say what); nothing was attempted."""


def _needs_payment(booking: Booking) -> bool:
    return booking.event_type.is_paid and booking.payment_status not in (PaymentStatus.PAID, PaymentStatus.WAIVED)


def _run_confirm(request, booking, form) -> str:
    result = services.booking_confirm(booking=booking, actor=services.STAFF, **form.service_arguments())
    if "payment" in form.service_arguments():
        return "Confirmed with a payment."
    return "Confirmed, payment waived." if result.booking.payment_status == PaymentStatus.WAIVED else "Confirmed."


def _run_cancel(request, booking, form) -> str:
    services.booking_cancel(booking=booking, actor=services.STAFF, reason=form.cleaned_data["reason"])
    return f"Cancelled: {form.cleaned_data['reason']}"


def _run_reschedule(request, booking, form) -> str:
    assignment = _assignment_of_booking(booking)
    chosen = form.chosen_start(assignment.timezone if assignment else booking.instructor_timezone)
    if chosen is None:
        raise _FormIncomplete
    start_at, enforce = chosen
    previous = booking.start_at
    result = services.booking_reschedule(
        booking=booking, start_at=start_at, actor=services.STAFF, enforce_availability=enforce
    )
    return f"Rescheduled from {previous:%Y-%m-%d %H:%M} UTC to {result.booking.start_at:%Y-%m-%d %H:%M} UTC" + (
        " (outside the free times)." if not enforce else "."
    )


def _run_complete(request, booking, form) -> str:
    services.booking_complete(booking=booking)
    return "Marked completed."


def _run_no_show(request, booking, form) -> str:
    services.booking_mark_no_show(booking=booking)
    return "Marked as a no-show."


def _run_refund(request, booking, form) -> str:
    data = form.cleaned_data
    refund = services.payment_refund(
        booking=booking,
        amount=data["amount"],
        provider=data.get("provider", ""),
        reference=data.get("reference", ""),
        note=data.get("note", ""),
    )
    return f"Refund of {refund.amount} {refund.currency} recorded."


ACTIONS: dict[str, BookingAction] = {
    action.name: action
    for action in (
        BookingAction(
            "confirm",
            "Confirm",
            "Confirm the booking",
            applies=lambda b: b.status == BookingStatus.PENDING,
            run=_run_confirm,
            quick=lambda b: not _needs_payment(b),
        ),
        BookingAction(
            "reschedule",
            "Reschedule",
            "Move the booking to another time",
            applies=lambda b: b.is_active,
            run=_run_reschedule,
        ),
        BookingAction(
            "complete",
            "Completed",
            "Mark the session completed",
            applies=lambda b: b.status == BookingStatus.CONFIRMED and b.has_started,
            run=_run_complete,
            quick=lambda b: True,
        ),
        BookingAction(
            "no_show",
            "No-show",
            "Mark the student as a no-show",
            applies=lambda b: b.status == BookingStatus.CONFIRMED and b.has_started,
            run=_run_no_show,
            quick=lambda b: True,
        ),
        BookingAction(
            "cancel",
            "Cancel",
            "Cancel the booking",
            applies=lambda b: b.is_active,
            run=_run_cancel,
            danger=True,
        ),
        BookingAction(
            "refund",
            "Record refund",
            "Record a refund",
            applies=lambda b: b.status == BookingStatus.CANCELLED and b.payment_status == PaymentStatus.PAID,
            run=_run_refund,
        ),
    )
}


def actions_for(booking: Booking, *, next_url: str = "") -> list[dict]:
    """The buttons that apply to ``booking`` now, each with its page's URL (``next`` comes back after)."""
    return [
        {
            "name": action.name,
            "label": action.label,
            "title": action.title,
            "url": page_url(action.name, booking.pk, next=next_url),
            "quick": action.quick(booking),
            "danger": action.danger,
        }
        for action in ACTIONS.values()
        if action.applies(booking)
    ]


def _action_form(action: str, booking: Booking, data):
    if action == "confirm":
        return ConfirmForm(
            data,
            needs_payment=_needs_payment(booking),
            initial={"amount": booking.event_type.price_amount, "currency": booking.event_type.currency},
        )
    if action == "cancel":
        return CancelForm(data)
    if action == "reschedule":
        return TimeChoiceForm(data)
    if action == "refund":
        return RefundForm(data, initial={"amount": services.payment_refundable_amount(booking)})
    return ConfirmStepForm(data)


def booking_action_view(model_admin, request, object_id: str, action: str):
    """GET: the action's page (its form, the booking, for a reschedule the free times); POST: do it."""
    spec = ACTIONS.get(action)
    booking_id = _as_id(object_id)
    booking = (
        model_admin.get_queryset(request)
        .select_related("event_type", "instructor", "brand")
        .filter(pk=booking_id)
        .first()
        if booking_id and spec
        else None
    )
    if booking is None:
        raise Http404("No such booking in your brands.")
    if not model_admin.has_change_permission(request, booking):
        raise PermissionDenied
    change_url = reverse("admin:bookings_booking_change", args=[booking.pk])
    next_url = _safe_next(request, change_url)
    form = _action_form(action, booking, request.POST if request.method == "POST" else None)

    if request.method == "POST" and form.is_valid():
        try:
            log_message = spec.run(request, booking, form)
        except _FormIncomplete:
            pass
        except ValidationError as error:
            add_service_errors(form, error)
        except Refusal as refusal:
            if request.POST.get("_quick"):
                messages.error(request, f"{booking.attendee_name}: {refusal.message}")
                return HttpResponseRedirect(next_url)
            form.add_error(None, refusal.message)
        else:
            model_admin.log_change(request, booking, log_message)
            messages.success(request, f"{booking.attendee_name}, {spec.title.lower()}: done. {log_message}")
            return HttpResponseRedirect(next_url)
        if request.POST.get("_quick"):
            for error in form.errors.values():
                messages.error(request, f"{booking.attendee_name}: {' '.join(error)}")
            return HttpResponseRedirect(next_url)

    context = {
        "title": f"{spec.title}: {booking.attendee_name}",
        "booking": booking,
        "action": spec,
        "form": form,
        "next_url": next_url,
        "change_url": change_url,
        "when": local_time(booking.start_at, booking.instructor_timezone, utc_beside=True),
        "applies": spec.applies(booking),
    }
    if action == "reschedule":
        assignment = _assignment_of_booking(booking)
        first_day = _as_date(request.GET.get("date")) or local_today(booking.instructor_timezone)
        context.update(
            slot_picker_context(
                assignment=assignment,
                event_type=booking.event_type,
                first_day=first_day,
                exclude_booking_id=booking.pk,
                base_url=page_url("reschedule", booking.pk, next=next_url if next_url != change_url else ""),
                chosen=form["start_at"].value(),
            )
        )
    return _page(model_admin, request, "admin/bookings/booking/action.html", context)


def slot_picker_context(
    *, assignment, event_type, first_day: dt.date, base_url: str, chosen=None, exclude_booking_id=None
) -> dict:
    if assignment is None:
        return {"slot_days": [], "slot_zone": ""}
    separator = "&" if "?" in base_url else "?"
    return {
        "slot_days": slot_days(
            assignment=assignment, event_type=event_type, first_day=first_day, exclude_booking_id=exclude_booking_id
        ),
        "slot_zone": assignment.timezone,
        "slot_chosen": str(chosen or ""),
        "slot_first_day": first_day,
        "slot_previous_url": f"{base_url}{separator}date={first_day - dt.timedelta(days=SLOT_PICKER_DAYS)}",
        "slot_next_url": f"{base_url}{separator}date={first_day + dt.timedelta(days=SLOT_PICKER_DAYS)}",
    }


# --- phone booking (the admin's "Add booking") --------------------------------------------------------------


def phone_booking_view(model_admin, request):
    """Take a booking by phone: choose instructor and session type, pick a free time, enter the attendee.

    The selection is a GET form (so the week calendar links straight to a free
    time); the booking itself is a POST through ``booking_create``. Staff may
    book outside the free times (``enforce_availability=False``), never over
    another booking.
    """
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    brands = brands_of(request)
    assignments = _assignments_of(request).order_by("instructor__name", "brand__name")
    event_types = EventType.objects.filter(brand__in=brands, is_active=True).select_related("brand").order_by("name")
    source = request.POST if request.method == "POST" else request.GET
    assignment = assignments.filter(pk=_as_id(source.get("assignment"))).first()
    event_type = event_types.filter(pk=_as_id(source.get("event_type"))).first()
    if assignment and event_type and event_type.brand_id != assignment.brand_id:
        event_type = None
    if assignment and event_type is None:
        event_type = event_types.filter(brand_id=assignment.brand_id).first()
    chosen_start = source.get("start") or source.get("start_at")
    first_day = _as_date(source.get("date")) or (local_today(assignment.timezone) if assignment else None)

    initial = {"assignment": assignment, "event_type": event_type, "start_at": chosen_start}
    form = PhoneBookingForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        assignments=assignments,
        event_types=event_types,
    )
    if request.method == "POST" and form.is_valid():
        booking = _book_by_phone(request, form)
        if booking is not None:
            model_admin.log_addition(request, booking, "Booked by phone.")
            messages.success(
                request,
                f"Booked {booking.attendee_name} for {booking.event_type.name} with {booking.instructor.name}, "
                f"{booking.start_at.astimezone(zone(booking.instructor_timezone)):%a %d %b %Y %H:%M} "
                f"({booking.instructor_timezone}).",
            )
            return HttpResponseRedirect(reverse("admin:bookings_booking_change", args=[booking.pk]))

    context = {
        "title": "Add a booking (phone booking)",
        "form": form,
        "assignments": assignments,
        "event_types": event_types,
        "assignment": assignment,
        "event_type": event_type,
        "first_day": first_day,
    }
    if assignment and event_type:
        base_url = page_url("add", assignment=assignment.pk, event_type=event_type.pk)
        context.update(
            slot_picker_context(
                assignment=assignment,
                event_type=event_type,
                first_day=first_day,
                base_url=base_url,
                chosen=form["start_at"].value() if form.is_bound else chosen_start,
            )
        )
    return _page(model_admin, request, "admin/bookings/booking/phone_booking.html", context)


def _book_by_phone(request, form: PhoneBookingForm) -> Booking | None:
    data = form.cleaned_data
    assignment, event_type = data["assignment"], data["event_type"]
    chosen = form.chosen_start(assignment.timezone)
    if chosen is None:
        return None
    start_at, enforce = chosen
    try:
        result = services.booking_create(
            brand=assignment.brand,
            instructor=assignment.instructor,
            event_type=event_type,
            start_at=start_at,
            attendee_name=data["attendee_name"],
            attendee_email=data["attendee_email"],
            attendee_phone=data.get("attendee_phone", ""),
            student_timezone=data.get("student_timezone") or assignment.timezone,
            notes=data.get("notes", ""),
            enforce_availability=enforce,
        )
    except ValidationError as error:
        add_service_errors(form, error)
        return None
    except Refusal as refusal:
        form.add_error(None, refusal.message)
        return None
    for warning in result.warnings:
        messages.warning(request, warning)
    return result.booking


# --- week calendar ----------------------------------------------------------------------------------------


def week_view(model_admin, request):
    """A week per instructor (``?instructor=``) or per brand (``?brand=``, one column per instructor)."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    brands = list(brands_of(request).order_by("name"))
    assignments = _assignments_of(request)
    instructor_id = request.GET.get("instructor")
    brand = None
    if request.GET.get("brand"):
        brand = next((b for b in brands if b.pk == _as_id(request.GET["brand"])), None)
        if brand is None:
            raise Http404("No such brand among yours.")
    if instructor_id:
        candidates = assignments.filter(instructor_id=_as_id(instructor_id))
        if brand is not None:
            candidates = candidates.filter(brand=brand)
        assignment = candidates.order_by("brand__name").first()
        if assignment is None:
            raise Http404("No such instructor in your brands.")
        brand, columns = assignment.brand, [assignment]
        # The brand choice offers only the brands this instructor works for (among the user's).
        instructor_brands = set(
            assignments.filter(instructor_id=assignment.instructor_id).values_list("brand", flat=True)
        )
        brands = [b for b in brands if b.pk in instructor_brands]
    else:
        brand = brand or (brands[0] if brands else None)
        columns = list(assignments.filter(brand=brand).order_by("instructor__name")) if brand else []

    event_types = list(EventType.objects.filter(brand=brand, is_active=True).order_by("name")) if brand else []
    event_type = next((t for t in event_types if t.pk == _as_id(request.GET.get("event_type"))), None)
    event_type = event_type or (event_types[0] if event_types else None)
    reference_zone = columns[0].timezone if columns else "UTC"
    first_day = week_start(_as_date(request.GET.get("start")) or local_today(reference_zone))
    show_cancelled = request.GET.get("cancelled") != "0"
    week = agenda(
        assignments=columns,
        bookings=model_admin.get_queryset(request),
        first_day=first_day,
        event_type=event_type,
        show_cancelled=show_cancelled,
    )

    common = {
        "instructor": instructor_id and columns[0].instructor_id,
        "brand": brand.pk if brand else None,
        "event_type": event_type.pk if event_type else None,
        "cancelled": "" if show_cancelled else "0",
    }
    context = {
        "title": (
            f"Week of {first_day:%d %b %Y}: {columns[0].instructor.name}"
            if instructor_id
            else f"Week of {first_day:%d %b %Y}" + (f": {brand.name}" if brand else "")
        ),
        "week": week,
        "single": bool(instructor_id),
        "brand": brand,
        "brands": brands,
        "event_types": event_types,
        "event_type": event_type,
        "show_cancelled": show_cancelled,
        "previous_url": page_url("week", **{**common, "start": first_day - dt.timedelta(days=7)}),
        "next_url": page_url("week", **{**common, "start": first_day + dt.timedelta(days=7)}),
        "this_week_url": page_url("week", **common),
        "brand_week_url": page_url("week", brand=brand.pk) if brand else "",
        "add_url": page_url("add"),
        "today_url": page_url("today"),
        "statuses": BookingStatus,
    }
    return _page(model_admin, request, "admin/bookings/booking/week.html", context)


# --- today --------------------------------------------------------------------------------------------


def today_view(model_admin, request):
    """One local day's sessions across the user's brands, with the buttons next to each."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    date = _as_date(request.GET.get("date"))
    brands = list(brands_of(request).order_by("name"))
    brand = next((b for b in brands if b.pk == _as_id(request.GET.get("brand"))), None)
    bookings = model_admin.get_queryset(request)
    if brand is not None:
        bookings = bookings.filter(brand=brand)
    sessions = day_sessions(bookings=bookings, date=date)
    here = request.get_full_path()
    rows = [
        {
            "booking": booking,
            "hours": local_hours(booking.start_at, booking.end_at, booking.instructor_timezone),
            "actions": actions_for(booking, next_url=here)
            if model_admin.has_change_permission(request, booking)
            else [],
            "url": reverse("admin:bookings_booking_change", args=[booking.pk]),
            "week_url": page_url("week", instructor=booking.instructor_id, brand=booking.brand_id),
        }
        for booking in sessions
    ]
    base = date or django_timezone.now().date()
    query = {"brand": brand.pk if brand else None}
    context = {
        "title": f"Sessions on {date:%A %d %B %Y}" if date else "Today's sessions",
        "rows": rows,
        "date": date,
        "brands": brands,
        "brand": brand,
        "several_brands": len(brands) > 1,
        "previous_url": page_url("today", date=base - dt.timedelta(days=1), **query),
        "next_url": page_url("today", date=base + dt.timedelta(days=1), **query),
        "today_url": page_url("today", **query),
        "week_url": page_url("week", brand=brand.pk if brand else None),
        "add_url": page_url("add"),
    }
    return _page(model_admin, request, "admin/bookings/booking/today.html", context)


# --- an instructor's calendar feed --------------------------------------------------------------------


def calendar_feed_issue_view(model_admin, request, instructor_id: int):
    """Show (GET) and issue (POST) the secret calendar feed URL of an instructor of the user's brands.

    Issuing goes through ``services.calendar_feed_rotate``: the first time it
    creates the feed, afterwards it replaces the token and the old URL is a 404.
    """
    assignment = _assignments_of(request).filter(instructor_id=instructor_id).first()
    if assignment is None:
        raise Http404("No such instructor in your brands.")
    instructor = assignment.instructor
    feed = CalendarFeed.objects.filter(instructor=instructor).first()
    if request.method == "POST":
        if not model_admin.has_view_permission(request):
            raise PermissionDenied
        feed = services.calendar_feed_rotate(instructor=instructor)
        messages.success(
            request, f"A new calendar feed URL for {instructor} is ready below; any earlier URL stops working now."
        )
        return HttpResponseRedirect(reverse("admin:bookings_calendarfeed_issue", args=[instructor.pk]))
    return _page(
        model_admin,
        request,
        "admin/bookings/calendarfeed/issue.html",
        {
            "title": f"Calendar feed of {instructor}",
            "instructor": instructor,
            "feed_url": calendar_feed_url(feed) if feed else "",
        },
    )
