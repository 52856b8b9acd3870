"""Where the time of ``POST /api/bookings`` goes: its queries, and cProfile over in-process requests.

    .venv/bin/python -m bench.profile_booking_create [--requests 60] [--sort tottime] [--limit 30]

Creates, in a fresh database named by ``BENCH_DATABASE_URL`` (a PostgreSQL
one is dropped and created; default
``postgres://postgres@127.0.0.1:5432/booking_bench_profile``), the instructor
and session type ``make bench`` books (``bench.dataset.instructor_with_hours``:
free, confirmed at once, an email reminder a day before), then books one free
slot after the other through Django's test client with a secret key and an
``Idempotency-Key``, as the bench's clients do. It prints the queries of one
booking, the busiest functions under cProfile, and the wall and CPU medians
of a booking and of the one-``INSERT`` floor it is compared with. Celery
tasks are published, not run (``CELERY_EAGER=0``; the broker is
``CELERY_BROKER_URL``, by default the embedded one), as in production.
``docs/performance.md`` records what it showed.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import itertools
import pstats
import uuid

from bench.profile_availability import _median_ms, setup_scratch_django


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_booking_create", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--sort", default="tottime", choices=["cumulative", "tottime"])
    parser.add_argument("--limit", type=int, default=30)
    args = parser.parse_args(argv)

    setup_scratch_django(CELERY_EAGER="0")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from bench import dataset
    from bench.floor import CREATE_FLOOR_TABLE

    with connection.cursor() as cursor:
        cursor.execute(CREATE_FLOOR_TABLE)
    brand, secret_key, _ = dataset.bench_brand()
    assignment, event_type = dataset.instructor_with_hours(
        brand=brand, slug="bench-profile", opens=dt.time(0), closes=dt.time(23), buffer_minutes=0
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret_key}")
    # Hourly slots from the day after tomorrow on (Europe/Berlin, 00:00-23:00 every day).
    first = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(6), tzinfo=dt.UTC)
    starts = (first + dt.timedelta(days=number // 16, hours=number % 16) for number in itertools.count())

    def body(start: dt.datetime) -> dict:
        return {
            "instructor_id": assignment.instructor_id,
            "event_type_id": event_type.pk,
            "start_at": start.isoformat().replace("+00:00", "Z"),
            "attendee_name": "Profile Student",
            "attendee_email": "profile-student@example.com",
            "student_timezone": "Europe/Berlin",
        }

    def book():
        response = client.post(
            "/api/bookings", body(next(starts)), format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
        assert response.status_code == 201, response.content
        return response

    def floor():
        response = client.post("/bench/floor/bookings", body(first), format="json")
        assert response.status_code == 201, response.content
        return response

    book()  # the key's last-use stamp, and warm caches
    with CaptureQueriesContext(connection) as queries:
        book()
    print(f"{len(queries)} queries per booking:")
    for query in queries.captured_queries:
        print(f"  {query['sql'][:110]}")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        book()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(args.sort).print_stats(args.limit)
    print(out.getvalue())

    runs = max(args.requests, 20)
    for name, function in {"booking (test client)": book, "floor, one INSERT (test client)": floor}.items():
        wall, cpu = _median_ms(function, runs)
        print(f"{name:<40}{wall:8.2f} ms wall {cpu:8.2f} ms CPU (medians of {runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
