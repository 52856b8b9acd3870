"""The notifications app's subscribers to the booking signals: messages and reminders.

Who gets what when a booking changes:

| event               | attendee                                                   | host/team                  |
|---------------------|------------------------------------------------------------|----------------------------|
| booking.created     | confirmation email (``send_email_confirmation``),          | new-booking email          |
|                     | SMS confirmation (``send_sms_confirmation`` + a phone)      |                            |
| booking.confirmed   | confirmation email (+ SMS, same conditions)                 | -                          |
| booking.cancelled   | cancellation email                                         | cancellation email         |
| booking.rescheduled | reschedule email                                           | reschedule email           |

Host/team = the event type's ``booking_notification_emails`` plus the
instructor's email, once each (case-insensitive).

A weekly series is booked in one request, so it is announced once: the
``booking.created`` of its first occurrence writes the attendee's and the
host's messages, which list every occurrence (``notifications.messages``);
the other occurrences' ``booking.created`` write none. Everything after that
(confirmations, reschedules, cancellations, reminders) is per occurrence.

Each booking's reminder rows follow its lifecycle: scheduled on create
(a snapshot of the event type's offsets and channels), recomputed on
reschedule, cancelled when the booking ends any other way.

The receivers run inside the booking transaction (``bookings.signals``): they
only write rows, all of an event's messages in one statement
(``notifications_queue`` enqueues one task for them after commit), so the
rows commit or roll back with the change, and return warnings for what
cannot be attempted. Those messages are still logged, as ``skipped`` rows with the
reason, so staff see them in the admin and can resend once the phone number
or the Twilio settings are there.

:func:`connect` subscribes them; ``NotificationsConfig.ready()`` calls it, and
importing this module connects nothing.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from bookings import signals
from bookings.models import Booking, Event

from .backends import channel_unavailable_reason
from .models import Channel, Notification
from .reminders import reminder_schedule_warnings, reminders_cancel, reminders_recompute, reminders_schedule
from .services import new_notification, notification_record_skipped, notifications_queue

logger = logging.getLogger(__name__)

Kind = Notification.Kind
ATTENDEE = Notification.Audience.ATTENDEE
HOST = Notification.Audience.HOST

NO_PHONE_WARNING = "SMS confirmation not sent: the booking has no phone number"


def host_recipients(booking: Booking) -> list[str]:
    """``booking_notification_emails`` then the instructor's email, without repeats.

    The addresses are validated when the event type is saved; one that slipped
    past (a raw ``UPDATE``) is logged and left out rather than failing the booking.
    """
    addresses = [*(booking.event_type.booking_notification_emails or []), booking.instructor.email]
    recipients: list[str] = []
    seen: set[str] = set()
    for address in addresses:
        address = str(address).strip()
        if not address or address.lower() in seen:
            continue
        try:
            validate_email(address)
        except ValidationError:
            logger.error("Event type %s: skipping invalid host address %r", booking.event_type_id, address)
            continue
        seen.add(address.lower())
        recipients.append(address)
    return recipients


def _attendee_email(booking: Booking, event: Event, kind: str) -> Notification:
    return new_notification(
        booking=booking,
        kind=kind,
        channel=Channel.EMAIL,
        recipient=booking.attendee_email,
        audience=ATTENDEE,
        event=event,
    )


def _host_emails(booking: Booking, event: Event, kind: str) -> list[Notification]:
    return [
        new_notification(
            booking=booking, kind=kind, channel=Channel.EMAIL, recipient=address, audience=HOST, event=event
        )
        for address in host_recipients(booking)
    ]


def _confirmation(booking: Booking, event: Event) -> tuple[list[Notification], list[str]]:
    """The attendee's confirmation email and SMS, as the event type asks; warnings for the SMS."""
    event_type = booking.event_type
    rows = [_attendee_email(booking, event, Kind.CONFIRMATION)] if event_type.send_email_confirmation else []
    if not event_type.send_sms_confirmation:
        return rows, []
    phone = booking.attendee_phone.strip()
    unavailable = channel_unavailable_reason(Channel.SMS, booking.brand)
    if phone and not unavailable:
        rows.append(
            new_notification(
                booking=booking,
                kind=Kind.CONFIRMATION,
                channel=Channel.SMS,
                recipient=phone,
                audience=ATTENDEE,
                event=event,
            )
        )
        return rows, []
    warning = NO_PHONE_WARNING if not phone else f"SMS confirmation not sent: {unavailable}"
    notification_record_skipped(
        booking=booking,
        kind=Kind.CONFIRMATION,
        channel=Channel.SMS,
        recipient=phone,
        reason=warning,
        audience=ATTENDEE,
        event=event,
    )
    return rows, [warning]


def _queue(rows: list[Notification]) -> None:
    """One write and one task for all of an event's messages (sent after the booking commits)."""
    if rows:
        notifications_queue(rows)


def first_of_its_series(booking: Booking) -> bool:
    """True for a single booking, and for the first occurrence the series service created."""
    if booking.series_id is None:
        return True
    return not Booking.objects.filter(series_id=booking.series_id, pk__lt=booking.pk).exists()


def on_booking_created(sender, *, booking: Booking, event: Event, **kwargs) -> list[str]:
    if not first_of_its_series(booking):
        return []  # the series' first occurrence announces them all
    rows, warnings = _confirmation(booking, event)
    _queue([*rows, *_host_emails(booking, event, Kind.HOST_NEW_BOOKING)])
    return warnings


def on_booking_confirmed(sender, *, booking: Booking, event: Event, **kwargs) -> list[str]:
    rows, warnings = _confirmation(booking, event)
    _queue(rows)
    return warnings


def on_booking_cancelled(sender, *, booking: Booking, event: Event, **kwargs) -> list[str]:
    _queue([_attendee_email(booking, event, Kind.CANCELLATION), *_host_emails(booking, event, Kind.CANCELLATION)])
    return []


def on_booking_rescheduled(sender, *, booking: Booking, event: Event, **kwargs) -> list[str]:
    _queue([_attendee_email(booking, event, Kind.RESCHEDULE), *_host_emails(booking, event, Kind.RESCHEDULE)])
    return []


# --- reminders -------------------------------------------------------------------------


def schedule_reminders(sender, *, booking: Booking, **kwargs) -> list[str]:
    """Snapshot the event type's reminders; warn about those that cannot be sent (no phone, no provider)."""
    return reminder_schedule_warnings(booking, reminders_schedule(booking=booking, just_created=True))


def recompute_reminders(sender, *, booking: Booking, **kwargs) -> None:
    reminders_recompute(booking=booking)


def cancel_reminders(sender, *, booking: Booking, **kwargs) -> None:
    reminders_cancel(booking=booking)


# Connected in this order, so a booking response lists the reminder warnings before the message ones.
RECEIVERS = (
    (signals.booking_created, schedule_reminders),
    (signals.booking_rescheduled, recompute_reminders),
    (signals.booking_cancelled, cancel_reminders),
    (signals.booking_completed, cancel_reminders),
    (signals.booking_no_show, cancel_reminders),
    (signals.booking_created, on_booking_created),
    (signals.booking_confirmed, on_booking_confirmed),
    (signals.booking_cancelled, on_booking_cancelled),
    (signals.booking_rescheduled, on_booking_rescheduled),
)


def dispatch_uid(receiver) -> str:
    return f"{__name__}.{receiver.__name__}"


def connect() -> None:
    """Subscribe to the booking signals (called from ``NotificationsConfig.ready``; safe to call again)."""
    for signal, receiver in RECEIVERS:
        signal.connect(receiver, sender=Booking, dispatch_uid=dispatch_uid(receiver))
