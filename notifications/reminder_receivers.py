"""Keep each booking's reminder schedule in step with its lifecycle.

Connected when this module is imported (``NotificationsConfig.ready()``).
Each receiver runs inside the booking service's transaction, so the reminder
rows commit or roll back with the change that caused them. The send side (the
notification rows and their tasks) is wired separately in
``notifications.receivers``.
"""

from __future__ import annotations

from django.dispatch import receiver

from bookings import signals

from .reminders import reminder_schedule_warnings, reminders_cancel, reminders_recompute, reminders_schedule


@receiver(signals.booking_created, dispatch_uid="notifications.reminders.schedule")
def schedule_reminders(sender, booking, **kwargs) -> list[str]:
    """Snapshot the event type's reminders; warn about those that cannot be sent (no phone, no provider)."""
    return reminder_schedule_warnings(booking, reminders_schedule(booking=booking))


@receiver(signals.booking_rescheduled, dispatch_uid="notifications.reminders.recompute")
def recompute_reminders(sender, booking, **kwargs) -> None:
    reminders_recompute(booking=booking)


@receiver(signals.booking_cancelled, dispatch_uid="notifications.reminders.cancel_on_cancelled")
@receiver(signals.booking_completed, dispatch_uid="notifications.reminders.cancel_on_completed")
@receiver(signals.booking_no_show, dispatch_uid="notifications.reminders.cancel_on_no_show")
def cancel_reminders(sender, booking, **kwargs) -> None:
    reminders_cancel(booking=booking)
