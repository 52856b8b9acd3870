"""Forms of the back office's booking pages: phone booking, confirm, cancel, reschedule, refund.

They only read what staff typed. Every rule (is the time free, is the phone
number valid, does the payment cover the price) is the booking services'
and comes back as their ``ValidationError`` or refusal, which
:func:`add_service_errors` puts next to the field it names.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from booking_project.admin_times import zone
from scheduling.models import EventType, InstructorBrand

# The services name fields as the API does; the forms call some of them otherwise.
SERVICE_FIELD_NAMES = {"instructor_id": "assignment", "event_type_id": "event_type", "end_at": "start_at"}


def add_service_errors(form: forms.Form, error: ValidationError, renamed: Mapping[str, str] = SERVICE_FIELD_NAMES):
    """Show a service's ``ValidationError`` on the form: on the field it names, else at the top."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for key, messages in error.message_dict.items():
        name = renamed.get(key, key)
        if name == NON_FIELD_ERRORS:
            form.add_error(None, messages)
        elif name in form.fields:
            form.add_error(name, messages)
        else:
            form.add_error(None, [f"{key}: {message}" for message in messages])


class InstantField(forms.CharField):
    """An instant as sent by a slot button: ISO 8601 with an offset (``2026-12-02T10:00:00+00:00``)."""

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return None
        try:
            instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Pick one of the times offered.") from None
        if instant.tzinfo is None:
            raise ValidationError("Pick one of the times offered.")
        return instant.astimezone(dt.UTC)


class TimeChoiceForm(forms.Form):
    """A free time picked from the slots shown, or (staff override) any local date and time.

    The override books outside the instructor's free times (availability,
    notice, window); the booking services still refuse an overlap with
    another booking.
    """

    start_at = InstantField(required=False, widget=forms.HiddenInput)
    override = forms.BooleanField(
        required=False,
        label="Book outside the free times",
        help_text="Staff override: any time, even outside the instructor's hours. Overlaps are still refused.",
    )
    override_date = forms.DateField(required=False, label="Date", widget=forms.DateInput(attrs={"type": "date"}))
    override_time = forms.TimeField(
        required=False, label="Start time (HH:MM)", input_formats=["%H:%M"], widget=forms.TimeInput(format="%H:%M")
    )

    def chosen_start(self, timezone: str) -> tuple[dt.datetime, bool] | None:
        """``(start in UTC, enforce availability)``, or None (with errors on the form) if nothing valid was chosen."""
        data = self.cleaned_data
        if data.get("override"):
            day, time = data.get("override_date"), data.get("override_time")
            if day is None:
                self.add_error("override_date", "Give the date of the session.")
            if time is None:
                self.add_error("override_time", "Give the start time, e.g. 14:30.")
            if day is None or time is None:
                return None
            return dt.datetime.combine(day, time, zone(timezone)).astimezone(dt.UTC), False
        if data.get("start_at") is None:
            self.add_error("start_at", "Pick one of the free times, or book outside them.")
            return None
        return data["start_at"], True


class PhoneBookingForm(TimeChoiceForm):
    assignment = forms.ModelChoiceField(queryset=InstructorBrand.objects.none(), label="Instructor")
    event_type = forms.ModelChoiceField(queryset=EventType.objects.none(), label="Session type")
    attendee_name = forms.CharField(max_length=200, label="Name")
    attendee_email = forms.EmailField(label="Email")
    attendee_phone = forms.CharField(
        max_length=32, required=False, label="Phone", help_text="International format, e.g. +49 151 12345678."
    )
    student_timezone = forms.CharField(
        max_length=64,
        required=False,
        label="Student's timezone",
        help_text="An IANA name such as Europe/Berlin; empty: the instructor's.",
    )
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Notes from the student")

    ATTENDEE_FIELDS = ("attendee_name", "attendee_email", "attendee_phone", "student_timezone", "notes")

    def attendee_fields(self):
        return [self[name] for name in self.ATTENDEE_FIELDS]

    def __init__(self, *args, assignments, event_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignment"].queryset = assignments
        self.fields["event_type"].queryset = event_types
        several_brands = len({assignment.brand_id for assignment in assignments}) > 1
        self.fields["assignment"].label_from_instance = (
            (lambda a: f"{a.instructor.name} ({a.brand.name})") if several_brands else (lambda a: a.instructor.name)
        )
        self.fields["event_type"].label_from_instance = (
            (lambda t: f"{t.name}, {t.duration_minutes} min ({t.brand.name})")
            if several_brands
            else (lambda t: f"{t.name}, {t.duration_minutes} min")
        )


class ConfirmForm(forms.Form):
    PAYMENT_CHOICES = (("record", "Record a payment"), ("waive", "Waive the payment"))

    payment = forms.ChoiceField(choices=PAYMENT_CHOICES, widget=forms.RadioSelect, required=False, initial="record")
    amount = forms.DecimalField(max_digits=10, decimal_places=2, required=False, min_value=0)
    currency = forms.CharField(max_length=3, required=False)
    provider = forms.CharField(max_length=50, required=False, help_text="e.g. stripe, cash, bank transfer")
    reference = forms.CharField(max_length=200, required=False, help_text="The provider's payment id or receipt.")

    def __init__(self, *args, needs_payment: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.needs_payment = needs_payment
        if not needs_payment:
            for name in ("payment", "amount", "currency", "provider", "reference"):
                del self.fields[name]

    def clean(self):
        data = super().clean()
        if self.needs_payment and data.get("payment") == "record":
            if data.get("amount") is None:
                self.add_error("amount", "Give the amount paid.")
            if not data.get("currency"):
                self.add_error("currency", "Give the currency, e.g. EUR.")
        if self.needs_payment and not data.get("payment"):
            self.add_error("payment", "Record the payment or waive it.")
        return data

    def service_arguments(self) -> dict:
        """The keyword arguments of ``booking_confirm`` for this form's choice."""
        if not self.needs_payment:
            return {}
        data = self.cleaned_data
        if data["payment"] == "waive":
            return {"waive_payment": True}
        return {
            "payment": {
                "amount": data["amount"],
                "currency": (data["currency"] or "").upper(),
                "provider": data.get("provider", ""),
                "reference": data.get("reference", ""),
                "status": "succeeded",
            }
        }


class CancelForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent to the student in the cancellation email.",
    )


class ConfirmStepForm(forms.Form):
    """Complete and no-show need no input: the page asks once, the button does it."""


class RefundForm(forms.Form):
    amount = forms.DecimalField(max_digits=10, decimal_places=2, min_value=0)
    provider = forms.CharField(max_length=50, required=False, help_text="Where the money went back, e.g. stripe.")
    reference = forms.CharField(max_length=200, required=False, help_text="The provider's refund id.")
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
