"""Celery tasks of the notifications app: thin wrappers around its services.

Tasks get ids, never model instances. ``send_notifications`` is safe to run
twice for the same ids (the service claims the rows first), so it is
acknowledged late and may be enqueued by the receivers, the reminder pass,
the sweep and its own retries at once. It is killed at the age of a claim's
lease (``time_limit``, enforced by the default prefork pool), so a claim that
outlives its lease always belongs to a dead worker. ``sweep_notifications``
and ``process_due_reminders`` run from ``CELERY_BEAT_SCHEDULE``.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict

from celery import shared_task
from django.conf import settings

from .reminders import reminders_process_due
from .services import COUNTDOWN_RETRY_LIMIT, SendOutcome, notifications_enqueue, notifications_send, notifications_sweep

# Explicit names: the beat entries, their PeriodicTask rows and queued messages do not depend on the module path.
SEND_NOTIFICATIONS = "notifications.send_notifications"
SEND_NOTIFICATION = "notifications.send_notification"
SWEEP_NOTIFICATIONS = "notifications.sweep_notifications"
PROCESS_DUE_REMINDERS = "notifications.process_due_reminders"
REMINDER_BATCH_SIZE = 500
# Stop draining a reminder backlog before the next beat tick starts another pass.
REMINDER_TIME_BUDGET_SECONDS = 45


def _send(notification_ids: list[int]) -> dict[str, int]:
    """Send, then enqueue the short retries (and what the deadline left unstarted) with their countdown.

    Waits longer than :data:`COUNTDOWN_RETRY_LIMIT` are left to the sweep: a
    countdown must stay well under the broker's visibility timeout.
    """
    outcomes: dict[int, SendOutcome] = notifications_send(notification_ids=notification_ids)
    retries: dict[float, list[int]] = defaultdict(list)
    for notification_id, outcome in outcomes.items():
        if outcome.retry_in is not None and outcome.retry_in <= COUNTDOWN_RETRY_LIMIT:
            retries[outcome.retry_in.total_seconds()].append(notification_id)
    for countdown, ids in retries.items():
        notifications_enqueue(ids, countdown=countdown or None)
    return dict(Counter(outcome.status for outcome in outcomes.values()))


@shared_task(
    name=SEND_NOTIFICATIONS,
    acks_late=True,
    ignore_result=True,
    time_limit=settings.NOTIFICATIONS_LEASE_SECONDS,
)
def send_notifications(notification_ids: list[int]) -> dict[str, int]:
    """One attempt at each of these notifications (emails batched, provider requests concurrent)."""
    return _send(list(notification_ids))


@shared_task(
    name=SEND_NOTIFICATION,
    acks_late=True,
    ignore_result=True,
    time_limit=settings.NOTIFICATIONS_LEASE_SECONDS,
)
def send_notification(notification_id: int) -> dict[str, int]:
    """One attempt at one notification; kept for messages queued before ``send_notifications`` existed."""
    return _send([notification_id])


@shared_task(name=SWEEP_NOTIFICATIONS, ignore_result=True)
def sweep_notifications() -> dict[str, int]:
    """Every ``NOTIFICATIONS_SWEEP_SECONDS``: enqueue rows left pending, take back lapsed claims."""
    return notifications_sweep()


@shared_task(name=PROCESS_DUE_REMINDERS, ignore_result=True)
def process_due_reminders() -> dict:
    """Every minute: send due reminders in batches until drained or the time budget is spent.

    Several beats, workers and the cron endpoints may run passes at the same
    time: :func:`notifications.reminders.reminders_process_due` claims each
    reminder before sending, so the task needs no lock of its own.
    """
    started = time.monotonic()
    totals = {"processed": 0, "sent": 0, "skipped": 0, "failed": 0}
    while True:
        counts = reminders_process_due(limit=REMINDER_BATCH_SIZE)
        for key, value in counts.items():
            totals[key] += value
        if counts["processed"] < REMINDER_BATCH_SIZE or time.monotonic() - started > REMINDER_TIME_BUDGET_SECONDS:
            return totals
