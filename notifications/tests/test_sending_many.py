"""One send task, many notifications: claims, Resend batches, concurrent requests, the deadline.

Reminders come due in thousands, so a send task takes a list of ids: one
claim, one read, one write of the outcomes, emails without attachments 100 to
a Resend batch request, and the other provider requests made at once. The
guarantees of one notification at a time still hold: each message is sent
once, a retry re-sends the very same request under the same key, and an
outcome is recorded only while the claim is still the sender's.
Real SDKs against the stand-ins; the clock is frozen (time_machine).
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from bookings import services as booking_services
from notifications import backends, services
from notifications.models import Notification, NotificationAttempt
from notifications.tasks import send_notifications
from notifications.tests.factories import (
    LATER_SLOT,
    PHONE,
    SLOT,
    NotificationFactory,
    book,
    bookable,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def booking(standins):
    instructor, event_type = bookable(requires_confirmation=False)
    return book(instructor, event_type).booking


def reminders(booking, count: int, *, channel: str = "email") -> list[Notification]:
    """``count`` due reminder notifications of ``booking``, to distinct recipients."""
    return [
        NotificationFactory(
            booking=booking,
            kind="reminder",
            channel=channel,
            minutes_before=60,
            recipient=f"student{n}@example.com" if channel == "email" else f"+1555000{n:04d}",
        )
        for n in range(count)
    ]


def ids(rows) -> list[int]:
    return [row.pk for row in rows]


def batch_requests(server) -> list[dict]:
    return [request for request in server.requests if request["path"] == "/emails/batch"]


# --- Resend batches ---------------------------------------------------------------------------


def test_reminder_emails_go_100_to_a_batch_request_each_recorded_with_its_own_id(standins, booking):
    rows = reminders(booking, 150)

    outcomes = services.notifications_send(notification_ids=ids(rows))

    assert {outcome.status for outcome in outcomes.values()} == {"sent"}
    sizes = sorted(len(request["json"]) for request in batch_requests(standins.resend))
    assert sizes == [50, 100] and len(standins.resend.requests) == 2
    emails = {email["to"][0]: email for email in standins.resend.emails}
    assert len(emails) == 150 and all(not email.get("attachments") for email in emails.values())
    keys = set()
    for row in Notification.objects.filter(pk__in=ids(rows)):
        email = emails[row.recipient]
        assert (row.status, row.attempts, row.provider_message_id) == ("sent", 1, email["id"])
        assert row.batch_key == email["idempotency_key"] and row.batch_key.startswith("notifications-batch-")
        assert row.booking_snapshot["start_at"] == "2026-12-02T10:00:00Z"  # stored before the request
        keys.add(row.batch_key)
    assert len(keys) == 2
    assert NotificationAttempt.objects.filter(notification__in=rows, succeeded=True).count() == 150


@pytest.mark.parametrize("count", [10, services.SEND_TASK_SIZE])
def test_a_send_takes_the_same_few_queries_for_10_or_a_full_task_of_notifications(
    standins, booking, count, django_assert_max_num_queries
):
    rows = reminders(booking, count)

    with django_assert_max_num_queries(13):
        services.notifications_send(notification_ids=ids(rows))

    assert Notification.objects.filter(pk__in=ids(rows), status="sent").count() == count


def test_one_email_is_sent_alone_under_its_own_key(standins, booking):
    (row,) = reminders(booking, 1)

    assert services.notification_send(notification_id=row.pk).status == "sent"

    (request,) = standins.resend.requests
    assert request["path"] == "/emails" and request["headers"]["Idempotency-Key"] == f"notification-{row.pk}"
    row.refresh_from_db()
    assert row.batch_key == ""


def test_emails_with_an_ics_are_not_batched(standins, booking):
    confirmations = [NotificationFactory(booking=booking, kind="confirmation", event=None) for _ in range(2)]
    services.notifications_send(notification_ids=ids(confirmations))

    assert [request["path"] for request in standins.resend.requests] == ["/emails", "/emails"]
    assert all(email["attachments"] for email in standins.resend.emails)


def test_a_batch_whose_answer_was_lost_is_sent_again_whole_under_its_key_and_delivered_once(
    standins, booking, settings, clock
):
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 0.5
    rows = reminders(booking, 3)
    standins.resend.set_delay(2.0, times=1)  # accepted and recorded, answered too late

    first = services.notifications_send(notification_ids=ids(rows))
    assert {outcome.status for outcome in first.values()} == {"pending"}
    key = Notification.objects.get(pk=rows[0].pk).batch_key
    assert set(Notification.objects.filter(pk__in=ids(rows)).values_list("batch_key", flat=True)) == {key}

    # Booking rescheduled meanwhile: the snapshot stored before the request keeps the body the same.
    booking_services.booking_reschedule(booking=booking, start_at=LATER_SLOT, actor="staff")
    clock.shift(dt.timedelta(seconds=10))
    # Only one id asked for (a sweep's task, say): the whole unfinished batch is claimed with it.
    second = services.notifications_send(notification_ids=[rows[1].pk])

    assert {outcome.status for outcome in second.values()} == {"sent"}
    assert set(Notification.objects.filter(pk__in=ids(rows)).values_list("status", flat=True)) == {"sent"}
    first_request, retry = batch_requests(standins.resend)
    assert first_request["headers"]["Idempotency-Key"] == retry["headers"]["Idempotency-Key"] == key
    assert retry.get("idempotent_replay") is True
    assert len(standins.resend.emails) == 3  # once each
    assert all("Wed 2 Dec 2026" in email["subject"] for email in standins.resend.emails)


def test_a_retried_batch_that_lost_a_member_is_recorded_sent_from_resends_409(standins, settings, clock):
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 0.5
    instructor, event_type = bookable(requires_confirmation=False)
    bookings = [book(instructor, event_type, start=SLOT + dt.timedelta(hours=n)).booking for n in range(3)]
    rows = [reminders(booking, 1)[0] for booking in bookings]
    standins.resend.set_delay(2.0, times=1)
    services.notifications_send(notification_ids=ids(rows))

    booking_services.booking_cancel(booking=bookings[2], actor="staff")  # its reminder is now skipped
    clock.shift(dt.timedelta(seconds=10))
    services.notifications_send(notification_ids=ids(rows))

    statuses = dict(Notification.objects.filter(pk__in=ids(rows)).values_list("pk", "status"))
    assert [statuses[pk] for pk in ids(rows)] == ["sent", "sent", "skipped"]
    assert [request["status"] for request in batch_requests(standins.resend)] == [200, 409]
    assert len(standins.resend.emails) == 3  # the first batch went out; nothing more
    attempt = NotificationAttempt.objects.get(notification=rows[0], number=2)
    assert attempt.succeeded and "invalid_idempotent_request" in attempt.note


def test_a_batch_refused_for_one_bad_address_is_sent_one_by_one_and_only_that_email_fails(standins, booking):
    rows = reminders(booking, 3)
    Notification.objects.filter(pk=rows[1].pk).update(recipient="student1.example.com")  # Resend refuses it

    outcomes = services.notifications_send(notification_ids=ids(rows))

    assert [outcomes[pk].status for pk in ids(rows)] == ["sent", "failed", "sent"]
    assert [request["path"] for request in standins.resend.requests] == ["/emails/batch", *["/emails"] * 3]
    keys = [request["headers"]["Idempotency-Key"] for request in standins.resend.requests[1:]]
    assert keys == [f"notification-{pk}" for pk in ids(rows)]  # each its own key: the batch's is dissolved
    assert set(Notification.objects.filter(pk__in=ids(rows)).values_list("batch_key", flat=True)) == {""}
    assert [email["to"] for email in standins.resend.emails] == [["student0@example.com"], ["student2@example.com"]]
    assert "Invalid `to` field" in Notification.objects.get(pk=rows[1].pk).last_error


def test_a_batch_failing_with_a_server_error_is_retried_whole_then_delivered_once(standins, booking, clock):
    rows = reminders(booking, 5)
    standins.resend.fail_next(2, status=500)

    for wait in (0, 10, 60):
        clock.shift(dt.timedelta(seconds=wait))
        services.notifications_send(notification_ids=ids(rows))

    assert set(Notification.objects.filter(pk__in=ids(rows)).values_list("status", "attempts")) == {("sent", 3)}
    assert [request["status"] for request in standins.resend.requests] == [500, 500, 200]
    assert len(standins.resend.emails) == 5


def test_part_of_an_unfinished_batch_held_elsewhere_keeps_the_whole_batch_out_of_a_claim(standins, booking):
    first, second = reminders(booking, 2)
    Notification.objects.filter(pk__in=[first.pk, second.pk]).update(batch_key="notifications-batch-x")
    Notification.objects.filter(pk=second.pk).update(status="sending")  # another worker has it

    assert services.notification_send(notification_id=first.pk).status == "not_claimed"
    assert standins.resend.requests == []


def test_a_batch_left_unfinished_when_resend_is_no_longer_configured_goes_out_one_by_one(standins, booking, settings):
    rows = reminders(booking, 2)
    Notification.objects.filter(pk__in=ids(rows)).update(batch_key="notifications-batch-x")
    settings.RESEND_API_KEY = ""  # email now goes to the local (in-memory) backend, which has no batches
    backends.outbox.clear()

    outcomes = services.notifications_send(notification_ids=ids(rows))

    assert {outcome.status for outcome in outcomes.values()} == {"sent"}
    assert sorted(message.to for message in backends.outbox) == sorted(row.recipient for row in rows)
    assert standins.resend.requests == []


# --- concurrent requests and the deadline --------------------------------------------------------


def test_the_provider_requests_of_one_task_are_in_flight_at_once(standins, booking, monkeypatch):
    rows = reminders(booking, 4, channel="sms")
    all_in_flight = threading.Barrier(4, timeout=10)  # broken (an error) unless four requests wait together
    send = backends.TwilioSmsBackend.send

    def send_when_all_are_in_flight(self, message):
        all_in_flight.wait()
        return send(self, message)

    monkeypatch.setattr(backends.TwilioSmsBackend, "send", send_when_all_are_in_flight)

    outcomes = services.notifications_send(notification_ids=ids(rows))

    assert {outcome.status for outcome in outcomes.values()} == {"sent"}
    assert sorted(message["to"] for message in standins.twilio.messages) == sorted(row.recipient for row in rows)


def test_no_request_starts_that_could_outlast_the_claim_and_the_rest_go_back_unattempted(
    standins, booking, settings, monkeypatch
):
    # A request may start while (elapsed + timeout) stays under the lease less the 3 s kept for recording:
    # here within the first second. The first request takes 1.5 s, so the other two do not start.
    settings.NOTIFICATIONS_LEASE_SECONDS = 7
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 3
    settings.NOTIFICATIONS_SEND_CONCURRENCY = 1
    rows = reminders(booking, 3, channel="sms")
    standins.twilio.set_delay(1.5)

    outcomes = services.notifications_send(notification_ids=ids(rows))

    assert [outcomes[pk].status for pk in ids(rows)] == ["sent", "pending", "pending"]
    assert [outcomes[pk].retry_in for pk in ids(rows)[1:]] == [dt.timedelta(0)] * 2
    assert list(
        Notification.objects.filter(pk__in=ids(rows)).order_by("pk").values_list("attempts", "lease_expires_at")
    ) == [
        (1, None),
        (0, None),
        (0, None),
    ]
    assert NotificationAttempt.objects.count() == 1 and len(standins.twilio.requests) == 1

    # The task hands what was not started straight back to the queue.
    enqueued = []
    monkeypatch.setattr("notifications.tasks.notifications_enqueue", lambda ids, **kw: enqueued.append((ids, kw)))
    standins.twilio.set_delay(0)
    send_notifications.run(ids(rows[1:]))
    assert enqueued == []  # both sent this time, nothing left over
    assert len(standins.twilio.messages) == 3


def test_the_task_enqueues_short_retries_with_their_countdown_and_leaves_long_ones_to_the_sweep(
    standins, booking, monkeypatch, clock
):
    rows = reminders(booking, 2)
    standins.resend.fail_next(1, status=500)
    enqueued = []
    monkeypatch.setattr("notifications.tasks.notifications_enqueue", lambda ids, **kw: enqueued.append((ids, kw)))

    send_notifications.run(ids(rows))
    assert enqueued == [(ids(rows), {"countdown": 10.0})]

    Notification.objects.filter(pk__in=ids(rows)).update(attempts=2)  # the next wait is 5 minutes
    clock.shift(dt.timedelta(seconds=10))
    standins.resend.fail_next(1, status=500)
    send_notifications.run(ids(rows))
    assert len(enqueued) == 1


# --- the claim is the fencing token -----------------------------------------------------------------


def test_an_outcome_arriving_after_the_claim_lapsed_is_not_recorded(standins, booking, clock, monkeypatch):
    (row,) = reminders(booking, 1)
    send = backends.ResendEmailBackend.send

    def send_while_the_worker_is_presumed_dead(self, message):
        email_id = send(self, message)
        clock.shift(services.lease_duration())  # the answer comes back after the lease...
        with monkeypatch.context() as patch:  # ...and the sweep has taken the row back meanwhile
            patch.setattr(services, "notifications_enqueue", lambda ids, **kwargs: 0)
            assert services.notifications_sweep()["lost"] == 1
        return email_id

    monkeypatch.setattr(backends.ResendEmailBackend, "send", send_while_the_worker_is_presumed_dead)
    assert services.notification_send(notification_id=row.pk).status == "lease_lapsed"

    row.refresh_from_db()
    assert (row.status, row.attempts, row.provider_message_id) == ("pending", 1, "")
    assert [attempt.error.startswith("Lost:") for attempt in row.attempt_log.all()] == [True]
    monkeypatch.setattr(backends.ResendEmailBackend, "send", send)
    assert services.notification_send(notification_id=row.pk).status == "sent"
    assert len(standins.resend.emails) == 1  # the retry was answered from the key
    row.refresh_from_db()
    assert (row.attempts, row.provider_message_id) == (2, standins.resend.emails[0]["id"])


def test_a_task_knows_its_time_limit_is_the_lease(settings):
    from notifications.tasks import send_notification

    assert send_notifications.time_limit == send_notification.time_limit == settings.NOTIFICATIONS_LEASE_SECONDS


def test_sms_rows_of_one_task_are_one_request_each(standins, booking):
    rows = reminders(booking, 3, channel="sms")

    services.notifications_send(notification_ids=ids(rows))

    assert len(standins.twilio.messages) == 3
    assert {message["to"] for message in standins.twilio.messages} == {row.recipient for row in rows}
    assert PHONE not in {message["to"] for message in standins.twilio.messages}


def test_a_lease_too_short_for_a_lookup_and_a_send_is_a_system_check_error(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 10
    settings.NOTIFICATIONS_LEASE_SECONDS = 23
    with pytest.raises(SystemCheckError, match="notifications.E001"):
        call_command("check")
    settings.NOTIFICATIONS_LEASE_SECONDS = 30
    call_command("check")
