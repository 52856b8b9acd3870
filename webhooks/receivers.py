"""The webhooks app's subscriber to the event bus: every booking event becomes deliveries.

One receiver for every signal of ``bookings.signals.SIGNALS_BY_EVENT_NAME``:
it writes one pending delivery per active subscription of the event's brand
that wants the event's type, in the transaction that stored the event, and
enqueues them after commit (``webhooks.services.deliveries_queue_for_event``).
It returns no warnings: a webhook problem never shows in a booking answer.

:func:`connect` subscribes it; ``WebhooksConfig.ready()`` calls it, and
importing this module connects nothing.
"""

from __future__ import annotations

from bookings.models import Booking, Event
from bookings.signals import SIGNALS_BY_EVENT_NAME

from .services import deliveries_queue_for_event


def queue_deliveries(sender, *, event: Event, **kwargs) -> None:
    deliveries_queue_for_event(event=event)


def dispatch_uid(event_name: str) -> str:
    return f"{__name__}.queue_deliveries.{event_name}"


def connect() -> None:
    """Subscribe to every booking signal (called from ``WebhooksConfig.ready``; safe to call again)."""
    for event_name, signal in SIGNALS_BY_EVENT_NAME.items():
        signal.connect(queue_deliveries, sender=Booking, dispatch_uid=dispatch_uid(event_name))
