"""Celery tasks of the notifications app: thin wrappers around its services.

Tasks get ids, never model instances. ``send_notification`` is safe to run
twice for the same id (the service claims the row first), so it is
acknowledged late and may be enqueued by the receivers, the sweep and its
own retries at once. ``sweep_notifications`` and ``process_due_reminders``
run every minute from ``CELERY_BEAT_SCHEDULE``.
"""

from __future__ import annotations

import time

from celery import shared_task

from .reminders import reminders_process_due
from .services import COUNTDOWN_RETRY_LIMIT, notification_send, notifications_sweep

# Explicit names: the beat entries, their PeriodicTask rows and queued messages do not depend on the module path.
SEND_NOTIFICATION = "notifications.send_notification"
SWEEP_NOTIFICATIONS = "notifications.sweep_notifications"
PROCESS_DUE_REMINDERS = "notifications.process_due_reminders"
REMINDER_BATCH_SIZE = 500
# Stop draining a reminder backlog before the next beat tick starts another pass.
REMINDER_TIME_BUDGET_SECONDS = 45


@shared_task(name=SEND_NOTIFICATION, bind=True, acks_late=True, ignore_result=True, max_retries=None)
def send_notification(self, notification_id: int) -> str:
    """One attempt at sending a notification.

    A temporary failure is rescheduled by the service in the database
    (``next_attempt_at``); short waits are also retried here with a countdown,
    longer ones are left to ``sweep_notifications`` (a countdown must stay well
    under the broker's visibility timeout).
    """
    outcome = notification_send(notification_id=notification_id)
    if outcome.retry_in is not None and outcome.retry_in <= COUNTDOWN_RETRY_LIMIT:
        raise self.retry(countdown=outcome.retry_in.total_seconds())
    return outcome.status


@shared_task(name=SWEEP_NOTIFICATIONS, ignore_result=True)
def sweep_notifications() -> dict[str, int]:
    """Every minute (``CELERY_BEAT_SCHEDULE``): enqueue rows left pending or stuck sending."""
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
