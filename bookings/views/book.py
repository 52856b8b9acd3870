"""``/<brand>/<instructor>/<session type>/``: the week's free times and the booking form, in one form.

The student picks a time (a radio button per free time, grouped by day in
their timezone), gives their details and sends. Picking the time inside the
form keeps what they typed when the time was taken meanwhile: the page comes
back with the service's sentence and the refreshed week, nothing else lost.
Works without JavaScript; the only script detects the browser's timezone.
"""

from __future__ import annotations

import uuid
import zoneinfo

from django.core.exceptions import ValidationError
from django.shortcuts import redirect

from booking_project.formats import utc_iso

from .. import services
from ..errors import IdempotencyKeyReused, SlotUnavailable
from ..forms import BookingForm
from ..links import manage_path
from .shared import assignment_or_404, brand_or_404, calendar_view, event_type_or_404, page_response

# Idempotency keys are per brand and shared with the API: the pages use their own prefix.
FORM_TOKEN_KEY_PREFIX = "booking-page:"


def _new_form(timezone: str, event_type) -> BookingForm:
    return BookingForm(initial={"form_token": uuid.uuid4().hex, "student_timezone": timezone}, event_type=event_type)


def book_page(request, brand_slug: str, instructor_slug: str, event_type_slug: str):
    brand = brand_or_404(brand_slug)
    assignment = assignment_or_404(brand, instructor_slug)
    event_type = event_type_or_404(brand, event_type_slug)
    if request.method == "POST":
        return _book(request, brand=brand, assignment=assignment, event_type=event_type)
    calendar = calendar_view(
        request, assignment=assignment, event_type=event_type, default_timezone=assignment.timezone
    )
    return _render(
        request,
        brand=brand,
        assignment=assignment,
        event_type=event_type,
        calendar=calendar,
        form=_new_form(calendar.timezone, event_type),
        status=calendar.status,
    )


def _book(request, *, brand, assignment, event_type):
    """Create the booking through ``booking_create``, or a weekly series through ``booking_series_create``.

    A series is all or nothing (the API's default): if one of its sessions is
    not free, nothing is booked and the page says which one and why.
    """
    form = BookingForm(request.POST, event_type=event_type)
    slot_error = ""
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        details = {
            "start_at": data["start_at"],
            "attendee_name": data["attendee_name"],
            "attendee_email": data["attendee_email"],
            "attendee_phone": data["attendee_phone"],
            "student_timezone": data["student_timezone"],
            "notes": data["notes"],
        }
        weeks = data.get("repeat_weeks") or 1
        fingerprint = services.request_fingerprint(
            {
                **details,
                "start_at": utc_iso(data["start_at"]),
                "instructor": assignment.instructor_id,
                "event_type": event_type.id,
                "repeat_weeks": weeks,
            }
        )
        request_details = {
            "brand": brand,
            "instructor": assignment.instructor,
            "event_type": event_type,
            "idempotency_key": FORM_TOKEN_KEY_PREFIX + data["form_token"],
            "fingerprint": fingerprint,
            **details,
        }
        try:
            if weeks > 1:
                first = services.booking_series_create(count=weeks, **request_details).bookings[0]
            else:
                first = services.booking_create(**request_details).booking
        except SlotUnavailable as refusal:
            slot_error, status = refusal.message, 409
        except IdempotencyKeyReused:
            form.add_error(None, "This form was already sent with other details. Please reload the page to book again.")
            status = 409
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            return redirect(f"{manage_path(first)}&notice=booked", permanent=False)
    timezone = form.cleaned_data.get("student_timezone") or assignment.timezone
    start = form.cleaned_data.get("start_at")
    calendar = calendar_view(
        request,
        assignment=assignment,
        event_type=event_type,
        default_timezone=assignment.timezone,
        timezone=timezone,
        week=start.astimezone(zoneinfo.ZoneInfo(timezone)).date() if start else None,
    )
    return _render(
        request,
        brand=brand,
        assignment=assignment,
        event_type=event_type,
        calendar=calendar,
        form=form,
        slot_error=slot_error,
        status=status,
    )


def _add_service_errors(form: BookingForm, error: ValidationError) -> None:
    """A service's field errors go next to the field of the same name, the others above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages)


def _render(request, *, brand, assignment, event_type, calendar, form, status, slot_error=""):
    # After a refusal the time is gone: the refreshed week shows with nothing picked.
    selected = form["start_at"].value() if form.is_bound and not slot_error else ""
    return page_response(
        request,
        "bookings/book.html",
        {
            "instructor": assignment.instructor,
            "assignment": assignment,
            "event_type": event_type,
            "calendar_view": calendar,
            "calendar": calendar.calendar,
            "form": form,
            "selected_start": selected,
            "slot_error": slot_error or _first_error(form, "start_at"),
        },
        brand=brand,
        status=status,
    )


def _first_error(form: BookingForm, field: str) -> str:
    errors = form.errors.get(field) if form.is_bound else None
    return errors[0] if errors else ""
