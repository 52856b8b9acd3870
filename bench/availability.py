"""Availability benchmark: 90 days of slots for an instructor with 10 vs 2,000 bookings.

    .venv/bin/python -m bench.availability [--repeat N]

Runs against a throwaway SQLite database in a temporary directory (or
``BENCH_DATABASE_URL``, e.g. a scratch PostgreSQL database, which it migrates).
Three layers are timed, each the best and the median of ``--repeat`` runs:

* engine: ``scheduling.slots.compute_slots`` on preloaded plain inputs;
* instructor_slots: the queries plus the engine (``bookings.availability``);
* HTTP: ``GET /api/bookings/availability`` through DRF's test client with a key.

The ratio column (2,000 / 10 bookings) is what to watch: the work grows with
days + bookings, never with days x bookings, and the query count stays the same.
Not a test: nothing here asserts; it prints.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Callable

DAYS = 90
SESSION_MINUTES = 30
CASES = (10, 2000)


def _configure() -> None:
    var_dir = tempfile.mkdtemp(prefix="bench-availability-")
    os.environ["DJANGO_SETTINGS_MODULE"] = "booking_project.settings.test"
    os.environ["BOOKING_VAR_DIR"] = var_dir
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{var_dir}/bench.sqlite3"
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _timed(functions: dict[int, Callable[[], object]], repeat: int) -> dict[int, tuple[float, float]]:
    """Best and median seconds per case; the cases alternate so that load on the machine hits both alike."""
    for function in functions.values():
        function()  # warm-up: imports, zoneinfo caches, connection
    samples: dict[int, list[float]] = {count: [] for count in functions}
    for _ in range(repeat):
        for count, function in functions.items():
            started = time.perf_counter()
            function()
            samples[count].append(time.perf_counter() - started)
    return {count: (min(values), statistics.median(values)) for count, values in samples.items()}


def _instructor_with_bookings(*, brand, count: int, first: dt.datetime):
    """Europe/Berlin, 06:00-22:00 every day, buffer 0; ``count`` half-hour bookings.

    The bookings are spread evenly over the window and snapped to the half-hour
    grid, so each one takes exactly one slot (or falls outside the hours):
    2,000 bookings in 90 days is a fully booked instructor, about 22 a day.
    """
    from bookings.models import Booking, BookingStatus
    from scheduling.models import EventType, Instructor, InstructorBrand, WeeklyAvailability

    instructor = Instructor.objects.create(
        name=f"Coach {count}", email=f"coach{count}@example.com", slug=f"coach-{count}"
    )
    assignment = InstructorBrand.objects.create(
        instructor=instructor, brand=brand, timezone="Europe/Berlin", buffer_minutes=0, advance_booking_days=120
    )
    WeeklyAvailability.objects.bulk_create(
        WeeklyAvailability(assignment=assignment, weekday=day, start_time=dt.time(6), end_time=dt.time(22))
        for day in range(7)
    )
    event_type = EventType.objects.create(
        brand=brand, name=f"Session {count}", slug=f"session-{count}", duration_minutes=SESSION_MINUTES
    )
    step = dt.timedelta(hours=DAYS * 24) / count
    grid = dt.timedelta(minutes=SESSION_MINUTES)
    starts = [first + (index * step) // grid * grid for index in range(count)]
    Booking.objects.bulk_create(
        [
            Booking(
                brand=brand,
                instructor=instructor,
                event_type=event_type,
                start_at=start,
                end_at=start + grid,
                status=BookingStatus.CONFIRMED,
                attendee_name="Student",
                attendee_email=f"student{index}@example.com",
                instructor_timezone="Europe/Berlin",
            )
            for index, start in enumerate(starts)
        ],
        batch_size=500,
    )
    return assignment


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per measurement (default 15)")
    args = parser.parse_args(argv)

    _configure()

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient

    from bookings.availability import instructor_slots
    from bookings.selectors import busy_intervals
    from scheduling.selectors import schedule_inputs
    from scheduling.services import api_key_create, brand_get_or_create
    from scheduling.slots import compute_slots, student_date_window

    brand, _ = brand_get_or_create(slug="bench", name="Bench")
    _, key = api_key_create(brand=brand, scope="public")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    now = timezone.now()
    start_date = (now + dt.timedelta(days=1)).date()
    window_start, window_end = student_date_window(start_date=start_date, days=DAYS, timezone="UTC")

    layers: dict[str, dict[int, Callable[[], object]]] = {"engine": {}, "instructor_slots": {}, "HTTP GET": {}}
    details: dict[int, tuple[int, int, int]] = {}
    for count in CASES:
        assignment = _instructor_with_bookings(brand=brand, count=count, first=window_start)
        inputs = schedule_inputs(assignment=assignment)
        busy = busy_intervals(
            instructor_id=assignment.instructor_id,
            start=window_start - dt.timedelta(hours=1),
            end=window_end + dt.timedelta(hours=1),
        )

        def engine(inputs=inputs, busy=busy):
            return compute_slots(
                **inputs,
                busy=busy,
                now=now,
                session_minutes=SESSION_MINUTES,
                window_start=window_start,
                window_end=window_end,
            )

        def assembled(assignment=assignment):
            return instructor_slots(
                assignment=assignment,
                window_start=window_start,
                window_end=window_end,
                session_minutes=SESSION_MINUTES,
                now=now,
            )

        params = {
            "instructorId": assignment.instructor_id,
            "startDate": start_date.isoformat(),
            "days": DAYS,
            "sessionMinutes": SESSION_MINUTES,
        }

        def http(params=params):
            response = client.get("/api/bookings/availability", params)
            assert response.status_code == 200, response.content
            return response

        layers["engine"][count] = engine
        layers["instructor_slots"][count] = assembled
        layers["HTTP GET"][count] = http
        with CaptureQueriesContext(connection) as queries:
            slots = len(http().json()["slots"])
        details[count] = (len(busy), slots, len(queries))

    rows = {name: _timed(functions, args.repeat) for name, functions in layers.items()}
    few, many = CASES
    print(f"\nAvailability, {DAYS} days, {SESSION_MINUTES}-minute sessions, {connection.vendor}, best of {args.repeat}")
    print(f"{'':<18}{few:>6} bookings{many:>10} bookings{'ratio':>9}   (median {few} / {many})")
    for name, results in rows.items():
        (best_few, median_few), (best_many, median_many) = results[few], results[many]
        print(
            f"{name:<18}{best_few * 1000:>12.2f} ms{best_many * 1000:>16.2f} ms{best_many / best_few:>8.2f}x"
            f"   ({median_few * 1000:.2f} / {median_many * 1000:.2f} ms)"
        )
    for count in CASES:
        busy, slots, queries = details[count]
        print(f"{count:>5} bookings: {busy} busy intervals in the window, {slots} slots offered, {queries} queries")


if __name__ == "__main__":
    main()
