"""The event bus: one custom signal per domain event.

Each event has a name (``booking.created``) and a signal (``booking_created``);
:data:`SIGNALS_BY_EVENT_NAME` maps one to the other. (Not to be confused with
``EventType``, which is a bookable session type.)

Sent only by ``bookings.services`` (never from ``post_save``), inside the
transaction that made the change and right after the matching
:class:`~bookings.models.Event` row was written. Receivers (each subscribing
app's ``receivers.py``, connected in its ``AppConfig.ready``) must:

* write their own rows (notifications, reminders, deliveries) in the same
  transaction, so a rollback leaves nothing behind;
* enqueue Celery work only with ``transaction.on_commit``, passing ids;
* return a list of human-readable warnings (or ``None``); the booking API
  shows them in the response's ``warnings`` (e.g. "SMS not configured").

Every signal is sent with ``sender=Booking`` and these keyword arguments:

``booking``
    The :class:`~bookings.models.Booking` after the change.
``event``
    The :class:`~bookings.models.Event` row stored for this change; its
    ``payload`` is the webhook ``data``.

Extra arguments per signal are listed on each.
"""

from django.dispatch import Signal

booking_created = Signal()
"""A booking was created (status ``pending``, or ``confirmed`` when its session
type needs no confirmation; no separate ``booking.confirmed`` follows)."""

booking_confirmed = Signal()
"""A pending booking was confirmed (after ``payment_succeeded`` when paid)."""

booking_cancelled = Signal()
"""A booking was cancelled. Extra: ``actor`` ("student", "staff" or "api")."""

booking_rescheduled = Signal()
"""A booking moved. Extra: ``previous_start_at``, ``previous_end_at`` (UTC)."""

booking_completed = Signal()
"""A confirmed booking was marked completed after its start."""

booking_no_show = Signal()
"""A confirmed booking was marked as a no-show after its start."""

payment_succeeded = Signal()
"""A successful payment was recorded. Extra: ``payment``."""

payment_failed = Signal()
"""A failed payment was recorded; the booking stays pending. Extra: ``payment``."""

SIGNALS_BY_EVENT_NAME: dict[str, Signal] = {
    "booking.created": booking_created,
    "booking.confirmed": booking_confirmed,
    "booking.cancelled": booking_cancelled,
    "booking.rescheduled": booking_rescheduled,
    "booking.completed": booking_completed,
    "booking.no_show": booking_no_show,
    "payment.succeeded": payment_succeeded,
    "payment.failed": payment_failed,
}
EVENT_NAMES: tuple[str, ...] = tuple(SIGNALS_BY_EVENT_NAME)
