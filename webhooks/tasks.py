"""Celery tasks of the webhooks app: thin wrappers around ``webhooks.delivery``.

Tasks get ids, never model instances, and are safe to run twice: a delivery
is claimed before it is sent, so duplicates, retries and the periodic task
may race for it and only one sends each attempt.
"""

from __future__ import annotations

from celery import shared_task

from .delivery import deliveries_drain, deliveries_release_stuck, deliveries_send

# Explicit names: beat entries and queued messages do not depend on the module path.
SEND_DELIVERIES = "webhooks.send_deliveries"
SEND_DUE_DELIVERIES = "webhooks.send_due_deliveries"


@shared_task(name=SEND_DELIVERIES, acks_late=True, ignore_result=True)
def send_deliveries(delivery_ids: list[int]) -> dict[str, int]:
    """Attempt these deliveries now (an event's first attempts, or a retry a few seconds later).

    Then keeps sending whatever else is due, in concurrent batches, so a burst
    of events is drained by the first worker free instead of one task at a time.
    """
    outcome = deliveries_send(delivery_ids=delivery_ids)
    outcome.add(deliveries_drain())
    return outcome.as_dict()


@shared_task(name=SEND_DUE_DELIVERIES, ignore_result=True)
def send_due_deliveries() -> dict[str, int]:
    """Every minute (``CELERY_BEAT_SCHEDULE``): retries whose wait lives in the database,
    deliveries whose task was lost (broker down at commit), and attempts whose worker died."""
    released = deliveries_release_stuck()
    return {**deliveries_drain().as_dict(), "released": released}
