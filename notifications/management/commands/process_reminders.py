"""``manage.py process_reminders``: one pass over due reminders (for cron, or by hand)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from notifications.reminders import reminders_process_due


class Command(BaseCommand):
    help = "Send the reminders that are due now (one pass; safe to run alongside celery-beat)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="Most reminders handled in this pass.")

    def handle(self, *args, limit: int, **options):
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        counts = reminders_process_due(limit=limit)
        self.stdout.write(" ".join(f"{key}={counts[key]}" for key in ("processed", "sent", "skipped", "failed")))
