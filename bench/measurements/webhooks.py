"""Webhook delivery: 1,000 events x 3 subscriptions, the receiver taking 50 ms per call.

Three subscriptions of the bench brand point at the run's stand-in receiver,
which answers every call after 50 ms. One transaction stores 1,000
``booking.created`` events and queues their deliveries exactly as the event
bus receiver does (``webhooks.services.deliveries_queue_for_event``); the
clock starts when that transaction commits (which enqueues the deliveries)
and stops when the database records the 3,000th delivery as delivered. It
runs on the stack's one worker, started as the ``Procfile`` starts it.

Then the receiver's log is checked: each subscription got each event once
(one ``webhook-id`` per delivery, none twice) and every signature verifies
with its subscription's secret through the Standard Webhooks reference
library. The floor is the time the receiver's delay alone needs at the
parallelism the receiver saw: 3,000 x 50 ms / the most calls in flight.
"""

from __future__ import annotations

import collections
import datetime as dt
import time

from bench.measurements.reminders import peak_in_flight
from bench.results import Goal, Measurement

EVENTS = 1_000
SUBSCRIPTIONS = 3
RECEIVER_DELAY_SECONDS = 0.05
GOAL_SECONDS = 30.0
TIMEOUT_SECONDS = 120.0


def queue_events(*, brand, payload: dict, count: int) -> float:
    """Store ``count`` events with their deliveries in one transaction; the ``perf_counter`` of its commit."""
    from django.db import transaction

    from bookings.models import Event
    from webhooks.services import deliveries_queue_for_event

    with transaction.atomic():
        events = Event.objects.bulk_create(
            Event(type="booking.created", brand=brand, payload={**payload, "sequence_number": number})
            for number in range(count)
        )
        for event in events:
            deliveries_queue_for_event(event=event)
        committed = time.perf_counter()  # the deliveries are enqueued as this block commits
    return committed


def measure(context, *, events: int = EVENTS, timeout: float = TIMEOUT_SECONDS) -> list[Measurement]:
    from standardwebhooks import Webhook, WebhookVerificationError

    from bench import dataset
    from bookings.services import event_payload
    from webhooks.models import WebhookDelivery
    from webhooks.services import subscription_create, subscription_update

    receiver = context.webhook
    receiver.clear()
    receiver.set_delay(RECEIVER_DELAY_SECONDS)
    subscriptions = [
        subscription_create(brand=context.brand, url=f"{receiver.url}/bench-{number}", event_types=["booking.created"])
        for number in range(SUBSCRIPTIONS)
    ]
    assignment, event_type = dataset.instructor_with_hours(
        brand=context.brand, slug="bench-webhooks", opens=dt.time(0), closes=dt.time(23)
    )
    start = dt.datetime.combine(dt.date.today() + dt.timedelta(days=2), dt.time(9), tzinfo=dt.UTC)
    [booking] = dataset.bookings_rows(
        brand=context.brand,
        assignment=assignment,
        event_type=event_type,
        starts=[start],
        minutes=30,
        email_prefix="webhook-",
    )
    payload = event_payload(booking)
    expected = events * SUBSCRIPTIONS

    started = queue_events(brand=context.brand, payload=payload, count=events)
    deliveries = WebhookDelivery.objects.filter(subscription__in=subscriptions)
    delivered = 0
    while time.perf_counter() - started < timeout:
        delivered = deliveries.filter(status=WebhookDelivery.Status.DELIVERED).count()
        if delivered >= expected:
            break
        time.sleep(0.2)
        context.stack.check_running()
    took = time.perf_counter() - started
    receiver.set_delay(0)
    for subscription in subscriptions:  # later measurements create bookings: no more deliveries
        subscription_update(subscription=subscription, is_active=False)

    secrets = {f"/bench-{number}": subscription.secret for number, subscription in enumerate(subscriptions)}
    requests = [request for request in receiver.requests if request["path"] in secrets]
    per_message = collections.Counter((request["path"], request["headers"].get("webhook-id")) for request in requests)
    duplicates = sum(count - 1 for count in per_message.values())
    invalid = 0
    for request in requests:
        try:
            Webhook(secrets[request["path"]]).verify(request["raw_body"], dict(request["headers"]))
        except WebhookVerificationError:
            invalid += 1
    peak = peak_in_flight([request["time"] for request in requests], RECEIVER_DELAY_SECONDS) or 1
    all_delivered = delivered >= expected
    print(
        f"  {delivered:,} of {expected:,} delivered in {took:.1f} s; {len(requests):,} calls at the receiver, "
        f"at most {peak} at once; {duplicates} repeated, {invalid} invalid signatures",
        flush=True,
    )
    return [
        Measurement(
            f"webhooks: {events:,} events x {SUBSCRIPTIONS} subscriptions, receiver +50 ms per call: "
            "time until all delivered",
            took if all_delivered else None,
            "s",
            floor=expected * RECEIVER_DELAY_SECONDS / peak,
            goals=(Goal("value", "<=", GOAL_SECONDS, "s"),),
            missed=not all_delivered,
            note=(
                f"Webhooks: {delivered:,} of {expected:,} delivered "
                + (f"after {took:.1f} s" if all_delivered else f"when the bench stopped waiting ({took:.0f} s)")
                + f"; at most {peak} calls in flight at the receiver; the floor is {expected:,} x 50 ms / {peak}."
            ),
        ),
        Measurement(
            "webhooks: deliveries received more than once", duplicates, "deliveries", goals=(Goal("value", "==", 0),)
        ),
        Measurement("webhooks: invalid signatures", invalid, "deliveries", goals=(Goal("value", "==", 0),)),
    ]
