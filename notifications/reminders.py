"""The reminder schedule: which reminders a booking gets, when, and one pass over the due ones.

A booking's reminders are a **snapshot** of its event type at booking time:
one :class:`~notifications.models.BookingReminder` row per offset
(``reminder_minutes_before``) x channel (``reminder_channels``), written in the
booking's own transaction by the receivers in
``notifications.receivers``. Later edits of the event type do not
touch existing bookings.

Delivery is not done here: a due reminder of a ``confirmed`` booking is handed
to :func:`notifications.services.notification_queue`, which writes a pending
``Notification`` and enqueues its sending after commit. Retries, provider
errors and the final delivery state live on that Notification; the reminder row
only records that it was handed over (``sent``) or why not (``skipped``).

Exactly once: :func:`reminders_process_due` may run in several Celery workers,
several beat schedulers and the cron endpoints at the same moment. Due
reminders are claimed a chunk at a time, in one short transaction per chunk:
on PostgreSQL the bookings and then the reminders are locked with
``SELECT ... FOR UPDATE SKIP LOCKED`` so concurrent passes split the work
instead of queueing behind each other, and the booking is locked *before* the
reminder, the same order the booking services use (cancel and reschedule lock
the booking, then their receivers update its reminders), so a pass and a
cancel can never deadlock. The claim itself is a conditional
``UPDATE ... WHERE status = 'scheduled'`` (this alone is enough on SQLite,
where IMMEDIATE transactions serialise writers). ``Notification.reminder`` is
one-to-one, so the database refuses a second notification for a reminder
whatever happens. A chunk that fails as a whole (one reminder's hand-over
raising) is rolled back and its reminders are then handled one per
transaction, so one bad row never holds up the others.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from booking_project.refusals import Refusal
from bookings.models import Booking, BookingStatus

from .backends import channel_unavailable_reason
from .models import BookingReminder, Channel, Notification
from .services import new_notification, notification_queue, notifications_queue

logger = logging.getLogger(__name__)

REASON_PASSED_AT_BOOKING = "reminder time had already passed when the booking was made"
REASON_PASSED_AT_RESCHEDULE = "reminder time had already passed when the booking was rescheduled"
REASON_SESSION_STARTED = "the session had already started when the reminder was processed"
PHONE_CHANNELS = (Channel.SMS, Channel.WHATSAPP)

# A reminder whose hand-over to the notification outbox keeps raising is given
# up after this many passes (it is then ``skipped`` with the error).
MAX_QUEUE_ATTEMPTS = 5
# Reminders claimed and handed over in one transaction: a few statements for
# all of them, instead of one transaction (and one commit) per reminder.
CLAIM_CHUNK = 200


def _reason_no_phone(channel: str) -> str:
    return f"no attendee phone number for the {channel} reminder"


def _reason_not_confirmed(status: str) -> str:
    return f"booking is {status}, not confirmed"


def _as_list(event_type, field: str) -> list:
    """The event type's JSON list ``field``.

    The validators (model, admin form, API serializer, which turns the string
    forms into lists) store lists only; anything else got around them, and is
    logged and left out rather than guessed at.
    """
    value = getattr(event_type, field)
    if isinstance(value, list | tuple):
        return list(value)
    logger.error("Event type %s: %s is not a list (%r); no reminders from it", event_type.pk, field, value)
    return []


def _unique(values: Iterable) -> list:
    seen: list = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def reminder_offsets(event_type) -> list[int]:
    """``reminder_minutes_before`` as distinct positive ints, in the order given."""
    offsets = []
    for value in _as_list(event_type, "reminder_minutes_before"):
        if isinstance(value, bool):
            continue
        try:
            minutes = int(value)
        except (TypeError, ValueError):
            continue
        if minutes > 0:
            offsets.append(minutes)
    return _unique(offsets)


def reminder_channels(event_type) -> list[str]:
    """``reminder_channels`` restricted to the known channels, in the order given."""
    channels = _as_list(event_type, "reminder_channels")
    return _unique(channel for channel in channels if channel in Channel.values)


def _recipient(booking: Booking, channel: str) -> str:
    return booking.attendee_phone.strip() if channel in PHONE_CHANNELS else booking.attendee_email


def _plan(booking: Booking, channel: str, remind_at: dt.datetime, now: dt.datetime, passed_reason: str):
    """(status, reason) for an unsent reminder of ``booking`` due at ``remind_at``."""
    if remind_at < now:
        return BookingReminder.Status.SKIPPED, passed_reason
    if not _recipient(booking, channel):
        return BookingReminder.Status.SKIPPED, _reason_no_phone(channel)
    return BookingReminder.Status.SCHEDULED, ""


# --- the schedule -------------------------------------------------------------------


@transaction.atomic(savepoint=False)
def reminders_schedule(*, booking: Booking, just_created: bool = False) -> list[BookingReminder]:
    """Write the booking's reminder rows: one per offset x channel of its event type.

    Called in the booking's transaction (``booking.created``), so a rolled-back
    booking leaves no reminder (and needs no savepoint of its own: a failure
    here fails the booking). ``remind_at = start_at - minutes``; a time that
    has already passed, or a phone channel without an attendee phone, is stored
    as ``skipped`` with the reason, so staff see why nothing will be sent.
    Idempotent: rows that already exist for (channel, offset) are kept as they
    are; ``just_created`` says the booking was inserted in this transaction, so
    no other can have written its reminders and they are not looked for.
    Returns the booking's reminders, the kept ones and the new ones.
    """
    now = timezone.now()
    event_type = booking.event_type
    existing = (
        {}
        if just_created
        else {
            (reminder.channel, reminder.minutes_before): reminder
            for reminder in BookingReminder.objects.filter(booking=booking)
        }
    )
    new_rows = []
    channels = reminder_channels(event_type)
    for minutes in reminder_offsets(event_type):
        for channel in channels:
            if (channel, minutes) in existing:
                continue
            remind_at = booking.start_at - dt.timedelta(minutes=minutes)
            status, reason = _plan(booking, channel, remind_at, now, REASON_PASSED_AT_BOOKING)
            new_rows.append(
                BookingReminder(
                    booking=booking,
                    channel=channel,
                    minutes_before=minutes,
                    remind_at=remind_at,
                    status=status,
                    last_error=reason,
                )
            )
    BookingReminder.objects.bulk_create(new_rows)
    return [*existing.values(), *new_rows]


@transaction.atomic
def reminders_recompute(*, booking: Booking) -> list[BookingReminder]:
    """Move the unsent reminders of a rescheduled booking to its new time.

    Rows already ``sent`` stay as they are (that reminder went out for the old
    time); ``cancelled`` rows stay cancelled. Every other row (scheduled, or
    skipped because its time had passed or the phone was missing) gets
    ``remind_at = new start - minutes`` and becomes ``scheduled`` again, or
    ``skipped`` if that time has already passed. Runs in the reschedule's
    transaction, which holds the booking's row lock, so no reminder pass can
    claim one of these rows halfway through.
    """
    now = timezone.now()
    reminders = list(
        BookingReminder.objects.select_for_update()
        .filter(booking=booking)
        .exclude(status__in=[BookingReminder.Status.SENT, BookingReminder.Status.CANCELLED])
    )
    for reminder in reminders:
        reminder.remind_at = booking.start_at - dt.timedelta(minutes=reminder.minutes_before)
        reminder.status, reminder.last_error = _plan(
            booking, reminder.channel, reminder.remind_at, now, REASON_PASSED_AT_RESCHEDULE
        )
        reminder.updated_at = now  # bulk_update does not apply auto_now
    BookingReminder.objects.bulk_update(reminders, ["remind_at", "status", "last_error", "updated_at"])
    return list(BookingReminder.objects.filter(booking=booking))


@transaction.atomic
def reminders_cancel(*, booking: Booking) -> int:
    """Cancel the booking's scheduled reminders (booking cancelled, completed or no-show).

    Returns how many were cancelled. A reminder already handed to the outbox
    is not touched here: its notification's send task checks that the booking
    is still confirmed and skips it otherwise.
    """
    return BookingReminder.objects.filter(booking=booking, status=BookingReminder.Status.SCHEDULED).update(
        status=BookingReminder.Status.CANCELLED,
        last_error=f"booking was {booking.status}",
        updated_at=timezone.now(),
    )


def reminder_schedule_warnings(booking: Booking, reminders: Iterable[BookingReminder]) -> list[str]:
    """What the booking response should say about reminders that will not (or cannot now) be sent.

    A missing phone is final (the rows are skipped); a channel that is not
    configured is only a warning, since the settings may be fixed before the
    reminder is due (the send step skips it with the reason otherwise).
    """
    warnings = []
    reminders = list(reminders)
    for channel in reminder_channels(booking.event_type):
        rows = [reminder for reminder in reminders if reminder.channel == channel]
        if any(r.status == BookingReminder.Status.SKIPPED and r.last_error == _reason_no_phone(channel) for r in rows):
            warnings.append(f"No attendee phone number: {channel} reminders will not be sent.")
            continue
        if any(r.status == BookingReminder.Status.SCHEDULED for r in rows):
            unavailable = channel_unavailable_reason(channel, booking.brand)
            if unavailable:
                warnings.append(f"{channel} reminders cannot be sent at the moment: {unavailable}.")
    return warnings


def reminder_send_again(*, reminder: BookingReminder) -> Notification:
    """Send a reminder now, from the back office (the reminder list's "Send again").

    A reminder that was handed to the outbox is resent like any message
    (``notification_resend``: a new row, the old one keeps its history).
    One that was not (still scheduled, skipped or cancelled) is sent now as
    a new reminder message with the same lead time; the reminder row itself
    is left as it is, so a scheduled one still goes out at its time too (staff
    asked for an extra one). A phone channel without an attendee phone is
    refused. The send step still skips a reminder of a booking that is not
    confirmed, with the reason, as for every reminder.
    """
    from .services import notification_queue, notification_resend

    notification = Notification.objects.filter(reminder=reminder).first()
    if notification is not None:
        return notification_resend(notification=notification)
    booking = reminder.booking
    recipient = _recipient(booking, reminder.channel)
    if not recipient:
        raise Refusal(f"The booking has no attendee phone number: the {reminder.channel} reminder cannot be sent.")
    with transaction.atomic():
        return notification_queue(
            booking=booking,
            kind=Notification.Kind.REMINDER,
            channel=reminder.channel,
            recipient=recipient,
            audience=Notification.Audience.ATTENDEE,
            minutes_before=reminder.minutes_before,
        )


# --- processing -----------------------------------------------------------------------


def _due(now: dt.datetime, brand_id: int | None):
    query = BookingReminder.objects.filter(status=BookingReminder.Status.SCHEDULED, remind_at__lte=now)
    if brand_id is not None:
        query = query.filter(booking__brand_id=brand_id)
    return query


def _finish(reminder_id: int, **fields: Any) -> bool:
    """The claim: move a still-scheduled reminder to its outcome; False if someone else got there first."""
    fields.setdefault("updated_at", timezone.now())
    claimed = BookingReminder.objects.filter(pk=reminder_id, status=BookingReminder.Status.SCHEDULED).update(
        attempts=F("attempts") + 1, **fields
    )
    return claimed == 1


def _skip_reason(booking: Booking, reminder: BookingReminder, now: dt.datetime) -> str:
    if booking.status != BookingStatus.CONFIRMED:
        return _reason_not_confirmed(booking.status)
    if booking.start_at <= now:
        return REASON_SESSION_STARTED
    if not _recipient(booking, reminder.channel):
        return _reason_no_phone(reminder.channel)
    return ""


def _process_chunk(candidates: list[tuple[int, int]], now: dt.datetime) -> dict[int, str]:
    """Claim and handle many due reminders in one transaction; the outcome of each one this pass took.

    The same locks, in the same order, as :func:`_process_one`, taken for the
    whole chunk at once (``SKIP LOCKED``: what another pass or a booking write
    holds is left to it); then one ``UPDATE`` per outcome and one ``INSERT``
    for all the notifications. Raises if any part fails, rolling the whole
    chunk back; the caller then handles its reminders one by one.
    """
    outcomes: dict[int, str] = {}
    with transaction.atomic():
        bookings = {
            booking.pk: booking
            for booking in Booking.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .select_related("event_type", "brand")
            .filter(pk__in={booking_id for _, booking_id in candidates})
        }
        reminders = list(
            BookingReminder.objects.select_for_update(skip_locked=True).filter(
                pk__in=[reminder_id for reminder_id, booking_id in candidates if booking_id in bookings],
                status=BookingReminder.Status.SCHEDULED,
                remind_at__lte=now,
            )
        )
        skips: dict[str, list[int]] = {}
        queued = []
        for reminder in reminders:
            booking = bookings[reminder.booking_id]
            reason = _skip_reason(booking, reminder, now)
            if reason:
                skips.setdefault(reason, []).append(reminder.pk)
                continue
            queued.append(
                new_notification(
                    booking=booking,
                    kind=Notification.Kind.REMINDER,
                    channel=reminder.channel,
                    recipient=_recipient(booking, reminder.channel),
                    audience=Notification.Audience.ATTENDEE,
                    reminder=reminder,
                )
            )
        for reason, reminder_ids in skips.items():
            _claim_many(reminder_ids, status=BookingReminder.Status.SKIPPED, last_error=reason)
            outcomes.update(dict.fromkeys(reminder_ids, "skipped"))
        if queued:
            sent_ids = [notification.reminder_id for notification in queued]
            _claim_many(sent_ids, status=BookingReminder.Status.SENT, sent_at=timezone.now(), last_error="")
            notifications_queue(queued)
            outcomes.update(dict.fromkeys(sent_ids, "sent"))
    return outcomes


def _claim_many(reminder_ids: list[int], **fields: Any) -> None:
    """The chunk's claim: its reminders are locked by this transaction, so all of them must change."""
    fields.setdefault("updated_at", timezone.now())
    claimed = BookingReminder.objects.filter(pk__in=reminder_ids, status=BookingReminder.Status.SCHEDULED).update(
        attempts=F("attempts") + 1, **fields
    )
    if claimed != len(reminder_ids):
        raise RuntimeError(f"Claimed {claimed} of {len(reminder_ids)} locked reminders")


def _process_one(reminder_id: int, booking_id: int, now: dt.datetime) -> str | None:
    """Claim and handle one due reminder; return its outcome, or None if another pass owns it."""
    with transaction.atomic():
        # Booking first, then reminder: the lock order of the booking services.
        booking = (
            Booking.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .select_related("event_type", "brand")
            .filter(pk=booking_id)
            .first()
        )
        if booking is None:
            return None  # locked by a booking write or another pass: a later pass takes it
        reminder = (
            BookingReminder.objects.select_for_update(skip_locked=True)
            .filter(pk=reminder_id, status=BookingReminder.Status.SCHEDULED, remind_at__lte=now)
            .first()
        )
        if reminder is None:
            return None
        skip_reason = _skip_reason(booking, reminder, now)
        if skip_reason:
            return (
                "skipped"
                if _finish(reminder.pk, status=BookingReminder.Status.SKIPPED, last_error=skip_reason)
                else None
            )
        if not _finish(reminder.pk, status=BookingReminder.Status.SENT, sent_at=timezone.now(), last_error=""):
            return None
        notification_queue(
            booking=booking,
            kind=Notification.Kind.REMINDER,
            channel=reminder.channel,
            recipient=_recipient(booking, reminder.channel),
            audience=Notification.Audience.ATTENDEE,
            reminder=reminder,  # its id and minutes_before, which the claim does not change
        )
        return "sent"


def _record_failure(reminder_id: int, error: Exception) -> None:
    """Note a failed hand-over on a reminder that is still scheduled; give up after a few passes."""
    message = f"{type(error).__name__}: {error}"[:2000]
    with transaction.atomic():
        reminder = BookingReminder.objects.filter(pk=reminder_id, status=BookingReminder.Status.SCHEDULED).first()
        if reminder is None:
            return
        if reminder.attempts + 1 >= MAX_QUEUE_ATTEMPTS:
            _finish(
                reminder_id,
                status=BookingReminder.Status.SKIPPED,
                last_error=f"gave up after {MAX_QUEUE_ATTEMPTS} attempts: {message}",
            )
        else:
            _finish(reminder_id, last_error=message)


def reminders_process_due(*, now: dt.datetime | None = None, limit: int = 500, brand_id: int | None = None) -> dict:
    """One pass over due reminders (``scheduled`` and ``remind_at <= now``), oldest first.

    Safe to run any number of times concurrently (beat task, workers, cron
    endpoints, the management command): reminders are claimed
    :data:`CLAIM_CHUNK` per transaction and each is handled by exactly one
    pass (see the module docstring); the notifications of a chunk are sent by
    tasks of up to 100 after its commit.
    A claimed reminder of a booking that is not ``confirmed`` (or whose session
    has already started) is ``skipped`` with the reason; otherwise it is handed
    to the notification outbox and marked ``sent``. A hand-over that raises is
    counted as ``failed``, rolled back (the reminder stays scheduled for the
    next pass) and given up after ``MAX_QUEUE_ATTEMPTS``. ``brand_id`` limits
    the pass to one brand (the cron endpoints called with a brand's API key).

    Returns ``{"processed", "sent", "skipped", "failed"}`` for the reminders
    this pass handled; those another pass took are not counted.
    """
    now = now or timezone.now()
    counts = {"processed": 0, "sent": 0, "skipped": 0, "failed": 0}
    candidates = list(_due(now, brand_id).order_by("remind_at", "id").values_list("id", "booking_id")[:limit])
    for start in range(0, len(candidates), CLAIM_CHUNK):
        chunk = candidates[start : start + CLAIM_CHUNK]
        try:
            outcomes = list(_process_chunk(chunk, now).values())
        except Exception:
            logger.warning("A chunk of %s reminders failed as a whole; handling them one by one", len(chunk))
            outcomes = [_process_one_safely(reminder_id, booking_id, now) for reminder_id, booking_id in chunk]
        for outcome in outcomes:
            if outcome is not None:
                counts[outcome] += 1
                counts["processed"] += 1
    if counts["processed"]:
        logger.info("Reminder pass: %s", counts)
    return counts


def _process_one_safely(reminder_id: int, booking_id: int, now: dt.datetime) -> str | None:
    """:func:`_process_one`, with a failure recorded on the reminder (and given up after a few passes)."""
    try:
        return _process_one(reminder_id, booking_id, now)
    except Exception as error:
        logger.exception("Reminder %s could not be queued", reminder_id)
        _record_failure(reminder_id, error)
        return "failed"
