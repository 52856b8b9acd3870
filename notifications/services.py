"""Notification writes: queue, send (the task body), resend, sweep.

The :class:`~notifications.models.Notification` row is the outbox and the
log. It is written ``pending`` in the transaction of the change that causes
it; a Celery task gets its id after commit. Everything after that is driven
from the row, so neither a broker outage nor a provider outage loses a
message, and no message goes out twice:

* **claim**: a conditional ``UPDATE ... SET status='sending' WHERE
  status='pending' AND next_attempt_at <= now`` lets exactly one worker own
  an attempt, however many tasks (duplicates, sweeps, retries) race for it;
* **retry**: a :class:`~notifications.backends.TemporaryError` puts the row
  back to ``pending`` with ``next_attempt_at`` after 10 s, 1 min, 5 min,
  30 min, 2 h, then ``failed``. Waits up to a minute are also Celery
  countdowns; longer ones live only in the database, for the sweep;
* **idempotency**: Resend receives ``Idempotency-Key: notification-<id>``,
  so a retry after a timeout whose email did go out is not a second email.
  Every attempt renders the same body (``notifications.messages``: from the
  event's payload, or from the snapshot stored at the first attempt); should
  it differ anyway (a template or sender changed in between), Resend's
  ``409 invalid_idempotent_request`` says the key's first request was
  accepted, and the row is ``sent`` with a note on the attempt;
* **sweep**: every minute, rows still ``pending`` after their time (broker
  down at commit, lost task) and rows stuck in ``sending`` (worker died) are
  enqueued again.

A provider error never reaches the booking: the booking services only write
rows here; the provider is called by the task, after commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from functools import partial

from django.db import transaction
from django.utils import timezone

from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, Event

from . import messages
from .backends import (
    TEXT_CHANNEL_NAMES,
    AlreadyAccepted,
    DeliveryError,
    OutgoingMessage,
    PermanentError,
    TemporaryError,
    backend_for,
    sender_for,
)
from .models import BookingReminder, Channel, Notification, NotificationAttempt

logger = logging.getLogger(__name__)

RETRY_DELAYS: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=10),
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
)
"""Waits after the 1st, 2nd... failed attempt; after the last one the row is ``failed``."""
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
COUNTDOWN_RETRY_LIMIT = dt.timedelta(minutes=1)
"""Retries waiting at most this long are also scheduled as Celery countdowns."""
STUCK_AFTER = dt.timedelta(minutes=10)
"""A row ``sending`` for longer than this lost its worker; the sweep hands it out again."""
SWEEP_GRACE = dt.timedelta(seconds=60)
"""The sweep leaves a due row this long to its own task before enqueueing it again."""
SWEEP_BATCH = 500
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
"""Publishing at commit gives up fast: the sweep delivers what could not be enqueued."""

CANCELLED_BOOKING_SKIPS = frozenset(
    {Notification.Kind.CONFIRMATION, Notification.Kind.HOST_NEW_BOOKING, Notification.Kind.RESCHEDULE}
)


@dataclasses.dataclass(frozen=True)
class SendOutcome:
    """What one :func:`notification_send` call did.

    ``status`` is the row's status afterwards, or ``"not_claimed"`` when
    another worker owns it, it is not due yet, or it is already final.
    ``retry_in`` is set when a temporary failure scheduled another attempt.
    """

    status: str
    retry_in: dt.timedelta | None = None


# --- queue ------------------------------------------------------------------------


def _enqueue(notification_id: int, *, countdown: float | None = None) -> bool:
    """Hand the id to Celery; a broker outage is logged, not raised (the sweep catches up)."""
    from .tasks import send_notification  # late: the tasks module imports this one

    try:
        send_notification.apply_async(
            args=[notification_id], countdown=countdown, retry=True, retry_policy=ENQUEUE_RETRY_POLICY
        )
    except Exception:
        logger.warning(
            "Could not enqueue notification %s (broker unavailable?); the sweep will send it.",
            notification_id,
            exc_info=True,
        )
        return False
    return True


def notification_queue(
    *,
    booking: Booking,
    kind: str,
    channel: str,
    recipient: str,
    audience: str = Notification.Audience.ATTENDEE,
    event: Event | None = None,
    reminder: BookingReminder | None = None,
    minutes_before: int | None = None,
) -> Notification:
    """Write a ``pending`` notification and send it after the surrounding transaction commits.

    Call it inside the transaction of the change that causes the message: a
    rollback then leaves no row and enqueues nothing. Outside a transaction
    the task is enqueued at once. ``minutes_before`` (a reminder's lead time)
    defaults to the reminder's.
    """
    notification = _write_row(
        booking=booking,
        kind=kind,
        channel=channel,
        recipient=recipient,
        audience=audience,
        event=event,
        reminder=reminder,
        minutes_before=minutes_before,
        status=Notification.Status.PENDING,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(partial(_enqueue, notification.id))
    return notification


def _write_row(*, reminder: BookingReminder | None, minutes_before: int | None, **fields) -> Notification:
    """The one place a notification row is written; a reminder's lead time is kept for re-rendering."""
    if minutes_before is None and reminder is not None:
        minutes_before = reminder.minutes_before
    return Notification.objects.create(reminder=reminder, minutes_before=minutes_before, **fields)


def notification_record_skipped(
    *,
    booking: Booking,
    kind: str,
    channel: str,
    recipient: str,
    reason: str,
    audience: str = Notification.Audience.ATTENDEE,
    event: Event | None = None,
    reminder: BookingReminder | None = None,
    minutes_before: int | None = None,
) -> Notification:
    """Log a notification that cannot be attempted (no phone, channel not configured), with the reason."""
    return _write_row(
        booking=booking,
        kind=kind,
        channel=channel,
        recipient=recipient,
        audience=audience,
        event=event,
        reminder=reminder,
        minutes_before=minutes_before,
        status=Notification.Status.SKIPPED,
        last_error=reason,
    )


# --- send -------------------------------------------------------------------------


def _claim(notification_id: int, now: dt.datetime) -> bool:
    claimed = Notification.objects.filter(
        pk=notification_id, status=Notification.Status.PENDING, next_attempt_at__lte=now
    ).update(status=Notification.Status.SENDING, updated_at=now)
    return claimed == 1


def _skip_reason(notification: Notification) -> str | None:
    """Why sending this notification now would be wrong (the booking moved on since it was queued)."""
    status = notification.booking.status
    if notification.kind == Notification.Kind.REMINDER:
        if status != BookingStatus.CONFIRMED:
            return f"The booking is {status}: reminders go only to confirmed bookings."
        if notification.booking.start_at <= timezone.now():
            return "The session has already started: the reminder is too late to be useful."
    if notification.kind in CANCELLED_BOOKING_SKIPS and status == BookingStatus.CANCELLED:
        if _series_still_booked(notification):
            return None
        return "The booking was cancelled before this message was sent."
    return None


def _series_still_booked(notification: Notification) -> bool:
    """A series' announcement (written on its first occurrence) still goes out while any occurrence is active."""
    series_id = messages.announced_series_id(notification)
    return bool(series_id) and Booking.objects.filter(series_id=series_id, status__in=ACTIVE_STATUSES).exists()


def _outgoing(notification: Notification) -> OutgoingMessage:
    rendered = messages.render(notification)
    return OutgoingMessage(
        channel=notification.channel,
        to=notification.recipient,
        sender=sender_for(notification.channel, notification.booking.brand),
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        reply_to=rendered.reply_to,
        attachments=rendered.attachments,
        idempotency_key=f"notification-{notification.pk}",
    )


def _freeze_booking_state(notification: Notification) -> None:
    """Store what a message without an event shows of its booking, before its first attempt.

    Stored before the provider is called, so an attempt whose answer is lost
    (timeout, worker died) is retried with the same body. A message caused by
    an event needs nothing stored: it renders its event's payload.
    """
    if notification.event_id or notification.booking_snapshot:
        return
    notification.booking_snapshot = messages.booking_snapshot(notification.booking)
    Notification.objects.filter(pk=notification.pk).update(booking_snapshot=notification.booking_snapshot)


def _finish_skipped(notification: Notification, reason: str) -> SendOutcome:
    with transaction.atomic():
        notification.status = Notification.Status.SKIPPED
        notification.last_error = reason
        notification.save(update_fields=["status", "last_error", "updated_at"])
        if notification.reminder_id:
            BookingReminder.objects.filter(pk=notification.reminder_id).update(
                status=BookingReminder.Status.SKIPPED, last_error=reason, updated_at=timezone.now()
            )
    return SendOutcome(Notification.Status.SKIPPED)


def notification_send(*, notification_id: int) -> SendOutcome:
    """One delivery attempt of a notification; the body of the ``send_notification`` task.

    Idempotent and safe to call concurrently or repeatedly with the same id:
    only the caller that claims the row (``pending`` and due -> ``sending``)
    talks to the provider; everybody else gets ``not_claimed``. Every
    provider call is logged as a :class:`NotificationAttempt`. Never raises
    for provider errors.
    """
    now = timezone.now()
    if not _claim(notification_id, now):
        return SendOutcome("not_claimed")
    notification = Notification.objects.select_related(
        "booking__brand", "booking__instructor", "booking__event_type", "event"
    ).get(pk=notification_id)

    reason = _skip_reason(notification)
    backend = None
    if reason is None:
        try:
            backend = backend_for(notification.channel, notification.booking.brand)
        except Exception as error:  # a settings mistake: retried, and visible in the log meanwhile
            logger.exception("Notification %s: no backend", notification.pk)
            notification.attempts += 1
            return _record_attempt(notification, "", TemporaryError(f"Backend settings: {error}"), 0)
        if backend is None:
            label = TEXT_CHANNEL_NAMES.get(notification.channel, notification.channel)
            reason = f"{label} is not configured (provider settings) at send time."
        elif not notification.recipient:
            reason = "There is no recipient address."
    if reason is not None:
        return _finish_skipped(notification, reason)

    _freeze_booking_state(notification)
    notification.attempts += 1
    started = time.monotonic()
    provider_message_id, error, note = "", None, ""
    try:
        provider_message_id = backend.send(_outgoing(notification))
    except AlreadyAccepted as accepted:
        note = (
            "Recorded as sent: an earlier attempt under this Idempotency-Key was accepted by the provider "
            f"(its answer was lost) and the body has changed since, so nothing was sent again. Answer: {accepted}"
        )
    except DeliveryError as delivery_error:
        error = delivery_error
    except Exception as unexpected:  # a bug or an SDK surprise: retry, it may be transient
        logger.exception("Notification %s: unexpected error while sending", notification.pk)
        error = TemporaryError(f"{type(unexpected).__name__}: {unexpected}")
    duration_ms = int((time.monotonic() - started) * 1000)
    return _record_attempt(notification, provider_message_id, error, duration_ms, note=note)


def _record_attempt(
    notification: Notification,
    provider_message_id: str,
    error: DeliveryError | None,
    duration_ms: int,
    *,
    note: str = "",
) -> SendOutcome:
    now = timezone.now()
    retry_in = None
    if error is None:
        notification.status = Notification.Status.SENT
        notification.provider_message_id = provider_message_id[:100]
        notification.sent_at = now
        notification.last_error = ""
    elif isinstance(error, PermanentError):
        notification.status = Notification.Status.FAILED
        notification.last_error = str(error)
    elif notification.attempts >= MAX_ATTEMPTS:
        notification.status = Notification.Status.FAILED
        notification.last_error = f"Gave up after {notification.attempts} attempts. Last error: {error}"
    else:
        retry_in = RETRY_DELAYS[notification.attempts - 1]
        notification.status = Notification.Status.PENDING
        notification.next_attempt_at = now + retry_in
        notification.last_error = str(error)
    with transaction.atomic():
        NotificationAttempt.objects.create(
            notification=notification,
            number=notification.attempts,
            succeeded=error is None,
            provider_message_id=provider_message_id[:100],
            error="" if error is None else str(error),
            note=note,
            duration_ms=duration_ms,
        )
        notification.save(
            update_fields=[
                "status",
                "attempts",
                "next_attempt_at",
                "provider_message_id",
                "last_error",
                "sent_at",
                "updated_at",
            ]
        )
    if error is not None:
        logger.warning(
            "Notification %s attempt %s failed (%s): %s",
            notification.pk,
            notification.attempts,
            notification.status,
            error,
        )
    elif note:
        logger.info("Notification %s attempt %s: %s", notification.pk, notification.attempts, note)
    return SendOutcome(notification.status, retry_in)


# --- admin and periodic work ------------------------------------------------------


def notification_resend(*, notification: Notification) -> Notification:
    """Send a notification again (the admin's "Resend" action): a new ``pending`` row.

    A new row, not a reset of the old one: the old row keeps its history, and
    the new one gets its own Resend ``Idempotency-Key`` (the old key would
    make Resend answer with the first email instead of sending again).
    Attendee messages go to the booking's current address or phone, so a
    corrected phone number is used. The copy keeps the event (so it says
    what the original said) and a reminder's lead time, but not the link to
    the reminder: ``Notification.reminder`` is one-to-one, one notification
    per reminder. A copy without an event shows the booking as it is at the
    copy's first attempt.
    """
    booking = notification.booking
    recipient = notification.recipient
    if notification.audience == Notification.Audience.ATTENDEE:
        recipient = booking.attendee_email if notification.channel == Channel.EMAIL else booking.attendee_phone
    with transaction.atomic():
        return notification_queue(
            booking=booking,
            kind=notification.kind,
            channel=notification.channel,
            recipient=recipient,
            audience=notification.audience,
            event=notification.event,
            minutes_before=notification.minutes_before,
        )


def notifications_sweep(*, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Enqueue again what no task is taking care of; runs every minute (celery-beat).

    * rows ``sending`` for more than :data:`STUCK_AFTER` (the worker died
      mid-attempt) go back to ``pending``;
    * ``pending`` rows due for more than :data:`SWEEP_GRACE` (broker down at
      commit, a lost task, a retry whose wait lives only in the database) are
      enqueued, and their ``next_attempt_at`` moves to now so the next sweep
      does not enqueue them again while their task is still in the queue.

    Enqueueing twice is harmless: only one task claims the row.
    """
    now = timezone.now()
    stuck_ids = list(
        Notification.objects.filter(status=Notification.Status.SENDING, updated_at__lte=now - STUCK_AFTER)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )
    if stuck_ids:
        Notification.objects.filter(pk__in=stuck_ids, status=Notification.Status.SENDING).update(
            status=Notification.Status.PENDING,
            next_attempt_at=now,
            updated_at=now,
            last_error="The worker stopped during an attempt; sending again.",
        )
    due_ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if due_ids:
        Notification.objects.filter(pk__in=due_ids, status=Notification.Status.PENDING).update(next_attempt_at=now)
    enqueued = sum(_enqueue(pk) for pk in [*stuck_ids, *due_ids])
    if stuck_ids or due_ids:
        logger.info("Notification sweep: %s stuck, %s due, %s enqueued", len(stuck_ids), len(due_ids), enqueued)
    return {"stuck": len(stuck_ids), "due": len(due_ids), "enqueued": enqueued}
