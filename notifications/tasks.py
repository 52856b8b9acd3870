"""Celery tasks of the notifications app: thin wrappers around ``notifications.services``.

Tasks get ids, never model instances. ``send_notification`` is safe to run
twice for the same id (the service claims the row first), so it is
acknowledged late and may be enqueued by the receivers, the sweep and its
own retries at once.
"""

from __future__ import annotations

from celery import shared_task

from .reminder_tasks import process_due_reminders  # noqa: F401  (autodiscovery imports this module only)
from .services import COUNTDOWN_RETRY_LIMIT, notification_send, notifications_sweep

# Explicit names: the beat entry and queued messages do not depend on the module path.
SEND_NOTIFICATION = "notifications.send_notification"
SWEEP_NOTIFICATIONS = "notifications.sweep_notifications"


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
