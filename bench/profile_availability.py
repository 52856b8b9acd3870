"""Where the time of ``GET /api/bookings/availability`` goes: cProfile over in-process requests.

    .venv/bin/python -m bench.profile_availability [--requests 50] [--sort tottime] [--limit 30]

Loads the availability scenario of ``make bench`` (``bench.dataset``: 90 days,
2,000 active bookings, 50 overrides) into a fresh database named by
``BENCH_DATABASE_URL`` (a PostgreSQL one is dropped and created; default
``postgres://postgres@127.0.0.1:5432/booking_bench_profile``), then runs the
request through Django's test client under cProfile and prints the busiest
functions, followed by the time of each layer alone (queries, engine,
rendering) and of the floor endpoint ``make bench`` compares it with, as
medians of wall and CPU time. ``docs/performance.md`` records what it showed.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import statistics
import tempfile
import time

from bench.stack import fresh_database

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/booking_bench_profile"


def _median_ms(function, runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds: on a busy machine the CPU time is the steadier of the two."""
    function()
    wall, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        function()
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def setup_scratch_django(**environment: str) -> None:
    """Django on a fresh scratch database (``BENCH_DATABASE_URL``), migrated, with the floor endpoints on."""
    database = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE)
    fresh_database(database)
    os.environ["DATABASE_URL"] = database
    os.environ["DJANGO_SETTINGS_MODULE"] = "booking_project.settings.test"
    os.environ["BOOKING_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-profile-")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["BENCH_ENDPOINTS"] = "true"
    os.environ.update(environment)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_availability", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    parser.add_argument("--limit", type=int, default=35)
    args = parser.parse_args(argv)

    setup_scratch_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from bench import dataset
    from bookings.availability import instructor_slots
    from bookings.selectors import busy_intervals
    from scheduling.models import InstructorBrand
    from scheduling.selectors import schedule_inputs
    from scheduling.slots import compute_slots, student_date_window

    brand, _, public_key = dataset.bench_brand()
    scenario = dataset.availability_scenario(brand=brand)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {public_key}")
    url = (
        f"/api/bookings/availability?instructorId={scenario.instructor_id}&eventTypeId={scenario.event_type_id}"
        f"&startDate={scenario.start_date.isoformat()}&days={scenario.days}"
    )

    def request():
        response = client.get(url)
        assert response.status_code == 200, response.content
        return response

    with CaptureQueriesContext(connection) as queries:
        body = request().content
    print(f"{len(body):,} bytes, {body.count(b'start_at'):,} slots, {len(queries)} queries per request")

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(args.requests):
        request()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(args.sort).print_stats(args.limit)
    print(out.getvalue())

    assignment = InstructorBrand.objects.get(instructor_id=scenario.instructor_id, brand=brand)
    window_start, window_end = student_date_window(start_date=scenario.start_date, days=scenario.days, timezone="UTC")
    reach = dt.timedelta(hours=2)
    inputs = schedule_inputs(assignment=assignment)
    busy = busy_intervals(instructor_id=assignment.instructor_id, start=window_start - reach, end=window_end + reach)
    now = dt.datetime.now(dt.UTC)
    slots = body.count(b"start_at")

    def floor_request():
        response = client.get(f"/bench/floor/availability?slots={slots}")
        assert response.status_code == 200, response.content
        return response

    layers = {
        "whole request (test client)": request,
        "floor endpoint, same size (test client)": floor_request,
        "instructor_slots (queries + engine)": lambda: instructor_slots(
            assignment=assignment,
            window_start=window_start,
            window_end=window_end,
            session_minutes=dataset.SESSION_MINUTES,
            now=now,
        ),
        "busy_intervals query alone": lambda: busy_intervals(
            instructor_id=assignment.instructor_id, start=window_start - reach, end=window_end + reach
        ),
        "engine alone (compute_slots)": lambda: compute_slots(
            **inputs,
            busy=busy,
            now=now,
            session_minutes=dataset.SESSION_MINUTES,
            window_start=window_start,
            window_end=window_end,
        ),
    }
    runs = max(args.requests, 20)
    for name, function in layers.items():
        wall, cpu = _median_ms(function, runs)
        print(f"{name:<40}{wall:8.2f} ms wall {cpu:8.2f} ms CPU (medians of {runs})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
