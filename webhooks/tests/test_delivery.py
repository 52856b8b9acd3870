"""Delivery: one signed request per event and subscription, retries, disabling, and the faults.

The receiver is a real HTTP server (``devtools.WebhookReceiver``); tasks run
eagerly, after commit (``django_capture_on_commit_callbacks``), and every
received request is checked with the Standard Webhooks reference code.
Time travel (time-machine) walks through the retry schedule.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from bookings import services as booking_services
from bookings.models import Event
from devtools import WebhookReceiver
from webhooks import ssrf
from webhooks.delivery import (
    DISABLE_AFTER_FAILED_DELIVERIES,
    MAX_ATTEMPTS,
    MAX_RESPONSE_BYTES,
    RETRY_SCHEDULE,
    STUCK_AFTER,
    deliveries_send,
    deliveries_send_due,
)
from webhooks.models import WebhookDelivery
from webhooks.services import subscription_create, subscription_rotate_secret, subscription_update
from webhooks.tasks import send_due_deliveries
from webhooks.transport import Transport

from .factories import LATER_SLOT, NOW, SLOT, book, subscribe, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(coach, django_capture_on_commit_callbacks):
    """Make a booking through the service and run its after-commit work (the first attempts)."""

    def make(start=SLOT):
        instructor, event_type = coach
        with django_capture_on_commit_callbacks(execute=True):
            return book(instructor, event_type, start=start)

    return make


def retry_when_due(traveller, delivery: WebhookDelivery) -> None:
    """Travel to the delivery's next attempt and run the periodic sender once."""
    delivery.refresh_from_db()
    traveller.move_to(delivery.next_attempt_at)
    deliveries_send_due()


# --- the happy path ---------------------------------------------------------------------


def test_a_booking_event_is_posted_once_signed_with_the_subscription_secret(brand, receiver, frozen, booked):
    subscription = subscribe(brand, receiver)

    booking = booked()

    (request,) = receiver.requests
    body = verified(request, subscription.secret)
    event = Event.objects.get(booking=booking, type="booking.created")
    assert body == {"type": "booking.created", "timestamp": "2026-12-01T08:00:00Z", "data": event.payload}
    assert body["data"]["booking_uid"] == str(booking.uid)
    assert request["method"] == "POST" and request["path"] == "/hooks"
    assert request["headers"]["content-type"] == "application/json"
    assert request["headers"]["webhook-timestamp"] == str(int(NOW.timestamp()))
    (row,) = WebhookDelivery.objects.all()
    assert request["headers"]["webhook-id"] == row.message_id
    assert (row.status, row.attempt_count, row.last_response_status, row.event_id) == ("delivered", 1, 200, event.id)
    (attempt,) = row.attempts.all()
    assert attempt.succeeded and attempt.response_status == 200 and '"received": true' in attempt.response_body
    subscription.refresh_from_db()
    assert subscription.last_success_at == NOW and subscription.consecutive_failures == 0


def test_each_matching_subscription_gets_its_own_delivery_and_others_none(brand, other_brand, frozen, booked):
    with WebhookReceiver() as first, WebhookReceiver() as second, WebhookReceiver() as silent:
        one = subscribe(brand, first)
        two = subscribe(brand, second, event_types=["booking.created", "booking.cancelled"])
        subscribe(brand, silent, event_types=["booking.cancelled"])
        disabled = subscribe(brand, silent, path="/disabled")
        subscription_update(subscription=disabled, is_active=False)
        subscribe(other_brand, silent, path="/other-brand")

        booked()

        assert [verified(r, one.secret)["type"] for r in first.requests] == ["booking.created"]
        assert [verified(r, two.secret)["type"] for r in second.requests] == ["booking.created"]
        assert silent.requests == []
        assert first.requests[0]["headers"]["webhook-id"] != second.requests[0]["headers"]["webhook-id"]
    assert WebhookDelivery.objects.count() == 2


def test_deliveries_are_written_with_the_event_and_sent_only_after_commit(
    brand, coach, receiver, frozen, django_capture_on_commit_callbacks
):
    subscribe(brand, receiver)
    instructor, event_type = coach

    with django_capture_on_commit_callbacks() as callbacks:
        book(instructor, event_type)
        assert WebhookDelivery.objects.filter(status="pending").count() == 1
    assert receiver.requests == []  # nothing is sent inside the transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        book(instructor, event_type, start=LATER_SLOT)
        raise RuntimeError("the booking transaction fails after the event")
    assert WebhookDelivery.objects.count() == 1  # the rolled-back event left no delivery

    for callback in callbacks:
        callback()
    assert len(receiver.requests) == 1


def test_sending_the_same_delivery_again_sends_nothing(brand, receiver, frozen, booked):
    subscribe(brand, receiver)
    booked()
    (row,) = WebhookDelivery.objects.all()

    outcome = deliveries_send(delivery_ids=[row.id])
    deliveries_send_due()

    assert outcome.claimed == 0
    assert len(receiver.requests) == 1


def test_every_booking_and_payment_event_type_is_delivered(brand, receiver, frozen, booked, coach):
    subscription = subscribe(brand, receiver)
    booking = booked()
    instructor, event_type = coach
    booking_services.booking_confirm(
        booking=booking, payment={"amount": "0", "currency": "EUR", "status": "failed", "provider": "test"}
    )
    booking_services.booking_confirm(
        booking=booking, payment={"amount": "10", "currency": "EUR", "status": "succeeded", "provider": "test"}
    )
    booking_services.booking_reschedule(booking=booking, start_at=LATER_SLOT, actor=booking_services.STAFF)
    frozen.move_to(LATER_SLOT + dt.timedelta(minutes=5))
    booking_services.booking_complete(booking=booking)
    other = book(instructor, event_type, start=LATER_SLOT + dt.timedelta(days=1))
    booking_services.booking_cancel(booking=other, actor=booking_services.STAFF)

    deliveries_send_due()

    types = [verified(request, subscription.secret)["type"] for request in receiver.requests]
    assert sorted(types) == sorted(
        [
            "booking.created",
            "payment.failed",
            "payment.succeeded",
            "booking.confirmed",
            "booking.rescheduled",
            "booking.completed",
            "booking.created",
            "booking.cancelled",
        ]
    )
    payment = next(verified(r, subscription.secret) for r in receiver.requests if "payment.succeeded" in r["body"])
    assert {"payment_id", "amount", "currency", "provider", "reference"} <= set(payment["data"])


# --- retries --------------------------------------------------------------------------------


def test_a_500_then_a_200_is_delivered_on_the_retry_with_the_same_webhook_id(brand, receiver, frozen, booked):
    subscription = subscribe(brand, receiver)
    receiver.fail_next(1, status=500)

    booked()

    (row,) = WebhookDelivery.objects.all()
    assert (row.status, row.attempt_count, row.last_response_status) == ("pending", 1, 500)
    assert row.next_attempt_at == NOW + dt.timedelta(seconds=5)

    retry_when_due(frozen, row)

    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"] == row.message_id
    assert int(second["headers"]["webhook-timestamp"]) == int(first["headers"]["webhook-timestamp"]) + 5
    assert first["headers"]["webhook-signature"] != second["headers"]["webhook-signature"]
    assert verified(first, subscription.secret) == verified(second, subscription.secret)
    row.refresh_from_db()
    assert (row.status, row.attempt_count) == ("delivered", 2)
    assert [(a.number, a.succeeded, a.response_status) for a in row.attempts.all()] == [(1, False, 500), (2, True, 200)]


def test_a_retry_is_not_sent_before_it_is_due(brand, receiver, frozen, booked):
    subscribe(brand, receiver)
    receiver.fail_next(1, status=503)
    booked()

    frozen.shift(dt.timedelta(seconds=4))
    deliveries_send_due()

    assert len(receiver.requests) == 1


def test_failures_are_retried_on_the_schedule_then_given_up(brand, receiver, frozen, booked):
    subscription = subscribe(brand, receiver)
    receiver.respond_with(500)
    booked()
    (row,) = WebhookDelivery.objects.all()

    for _ in RETRY_SCHEDULE:
        retry_when_due(frozen, row)

    sent_at = [dt.datetime.fromtimestamp(int(r["headers"]["webhook-timestamp"]), dt.UTC) for r in receiver.requests]
    waits = [later - earlier for earlier, later in zip(sent_at, sent_at[1:], strict=False)]
    assert waits == list(RETRY_SCHEDULE)
    assert len(receiver.requests) == MAX_ATTEMPTS == 8
    assert sum(RETRY_SCHEDULE, dt.timedelta()) > dt.timedelta(hours=27)
    row.refresh_from_db()
    assert row.status == "failed" and row.attempt_count == 8
    assert row.last_error.startswith("Gave up after 8 attempts")
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 1

    frozen.shift(dt.timedelta(days=2))
    deliveries_send_due()
    assert len(receiver.requests) == 8  # a failed delivery is not attempted again


def exhaust(frozen, receiver, booked, start) -> WebhookDelivery:
    booked(start)
    row = WebhookDelivery.objects.filter(event__type="booking.created").latest("id")
    while row.status == "pending":
        retry_when_due(frozen, row)
        row.refresh_from_db()
    return row


def test_the_subscription_is_disabled_after_consecutive_exhausted_deliveries_and_a_patch_re_enables_it(
    brand, receiver, frozen, booked, api
):
    subscription = subscribe(brand, receiver, event_types=["booking.created"])
    receiver.respond_with(500)

    for index in range(DISABLE_AFTER_FAILED_DELIVERIES):
        assert exhaust(frozen, receiver, booked, SLOT + dt.timedelta(days=3 * index, hours=index)).status == "failed"
        subscription.refresh_from_db()
        assert subscription.consecutive_failures == index + 1
        assert subscription.is_active is (index + 1 < DISABLE_AFTER_FAILED_DELIVERIES)

    assert subscription.disabled_reason.startswith(f"{DISABLE_AFTER_FAILED_DELIVERIES} deliveries in a row failed")
    assert "HTTP 500" in subscription.disabled_reason
    booked(SLOT + dt.timedelta(days=40))
    assert not WebhookDelivery.objects.filter(status="pending").exists()  # a disabled subscription gets nothing

    response = api.patch(f"/api/webhooks/{subscription.id}", {"is_active": True}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is True
    assert response.json()["disabled_reason"] == "" and response.json()["consecutive_failures"] == 0


def test_a_success_resets_the_failure_count(brand, receiver, frozen, booked):
    subscription = subscribe(brand, receiver, event_types=["booking.created"])
    receiver.respond_with(500)
    exhaust(frozen, receiver, booked, SLOT)
    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 1

    receiver.respond_with(200)
    booked(SLOT + dt.timedelta(days=5))

    subscription.refresh_from_db()
    assert subscription.consecutive_failures == 0 and subscription.last_success_at is not None


def test_a_410_disables_the_subscription_at_once_and_later_deliveries_are_skipped(
    brand, receiver, frozen, booked, coach
):
    subscription = subscribe(brand, receiver)
    booking = booked()
    receiver.respond_with(410)
    instructor, event_type = coach
    with transaction.atomic():
        booking_services.booking_cancel(booking=booking, actor=booking_services.STAFF)
        book(instructor, event_type, start=LATER_SLOT)
    gone = WebhookDelivery.objects.get(event__type="booking.cancelled")
    later = WebhookDelivery.objects.get(event__type="booking.created", event__booking__start_at=LATER_SLOT)

    deliveries_send(delivery_ids=[gone.id])
    subscription.refresh_from_db()
    gone.refresh_from_db()

    assert (gone.status, gone.attempt_count, gone.last_response_status) == ("failed", 1, 410)
    assert not subscription.is_active
    assert "410" in subscription.disabled_reason and subscription.disabled_at == NOW
    frozen.shift(dt.timedelta(days=1))
    deliveries_send_due()
    later.refresh_from_db()
    assert later.status == "skipped" and "disabled" in later.last_error
    assert len(receiver.requests) == 2  # the created event and the 410; nothing after


# --- faults -----------------------------------------------------------------------------


def test_a_receiver_slower_than_the_timeout_fails_the_attempt(brand, receiver, frozen, booked, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    subscribe(brand, receiver)
    receiver.set_delay(3, times=1)

    booked()

    (row,) = WebhookDelivery.objects.all()
    (attempt,) = row.attempts.all()
    assert not attempt.succeeded and attempt.response_status is None
    assert attempt.error == "Timed out after 0.5 s."
    assert row.status == "pending" and row.last_error == "Timed out after 0.5 s."


def test_a_redirect_is_a_failed_attempt_and_is_not_followed(brand, receiver, frozen, booked):
    with WebhookReceiver() as elsewhere:
        moved = elsewhere.url + "/moved"
        subscribe(brand, receiver)
        receiver.respond_with(302, body="", headers={"Location": moved})

        booked()

        assert elsewhere.requests == []
    (row,) = WebhookDelivery.objects.all()
    (attempt,) = row.attempts.all()
    assert (row.status, attempt.succeeded, attempt.response_status) == ("pending", False, 302)
    assert attempt.error == f"Redirect (302) to {moved} not followed."


def test_a_huge_answer_is_cut_at_64_kib(brand, receiver, frozen, booked):
    subscribe(brand, receiver)
    receiver.respond_with(200, body="x" * (4 * 1024 * 1024))

    booked()

    (row,) = WebhookDelivery.objects.all()
    (attempt,) = row.attempts.all()
    assert row.status == "delivered"
    assert len(attempt.response_body) == MAX_RESPONSE_BYTES == 64 * 1024
    assert attempt.response_truncated


def test_a_binary_answer_is_stored_as_text(brand, receiver, frozen, booked):
    subscribe(brand, receiver)
    receiver.respond_with(200, body=b"ok\x00\xff")

    booked()

    (attempt,) = WebhookDelivery.objects.get().attempts.all()
    assert attempt.response_body == "ok\ufffd\ufffd" and not attempt.response_truncated


def test_a_closed_port_is_a_failed_attempt(brand, frozen, booked):
    with WebhookReceiver() as gone_away:
        subscribe(brand, gone_away)

    booked()

    (attempt,) = WebhookDelivery.objects.get().attempts.all()
    assert attempt.response_status is None and attempt.error.startswith("Could not connect")


@pytest.fixture
def dns(monkeypatch):
    """A resolver the test controls: ``dns["hooks.example.test"] = ["127.0.0.1"]``; counts lookups."""
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    def resolve(host: str, port: int) -> list[str]:
        lookups.append(host)
        if host not in answers:
            raise OSError("Name or service not known")
        return answers[host]

    monkeypatch.setattr(ssrf, "resolve_host", resolve)
    answers["lookups"] = lookups  # type: ignore[assignment]
    return answers


def test_a_host_name_is_resolved_once_per_attempt_and_the_checked_address_is_called(
    brand, receiver, frozen, booked, dns
):
    dns["hooks.example.test"] = ["127.0.0.1"]
    subscription = subscribe(brand, receiver)
    subscription_update(subscription=subscription, url=f"http://hooks.example.test:{receiver.port}/hooks")
    dns["lookups"].clear()

    booked()

    (request,) = receiver.requests
    assert request["headers"]["host"] == f"hooks.example.test:{receiver.port}"
    assert dns["lookups"] == ["hooks.example.test"]
    verified(request, subscription.secret)


def test_a_name_that_resolves_to_a_private_address_at_send_time_is_not_called(
    brand, receiver, frozen, booked, dns, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    dns["hooks.example.test"] = ["93.184.216.34"]
    subscription = subscription_create(
        brand=brand, url=f"http://hooks.example.test:{receiver.port}/hooks", event_types=["booking.created"]
    )  # a public address when subscribed
    dns["hooks.example.test"] = ["127.0.0.1"]  # then DNS changes

    booked()

    assert receiver.requests == []
    (row,) = WebhookDelivery.objects.all()
    (attempt,) = row.attempts.all()
    assert not attempt.succeeded and attempt.response_status is None
    assert attempt.error.startswith("Not sent: hooks.example.test (127.0.0.1) is a loopback address")
    assert row.status == "pending"  # DNS may change back: retried on the schedule
    assert subscription.url.startswith("http://hooks.example.test")


# --- rotation -------------------------------------------------------------------------------


def test_after_a_rotation_both_secrets_sign_for_24_hours_then_only_the_new_one(brand, receiver, frozen, booked):
    subscription = subscribe(brand, receiver, event_types=["booking.created"])
    old_secret = subscription.secret
    rotated = subscription_rotate_secret(subscription=subscription)
    assert rotated.secret != old_secret and rotated.previous_secret_expires_at == NOW + dt.timedelta(hours=24)

    booked()
    frozen.shift(dt.timedelta(hours=24))
    booked(LATER_SLOT)

    during, after = receiver.requests
    assert len(during["headers"]["webhook-signature"].split(" ")) == 2
    assert verified(during, old_secret) == verified(during, rotated.secret)
    assert len(after["headers"]["webhook-signature"].split(" ")) == 1
    verified(after, rotated.secret)
    with pytest.raises(Exception, match="No matching signature"):
        verified(after, old_secret)


# --- lost work ------------------------------------------------------------------------------


def test_a_delivery_whose_task_was_lost_is_sent_by_the_periodic_task(brand, coach, receiver, frozen):
    subscription = subscribe(brand, receiver)
    book(*coach)  # its after-commit enqueue never runs: as if the broker had been down

    assert receiver.requests == []
    result = send_due_deliveries.delay().get()

    assert result["delivered"] == 1
    verified(receiver.requests[0], subscription.secret)


def test_a_delivery_whose_worker_died_mid_attempt_is_released_and_sent_again(brand, coach, receiver, frozen):
    subscribe(brand, receiver)
    book(*coach)
    WebhookDelivery.objects.update(status="sending", updated_at=NOW)

    send_due_deliveries.delay()
    assert receiver.requests == []  # maybe still being sent by its worker

    frozen.shift(STUCK_AFTER)
    result = send_due_deliveries.delay().get()

    assert result["released"] == 1 and result["delivered"] == 1
    assert len(receiver.requests) == 1


def test_an_unexpected_error_while_posting_is_a_failed_attempt_not_a_stuck_delivery(
    brand, receiver, frozen, booked, monkeypatch
):
    subscribe(brand, receiver)

    def explode(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(Transport, "post", explode)

    booked()

    (row,) = WebhookDelivery.objects.all()
    assert (row.status, row.attempt_count, row.last_error) == ("pending", 1, "RuntimeError: boom")
