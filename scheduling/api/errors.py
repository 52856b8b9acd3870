"""API error shapes (API.md): DRF's field map for 400s, and
``{"detail", "code"}`` for the rest, including 409 conflicts."""

from __future__ import annotations

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler


class Conflict(exceptions.APIException):
    """409 with a machine-readable code: slot_unavailable, invalid_transition,
    cutoff_passed or payment_required."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Conflict."
    default_code = "conflict"

    def __init__(self, detail: str, code: str):
        super().__init__(detail=detail, code=code)


def exception_handler(exc, context):
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        return response
    if isinstance(response.data, dict) and "detail" in response.data:
        detail = exc.detail if isinstance(exc, exceptions.APIException) else None
        if isinstance(exc, Http404):
            code = "not_found"
        else:
            code = getattr(detail, "code", None) or getattr(exc, "default_code", "error")
        response.data = {"detail": str(response.data["detail"]), "code": code}
    return response
