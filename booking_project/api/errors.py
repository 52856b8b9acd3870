"""Every error answer of the API comes from :func:`exception_handler`.

Views never catch service errors themselves; they call the service and let
its exception through. The handler maps:

- DRF's own exceptions as DRF does, with ``{"detail", "code"}`` for everything
  that is not a field error (401, 403, 404, 405, 429...);
- a Django ``ValidationError`` raised by a service or a model to 400 with the
  field map ``{"field": ["message"]}`` (keys such as ``weekly[2].start`` are
  reported under their top-level field, ``weekly``, with the full key in the
  message);
- a :class:`~booking_project.refusals.Refusal` (a business rule saying no) to
  its ``http_status`` (409 unless it says otherwise) with
  ``{"detail", "code", **details}``;
- ``Http404`` (and ``scheduling.selectors.NotInBrand``) to
  ``{"detail", "code": "not_found"}``: an unknown object and another brand's
  answer the same;
- a database that could not answer (``booking_project.database_outage``) to
  503 ``{"detail", "code": "service_unavailable"}`` with ``Retry-After``:
  nothing was changed, and the next request gets a new connection.
"""

from __future__ import annotations

import re

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from booking_project.database_outage import RETRY_AFTER_SECONDS, is_database_outage, log_outage, outage_payload
from booking_project.refusals import Refusal

_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*")


def field_errors(error: DjangoValidationError) -> dict[str, list[str]]:
    """A Django ``ValidationError`` as DRF's field map."""
    if not hasattr(error, "error_dict"):
        return {api_settings.NON_FIELD_ERRORS_KEY: list(error.messages)}
    result: dict[str, list[str]] = {}
    for key, errors in error.message_dict.items():
        match = _FIELD_NAME.match(key) if key != NON_FIELD_ERRORS else None
        name = match.group(0) if match else api_settings.NON_FIELD_ERRORS_KEY
        messages = list(errors)
        if name != key and key != NON_FIELD_ERRORS:
            messages = [f"{key}: {message}" for message in messages]
        result.setdefault(name, []).extend(messages)
    return result


def exception_handler(exc, context):
    if is_database_outage(exc):
        log_outage(context["request"], exc)
        return Response(outage_payload(), status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, Refusal):
        set_rollback()
        return Response({"detail": exc.message, "code": exc.code, **exc.details}, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(field_errors(exc))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return response
    if isinstance(response.data, dict) and "detail" in response.data:
        if isinstance(exc, Http404):
            code = "not_found"
        else:
            detail = exc.detail if isinstance(exc, exceptions.APIException) else None
            code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"detail": str(response.data["detail"]), "code": code}
    return response
