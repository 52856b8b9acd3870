"""10,000 email reminders due at once, the Resend stand-in taking 100 ms per call: how long until all are sent?

The reminders are planned the way ``notifications.reminders`` plans them (one
email a day before each of 10,000 confirmed bookings starting within the next
day, so each is due), committed, and then one reminder pass is enqueued,
as the beat's next tick would do; the beat keeps ticking as in production.
The clock starts at that enqueue and stops at the stand-in's 10,000th
distinct email. It runs on the stack's one worker, started as the
``Procfile`` starts it, with whatever concurrency the settings give it.

Exactly once is counted at the stand-in by recipient: every reminder's
booking has its own student address (``reminder-...@example.com``), so each
address must have received exactly one email (reminders go out in Resend
batches of up to 100 under one Idempotency-Key each, so keys do not count
emails). Earlier measurements' emails are sent before the clock starts, so
they neither delay nor mix in.

The floor is the time the provider's delay alone needs: 10,000 x the calls
made per reminder x 100 ms / the most calls the stand-in saw in flight at
once. The run stops waiting after ``timeout`` seconds; what is still
queued then is dropped with the stack.
"""

from __future__ import annotations

import datetime as dt
import time

from django.utils import timezone

from bench import dataset
from bench.results import Goal, Measurement

REMINDERS = 10_000
PROVIDER_DELAY_SECONDS = 0.1
GOAL_SECONDS = 60.0
TIMEOUT_SECONDS = 150.0
DRAIN_SECONDS = 120.0
BOOKINGS_PER_INSTRUCTOR = 40  # 20 hours of half-hour sessions each
PROCESS_DUE_REMINDERS = "notifications.process_due_reminders"
REMINDER_ADDRESS_PREFIX = "reminder-"  # every reminder's student has an address of their own


def due_reminders(*, brand, count: int) -> None:
    """``count`` confirmed bookings starting within a day, each with its email reminder due now."""
    from django.db import transaction

    from notifications.models import BookingReminder, Channel

    first = timezone.now().replace(second=0, microsecond=0) + dt.timedelta(minutes=30)
    length = dt.timedelta(minutes=30)
    with transaction.atomic():
        for number in range(0, count, BOOKINGS_PER_INSTRUCTOR):
            assignment, event_type = dataset.instructor_with_hours(
                brand=brand, slug=f"bench-reminders-{number}", opens=dt.time(0), closes=dt.time(23), duration=30
            )
            bookings = dataset.bookings_rows(
                brand=brand,
                assignment=assignment,
                event_type=event_type,
                starts=[first + index * length for index in range(min(BOOKINGS_PER_INSTRUCTOR, count - number))],
                minutes=30,
                email_prefix=f"{REMINDER_ADDRESS_PREFIX}{number}-",
            )
            BookingReminder.objects.bulk_create(
                BookingReminder(
                    booking=booking,
                    channel=Channel.EMAIL,
                    minutes_before=1440,
                    remind_at=booking.start_at - dt.timedelta(minutes=1440),
                )
                for booking in bookings
            )


def drain_outbox(*, timeout: float) -> None:
    """Wait until earlier measurements' emails are sent, so they neither delay nor mix with the reminders."""
    from notifications.models import Notification

    busy = Notification.objects.filter(status__in=[Notification.Status.PENDING, Notification.Status.SENDING])
    deadline = time.monotonic() + timeout
    while busy.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{busy.count()} earlier notifications still unsent after {timeout:.0f} s")
        time.sleep(0.5)


def peak_in_flight(received: list[float], seconds: float) -> int:
    """The most calls whose ``seconds``-long handling overlapped, from the times they were received."""
    ordered = sorted(received)
    peak, first = 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - seconds:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


def measure(context, *, count: int = REMINDERS, timeout: float = TIMEOUT_SECONDS) -> list[Measurement]:
    from booking_project.celery import app
    from devtools.standins import StandinClient

    control = StandinClient(context.resend.url)
    drain_outbox(timeout=DRAIN_SECONDS)
    control.clear()
    control.set_delay(PROVIDER_DELAY_SECONDS)
    loading = time.perf_counter()
    due_reminders(brand=context.brand, count=count)
    print(f"  {count:,} reminders due (loaded in {time.perf_counter() - loading:.1f} s)", flush=True)

    started_wall = time.time()
    started = time.perf_counter()
    app.send_task(PROCESS_DUE_REMINDERS)
    delivered = 0
    while time.perf_counter() - started < timeout:
        delivered = control.state()["emails"]
        if delivered >= count:
            break
        time.sleep(0.5)
        context.stack.check_running()
    waited = time.perf_counter() - started
    control.set_delay(0)

    emails = [email for email in context.resend.records if recipient(email).startswith(REMINDER_ADDRESS_PREFIX)]
    requests = context.resend.requests
    arrival = sorted(email_time(email) - started_wall for email in emails)
    keys = {recipient(email) for email in emails}  # one student address per reminder
    duplicates = len(emails) - len(keys)
    within_goal = sum(moment <= GOAL_SECONDS for moment in arrival)
    peak = peak_in_flight([request["time"] for request in requests], PROVIDER_DELAY_SECONDS) or 1
    calls_per_reminder = len(requests) / len(keys) if keys else 1
    provider_bound = count * calls_per_reminder * PROVIDER_DELAY_SECONDS / peak
    all_sent = len(keys) >= count
    took = arrival[-1] if all_sent else None
    rate = len(emails) / waited if waited else 0
    print(
        f"  {len(emails):,} emails ({len(keys):,} distinct students) from {len(requests):,} calls in {waited:.0f} s; "
        f"at most {peak} calls in flight; {within_goal:,} within {GOAL_SECONDS:.0f} s",
        flush=True,
    )
    progress = (
        f"all {count:,} sent after {took:.1f} s"
        if all_sent
        else f"stopped waiting after {waited:.0f} s with {len(keys):,} of {count:,} sent ({rate:.0f}/s; "
        f"all would take about {count / rate:.0f} s at that rate)"
        if rate
        else f"nothing was sent within {waited:.0f} s"
    )
    return [
        Measurement(
            f"reminders: {count:,} due at once, provider +100 ms per call: time until all sent",
            took,
            "s",
            floor=provider_bound,
            goals=(Goal("value", "<=", GOAL_SECONDS, "s"),),
            missed=not all_sent and waited > GOAL_SECONDS,
            note=(
                f"Reminders: {progress}. {len(requests):,} calls reached the Resend stand-in "
                f"({calls_per_reminder:.2f} per reminder), at most {peak} at once; the floor is {count:,} reminders "
                f"x calls per reminder x 100 ms / {peak}: the time the provider's delay alone needs at that "
                "parallelism."
            ),
        ),
        Measurement(
            f"reminders: sent within {GOAL_SECONDS:.0f} s",
            within_goal,
            "reminders",
            goals=(Goal("value", "==", count),),
        ),
        Measurement("reminders: sent more than once", duplicates, "reminders", goals=(Goal("value", "==", 0),)),
    ]


def recipient(email: dict) -> str:
    to = email.get("to")
    return (to[0] if isinstance(to, list) and to else to or "").lower()


def email_time(email: dict) -> float:
    return dt.datetime.fromisoformat(email["received_at"]).timestamp()
