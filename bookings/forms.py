"""Forms of the student pages: what a student may send, checked before any service is asked.

The rules themselves live with the models and the services (field lengths,
phone numbers, timezones, slots): these forms reuse them, so a wrong value gets
the same words here as through the API. Everything that reaches a service is
also checked again by that service.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError

from booking_project.formats import utc_iso
from scheduling.validators import (
    MAX_SERIES_OCCURRENCES,
    MIN_SERIES_OCCURRENCES,
    available_timezones,
    normalise_phone,
    validate_timezone_name,
)

from .models import Booking

NAME_MAX_LENGTH = Booking._meta.get_field("attendee_name").max_length
EMAIL_MAX_LENGTH = Booking._meta.get_field("attendee_email").max_length
NOTES_MAX_LENGTH = 5000
REASON_MAX_LENGTH = 2000
PHONE_MAX_LENGTH = 40
FORM_TOKEN = re.compile(r"[0-9a-f]{32}")


def timezone_choices(current: str | None = None) -> list[tuple[str, str]]:
    """IANA names for the timezone select: every ``Area/City`` zone and UTC (plus ``current``, if valid).

    The ``Etc/GMT+5`` style names are left out: their signs are inverted and
    they never follow summer time, so a student picking one would get wrong
    times half the year.
    """
    names = {name for name in available_timezones() if "/" in name and not name.startswith("Etc/")}
    names.add("UTC")
    if current and current in available_timezones():
        names.add(current)
    return [(name, name.replace("_", " ")) for name in sorted(names)]


def parse_aware_datetime(value: str) -> dt.datetime:
    """An ISO 8601 time with an offset or ``Z``, as UTC; anything else is a ``ValidationError``."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError("This is not a session time.") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationError("This is not a session time.")
    return parsed.astimezone(dt.UTC)


class SessionTimeField(forms.CharField):
    """A slot's start as the pages send it (UTC ISO 8601, ``2026-12-02T10:00:00Z``).

    Deliberately not a choice among the times shown: a time that is not (or no
    longer) free reaches the booking service, whose refusal says why.
    """

    default_error_messages = {"required": "Choose a time."}

    def to_python(self, value):
        value = super().to_python(value)
        return parse_aware_datetime(value) if value else None

    def prepare_value(self, value):
        return utc_iso(value) if isinstance(value, dt.datetime) else value


class TimezoneField(forms.CharField):
    """An IANA timezone name; an unknown one is refused with the name in the message."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value:
            validate_timezone_name(value)


class CalendarQueryForm(forms.Form):
    """The slot calendar's address: ``tz`` (the student's timezone) and ``week`` (any date of it).

    Both optional: the page falls back to the default timezone and to the
    first week with a free time.
    """

    tz = TimezoneField(required=False, label="Show times in")
    week = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": "Give the week as a date such as 2026-12-07."},
    )


class BookingForm(forms.Form):
    """The student's details for one chosen slot.

    ``form_token`` is minted when the form is shown and becomes the booking's
    idempotency key, so sending the same form twice (a double click, a
    resubmit after a lost response) replays the first booking instead of
    making a second.
    """

    form_token = forms.CharField(widget=forms.HiddenInput, max_length=32)
    start_at = SessionTimeField()
    student_timezone = TimezoneField(widget=forms.HiddenInput)
    attendee_name = forms.CharField(
        label="Your name",
        max_length=NAME_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    attendee_email = forms.EmailField(
        label="Email",
        max_length=EMAIL_MAX_LENGTH,
        help_text="We send the confirmation and a link to change or cancel the booking here.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    attendee_phone = forms.CharField(
        label="Mobile phone (optional)",
        max_length=PHONE_MAX_LENGTH,
        required=False,
        help_text="With the country code, e.g. +44 7700 900123. Used only for text messages about this booking.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    sms_consent = forms.BooleanField(
        label="Send me text messages about this booking (confirmation and reminders) at this number.",
        required=False,
    )
    notes = forms.CharField(
        label="Notes for the instructor (optional)",
        max_length=NOTES_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    repeat_weeks = forms.TypedChoiceField(
        label="Repeat",
        coerce=int,
        required=False,
        empty_value=1,
        help_text="The same time every week. Every session is checked; if one is not free, none is booked.",
    )

    def __init__(self, *args, event_type=None, **kwargs):
        """``event_type`` decides whether the repeat choice is offered (``allow_recurring``) and up to what."""
        super().__init__(*args, **kwargs)
        if event_type is None or not event_type.allow_recurring:
            del self.fields["repeat_weeks"]
            return
        most = min(event_type.max_occurrences, MAX_SERIES_OCCURRENCES)
        self.fields["repeat_weeks"].choices = [(1, "Just this session")] + [
            (weeks, f"Every week, {weeks} sessions") for weeks in range(MIN_SERIES_OCCURRENCES, most + 1)
        ]

    def clean_form_token(self) -> str:
        token = self.cleaned_data["form_token"]
        if not FORM_TOKEN.fullmatch(token):
            raise ValidationError("This form is damaged. Please reload the page and try again.")
        return token

    def clean_attendee_phone(self) -> str:
        return normalise_phone(self.cleaned_data["attendee_phone"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("attendee_phone") and not cleaned.get("sms_consent"):
            self.add_error(
                "sms_consent",
                "The phone number is only for text messages: tick this box, or leave the number out.",
            )
        return cleaned


class ManageLinkForm(forms.Form):
    """The booking's token, sent back by every form of the booking page."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=64)


class CancelForm(ManageLinkForm):
    reason = forms.CharField(
        label="Reason (optional)",
        max_length=REASON_MAX_LENGTH,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class RescheduleForm(ManageLinkForm):
    start_at = SessionTimeField()
