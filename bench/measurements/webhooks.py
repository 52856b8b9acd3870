"""Webhook delivery: 1,000 events x 3 subscriptions, the receiver taking 50 ms per call. NOT MEASURED YET.

The goal: all 3,000 deliveries within 30 s, each exactly once, every
signature valid. The webhooks app is not on this branch, so there is nothing
to measure: this returns one row that says so (``met`` unknown), never a
number. To measure it once the app is merged, replace ``measure`` with:

1. create 3 subscriptions of ``context.brand`` through the webhooks services,
   pointing at ``context.webhook.url`` (the stand-in receiver of this run);
2. ``context.webhook.set_delay(0.05)`` and ``context.webhook.clear()``;
3. emit 1,000 events through the booking services (or load them and enqueue
   their deliveries the way the app's receivers do) and start the clock;
4. wait for 3,000 requests at the receiver (``context.webhook.wait_for``),
   with a timeout;
5. check each delivery once (distinct ``webhook-id`` per subscription) and
   every signature with ``standardwebhooks.Webhook(secret).verify``;
6. return the rows: time until all delivered (goal <= 30 s), deliveries
   sent more than once (== 0), invalid signatures (== 0).
"""

from __future__ import annotations

from bench.results import Goal, Measurement


def measure(context=None) -> list[Measurement]:
    return [
        Measurement(
            "webhooks: 1,000 events x 3 subscriptions, receiver +50 ms per call: time until all delivered",
            None,
            "s",
            goals=(Goal("value", "<=", 30.0, "s"),),
            note="Webhooks: not measured; the webhooks app is not merged yet (bench/measurements/webhooks.py).",
        )
    ]
