"""Serializer fields shared by every app's API.

Each wraps a rule that also holds outside the API (``scheduling.validators``),
so a wrong value gets the same words through the API, the pages and the admin.
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_array_type, build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers
from rest_framework.utils import html

from booking_project.formats import utc_iso
from scheduling.validators import normalise_phone, validate_currency, validate_timezone_name

DATETIME_HINT = "e.g. 2026-12-01T09:00:00Z"


class AwareDateTimeField(serializers.DateTimeField):
    """ISO 8601 with an offset or ``Z`` (a naive time is refused); output in UTC with ``Z``."""

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
            except ValueError:
                raise serializers.ValidationError(f"Not an ISO 8601 date-time, {DATETIME_HINT}.") from None
            if parsed.tzinfo is None:
                raise serializers.ValidationError(f"Give an offset or Z, {DATETIME_HINT}.")
            return parsed.astimezone(dt.UTC)
        raise serializers.ValidationError(f"Not an ISO 8601 date-time, {DATETIME_HINT}.")

    def to_representation(self, value):
        return utc_iso(value)


class TimezoneNameField(serializers.CharField):
    """An IANA timezone name (``Europe/Berlin``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 64)
        kwargs.setdefault("validators", [validate_timezone_name])
        super().__init__(**kwargs)


class PhoneNumberField(serializers.CharField):
    """A phone number, stored and returned in E.164 (``scheduling.validators.normalise_phone``)."""

    def to_internal_value(self, data):
        try:
            return normalise_phone(super().to_internal_value(data))
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class CurrencyField(serializers.CharField):
    """An ISO 4217 code, upper-cased on input (``"usd"`` is ``USD``)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 3)
        kwargs.setdefault("validators", [validate_currency])
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        return super().to_internal_value(data).upper()


class StringOrListField(serializers.ListField):
    """A list; also its JSON-array string (``"[1440, 60]"``) or, with
    ``comma_separated`` (the default), a comma-separated string
    (``"a@example.com, b@example.com"``). Output: a list.

    Without ``comma_separated`` any other string is refused: ``"1440,60"`` is
    not an accepted form of ``reminder_minutes_before``. A form post's single
    value is then one item (``reminder_minutes_before=60`` is ``[60]``).
    """

    default_error_messages = {
        "not_a_list": 'Expected a list, a JSON array string or a comma-separated string, got "{input_type}".',
        "not_a_list_or_json": 'Expected a list or a JSON array string such as "[1440, 60]", got "{input}".',
        "invalid_json": "Not a valid JSON array.",
    }

    def __init__(self, *, comma_separated: bool = True, **kwargs):
        self.comma_separated = comma_separated
        super().__init__(**kwargs)
        if not comma_separated:
            self.error_messages["not_a_list"] = 'Expected a list or a JSON array string, got "{input_type}".'

    def get_value(self, dictionary):
        # Form input: one value is the string form; several are the list itself.
        if html.is_html_input(dictionary) and self.field_name in dictionary:
            values = dictionary.getlist(self.field_name)
            if len(values) == 1:
                value = values[0]
                if self.comma_separated or value.strip().startswith("[") or not value.strip():
                    return value
                return [value]
        return super().get_value(dictionary)

    def to_internal_value(self, data):
        if isinstance(data, str):
            text = data.strip()
            if text.startswith("["):
                try:
                    data = json.loads(text)
                except ValueError:
                    self.fail("invalid_json")
            elif not text:
                data = []
            elif self.comma_separated:
                data = [part.strip() for part in text.split(",") if part.strip()]
            else:
                self.fail("not_a_list_or_json", input=text[:50])
        return super().to_internal_value(data)


class StringOrListFieldSchema(OpenApiSerializerFieldExtension):
    """Documents the string forms on requests; responses are always arrays."""

    target_class = StringOrListField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        items = auto_schema._map_serializer_field(self.target.child, direction)
        array = build_array_type(items)
        if direction == "response":
            return array
        text = build_basic_type(OpenApiTypes.STR)
        text["description"] = "JSON array string" + (
            " or comma-separated values" if self.target.comma_separated else ""
        )
        return {"oneOf": [array, text]}
