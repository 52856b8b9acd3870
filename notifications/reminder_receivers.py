"""Keep each booking's reminder schedule in step with its lifecycle.

Connected by :func:`connect`, which ``NotificationsConfig.ready()`` calls
(like ``notifications.receivers``; importing this module connects nothing).
Each receiver runs inside the booking service's transaction, so the reminder
rows commit or roll back with the change that caused them. The send side (the
notification rows and their tasks) is ``notifications.receivers``.
"""

from __future__ import annotations

from bookings import signals
from bookings.models import Booking

from .reminders import reminder_schedule_warnings, reminders_cancel, reminders_recompute, reminders_schedule


def schedule_reminders(sender, *, booking: Booking, **kwargs) -> list[str]:
    """Snapshot the event type's reminders; warn about those that cannot be sent (no phone, no provider)."""
    return reminder_schedule_warnings(booking, reminders_schedule(booking=booking))


def recompute_reminders(sender, *, booking: Booking, **kwargs) -> None:
    reminders_recompute(booking=booking)


def cancel_reminders(sender, *, booking: Booking, **kwargs) -> None:
    reminders_cancel(booking=booking)


RECEIVERS = (
    (signals.booking_created, schedule_reminders),
    (signals.booking_rescheduled, recompute_reminders),
    (signals.booking_cancelled, cancel_reminders),
    (signals.booking_completed, cancel_reminders),
    (signals.booking_no_show, cancel_reminders),
)


def dispatch_uid(receiver) -> str:
    return f"{__name__}.{receiver.__name__}"


def connect() -> None:
    """Subscribe to the booking signals (called from ``NotificationsConfig.ready``; safe to call again)."""
    for signal, receiver in RECEIVERS:
        signal.connect(receiver, sender=Booking, dispatch_uid=dispatch_uid(receiver))
