"""The slot engine alone at 100, 1,000 and 10,000 bookings: does its time grow at most linearly?

``scheduling.slots.free_slot_starts``, as the free-slots read calls it (busy
intervals as epoch microseconds, the form ``bookings.selectors.busy_intervals``
hands over), over 90 days (Europe/Berlin, 09:00-17:00 Monday to Friday,
60-minute sessions, 15-minute buffer, across the March DST change), with that
many random busy intervals. Times are CPU time of this process (medians),
which a busy machine disturbs far less than wall time.

The floor of the 1,000 and 10,000 rows is the 100-booking time scaled
linearly (``t(100) x N / 100``), so the ratio is the time per booking
relative to the time per booking at 100: at most 1 means growth no faster
than linear. (The work is days + bookings, so it is well below 1: the 90
days' grid is a fixed cost that 100 bookings do not amortise.)
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time

from bench.results import Goal, Measurement
from scheduling.slots import epoch_micros, free_slot_starts, student_date_window

DAYS = 90
COUNTS = (100, 1_000, 10_000)
START = date(2026, 3, 2)  # spans the 2026-03-29 DST change
WEEKLY = {weekday: [(clock_time(9), clock_time(17))] for weekday in range(5)}


def random_busy(count: int, seed: int = 1) -> list[tuple[datetime, datetime]]:
    rng = random.Random(seed)
    origin = datetime.combine(START, clock_time(0), tzinfo=UTC)
    busy = []
    for _ in range(count):
        start = origin + timedelta(minutes=rng.randrange(0, DAYS * 24 * 60))
        busy.append((start, start + timedelta(minutes=rng.choice([30, 45, 60, 90]))))
    return busy


def engine_seconds(busy: list[tuple[datetime, datetime]], runs: int) -> float:
    """Median CPU seconds of one ``free_slot_starts`` call over the 90 days."""
    window_start, window_end = student_date_window(start_date=START, days=DAYS, timezone="Europe/Berlin")
    as_read = [(epoch_micros(start), epoch_micros(end)) for start, end in busy]

    def once() -> None:
        free_slot_starts(
            weekly=WEEKLY,
            overrides={},
            timezone="Europe/Berlin",
            busy=as_read,
            buffer_minutes=15,
            minimum_notice_minutes=0,
            advance_booking_days=DAYS + 1,
            now=window_start - timedelta(hours=1),
            session_minutes=60,
            window_start=window_start,
            window_end=window_end,
        )

    once()  # warm-up: zoneinfo caches
    samples = []
    for _ in range(runs):
        started = time.process_time()
        once()
        samples.append(time.process_time() - started)
    return statistics.median(samples)


def rows(times_ms: dict[int, float]) -> list[Measurement]:
    """The table rows from ``{bookings: milliseconds}``; the first count is the baseline."""
    base_count, *others = sorted(times_ms)
    base = times_ms[base_count]
    result = [Measurement(f"slot engine, 90 days, {base_count:,} bookings", base, "ms")]
    for count in others:
        result.append(
            Measurement(
                f"slot engine, 90 days, {count:,} bookings (floor: {base_count}-booking time x {count // base_count})",
                times_ms[count],
                "ms",
                floor=base * count / base_count,
                goals=(Goal("ratio", "<=", 1.0),),
                note=(
                    "Engine rows: CPU time of `free_slot_starts` alone (busy intervals as the database read gives "
                    "them). The floor is the 100-booking time scaled "
                    "linearly, so the ratio is the time per booking relative to 100 bookings: <= 1 is growth no "
                    "faster than linear."
                )
                if count == others[0]
                else "",
            )
        )
    return result


def measure(context=None, *, runs: int = 30) -> list[Measurement]:
    times_ms = {count: engine_seconds(random_busy(count), runs) * 1000 for count in COUNTS}
    for count, milliseconds in times_ms.items():
        print(f"  engine, {count:>6,} bookings: {milliseconds:8.2f} ms CPU (median of {runs})", flush=True)
    return rows(times_ms)
