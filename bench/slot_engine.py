"""Micro-benchmark for ``scheduling.slots.compute_slots`` (not a test).

Run with ``.venv/bin/python -m bench.slot_engine``.

90 days of an instructor with weekly 09:00-17:00 Monday-Friday ranges
(Europe/Berlin, 60 minute sessions, 15 minute buffer), once with 2,000 random
busy intervals and once with 10. With the single sorted sweep the cost is
dominated by the ~500 grid candidates, so the two timings should be within a small
factor of each other (sorting 2,000 intervals is cheap); a per-slot scan of the
bookings would make the 2,000 case ~100x slower.
"""

from __future__ import annotations

import random
import statistics
import time as clock
from datetime import UTC, date, datetime, time, timedelta

from scheduling.slots import compute_slots, student_date_window

DAYS = 90
RUNS = 7
TIMEZONE = "Europe/Berlin"
START = date(2026, 3, 2)  # spans the 2026-03-29 DST change
WEEKLY = {weekday: [(time(9), time(17))] for weekday in range(5)}


def random_busy(count: int, seed: int = 1) -> list[tuple[datetime, datetime]]:
    rng = random.Random(seed)
    origin = datetime.combine(START, time(0), tzinfo=UTC)
    busy = []
    for _ in range(count):
        start = origin + timedelta(minutes=rng.randrange(0, DAYS * 24 * 60))
        busy.append((start, start + timedelta(minutes=rng.choice([30, 45, 60, 90]))))
    return busy


def run_once(busy: list[tuple[datetime, datetime]]) -> tuple[float, int]:
    window_start, window_end = student_date_window(start_date=START, days=DAYS, timezone=TIMEZONE)
    started = clock.perf_counter()
    slots = compute_slots(
        weekly=WEEKLY,
        overrides={},
        timezone=TIMEZONE,
        busy=busy,
        buffer_minutes=15,
        minimum_notice_minutes=0,
        advance_booking_days=DAYS + 1,
        now=window_start - timedelta(hours=1),
        session_minutes=60,
        window_start=window_start,
        window_end=window_end,
    )
    return clock.perf_counter() - started, len(slots)


def median_seconds(busy: list[tuple[datetime, datetime]]) -> tuple[float, int]:
    run_once(busy)  # warm-up (zoneinfo cache)
    timings = []
    count = 0
    for _ in range(RUNS):
        elapsed, count = run_once(busy)
        timings.append(elapsed)
    return statistics.median(timings), count


def main() -> None:
    results = {}
    for count in (10, 2_000):
        seconds, slots = median_seconds(random_busy(count))
        results[count] = seconds
        print(
            f"{DAYS} days, {count:>5} busy intervals: {seconds * 1000:8.2f} ms/call (median of {RUNS}), {slots} slots"
        )
    print(f"ratio 2000/10 busy: {results[2_000] / results[10]:.2f}x")


if __name__ == "__main__":
    main()
