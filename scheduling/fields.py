"""Model fields with a rule that every door (API, admin, pages, commands) must apply."""

from __future__ import annotations

from django.db import models

from .validators import normalise_phone


class PhoneNumberField(models.CharField):
    """A phone number stored in E.164 (``+4915112345678``); blank means none.

    ``full_clean`` normalises the value or refuses it with a message on the
    field, so the admin, the API and the services all store the same form
    (Twilio needs E.164). Only cleaning does this, not ``to_python``, which
    Django also calls for every query: looking a number up must never raise.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def clean(self, value, model_instance):
        return normalise_phone(super().clean(value, model_instance) or "")
