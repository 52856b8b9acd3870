"""Friendly inputs of the scheduling admin, each checked by the rules every other door uses.

- Hours are typed the way people say them: ``09:00-12:00, 13:00-17:00`` per
  weekday, or per date override (:class:`TimeRangesField`), never seconds or
  JSON. The form only reads the text; whether ranges overlap or a date appears
  twice is ``scheduling.services.availability_check``'s answer (the rule
  ``availability_replace`` applies when it saves), shown next to the input it
  is about.
- A session type's emails are typed one per line, its reminders and channels
  are checkboxes ("1 day", "1 hour"; email, SMS, WhatsApp), with a box for
  other reminder times; the model's validators judge the result.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from . import services
from .models import DateOverride, EventType, WeeklyAvailability
from .validators import MAX_REMINDER_MINUTES, MIN_REMINDER_MINUTES, REMINDER_CHANNELS, validate_reminder_minutes

# --- hours ----------------------------------------------------------------------------------------------

_RANGE = re.compile(r"^(\d{1,2}):(\d{2})\s*(?:-|–|—|to)\s*(\d{1,2}):(\d{2})$")
RANGES_HELP = "e.g. 09:00-12:00, 13:00-17:00 (empty: not available)"


def _hh_mm(hours: str, minutes: str) -> str:
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError
    return f"{int(hours):02d}:{minutes}"


class TimeRangesField(forms.CharField):
    """Local time ranges as text, ``09:00-12:00, 13:00-17:00``; cleaned to ``[{"start", "end"}]`` (stored shape).

    Only the writing is checked here (HH:MM, a dash between start and end);
    empty, backwards or overlapping ranges are the services' to refuse.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", RANGES_HELP)
        kwargs.setdefault("widget", forms.TextInput(attrs={"size": 34, "placeholder": "09:00-12:00, 13:00-17:00"}))
        super().__init__(**kwargs)

    def to_python(self, value) -> list[dict[str, str]]:
        if isinstance(value, list):
            return value
        text = super().to_python(value)
        ranges = []
        for part in filter(None, (piece.strip() for piece in re.split(r"[,;\n]", text or ""))):
            match = _RANGE.match(part)
            try:
                if match is None:
                    raise ValueError
                ranges.append({"start": _hh_mm(*match.group(1, 2)), "end": _hh_mm(*match.group(3, 4))})
            except ValueError:
                raise ValidationError(f"'{part}' is not a time range: write it as 09:00-12:00.") from None
        return ranges

    def prepare_value(self, value) -> str:
        if isinstance(value, list | tuple):
            return ", ".join(f"{item['start']}-{item['end']}" for item in value)
        return value


WEEKDAY_FIELDS = tuple(f"hours_{day.value}" for day in WeeklyAvailability.Weekday)


def _weekday_field_for(error: ValidationError, items: list[dict[str, Any]]) -> str | None:
    """The weekday input an availability error is about (its ``params``), if any."""
    params = error.params or {}
    if "weekday" in params:
        return f"hours_{params['weekday']}"
    if "index" in params and params["index"] < len(items):
        return f"hours_{items[params['index']]['weekday']}"
    return None


class WeeklyHoursForm(forms.ModelForm):
    """An assignment's form with one line of hours per weekday (the weekly availability, replaced on save)."""

    hours_0 = TimeRangesField(label="Monday")
    hours_1 = TimeRangesField(label="Tuesday", help_text="")
    hours_2 = TimeRangesField(label="Wednesday", help_text="")
    hours_3 = TimeRangesField(label="Thursday", help_text="")
    hours_4 = TimeRangesField(label="Friday", help_text="")
    hours_5 = TimeRangesField(label="Saturday", help_text="")
    hours_6 = TimeRangesField(label="Sunday", help_text="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored: dict[int, list[dict[str, str]]] = {}
        if self.instance.pk:
            # Prefetched by the admins' querysets: no query per assignment.
            for row in self.instance.weekly_ranges.all():
                stored.setdefault(row.weekday, []).append(
                    {"start": f"{row.start_time:%H:%M}", "end": f"{row.end_time:%H:%M}"}
                )
        for day in WeeklyAvailability.Weekday:
            self.initial.setdefault(f"hours_{day.value}", stored.get(day.value, []))

    def weekly_items(self) -> list[dict[str, Any]]:
        """The hours as ``availability_replace`` takes them: ``[{"weekday", "start", "end"}]``."""
        return [
            {"weekday": day.value, **item}
            for day in WeeklyAvailability.Weekday
            for item in self.cleaned_data.get(f"hours_{day.value}") or []
        ]

    def clean(self):
        cleaned_data = super().clean()
        if any(name in self.errors for name in WEEKDAY_FIELDS):
            return cleaned_data
        items = self.weekly_items()
        try:
            services.availability_check(weekly=items)
        except ValidationError as error:
            for errors in error.error_dict.values():
                for item in errors:
                    message = " ".join(item.messages)
                    self.add_error(_weekday_field_for(item, items), message)
        return cleaned_data


class DateOverrideForm(forms.ModelForm):
    ranges = TimeRangesField(label="hours", help_text="e.g. 10:00-14:00; empty with “unavailable” ticked")

    class Meta:
        model = DateOverride
        fields = ("date", "unavailable", "ranges")

    def validate_unique(self):
        """Dates are compared among the rows as they will be saved, by the formset (``availability_check``).

        The database check here would refuse moving an override to a date
        whose stored row is being deleted in the same save.
        """


class DateOverrideFormSet(BaseInlineFormSet):
    """The overrides as they will be saved, checked together by ``services.availability_check``."""

    def final_rows(self) -> list[tuple[forms.Form, dict[str, Any]]]:
        rows = []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or not data.get("date") or (self.can_delete and self._should_delete_form(form)):
                continue
            rows.append(
                (form, {"date": data["date"], "unavailable": data.get("unavailable"), "ranges": data.get("ranges")})
            )
        return rows

    def overrides(self) -> list[dict[str, Any]]:
        return [row for _, row in self.final_rows()]

    def validate_unique(self):
        """See :meth:`DateOverrideForm.validate_unique`: the service finds a date given twice."""

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        rows = self.final_rows()
        try:
            services.availability_check(overrides=[row for _, row in rows])
        except ValidationError as error:
            for errors in error.error_dict.values():
                for item in errors:
                    index = (item.params or {}).get("index")
                    if index is None or index >= len(rows):
                        raise ValidationError(item.messages) from None
                    field = "date" if item.code == "duplicate_date" else "ranges"
                    rows[index][0].add_error(field, item.messages)


# --- session types ------------------------------------------------------------------------------------

REMINDER_CHOICES = (
    (10080, "1 week"),
    (2880, "2 days"),
    (1440, "1 day"),
    (720, "12 hours"),
    (180, "3 hours"),
    (120, "2 hours"),
    (60, "1 hour"),
    (30, "30 minutes"),
    (15, "15 minutes"),
)
CHANNEL_LABELS = {"email": "Email", "sms": "SMS", "whatsapp": "WhatsApp"}


class EmailListField(forms.CharField):
    """Addresses one per line (or separated by commas) -> a list; the model validator judges each."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 40})

    def to_python(self, value) -> list[str]:
        if isinstance(value, list):
            return value
        text = super().to_python(value) or ""
        return [address for address in (part.strip() for part in re.split(r"[,;\s]+", text)) if address]

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(value)
        return value


EVENT_TYPE_FIELDSETS = [
    (None, {"fields": ("brand", "name", "slug", "description", "is_active")}),
    (
        "Session",
        {"fields": ("duration_minutes", "slot_interval_minutes", "price_amount", "currency", "requires_confirmation")},
    ),
    (
        "Notifications",
        {
            "fields": (
                "send_email_confirmation",
                "send_sms_confirmation",
                "booking_notification_emails",
                "reminder_minutes_before",
                "other_reminder_minutes",
                "reminder_channels",
            ),
        },
    ),
]


class EventTypeAdminForm(forms.ModelForm):
    """The session type form: plain inputs for the lists, the services' checks next to their fields.

    ``brand`` is read-only on the change page, so Django's own unique check of
    (brand, slug) is skipped there; ``clean`` asks the check the services use
    (``services.event_type_slug_error``) instead of letting the database
    refuse the row.
    """

    booking_notification_emails = EmailListField(
        required=False, label="Also notify", help_text="Host or team addresses, one per line."
    )
    reminder_minutes_before = forms.TypedMultipleChoiceField(
        coerce=int,
        required=False,
        choices=REMINDER_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label="Reminders before the session",
    )
    other_reminder_minutes = forms.CharField(
        required=False,
        label="Other reminder times",
        help_text=f"In minutes before the session, separated by commas, e.g. 90, 45 "
        f"({MIN_REMINDER_MINUTES} to {MAX_REMINDER_MINUTES}).",
    )
    reminder_channels = forms.MultipleChoiceField(
        choices=[(channel, CHANNEL_LABELS[channel]) for channel in REMINDER_CHANNELS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Remind by",
    )

    class Meta:
        model = EventType
        fields = flatten_fieldsets(EVENT_TYPE_FIELDSETS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The stored offsets (or, on the add page, the model's default) split into ticked boxes and the rest.
        # The instance is a new, unsaved one on the add page: its values are the model's defaults.
        self.initial.setdefault("reminder_channels", self.instance.reminder_channels)
        offered = {minutes for minutes, _ in REMINDER_CHOICES}
        stored = self.initial.get("reminder_minutes_before", self.instance.reminder_minutes_before) or []
        self.initial["reminder_minutes_before"] = [minutes for minutes in stored if minutes in offered]
        self.initial.setdefault(
            "other_reminder_minutes", ", ".join(str(minutes) for minutes in stored if minutes not in offered)
        )

    def clean_other_reminder_minutes(self) -> list[int]:
        text = self.cleaned_data.get("other_reminder_minutes") or ""
        values = []
        for part in filter(None, (piece.strip() for piece in text.split(","))):
            try:
                values.append(int(part))
            except ValueError:
                raise ValidationError(f"'{part}' is not a whole number of minutes.") from None
        validate_reminder_minutes(values)
        return values

    def clean(self):
        cleaned_data = super().clean()
        if "reminder_minutes_before" in cleaned_data and "other_reminder_minutes" in cleaned_data:
            merged = list(
                dict.fromkeys([*cleaned_data["reminder_minutes_before"], *cleaned_data["other_reminder_minutes"]])
            )
            cleaned_data["reminder_minutes_before"] = sorted(merged, reverse=True)
        brand_id = getattr(cleaned_data.get("brand"), "pk", None) if "brand" in self.fields else self.instance.brand_id
        message = services.event_type_slug_error(
            brand_id=brand_id, slug=cleaned_data.get("slug"), event_type_id=self.instance.pk
        )
        if message:
            self.add_error("slug", message)
        return cleaned_data

    def service_fields(self) -> dict[str, Any]:
        """The fields ``event_type_create`` / ``event_type_update`` take, from this form."""
        model_fields = {field.name for field in EventType._meta.concrete_fields} - {"brand"}
        return {name: value for name, value in self.cleaned_data.items() if name in model_fields}
