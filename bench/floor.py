"""Floor endpoints: the same stack doing the least it can, so every figure has something to be divided by.

Mounted under ``/bench/`` only when the ``BENCH_ENDPOINTS`` setting is on,
which only ``make bench`` sets (``booking_project/urls.py``; a test checks
that they answer 404 otherwise). They go through everything a real API
request goes through (gunicorn, the middleware, DRF, the API-key
authentication and the brand permission, the JSON renderer) and then skip
the work that is being measured:

* ``GET /bench/floor/availability?slots=N``: a precomputed free-slots answer
  with ``N`` slots, byte for byte as long as a real one with ``N`` slots
  (the bench checks the two sizes);
* ``POST /bench/floor/bookings``: reads the JSON body and performs one
  ``INSERT``, into ``bench_floor_write``, a table the bench creates in its own
  database (there is no model and no migration: it exists nowhere else).
"""

from __future__ import annotations

import datetime as dt
import functools
import json

from django.db import connection
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from booking_project.api.permissions import HasBrand, resolve_brand

FLOOR_TABLE = "bench_floor_write"
CREATE_FLOOR_TABLE = f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id bigserial PRIMARY KEY, brand_id bigint, body text)"


@functools.lru_cache(maxsize=8)
def precomputed_availability(slots: int) -> dict:
    """A free-slots answer with ``slots`` hourly slots, shaped and sized like the real one (student in UTC)."""
    first = dt.datetime(2030, 1, 1, 9, tzinfo=dt.UTC)
    rendered = []
    for index in range(slots):
        start = first + dt.timedelta(hours=index)
        end = start + dt.timedelta(hours=1)
        rendered.append(
            {
                "start_at": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "end_at": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "student_start": start.isoformat(timespec="seconds"),
                "student_end": end.isoformat(timespec="seconds"),
            }
        )
    return {
        "instructor_id": 1,
        "instructor_timezone": "Europe/Berlin",
        "student_timezone": "UTC",
        "session_minutes": 60,
        "slots": rendered,
    }


@extend_schema(exclude=True)
class AvailabilityFloorView(APIView):
    """The availability answer without computing it."""

    permission_classes = [HasBrand]

    def get(self, request):
        resolve_brand(request)
        return Response(precomputed_availability(int(request.query_params.get("slots", "0"))))


@extend_schema(exclude=True)
class BookingFloorView(APIView):
    """One INSERT per request, nothing else."""

    permission_classes = [HasBrand]

    def post(self, request):
        brand = resolve_brand(request)
        body = dict(request.data)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {FLOOR_TABLE} (brand_id, body) VALUES (%s, %s) RETURNING id",  # noqa: S608 - a constant
                [brand.pk, json.dumps(body)],
            )
            (row_id,) = cursor.fetchone()
        return Response({"id": row_id, **body}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("floor/availability", AvailabilityFloorView.as_view(), name="bench-floor-availability"),
    path("floor/bookings", BookingFloorView.as_view(), name="bench-floor-bookings"),
]
