"""Free slots over HTTP through gunicorn, against the floor endpoint, side by side.

90 days of the instructor of ``bench.dataset.availability_scenario`` (2,000
active bookings, 50 overrides), with a public key as a booking page would
use. Requests are sequential and alternate between the real endpoint and the
floor (``GET /bench/floor/availability``, same key, DRF and renderer, a
precomputed body of the same size), so that whatever else the machine is
doing hits both alike.
"""

from __future__ import annotations

from bench import client, dataset
from bench.results import Goal, Measurement

WARM_UP = 10
PAIRS = 200
RATIO_GOAL = 1.5
MEDIAN_GOAL_MS = 30.0


def measure(context, *, pairs: int = PAIRS) -> list[Measurement]:
    scenario = dataset.availability_scenario(brand=context.brand)
    dataset.analyze()
    real_path = (
        f"/api/bookings/availability?instructorId={scenario.instructor_id}&eventTypeId={scenario.event_type_id}"
        f"&startDate={scenario.start_date.isoformat()}&days={scenario.days}"
    )
    first = client.request(context.host, context.port, "GET", real_path, key=context.public_key)
    if first.status != 200:
        raise RuntimeError(f"GET {real_path} answered {first.status}: {first.body[:500]!r}")
    slots = len(first.json()["slots"])
    floor_path = f"/bench/floor/availability?slots={slots}"
    floor_first = client.request(context.host, context.port, "GET", floor_path, key=context.public_key)
    if floor_first.status != 200:
        raise RuntimeError(f"GET {floor_path} answered {floor_first.status}: {floor_first.body[:500]!r}")
    print(
        f"  {slots} slots: real answer {len(first.body):,} bytes, floor answer {len(floor_first.body):,} bytes",
        flush=True,
    )

    real, floor = [], []
    for index in range(WARM_UP + pairs):
        answers = (
            client.request(context.host, context.port, "GET", real_path, key=context.public_key),
            client.request(context.host, context.port, "GET", floor_path, key=context.public_key),
        )
        if any(answer.status != 200 for answer in answers):
            raise RuntimeError(f"availability answered {[answer.status for answer in answers]}")
        if index >= WARM_UP:
            real.append(answers[0].seconds * 1000)
            floor.append(answers[1].seconds * 1000)

    what = f"availability GET, 90 days, 2,000 bookings, 50 overrides ({slots} slots, {len(first.body):,} bytes)"
    note = (
        f"Availability: {pairs} sequential requests to each endpoint, alternating, through gunicorn "
        "(production settings, PostgreSQL); the floor is the same stack returning a precomputed answer "
        "of the same size. Median goal: ratio <= 1.5 and at most 30 ms."
    )
    return [
        Measurement(
            f"{what}: median",
            client.median(real),
            "ms",
            floor=client.median(floor),
            goals=(Goal("ratio", "<=", RATIO_GOAL), Goal("value", "<=", MEDIAN_GOAL_MS, "ms")),
            note=note,
        ),
        Measurement(
            f"{what}: p95",
            client.percentile(real, 0.95),
            "ms",
            floor=client.percentile(floor, 0.95),
            goals=(Goal("ratio", "<=", RATIO_GOAL),),
        ),
    ]
