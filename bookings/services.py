"""Every booking state change: create (one booking or a weekly series),
confirm, cancel (one booking or the rest of a series), reschedule, complete,
no-show, payments, notes; and the instructor's calendar feed token.

Each function is atomic and the only way its change happens: the API, the
admin and the management commands all call these, and so must every new door. Each emits its
domain event through :func:`_emit`, which stores the Event row and sends the
matching signal inside the same transaction (see ``bookings.signals``).

Serialisation: writes that change an instructor's calendar lock that
instructor's row (``SELECT ... FOR UPDATE``) before checking availability, so
two requests for overlapping times (in any brand) run one after the other and
buffers hold. On PostgreSQL the exclusion constraint is the last line of
defence; on SQLite the IMMEDIATE transaction mode takes the database write
lock at BEGIN, which serialises all writers.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import secrets
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from booking_project.formats import utc_iso
from scheduling.models import Brand, EventType, Instructor, InstructorBrand
from scheduling.slots import TAKEN, weekly_occurrences
from scheduling.validators import MAX_SERIES_INTERVAL_WEEKS, MAX_SERIES_OCCURRENCES, MIN_SERIES_OCCURRENCES

from . import signals
from .availability import instructor_series_refusals, instructor_slot_refusal
from .errors import (
    CutoffPassed,
    IdempotencyKeyReused,
    InvalidTransition,
    PaymentRequired,
    SeriesUnavailable,
    SlotUnavailable,
)
from .models import (
    ACTIVE_STATUSES,
    Booking,
    BookingSeries,
    BookingStatus,
    CalendarFeed,
    Event,
    IdempotencyRecord,
    Payment,
    PaymentStatus,
)
from .selectors import busy_intervals, student_change_deadline

# Who asks for a change: students are bound by the cancellation cutoff; staff and API clients are not.
STUDENT = "student"
STAFF = "staff"
API = "api"


@dataclass
class BookingResult:
    booking: Booking
    warnings: list[str] = field(default_factory=list)
    replayed: bool = False


@dataclass
class SeriesResult:
    """A booked weekly series: its occurrences in time order, and those left out (``skip_conflicts``)."""

    series: BookingSeries
    bookings: list[Booking]
    skipped: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    replayed: bool = False


# --- events ---------------------------------------------------------------------


def event_payload(booking: Booking, payment: Payment | None = None) -> dict[str, Any]:
    """The ``data`` of an event, and so of its webhook (``docs/events.md`` lists the fields)."""
    payload: dict[str, Any] = {
        "booking_id": booking.id,
        "booking_uid": str(booking.uid),
        "brand_id": booking.brand_id,
        "event_type_id": booking.event_type_id,
        "instructor_id": booking.instructor_id,
        "team_member_id": booking.instructor_id,
        "start_at": utc_iso(booking.start_at),
        "end_at": utc_iso(booking.end_at),
        "attendee_email": booking.attendee_email,
        "attendee_name": booking.attendee_name,
        "status": booking.status,
        "payment_status": booking.payment_status,
        "student_timezone": booking.student_timezone,
        "instructor_timezone": booking.instructor_timezone,
        "series_id": str(booking.series_id) if booking.series_id else None,
    }
    if payment is not None:
        payload.update(
            payment_id=payment.id,
            amount=str(payment.amount),
            currency=payment.currency,
            provider=payment.provider,
            reference=payment.reference,
        )
    return payload


def _emit(event_name: str, booking: Booking, *, payment: Payment | None = None, **extra: Any) -> list[str]:
    """Store the Event and send its signal in the caller's transaction; return receivers' warnings."""
    payload = event_payload(booking, payment)
    if "previous_start_at" in extra:
        payload["previous_start_at"] = utc_iso(extra["previous_start_at"])
        payload["previous_end_at"] = utc_iso(extra["previous_end_at"])
    event = Event.objects.create(type=event_name, brand_id=booking.brand_id, booking=booking, payload=payload)
    kwargs: dict[str, Any] = {"booking": booking, "event": event, **extra}
    if payment is not None:
        kwargs["payment"] = payment
    warnings: list[str] = []
    for _receiver, response in signals.SIGNALS_BY_EVENT_NAME[event_name].send(sender=Booking, **kwargs):
        if response:
            warnings.extend(response)
    return warnings


# --- helpers ----------------------------------------------------------------------


def _lock_instructor(instructor_id: int) -> None:
    """Serialise calendar changes of one instructor across all brands."""
    Instructor.objects.select_for_update().filter(pk=instructor_id).values_list("pk", flat=True).first()


def _lock_booking(booking: Booking) -> Booking:
    """Re-read the booking under a row lock so concurrent transitions apply once."""
    return Booking.objects.select_for_update().select_related("event_type", "brand").get(pk=booking.pk)


def _require_aware(value: dt.datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError({name: "Give a time with an offset or Z, e.g. 2026-12-01T09:00:00Z."})


def _resolve_end(*, event_type: EventType, start_at: dt.datetime, end_at: dt.datetime | None) -> dt.datetime:
    """Session types are fixed-length: ``end_at`` may be omitted, or must equal start + duration."""
    _require_aware(start_at, "start_at")
    expected = start_at + dt.timedelta(minutes=event_type.duration_minutes)
    if end_at is None:
        return expected
    _require_aware(end_at, "end_at")
    if end_at <= start_at:
        raise ValidationError({"end_at": "end_at must be after start_at."})
    if end_at != expected:
        minutes = event_type.duration_minutes
        raise ValidationError(
            {"end_at": f"This session type lasts {minutes} minutes: end_at must equal start_at + that."}
        )
    return end_at


def _check_slot(
    *,
    assignment: InstructorBrand,
    event_type: EventType,
    start_at: dt.datetime,
    end_at: dt.datetime,
    exclude_booking_id: int | None = None,
    enforce_availability: bool = True,
) -> None:
    """Refuse a time that would not be offered as a slot, saying why (``SlotUnavailable.reason``).

    ``enforce_availability=False`` is the staff override: only an overlap with
    another active booking (no buffer) refuses, as ``taken``.
    """
    if enforce_availability:
        reason = instructor_slot_refusal(
            assignment=assignment,
            start=start_at,
            session_minutes=(end_at - start_at) // dt.timedelta(minutes=1),
            exclude_booking_id=exclude_booking_id,
            interval_minutes=event_type.slot_interval_minutes,
        )
        if reason is not None:
            raise SlotUnavailable(reason, assignment=assignment)
    elif busy_intervals(
        instructor_id=assignment.instructor_id, start=start_at, end=end_at, exclude_booking_id=exclude_booking_id
    ):
        raise SlotUnavailable(TAKEN, message="This time overlaps another booking of the instructor.")


def _check_cutoff(booking: Booking, actor: str, assignment: InstructorBrand | None = None) -> None:
    """Students cannot cancel or reschedule within the cutoff; staff and secret keys can."""
    if actor != STUDENT:
        return
    cutoff = student_change_deadline(booking=booking, assignment=assignment)
    if timezone.now() >= cutoff:
        hours = (booking.start_at - cutoff) // dt.timedelta(hours=1)
        raise CutoffPassed(
            f"Changes are possible until {hours} hours before the session; the cutoff passed at {utc_iso(cutoff)}."
        )


@contextmanager
def _calendar_write():
    """Map the database's last-line refusals of a calendar write to ``slot_unavailable``.

    The exclusion constraint (PostgreSQL) reports an overlap the lock did not
    prevent as an IntegrityError; a deadlock or serialisation failure between
    two writers means the other one won.
    """
    try:
        yield
    except IntegrityError as error:
        raise SlotUnavailable(TAKEN) from error
    except OperationalError as error:
        message = str(error).lower()
        if "deadlock" in message or "could not serialize" in message:
            raise SlotUnavailable(TAKEN) from error
        raise


def request_fingerprint(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _first_result(*, brand: Brand, idempotency_key: str | None, fingerprint: str) -> IdempotencyRecord | None:
    """The stored first result of this ``Idempotency-Key``, if any; the key with another body is refused.

    Called under the instructor lock, so a concurrent duplicate waits for the
    first request and then finds its result.
    """
    if not idempotency_key:
        return None
    # No joins: nearly every lookup finds nothing, and a replay reads its booking when it needs it.
    record = IdempotencyRecord.objects.filter(brand=brand, key=idempotency_key).first()
    if record is not None and record.fingerprint != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request.")
    return record


# --- create -----------------------------------------------------------------------


def _bookable_assignment(
    *, brand: Brand, instructor: Instructor, event_type: EventType, assignment: InstructorBrand | None = None
) -> InstructorBrand:
    """The instructor's assignment to ``brand``, if ``event_type`` can be booked with them there.

    ``assignment`` is that assignment when the caller holds it already (read
    in this request); it is then not read again.
    """
    if event_type.brand_id != brand.id:
        raise ValidationError({"event_type_id": "Unknown session type."})
    if not event_type.is_active:
        raise ValidationError({"event_type_id": "This session type is not bookable."})
    if assignment is None or assignment.instructor_id != instructor.id or assignment.brand_id != brand.id:
        assignment = InstructorBrand.objects.filter(instructor=instructor, brand=brand).first()
    if assignment is None:
        raise ValidationError({"instructor_id": "Unknown instructor."})
    return assignment


def _new_booking(
    *,
    brand: Brand,
    instructor: Instructor,
    assignment: InstructorBrand,
    event_type: EventType,
    start_at: dt.datetime,
    end_at: dt.datetime,
    attendee_name: str,
    attendee_email: str,
    attendee_phone: str,
    student_timezone: str,
    notes: str,
) -> Booking:
    """An unsaved, validated booking (the attendee's fields are checked before anything is locked)."""
    # A priced type is confirmed by its payment, so it starts pending even without a confirmation step.
    needs_confirm = event_type.requires_confirmation or event_type.is_paid
    booking = Booking(
        brand=brand,
        instructor=instructor,
        event_type=event_type,
        start_at=start_at.astimezone(dt.UTC),
        end_at=end_at.astimezone(dt.UTC),
        status=BookingStatus.PENDING if needs_confirm else BookingStatus.CONFIRMED,
        attendee_name=attendee_name,
        attendee_email=attendee_email,
        attendee_phone=attendee_phone,
        student_timezone=student_timezone,
        instructor_timezone=assignment.timezone,
        notes=notes,
    )
    # Fields only: the uid is a new uuid4, end > start was checked by _resolve_end and overlaps are the lock's and
    # the slot check's business (the database enforces all three again), so none of them needs a query here.
    booking.full_clean(
        exclude=["brand", "instructor", "event_type", "series"], validate_unique=False, validate_constraints=False
    )
    return booking


def booking_create(
    *,
    brand: Brand,
    instructor: Instructor,
    event_type: EventType,
    start_at: dt.datetime,
    end_at: dt.datetime | None = None,
    attendee_name: str,
    attendee_email: str,
    attendee_phone: str = "",
    student_timezone: str = "UTC",
    notes: str = "",
    enforce_availability: bool = True,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    assignment: InstructorBrand | None = None,
) -> BookingResult:
    """Book a session if, and only if, it would have been offered as a slot.

    Status is ``pending``, or ``confirmed`` when the event type needs no
    confirmation. ``enforce_availability=False`` is the staff override (the
    admin): availability, notice and window are not checked, overlap still is.
    With an ``idempotency_key`` the first result for (brand, key) is returned
    again instead of booking twice; the lookup happens under the instructor
    lock, so even concurrent duplicates see it. A caller that has just read
    the instructor's ``assignment`` to the brand passes it, so it is not read
    twice.
    """
    assignment = _bookable_assignment(brand=brand, instructor=instructor, event_type=event_type, assignment=assignment)
    end_at = _resolve_end(event_type=event_type, start_at=start_at, end_at=end_at)
    booking = _new_booking(
        brand=brand,
        instructor=instructor,
        assignment=assignment,
        event_type=event_type,
        start_at=start_at,
        end_at=end_at,
        attendee_name=attendee_name,
        attendee_email=attendee_email,
        attendee_phone=attendee_phone,
        student_timezone=student_timezone,
        notes=notes,
    )
    with _calendar_write(), transaction.atomic():
        _lock_instructor(instructor.id)
        record = _first_result(brand=brand, idempotency_key=idempotency_key, fingerprint=fingerprint)
        if record is not None:
            return BookingResult(booking=record.booking, warnings=record.warnings, replayed=True)
        _check_slot(
            assignment=assignment,
            event_type=event_type,
            start_at=booking.start_at,
            end_at=booking.end_at,
            enforce_availability=enforce_availability,
        )
        booking.save()
        warnings = _emit("booking.created", booking)
        if idempotency_key:
            IdempotencyRecord.objects.create(
                brand=brand, key=idempotency_key, fingerprint=fingerprint, booking=booking, warnings=warnings
            )
        return BookingResult(booking=booking, warnings=warnings)


# --- transitions ------------------------------------------------------------------


def _transition(booking: Booking, to_status: str) -> None:
    if not booking.can_transition_to(to_status):
        raise InvalidTransition(f"A {booking.status} booking cannot become {to_status}.")
    if to_status in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW) and not booking.has_started:
        raise InvalidTransition(f"A booking can be marked {to_status} only once the session has started.")


@transaction.atomic
def payment_record(
    *,
    booking: Booking,
    amount: Decimal,
    currency: str,
    status: str,
    provider: str = "",
    reference: str = "",
    raw_payload: dict | None = None,
) -> tuple[Payment, list[str]]:
    """Record a payment and emit ``payment.succeeded`` or ``payment.failed``.

    A success marks the booking ``paid``; a failure leaves it as it was.
    """
    if status not in Payment.Status.values:
        raise ValidationError({"payment.status": f"Unknown payment status '{status}'."})
    payment = Payment(
        booking=booking,
        amount=amount,
        currency=currency,
        status=status,
        provider=provider,
        reference=reference,
        raw_payload=raw_payload or {},
    )
    payment.full_clean(exclude=["booking"])
    payment.save()
    if status == Payment.Status.SUCCEEDED:
        booking.payment_status = PaymentStatus.PAID
        booking.save(update_fields=["payment_status", "updated_at"])
        return payment, _emit("payment.succeeded", booking, payment=payment)
    if status == Payment.Status.FAILED:
        return payment, _emit("payment.failed", booking, payment=payment)
    return payment, []


def payment_refundable_amount(booking: Booking) -> Decimal:
    """What was paid for ``booking`` and not refunded yet (successful payments minus refunds)."""
    total = Decimal("0")
    for status, amount in booking.payments.values_list("status", "amount"):
        if status == Payment.Status.SUCCEEDED:
            total += amount
        elif status == Payment.Status.REFUNDED:
            total -= amount
    return max(total, Decimal("0"))


@transaction.atomic
def payment_refund(
    *,
    booking: Booking,
    amount: Decimal | None = None,
    provider: str = "",
    reference: str = "",
    note: str = "",
) -> Payment:
    """Record that the payment of a cancelled, paid booking was refunded.

    Staff refund at the payment provider (nothing here talks to one) and
    record it here: a ``Payment`` row with status ``refunded`` for ``amount``
    (default: everything paid and not refunded yet, in the currency of the
    last successful payment) and the booking's ``payment_status`` becomes
    ``refunded``. Only a cancelled booking can be refunded (a session still to
    be given is cancelled first, which tells the student), and only once.

    No event is emitted: the event bus carries the events the product
    defines, and a refund is not one of them (no message or webhook follows
    it). The row and the booking's ``payment_status`` are the record.
    """
    booking = _lock_booking(booking)
    if booking.status != BookingStatus.CANCELLED:
        raise InvalidTransition(f"A {booking.status} booking cannot be refunded: cancel it first.")
    if booking.payment_status != PaymentStatus.PAID:
        raise InvalidTransition(f"Only a paid booking can be refunded; this one is {booking.payment_status}.")
    refundable = payment_refundable_amount(booking)
    paid = booking.payments.filter(status=Payment.Status.SUCCEEDED).order_by("-created_at", "-id").first()
    if paid is None or refundable <= 0:
        raise InvalidTransition("No successful payment of this booking is left to refund.")
    amount = refundable if amount is None else amount
    if amount <= 0 or amount > refundable:
        raise ValidationError({"amount": f"The refund must be more than 0 and at most {refundable} {paid.currency}."})
    payment = Payment(
        booking=booking,
        amount=amount,
        currency=paid.currency,
        status=Payment.Status.REFUNDED,
        provider=provider or paid.provider,
        reference=reference,
        raw_payload={"note": note} if note else {},
    )
    payment.full_clean(exclude=["booking"])
    payment.save()
    booking.payment_status = PaymentStatus.REFUNDED
    booking.save(update_fields=["payment_status", "updated_at"])
    return payment


def _check_payment_covers_price(event_type: EventType, payment: dict[str, Any]) -> None:
    """A successful payment confirms a priced session only if it pays its price, in its currency."""
    if not event_type.is_paid or payment.get("status") != Payment.Status.SUCCEEDED:
        return
    if payment.get("currency") != event_type.currency:
        raise ValidationError({"payment": f"This session is priced in {event_type.currency}."})
    if Decimal(payment.get("amount", 0)) < event_type.price_amount:
        raise ValidationError(
            {"payment": f"The amount must be at least the price, {event_type.price_amount} {event_type.currency}."}
        )


@transaction.atomic
def booking_confirm(
    *, booking: Booking, payment: dict[str, Any] | None = None, waive_payment: bool = False, actor: str = API
) -> BookingResult:
    """Confirm a pending booking, optionally paying for it first.

    A failed payment is recorded (``payment.failed``) and the booking stays
    pending: that is a result, not an error. A priced session type needs a
    successful payment, unless staff or a secret key waive it.
    """
    booking = _lock_booking(booking)
    _transition(booking, BookingStatus.CONFIRMED)
    warnings: list[str] = []
    if payment is not None:
        _check_payment_covers_price(booking.event_type, payment)
        _, payment_warnings = payment_record(booking=booking, **payment)
        warnings += payment_warnings
        if payment.get("status") != Payment.Status.SUCCEEDED:
            return BookingResult(booking=booking, warnings=warnings)
    if booking.event_type.is_paid and booking.payment_status not in (PaymentStatus.PAID, PaymentStatus.WAIVED):
        if waive_payment and actor in (STAFF, API):
            booking.payment_status = PaymentStatus.WAIVED
        else:
            raise PaymentRequired("This session type has a price: confirm with a successful payment.")
    booking.status = BookingStatus.CONFIRMED
    booking.save(update_fields=["status", "payment_status", "updated_at"])
    warnings += _emit("booking.confirmed", booking)
    return BookingResult(booking=booking, warnings=warnings)


@transaction.atomic
def booking_cancel(*, booking: Booking, actor: str, reason: str = "") -> BookingResult:
    """Cancel an active booking; students only before the cutoff. Frees the slot at once."""
    booking = _lock_booking(booking)
    _transition(booking, BookingStatus.CANCELLED)
    _check_cutoff(booking, actor)
    booking.status = BookingStatus.CANCELLED
    booking.cancellation_reason = reason
    booking.cancelled_by = actor
    booking.cancelled_at = timezone.now()
    booking.save(update_fields=["status", "cancellation_reason", "cancelled_by", "cancelled_at", "updated_at"])
    return BookingResult(booking=booking, warnings=_emit("booking.cancelled", booking, actor=actor))


@transaction.atomic
def booking_complete(*, booking: Booking) -> BookingResult:
    booking = _lock_booking(booking)
    _transition(booking, BookingStatus.COMPLETED)
    booking.status = BookingStatus.COMPLETED
    booking.save(update_fields=["status", "updated_at"])
    return BookingResult(booking=booking, warnings=_emit("booking.completed", booking))


@transaction.atomic
def booking_mark_no_show(*, booking: Booking) -> BookingResult:
    booking = _lock_booking(booking)
    _transition(booking, BookingStatus.NO_SHOW)
    booking.status = BookingStatus.NO_SHOW
    booking.save(update_fields=["status", "updated_at"])
    return BookingResult(booking=booking, warnings=_emit("booking.no_show", booking))


def booking_reschedule(
    *,
    booking: Booking,
    start_at: dt.datetime,
    end_at: dt.datetime | None = None,
    actor: str,
    enforce_availability: bool = True,
) -> BookingResult:
    """Move an active booking to a time that would be offered now (its own time does not block it).

    Students are bound by the cutoff of the current start. Bumps the iCalendar
    SEQUENCE and emits ``booking.rescheduled``; receivers recompute reminders.
    """
    with _calendar_write(), transaction.atomic():
        _lock_instructor(booking.instructor_id)
        booking = _lock_booking(booking)
        if not booking.is_active:
            raise InvalidTransition(f"A {booking.status} booking cannot be rescheduled.")
        assignment = InstructorBrand.objects.filter(
            instructor_id=booking.instructor_id, brand_id=booking.brand_id
        ).first()
        if assignment is None:
            raise SlotUnavailable("The instructor no longer teaches for this brand; the booking cannot move.")
        _check_cutoff(booking, actor, assignment)
        end_at = _resolve_end(event_type=booking.event_type, start_at=start_at, end_at=end_at)
        previous_start_at, previous_end_at = booking.start_at, booking.end_at
        new_start, new_end = start_at.astimezone(dt.UTC), end_at.astimezone(dt.UTC)
        if (new_start, new_end) == (previous_start_at, previous_end_at):
            return BookingResult(booking=booking)
        _check_slot(
            assignment=assignment,
            event_type=booking.event_type,
            start_at=new_start,
            end_at=new_end,
            exclude_booking_id=booking.id,
            enforce_availability=enforce_availability,
        )
        booking.start_at, booking.end_at = new_start, new_end
        booking.sequence += 1
        booking.save(update_fields=["start_at", "end_at", "sequence", "updated_at"])
        warnings = _emit(
            "booking.rescheduled",
            booking,
            previous_start_at=previous_start_at,
            previous_end_at=previous_end_at,
        )
        return BookingResult(booking=booking, warnings=warnings)


@transaction.atomic
def booking_update_notes(*, booking: Booking, instructor_notes: str | None = None, notes: str | None = None) -> Booking:
    """Notes change no state and emit no event."""
    fields = []
    if instructor_notes is not None:
        booking.instructor_notes = instructor_notes
        fields.append("instructor_notes")
    if notes is not None:
        booking.notes = notes
        fields.append("notes")
    if fields:
        booking.save(update_fields=[*fields, "updated_at"])
    return booking


def booking_update(*, booking: Booking, changes: dict[str, Any], actor: str) -> BookingResult:
    """Apply one ``PATCH`` as a single atomic change (a refused request changes nothing).

    ``changes`` holds any of ``status`` (with ``payment``/``payment_status``
    for a confirm, ``cancellation_reason`` for a cancel), ``start_at``/``end_at``
    (a reschedule) and ``instructor_notes``.
    """
    with transaction.atomic():
        result = BookingResult(booking=booking)
        if "start_at" in changes:
            # Locks in the order every reschedule takes them: instructor, then booking.
            _lock_instructor(booking.instructor_id)
        if "instructor_notes" in changes:
            booking_update_notes(booking=booking, instructor_notes=changes["instructor_notes"])
        if "start_at" in changes:
            result = booking_reschedule(
                booking=booking, start_at=changes["start_at"], end_at=changes.get("end_at"), actor=actor
            )
        status = changes.get("status")
        if status == BookingStatus.CONFIRMED:
            result = booking_confirm(
                booking=booking,
                payment=changes.get("payment"),
                waive_payment=changes.get("payment_status") == PaymentStatus.WAIVED,
                actor=actor,
            )
        elif status == BookingStatus.CANCELLED:
            result = booking_cancel(booking=booking, actor=actor, reason=changes.get("cancellation_reason", ""))
        elif status == BookingStatus.COMPLETED:
            result = booking_complete(booking=booking)
        elif status == BookingStatus.NO_SHOW:
            result = booking_mark_no_show(booking=booking)
        return result


# --- weekly series ------------------------------------------------------------------


def _check_recurrence(*, event_type: EventType, frequency: str, count: int, interval_weeks: int) -> None:
    """Refuse a recurrence the session type does not allow (400 on ``recurrence``)."""
    if frequency != BookingSeries.Frequency.WEEKLY:
        raise ValidationError({"recurrence": f"Unknown frequency '{frequency}': the only one is 'weekly'."})
    if not MIN_SERIES_OCCURRENCES <= count <= MAX_SERIES_OCCURRENCES:
        raise ValidationError(
            {"recurrence": f"count must be {MIN_SERIES_OCCURRENCES} to {MAX_SERIES_OCCURRENCES} sessions."}
        )
    if not 1 <= interval_weeks <= MAX_SERIES_INTERVAL_WEEKS:
        raise ValidationError({"recurrence": f"interval must be 1 to {MAX_SERIES_INTERVAL_WEEKS} weeks."})
    if not event_type.allow_recurring:
        raise ValidationError({"recurrence": "This session type cannot be booked as a weekly series."})
    if count > event_type.max_occurrences:
        raise ValidationError(
            {"recurrence": f"This session type allows at most {event_type.max_occurrences} sessions in a series."}
        )


def _unique(messages: list[str]) -> list[str]:
    """The warnings of a series once each: every occurrence says the same ("no phone number")."""
    return list(dict.fromkeys(messages))


def _series_replay(record: IdempotencyRecord) -> SeriesResult:
    series = record.booking.series
    if series is None:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request.")
    return SeriesResult(
        series=series,
        bookings=list(series.bookings.order_by("start_at", "id")),
        skipped=series.skipped,
        warnings=record.warnings,
        replayed=True,
    )


def booking_series_create(
    *,
    brand: Brand,
    instructor: Instructor,
    event_type: EventType,
    start_at: dt.datetime,
    end_at: dt.datetime | None = None,
    count: int,
    interval_weeks: int = 1,
    frequency: str = BookingSeries.Frequency.WEEKLY,
    skip_conflicts: bool = False,
    attendee_name: str,
    attendee_email: str,
    attendee_phone: str = "",
    student_timezone: str = "UTC",
    notes: str = "",
    idempotency_key: str | None = None,
    fingerprint: str = "",
    assignment: InstructorBrand | None = None,
) -> SeriesResult:
    """Book a weekly series: ``count`` sessions, every ``interval_weeks`` weeks, at ``start_at``'s local time.

    The local time is the instructor's (the assignment's timezone), so a
    series at 18:00 stays at 18:00 across DST changes
    (``scheduling.slots.weekly_occurrences``). Every occurrence is checked with
    the rules of a single booking, as if booked one after the other
    (``bookings.availability.instructor_series_refusals``), under one lock of
    the instructor and in one transaction:

    * by default all or nothing: any refused occurrence raises
      :class:`~bookings.errors.SeriesUnavailable` listing every refused one,
      and nothing is written;
    * with ``skip_conflicts`` the free occurrences are booked and the refused
      ones are returned (and kept on the series) as ``skipped``; if none is
      free, it is refused all the same.

    Each occurrence is an ordinary booking with ``series`` set, emitting its
    own ``booking.created`` (whose payload carries ``series_id``), with its
    own reminders. An ``idempotency_key`` replays the first result, and the
    caller's ``assignment`` is used, as for a single booking.
    """
    assignment = _bookable_assignment(brand=brand, instructor=instructor, event_type=event_type, assignment=assignment)
    _check_recurrence(event_type=event_type, frequency=frequency, count=count, interval_weeks=interval_weeks)
    end_at = _resolve_end(event_type=event_type, start_at=start_at, end_at=end_at)
    template = _new_booking(
        brand=brand,
        instructor=instructor,
        assignment=assignment,
        event_type=event_type,
        start_at=start_at,
        end_at=end_at,
        attendee_name=attendee_name,
        attendee_email=attendee_email,
        attendee_phone=attendee_phone,
        student_timezone=student_timezone,
        notes=notes,
    )
    duration = template.end_at - template.start_at
    starts = weekly_occurrences(
        start=template.start_at, timezone=assignment.timezone, count=count, interval_weeks=interval_weeks
    )
    with _calendar_write(), transaction.atomic():
        _lock_instructor(instructor.id)
        record = _first_result(brand=brand, idempotency_key=idempotency_key, fingerprint=fingerprint)
        if record is not None:
            return _series_replay(record)
        reasons = instructor_series_refusals(
            assignment=assignment,
            starts=starts,
            session_minutes=duration // dt.timedelta(minutes=1),
            interval_minutes=event_type.slot_interval_minutes,
        )
        conflicts = [
            {"start_at": utc_iso(start), "reason": reason}
            for start, reason in zip(starts, reasons, strict=True)
            if reason is not None
        ]
        if conflicts and (not skip_conflicts or len(conflicts) == count):
            raise SeriesUnavailable(conflicts, count=count, assignment=assignment, student_timezone=student_timezone)
        series = BookingSeries.objects.create(
            brand=brand,
            instructor=instructor,
            event_type=event_type,
            frequency=frequency,
            interval_weeks=interval_weeks,
            count=count,
            skipped=conflicts,
        )
        bookings: list[Booking] = []
        warnings: list[str] = []
        for start, reason in zip(starts, reasons, strict=True):
            if reason is not None:
                continue
            booking = copy.copy(template)  # the validated attendee fields; each occurrence is its own booking
            booking.uid = uuid.uuid4()
            booking.series, booking.start_at, booking.end_at = series, start, start + duration
            booking.save()
            bookings.append(booking)
            warnings += _emit("booking.created", booking)
        warnings = _unique(warnings)
        if idempotency_key:
            IdempotencyRecord.objects.create(
                brand=brand, key=idempotency_key, fingerprint=fingerprint, booking=bookings[0], warnings=warnings
            )
        return SeriesResult(series=series, bookings=bookings, skipped=conflicts, warnings=warnings)


def booking_series_cancel(
    *, series: BookingSeries, from_booking: Booking, actor: str, reason: str = ""
) -> list[BookingResult]:
    """Cancel ``from_booking`` and every later active occurrence of its series, in one transaction.

    Earlier occurrences, and later ones already cancelled, completed or marked
    no-show, stay as they are. Each cancellation is an ordinary
    :func:`booking_cancel` (its event, its emails, its reminders stopped), so a
    student is bound by the cutoff of every occurrence cancelled: one inside
    its cutoff refuses the whole request and nothing changes. The rows are
    locked in time order, so two such requests on one series never deadlock.
    """
    if from_booking.series_id != series.id:
        raise ValidationError({"from": "This booking is not an occurrence of the series."})
    with transaction.atomic():
        occurrences = list(
            Booking.objects.select_for_update()
            .filter(series=series, start_at__gte=from_booking.start_at, status__in=ACTIVE_STATUSES)
            .order_by("start_at", "id")
        )
        return [booking_cancel(booking=booking, actor=actor, reason=reason) for booking in occurrences]


# --- the instructor's calendar feed ------------------------------------------------


def calendar_feed_rotate(*, instructor: Instructor) -> CalendarFeed:
    """Issue a new secret token for the instructor's calendar feed; every earlier URL stops working.

    The first call creates the feed. 256 random bits, so the URL cannot be
    guessed; the feed compares it in constant time.
    """
    feed, _ = CalendarFeed.objects.update_or_create(
        instructor=instructor, defaults={"token": secrets.token_urlsafe(32), "created_at": timezone.now()}
    )
    return feed
