"""The celery-beat task that sends due reminders (declared in ``CELERY_BEAT_SCHEDULE``).

Beat fires it every minute (UTC). Several beats, workers and the cron
endpoints may run passes at the same time: claiming in
:func:`notifications.reminders.reminders_process_due` makes that safe, so the
task needs no lock of its own. The name is explicit so that the beat entry
(and the ``PeriodicTask`` row synced from it) does not depend on the module.
"""

from __future__ import annotations

import time

from celery import shared_task

from .reminders import reminders_process_due

PROCESS_DUE_REMINDERS = "notifications.process_due_reminders"
BATCH_SIZE = 500
# Stop draining a backlog before the next beat tick starts another pass.
TIME_BUDGET_SECONDS = 45


@shared_task(name=PROCESS_DUE_REMINDERS, ignore_result=True)
def process_due_reminders() -> dict:
    """Run passes of ``BATCH_SIZE`` until the due reminders are drained or the time budget is spent."""
    started = time.monotonic()
    totals = {"processed": 0, "sent": 0, "skipped": 0, "failed": 0}
    while True:
        counts = reminders_process_due(limit=BATCH_SIZE)
        for key, value in counts.items():
            totals[key] += value
        if counts["processed"] < BATCH_SIZE or time.monotonic() - started > TIME_BUDGET_SECONDS:
            return totals
