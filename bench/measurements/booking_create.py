"""Booking creation with 8 concurrent clients on distinct free slots, against a one-INSERT floor.

The requests go round-robin over 8 instructors of the brand, each to its own
free slot (buffer 0, so every request should succeed): at any moment the
clients mostly book different instructors, as students of a busy brand do,
and now and then two wait for the same instructor's lock. Rounds alternate between
``POST /api/bookings`` (secret key, an ``Idempotency-Key`` as an integration
would send) and the floor ``POST /bench/floor/bookings`` (the same body, one
``INSERT``), so load on the machine hits both alike.

Afterwards the database is asked directly: every 201 is one stored booking,
and no two active bookings of an instructor overlap.
"""

from __future__ import annotations

import datetime as dt
import uuid
from functools import partial

from bench import client, dataset
from bench.results import Goal, Measurement

CLIENTS = 8
INSTRUCTORS = 8
ROUNDS = 3
REQUESTS_PER_ROUND = 64
THROUGHPUT_RATIO_GOAL = 0.5


def free_starts(*, assignment, event_type, count: int) -> list[dt.datetime]:
    """The first ``count`` free slots of the instructor from tomorrow, read with the same engine the API uses."""
    from bookings.availability import instructor_slots

    tomorrow = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)
    slots = instructor_slots(
        assignment=assignment,
        window_start=tomorrow,
        window_end=tomorrow + dt.timedelta(days=60),
        session_minutes=event_type.duration_minutes,
    )
    if len(slots) < count:
        raise RuntimeError(f"only {len(slots)} free slots, {count} needed")
    return [slot.start for slot in slots[:count]]


def overlapping_active_pairs(instructor_id: int) -> int:
    """Neighbouring (by start) active bookings of the instructor that overlap: 0 unless something double-booked.

    If any two overlap, some two neighbours do, so checking neighbours finds every double-booked instructor.
    """
    from bookings.models import ACTIVE_STATUSES, Booking

    times = sorted(
        Booking.objects.filter(instructor_id=instructor_id, status__in=ACTIVE_STATUSES).values_list(
            "start_at", "end_at"
        )
    )
    return sum(1 for (_, end), (next_start, _) in zip(times, times[1:], strict=False) if next_start < end)


def _book(context, body: dict) -> client.Answer:
    return client.request(
        context.host,
        context.port,
        "POST",
        "/api/bookings",
        key=context.secret_key,
        body=body,
        headers={"Idempotency-Key": str(uuid.uuid4())},
    )


def _floor(context, body: dict) -> client.Answer:
    return client.request(
        context.host, context.port, "POST", "/bench/floor/bookings", key=context.secret_key, body=body
    )


def measure(context) -> list[Measurement]:
    from bookings.models import Booking

    calendars = [
        dataset.instructor_with_hours(
            brand=context.brand, slug=f"bench-booking-{number}", opens=dt.time(6), closes=dt.time(22), buffer_minutes=0
        )
        for number in range(INSTRUCTORS)
    ]
    dataset.analyze()
    per_instructor = -(-ROUNDS * REQUESTS_PER_ROUND // INSTRUCTORS)
    free = [
        free_starts(assignment=assignment, event_type=event_type, count=per_instructor)
        for assignment, event_type in calendars
    ]
    # Round-robin: request i books instructor i % 8, in its next free slot.
    slots = iter(
        (calendars[number % INSTRUCTORS], free[number % INSTRUCTORS][number // INSTRUCTORS])
        for number in range(ROUNDS * REQUESTS_PER_ROUND)
    )

    def body(slot, index: int) -> dict:
        (assignment, event_type), start = slot
        return {
            "instructor_id": assignment.instructor_id,
            "event_type_id": event_type.pk,
            "start_at": start.isoformat().replace("+00:00", "Z"),
            "attendee_name": f"Bench Student {index}",
            "attendee_email": f"bench-student-{index}@example.com",
            "student_timezone": "Europe/Berlin",
        }

    real: list[client.Burst] = []
    floor: list[client.Burst] = []
    index = 0
    for _ in range(ROUNDS):
        jobs = []
        for _ in range(REQUESTS_PER_ROUND):
            jobs.append(partial(_book, context, body(next(slots), index)))
            index += 1
        real.append(client.concurrently(jobs, clients=CLIENTS))
        floor_jobs = [
            partial(_floor, context, body((calendars[0], dt.datetime(2030, 1, 1, tzinfo=dt.UTC)), number))
            for number in range(REQUESTS_PER_ROUND)
        ]
        floor.append(client.concurrently(floor_jobs, clients=CLIENTS))

    real_answers = [answer for burst in real for answer in burst.answers]
    floor_answers = [answer for burst in floor for answer in burst.answers]
    statuses = sorted({answer.status for answer in real_answers})
    created = sum(answer.status == 201 for answer in real_answers)
    server_errors = sum(answer.status >= 500 for answer in real_answers + floor_answers)
    instructor_ids = [assignment.instructor_id for assignment, _ in calendars]
    stored = Booking.objects.filter(instructor_id__in=instructor_ids).count()
    double_bookings = sum(overlapping_active_pairs(instructor_id) for instructor_id in instructor_ids)
    print(
        f"  {len(real_answers)} bookings answered {statuses}, {created} created, {stored} stored; "
        f"{server_errors} 5xx; {double_bookings} overlapping pairs",
        flush=True,
    )
    real_throughput = len(real_answers) / sum(burst.seconds for burst in real)
    floor_throughput = len(floor_answers) / sum(burst.seconds for burst in floor)
    real_ms = [answer.seconds * 1000 for answer in real_answers]
    floor_ms = [answer.seconds * 1000 for answer in floor_answers]
    lost = created - stored
    return [
        Measurement(
            f"booking creation, {CLIENTS} concurrent clients: throughput",
            real_throughput,
            "req/s",
            floor=floor_throughput,
            goals=(Goal("ratio", ">=", THROUGHPUT_RATIO_GOAL),),
            note=(
                f"Booking creation: {ROUNDS} rounds of {REQUESTS_PER_ROUND} `POST /api/bookings` ({INSTRUCTORS} "
                f"instructors in turn, distinct free slots, {CLIENTS} client threads) alternating with rounds "
                "of the one-INSERT floor. "
                f"{created} of {len(real_answers)} answered 201 (statuses {statuses}); {stored} bookings stored."
            ),
        ),
        Measurement(
            f"booking creation, {CLIENTS} concurrent clients: p95",
            client.percentile(real_ms, 0.95),
            "ms",
            floor=client.percentile(floor_ms, 0.95),
        ),
        Measurement("booking creation: 5xx answers", server_errors, "answers", goals=(Goal("value", "==", 0),)),
        Measurement(
            "booking creation: double bookings in the database (and 201s not stored)",
            double_bookings + abs(lost),
            "bookings",
            goals=(Goal("value", "==", 0),),
        ),
    ]
