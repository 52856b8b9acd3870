"""Notification writes: queue, send (the task body), resend, sweep.

The :class:`~notifications.models.Notification` row is the outbox and the
log. It is written ``pending`` in the transaction of the change that causes
it; a Celery task gets its id after commit. Everything after that is driven
from the row, so neither a broker outage, a provider outage nor a worker
killed mid-send loses a message, and no message goes out twice:

* **claim with a lease**: one conditional ``UPDATE ... SET status='sending',
  lease_expires_at=now+lease WHERE status='pending' AND next_attempt_at <= now``
  (rows locked with ``SKIP LOCKED``) lets exactly one worker own an attempt,
  however many tasks (duplicates, sweeps, retries) race for it. The send
  task is killed at the lease's age and starts no provider request that
  could outlast it, so a claim still held past its lease belongs to a dead
  worker: the sweep logs that attempt as lost and hands the row out again.
  The outcome is recorded only while the claim is still this task's (the
  lease value is the fencing token);
* **many at once**: a task sends a list of ids (reminders come due in
  thousands): one claim, one read, one write of the results for all of them,
  the provider requests made concurrently (``notifications.dispatch``), and
  emails without attachments sent 100 to a Resend batch request;
* **retry**: a :class:`~notifications.backends.TemporaryError` puts the row
  back to ``pending`` with ``next_attempt_at`` after 10 s, 1 min, 5 min,
  30 min, 2 h (``NOTIFICATIONS_RETRY_DELAYS``), then ``failed``. Waits up to
  a minute are also Celery countdowns; longer ones live only in the
  database, for the sweep;
* **idempotency**: Resend receives ``Idempotency-Key: notification-<id>``
  (a batch: the batch's key, stored on its rows before the request, so a
  retry re-sends the same emails under it), so a retry after a timeout whose
  email did go out is not a second email. Every attempt renders the same body
  (``notifications.messages``: from the event's payload, or from the snapshot
  stored before the first attempt); should it differ anyway, Resend's
  ``409 invalid_idempotent_request`` says the key's first request was
  accepted, and the row is ``sent`` with a note on the attempt. Twilio has no
  such key: an SMS retried after an attempt that may have reached Twilio is
  first looked up in Twilio's message list;
* **sweep**: every few seconds, rows still ``pending`` a while after their
  time (broker down at commit, a task lost with its worker) are enqueued
  again, and rows whose lease lapsed are taken back.

A provider error never reaches the booking: the booking services only write
rows here; the provider is called by the task, after commit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from bookings.models import ACTIVE_STATUSES, Booking, BookingStatus, Event

from . import dispatch, messages
from .backends import (
    TEXT_CHANNEL_NAMES,
    OutgoingMessage,
    PermanentError,
    TemporaryError,
    backend_for,
    sender_for,
)
from .models import BookingReminder, Channel, Notification, NotificationAttempt

logger = logging.getLogger(__name__)

COUNTDOWN_RETRY_LIMIT = dt.timedelta(minutes=1)
"""Retries waiting at most this long are also scheduled as Celery countdowns."""
SWEEP_BATCH = 500
SEND_TASK_SIZE = 100
"""Notification ids per send task: one Resend batch of emails, or as many provider requests."""
RECORD_MARGIN_SECONDS = 3.0
"""Of a claim's lease, what is kept for recording the outcome after the last provider request."""
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
"""Publishing at commit gives up fast: the sweep delivers what could not be enqueued."""
PHONE_CHANNELS = (Channel.SMS, Channel.WHATSAPP)

CANCELLED_BOOKING_SKIPS = frozenset(
    {Notification.Kind.CONFIRMATION, Notification.Kind.HOST_NEW_BOOKING, Notification.Kind.RESCHEDULE}
)


def retry_delays() -> tuple[dt.timedelta, ...]:
    """Waits after the 1st, 2nd... failed attempt (``NOTIFICATIONS_RETRY_DELAYS``); then ``failed``."""
    return tuple(dt.timedelta(seconds=float(seconds)) for seconds in settings.NOTIFICATIONS_RETRY_DELAYS)


def max_attempts() -> int:
    return len(retry_delays()) + 1


def lease_duration() -> dt.timedelta:
    """How long a claim holds (``NOTIFICATIONS_LEASE_SECONDS``); the send task's time limit too."""
    return dt.timedelta(seconds=float(settings.NOTIFICATIONS_LEASE_SECONDS))


def sweep_grace() -> dt.timedelta:
    """How long a due ``pending`` row is left to its own queued task before the sweep enqueues it again."""
    return dt.timedelta(seconds=float(settings.NOTIFICATIONS_SWEEP_GRACE_SECONDS))


@dataclasses.dataclass(frozen=True)
class SendOutcome:
    """What one send did to one notification.

    ``status`` is the row's status afterwards, or ``"not_claimed"`` when
    another worker owns it, it is not due yet, or it is already final, or
    ``"lease_lapsed"`` when the claim ran out before the outcome could be
    recorded (the sweep had already handed the row out again).
    ``retry_in`` is set when the row should be tried again: after a temporary
    failure, or at once (``0``) when the deadline left no time to start it.
    """

    status: str
    retry_in: dt.timedelta | None = None


NOT_CLAIMED = SendOutcome("not_claimed")


# --- queue ------------------------------------------------------------------------


def notifications_enqueue(notification_ids: Iterable[int], *, countdown: float | None = None) -> int:
    """Hand ids to Celery, :data:`SEND_TASK_SIZE` per task; returns how many were enqueued.

    A broker outage is logged, not raised: the rows are in the database, and
    the sweep enqueues them again once the broker is back.
    """
    from .tasks import send_notifications  # late: the tasks module imports this one

    ids = list(notification_ids)
    enqueued = 0
    for start in range(0, len(ids), SEND_TASK_SIZE):
        chunk = ids[start : start + SEND_TASK_SIZE]
        try:
            send_notifications.apply_async(
                args=[chunk], countdown=countdown, retry=True, retry_policy=ENQUEUE_RETRY_POLICY
            )
        except Exception:
            logger.warning(
                "Could not enqueue notifications %s (broker unavailable?); the sweep will send them.",
                chunk,
                exc_info=True,
            )
            continue
        enqueued += len(chunk)
    return enqueued


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
    (notification,) = notifications_queue(
        [
            new_notification(
                booking=booking,
                kind=kind,
                channel=channel,
                recipient=recipient,
                audience=audience,
                event=event,
                reminder=reminder,
                minutes_before=minutes_before,
            )
        ]
    )
    return notification


def new_notification(*, reminder: BookingReminder | None = None, minutes_before: int | None = None, **fields):
    """An unsaved ``pending`` notification for :func:`notifications_queue` (a reminder's lead time kept)."""
    if minutes_before is None and reminder is not None:
        minutes_before = reminder.minutes_before
    fields.setdefault("status", Notification.Status.PENDING)
    fields.setdefault("next_attempt_at", timezone.now())
    return Notification(reminder=reminder, minutes_before=minutes_before, **fields)


def notifications_queue(notifications: list[Notification]) -> list[Notification]:
    """Write many ``pending`` notifications in one statement; send them after commit, a task per 100.

    The reminder pass uses it for its whole chunk; :func:`notification_queue`
    for one message. Same transaction rules.
    """
    _write_rows(notifications)
    transaction.on_commit(partial(notifications_enqueue, [notification.pk for notification in notifications]))
    return notifications


def _write_rows(notifications: list[Notification]) -> list[Notification]:
    """The one place notification rows are written."""
    return Notification.objects.bulk_create(notifications)


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
    (notification,) = _write_rows(
        [
            new_notification(
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
        ]
    )
    return notification


# --- send -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Lease:
    """The rows one send claimed, and until when the claim holds (also its fencing token)."""

    ids: list[int]
    until: dt.datetime


def _claim(notification_ids: list[int], now: dt.datetime) -> Lease:
    """Take the due ``pending`` rows among ``notification_ids``: ``sending`` until ``now`` + the lease.

    The rows are locked with ``SKIP LOCKED`` (on SQLite the IMMEDIATE
    transaction serialises claims), so a row another worker is claiming is
    simply left to it. The emails of one Resend batch whose outcome is not
    known are claimed all together or not at all, also when only some of
    their ids were asked for: they may only ever be sent again as the same
    batch (``notifications.dispatch``).
    """
    until = now + lease_duration()
    with transaction.atomic():
        due = dict(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk__in=notification_ids, status=Notification.Status.PENDING, next_attempt_at__lte=now)
            .values_list("pk", "batch_key")
        )
        keys = {key for key in due.values() if key}
        if keys:
            members: dict[str, set[int]] = defaultdict(set)
            unfinished = (Notification.Status.PENDING, Notification.Status.SENDING)
            for pk, key in Notification.objects.filter(batch_key__in=keys, status__in=unfinished).values_list(
                "pk", "batch_key"
            ):
                members[key].add(pk)
            others = set().union(*members.values()) - set(due)
            claimable = set(due) | set(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(pk__in=others, status=Notification.Status.PENDING, next_attempt_at__lte=now)
                .values_list("pk", flat=True)
            )
            for batch in members.values():
                if not batch <= claimable:
                    claimable -= batch  # part of the batch is someone else's: leave all of it
            claimed = sorted(claimable)
        else:
            claimed = sorted(due)
        if claimed:
            Notification.objects.filter(pk__in=claimed).update(
                status=Notification.Status.SENDING, lease_expires_at=until, updated_at=now
            )
    return Lease(claimed, until)


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


def _freeze_booking_state(notification: Notification) -> bool:
    """Fix what a message without an event shows of its booking, before its first attempt.

    Stored (by the caller, with the batch keys) before the provider is called,
    so an attempt whose answer is lost (timeout, worker died) is retried with
    the same body. A message caused by an event needs nothing stored: it
    renders its event's payload. Returns whether the row needs saving.
    """
    if notification.event_id or notification.booking_snapshot:
        return False
    notification.booking_snapshot = messages.booking_snapshot(notification.booking)
    return True


def _new_batch_key(items: list[dispatch.Item]) -> str:
    return f"notifications-batch-{items[0].notification_id}-{uuid.uuid4().hex[:12]}"


@dataclasses.dataclass
class _Prepared:
    """One send's claimed rows, sorted by what happens to them."""

    rows: dict[int, Notification]
    items: list[dispatch.Item] = dataclasses.field(default_factory=list)
    skipped: dict[int, str] = dataclasses.field(default_factory=dict)
    results: dict[int, dispatch.Result] = dataclasses.field(default_factory=dict)
    frozen: list[Notification] = dataclasses.field(default_factory=list)


def _prepare(rows: dict[int, Notification]) -> _Prepared:
    """Decide skips, pick backends and render, for every claimed row."""
    prepared = _Prepared(rows)
    lookups: list[dispatch.Item] = []
    for pk, notification in rows.items():
        reason = _skip_reason(notification)
        backend = None
        if reason is None:
            try:
                backend = backend_for(notification.channel, notification.booking.brand)
            except Exception as error:  # a settings mistake: retried, and visible in the log meanwhile
                logger.exception("Notification %s: no backend", pk)
                prepared.results[pk] = dispatch.Result(error=TemporaryError(f"Backend settings: {error}"))
                continue
            if backend is None:
                label = TEXT_CHANNEL_NAMES.get(notification.channel, notification.channel)
                reason = f"{label} is not configured (provider settings) at send time."
            elif not notification.recipient:
                reason = "There is no recipient address."
        if reason is not None:
            prepared.skipped[pk] = reason
            continue
        if _freeze_booking_state(notification):
            prepared.frozen.append(notification)
        item = dispatch.Item(pk, _outgoing(notification), backend, batch_key=notification.batch_key)
        if notification.attempts and notification.channel in PHONE_CHANNELS and hasattr(backend, "find_sent"):
            # An earlier attempt may have reached Twilio (a timeout, a lost worker): look before sending.
            item.lookup_since = notification.created_at
            lookups.append(item)
        prepared.items.append(item)
    if lookups:
        _exclude_known_sids(lookups, rows)
    return prepared


def _exclude_known_sids(items: list[dispatch.Item], rows: dict[int, Notification]) -> None:
    """A message recorded for another notification (the original of a resent copy) never counts for this one."""
    booking_ids = {rows[item.notification_id].booking_id for item in items}
    known: dict[int, set[str]] = defaultdict(set)
    for booking_id, pk, sid in (
        Notification.objects.filter(booking_id__in=booking_ids, channel__in=PHONE_CHANNELS)
        .exclude(provider_message_id="")
        .values_list("booking_id", "pk", "provider_message_id")
    ):
        known[booking_id].add((pk, sid))
    for item in items:
        booking_id = rows[item.notification_id].booking_id
        item.lookup_exclude = frozenset(sid for pk, sid in known[booking_id] if pk != item.notification_id)


def notifications_send(*, notification_ids: Collection[int]) -> dict[int, SendOutcome]:
    """One delivery attempt for each of ``notification_ids``; the body of the send task.

    Idempotent and safe to call concurrently or repeatedly with the same ids:
    only the rows this call claims are sent; the others answer
    ``not_claimed``. In order: claim (one transaction), read the rows (one
    query), skip what should no longer go out, render, store the snapshots
    and batch keys a retry needs (before any provider call), make the
    provider requests concurrently, record every outcome and its
    :class:`NotificationAttempt` (one transaction, only for rows still
    claimed by this call). Never raises for provider errors.
    """
    started = time.monotonic()
    ids = list(dict.fromkeys(notification_ids))
    outcomes = dict.fromkeys(ids, NOT_CLAIMED)
    lease = _claim(ids, timezone.now())
    if not lease.ids:
        return outcomes
    rows = {
        notification.pk: notification
        for notification in Notification.objects.select_related(
            "booking__brand", "booking__instructor", "booking__event_type", "event"
        )
        .filter(pk__in=lease.ids)
        .order_by("pk")
    }
    prepared = _prepare(rows)
    requests = dispatch.plan(prepared.items, new_batch_key=_new_batch_key)
    new_batches: dict[str, list[int]] = defaultdict(list)
    for item in prepared.items:
        notification = rows[item.notification_id]
        if item.batch_key != notification.batch_key:  # a new batch: its key is stored before the request
            notification.batch_key = item.batch_key
            new_batches[item.batch_key].append(notification.pk)
    if new_batches:
        Notification.objects.filter(pk__in=[pk for pks in new_batches.values() for pk in pks]).update(
            batch_key=Case(*(When(pk__in=pks, then=Value(key)) for key, pks in new_batches.items()))
        )
    if prepared.frozen:
        Notification.objects.bulk_update(prepared.frozen, ["booking_snapshot"])
    deadline = started + lease_duration().total_seconds() - RECORD_MARGIN_SECONDS
    prepared.results.update(
        dispatch.run(
            requests,
            deadline=deadline,
            timeout=float(settings.NOTIFICATIONS_PROVIDER_TIMEOUT),
            concurrency=int(settings.NOTIFICATIONS_SEND_CONCURRENCY),
        )
    )
    outcomes.update(_record(lease, prepared))
    return outcomes


def notification_send(*, notification_id: int) -> SendOutcome:
    """One delivery attempt of one notification (see :func:`notifications_send`)."""
    return notifications_send(notification_ids=[notification_id])[notification_id]


def _apply_result(notification: Notification, result: dispatch.Result, now: dt.datetime) -> NotificationAttempt:
    """Set the row's outcome after an attempt; return the attempt's log entry."""
    error = result.error
    notification.attempts += 1
    notification.lease_expires_at = None
    if result.batch_dissolved:
        notification.batch_key = ""
    if error is None:
        notification.status = Notification.Status.SENT
        notification.provider_message_id = result.provider_message_id[:100]
        notification.sent_at = now
        notification.last_error = ""
    elif isinstance(error, PermanentError):
        notification.status = Notification.Status.FAILED
        notification.last_error = str(error)
    elif notification.attempts >= max_attempts():
        notification.status = Notification.Status.FAILED
        notification.last_error = f"Gave up after {notification.attempts} attempts. Last error: {error}"
    else:
        notification.status = Notification.Status.PENDING
        notification.next_attempt_at = now + retry_delays()[notification.attempts - 1]
        notification.last_error = str(error)
    return NotificationAttempt(
        notification=notification,
        number=notification.attempts,
        succeeded=error is None,
        provider_message_id=result.provider_message_id[:100],
        error="" if error is None else str(error),
        note=result.note,
        duration_ms=result.duration_ms,
    )


SHARED_FIELDS = ("status", "lease_expires_at", "last_error", "updated_at")


def _write_back(rows: list[Notification], *, attempted: Collection[int]) -> None:
    """Save the outcome fields of ``rows``: one ``UPDATE`` per set of equal values, not one per row.

    The rows of a batch, or of an outage, share their outcome; only the
    provider's message id differs, written in one more statement. (Django's
    ``bulk_update`` builds a ``CASE`` per field and row: most of a send's time
    went there.) ``attempted`` rows have their ``attempts`` counted up by one.
    """
    groups: dict[tuple, list[int]] = defaultdict(list)
    for notification in rows:
        fields = {name: getattr(notification, name) for name in SHARED_FIELDS}
        if notification.status == Notification.Status.PENDING:
            fields["next_attempt_at"] = notification.next_attempt_at
        if notification.status == Notification.Status.SENT:
            fields["sent_at"] = notification.sent_at
        if not notification.batch_key:  # a refused batch's key is let go (a kept key is already stored)
            fields["batch_key"] = ""
        groups[(tuple(fields.items()), notification.pk in attempted)].append(notification.pk)
    for (items, counted), pks in groups.items():
        fields = dict(items)
        if counted:
            fields["attempts"] = F("attempts") + 1
        Notification.objects.filter(pk__in=pks).update(**fields)
    with_ids = [notification for notification in rows if notification.provider_message_id]
    if with_ids:
        Notification.objects.bulk_update(with_ids, ["provider_message_id"])


def _record(lease: Lease, prepared: _Prepared) -> dict[int, SendOutcome]:
    """Write every outcome of one send, for the rows this send still holds; one transaction."""
    now = timezone.now()
    outcomes: dict[int, SendOutcome] = {}
    attempts: list[NotificationAttempt] = []
    changed: list[Notification] = []
    skipped_reminders: dict[str, list[int]] = defaultdict(list)
    with transaction.atomic():
        held = set(
            Notification.objects.select_for_update()
            .filter(pk__in=lease.ids, status=Notification.Status.SENDING, lease_expires_at=lease.until)
            .values_list("pk", flat=True)
        )
        for pk in lease.ids:
            notification = prepared.rows[pk]
            if pk not in held:
                logger.warning(
                    "Notification %s: the claim lapsed before the attempt's outcome was recorded; "
                    "the sweep has handed it out again. Outcome not recorded: %s",
                    pk,
                    prepared.results.get(pk) or prepared.skipped.get(pk),
                )
                outcomes[pk] = SendOutcome("lease_lapsed")
                continue
            notification.updated_at = now
            changed.append(notification)
            if pk in prepared.skipped:
                notification.status = Notification.Status.SKIPPED
                notification.last_error = prepared.skipped[pk]
                notification.lease_expires_at = None
                if notification.reminder_id:
                    skipped_reminders[notification.last_error].append(notification.reminder_id)
                outcomes[pk] = SendOutcome(notification.status)
                continue
            result = prepared.results[pk]
            if not result.started:  # the deadline came first: no request made, no attempt spent
                notification.status = Notification.Status.PENDING
                notification.next_attempt_at = now
                notification.lease_expires_at = None
                if result.batch_dissolved:
                    notification.batch_key = ""
                outcomes[pk] = SendOutcome(notification.status, dt.timedelta(0))
                continue
            attempts.append(_apply_result(notification, result, now))
            retry_in = (
                notification.next_attempt_at - now if notification.status == Notification.Status.PENDING else None
            )
            outcomes[pk] = SendOutcome(notification.status, retry_in)
        NotificationAttempt.objects.bulk_create(attempts)
        _write_back(changed, attempted={attempt.notification.pk for attempt in attempts})
        for reason, reminder_ids in skipped_reminders.items():
            BookingReminder.objects.filter(pk__in=reminder_ids).update(
                status=BookingReminder.Status.SKIPPED, last_error=reason, updated_at=now
            )
    _log_attempts(attempts)
    return outcomes


def _log_attempts(attempts: list[NotificationAttempt]) -> None:
    for attempt in attempts:
        notification = attempt.notification
        if attempt.error:
            logger.warning(
                "Notification %s attempt %s failed (%s): %s",
                notification.pk,
                attempt.number,
                notification.status,
                attempt.error,
            )
        elif attempt.note:
            logger.info("Notification %s attempt %s: %s", notification.pk, attempt.number, attempt.note)


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


LOST_ATTEMPT = (
    "Lost: no outcome was recorded before the claim lapsed at {until} (the worker stopped, or was stopped "
    "at its time limit). The message may or may not have reached the provider; {next_step}"
)
LOST_NEXT_STEP = {
    Channel.EMAIL: "the next attempt reuses its Idempotency-Key, so Resend does not send it twice.",
    Channel.SMS: "the next attempt first looks for it in Twilio's message list.",
    Channel.WHATSAPP: "the next attempt first looks for it in Twilio's message list.",
}


def _reclaim_lapsed(now: dt.datetime, limit: int) -> list[int]:
    """Rows ``sending`` past their lease: log the lost attempt, make them due again; their ids.

    A lost attempt counts like a failed one (after the last, the row is
    ``failed``). Rows claimed before leases existed (no ``lease_expires_at``)
    count as lapsed one lease after their last change.
    """
    lapsed = Q(lease_expires_at__lte=now) | Q(lease_expires_at__isnull=True, updated_at__lte=now - lease_duration())
    with transaction.atomic():
        rows = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(lapsed, status=Notification.Status.SENDING)
            .order_by("pk")[:limit]
        )
        attempts = []
        for notification in rows:
            until = notification.lease_expires_at or (notification.updated_at + lease_duration())
            error = LOST_ATTEMPT.format(
                until=until.isoformat(timespec="seconds"), next_step=LOST_NEXT_STEP.get(notification.channel, "")
            )
            notification.attempts += 1
            notification.lease_expires_at = None
            notification.updated_at = now
            if notification.attempts >= max_attempts():
                notification.status = Notification.Status.FAILED
                notification.last_error = f"Gave up after {notification.attempts} attempts. Last error: {error}"
            else:
                notification.status = Notification.Status.PENDING
                notification.next_attempt_at = now
                notification.last_error = error
            attempts.append(
                NotificationAttempt(
                    notification=notification, number=notification.attempts, succeeded=False, error=error
                )
            )
        NotificationAttempt.objects.bulk_create(attempts)
        _write_back(rows, attempted={notification.pk for notification in rows})
    for notification in rows:
        logger.warning("Notification %s: attempt %s was lost (claim lapsed)", notification.pk, notification.attempts)
    return [notification.pk for notification in rows if notification.status == Notification.Status.PENDING]


def notifications_sweep(*, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """Enqueue again what no task is taking care of; runs every ``NOTIFICATIONS_SWEEP_SECONDS`` (beat).

    * rows ``sending`` whose lease lapsed (the worker died mid-attempt, or
      its task was killed at the time limit): the attempt is logged as lost
      and the row goes back to ``pending``, due now;
    * ``pending`` rows due for more than ``NOTIFICATIONS_SWEEP_GRACE_SECONDS``
      (broker down at commit, a task lost with a killed worker, which Redis
      would only hand out again after its one-hour visibility timeout, a retry
      whose wait lives only in the database) are enqueued, and their
      ``next_attempt_at`` moves to now so the next sweep does not enqueue them
      again while their task is still in the queue.

    With the defaults (lease 30 s, sweep every 15 s, grace 30 s) a message
    whose worker was killed is handed out again within about 45 seconds.
    Enqueueing twice is harmless: only one task claims the row.
    """
    now = timezone.now()
    lost_ids = _reclaim_lapsed(now, limit)
    due_ids = list(
        Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now - sweep_grace())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    if due_ids:
        Notification.objects.filter(pk__in=due_ids, status=Notification.Status.PENDING).update(next_attempt_at=now)
    enqueued = notifications_enqueue([*lost_ids, *due_ids])
    if lost_ids or due_ids:
        logger.info("Notification sweep: %s lost, %s due, %s enqueued", len(lost_ids), len(due_ids), enqueued)
    return {"lost": len(lost_ids), "due": len(due_ids), "enqueued": enqueued}
