"""Sending webhook deliveries: claim, sign, post concurrently, record, retry, disable.

Everything is driven from the :class:`~webhooks.models.WebhookDelivery` rows,
so neither a broker outage nor a receiver outage loses a message, and no
attempt is made twice:

* **claim**: a worker takes due ``pending`` rows (``SELECT ... FOR UPDATE
  SKIP LOCKED``, then ``status='sending'``) in one short transaction; other
  workers skip them. On SQLite the IMMEDIATE transaction serialises claims;
* **send**: each attempt is signed afresh (new ``webhook-timestamp``, same
  ``webhook-id`` and body), its URL is checked by the SSRF guard again and
  posted to the checked address (``webhooks.transport``). A batch is posted
  from a thread pool, so one worker keeps many slow receivers busy at once;
  the threads only talk HTTP, the database work stays on the worker's thread;
* **record**: one transaction per batch writes the attempts, the deliveries
  and the subscriptions' health;
* **retry**: a non-2xx answer (a 3xx included: redirects are not followed) or
  a network error is retried after :data:`RETRY_SCHEDULE`. Waits up to
  :data:`COUNTDOWN_LIMIT` are also Celery countdowns; longer ones live only in
  ``next_attempt_at`` and the every-minute task picks them up;
* **disable**: HTTP 410 disables the subscription at once;
  :data:`DISABLE_AFTER_FAILED_DELIVERIES` deliveries in a row that exhausted
  their attempts disable it too, with the reason. A success resets the count.

A delivery is sent at least once: if a worker dies after the receiver got the
request but before the result was stored, the row is released after
:data:`STUCK_AFTER` and sent again with the same ``webhook-id``, which is
how receivers recognise a repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from . import signing, ssrf
from .models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from .transport import HttpResult, Transport

logger = logging.getLogger(__name__)

RETRY_SCHEDULE: tuple[dt.timedelta, ...] = (
    dt.timedelta(seconds=5),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=5),
    dt.timedelta(hours=10),
    dt.timedelta(hours=10),
)
"""Waits before the 2nd, 3rd... attempt (the 1st is immediate), as Svix does: 8 attempts over about 28 hours."""
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
COUNTDOWN_LIMIT = dt.timedelta(minutes=1)
"""Retries waiting at most this long are also enqueued with a Celery countdown."""
DISABLE_AFTER_FAILED_DELIVERIES = 5
"""Deliveries in a row that exhaust every attempt before the subscription is disabled."""
GONE = 410
STUCK_AFTER = dt.timedelta(minutes=5)
"""A row ``sending`` this long lost its worker (an attempt takes at most about two timeouts)."""
BATCH_SIZE = 50
DRAIN_TIME_BUDGET_SECONDS = 45.0
"""A drain stops starting new batches after this long, before the next beat tick starts another."""
MAX_RESPONSE_BYTES = 64 * 1024
ENQUEUE_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
"""Publishing at commit gives up fast: the every-minute task sends what could not be enqueued."""


@dataclass
class BatchOutcome:
    """What one batch did, by the deliveries' status afterwards."""

    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0

    def add(self, other: BatchOutcome) -> None:
        for name in ("claimed", "delivered", "retrying", "failed", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


# --- queueing -----------------------------------------------------------------------


def enqueue(delivery_ids: Sequence[int], *, countdown: float | None = None) -> bool:
    """Hand ids to Celery; a broker outage is logged, not raised (the every-minute task catches up)."""
    from .tasks import send_deliveries

    try:
        send_deliveries.apply_async(
            args=[list(delivery_ids)], countdown=countdown, retry=True, retry_policy=ENQUEUE_RETRY_POLICY
        )
    except Exception:
        logger.warning("Could not enqueue webhook deliveries %s; the periodic task will send them.", delivery_ids)
        return False
    return True


# --- the send pipeline --------------------------------------------------------------


_pool_lock = threading.Lock()
_executor: ThreadPoolExecutor | None = None
_transport: Transport | None = None


def _sending_machinery() -> tuple[ThreadPoolExecutor, Transport]:
    """This process's thread pool and connection pools, made on first use (so after a worker forks)."""
    global _executor, _transport
    with _pool_lock:
        if _executor is None or _transport is None:
            concurrency = settings.WEBHOOK_SEND_CONCURRENCY
            _executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="webhook-send")
            _transport = Transport(max_connections=concurrency)
        return _executor, _transport


@dataclass(frozen=True)
class _Request:
    url: str
    headers: dict[str, str]
    body: bytes


def _post(request: _Request, *, transport: Transport, allow_private: bool, timeout: float) -> HttpResult:
    """Check the URL (resolving it now) and post to the checked address; runs on a pool thread."""
    started = time.monotonic()
    try:
        target = ssrf.resolve_target(request.url, allow_private=allow_private)
    except ssrf.UnsafeUrl as error:
        return HttpResult(status=None, error=f"Not sent: {error}", duration_ms=int((time.monotonic() - started) * 1000))
    try:
        return transport.post(
            target, headers=request.headers, body=request.body, timeout=timeout, max_response_bytes=MAX_RESPONSE_BYTES
        )
    except Exception as unexpected:  # a bug or a library surprise: a failed attempt, retried like any other
        logger.exception("Webhook post to %s failed unexpectedly", request.url)
        return HttpResult(
            status=None,
            error=f"{type(unexpected).__name__}: {unexpected}",
            duration_ms=int((time.monotonic() - started) * 1000),
        )


def _post_all(requests: list[_Request]) -> list[HttpResult]:
    executor, transport = _sending_machinery()
    post = partial(
        _post,
        transport=transport,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS,
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
    )
    if len(requests) == 1:
        return [post(requests[0])]
    return list(executor.map(post, requests))


def _claim(deliveries: QuerySet, *, limit: int) -> list[int]:
    """Take up to ``limit`` due pending deliveries for this worker (``sending``); return their ids."""
    now = timezone.now()
    with transaction.atomic():
        due = (
            deliveries.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .select_for_update(skip_locked=True)
        )
        ids = list(due.values_list("pk", flat=True)[:limit])
        if ids:
            WebhookDelivery.objects.filter(pk__in=ids, status=WebhookDelivery.Status.PENDING).update(
                status=WebhookDelivery.Status.SENDING, updated_at=now
            )
    return ids


def _send_claimed(ids: list[int]) -> BatchOutcome:
    """Sign, post and record the deliveries this worker claimed."""
    if not ids:
        return BatchOutcome()
    deliveries = list(WebhookDelivery.objects.filter(pk__in=ids).select_related("subscription").order_by("id"))
    now = timezone.now()
    timestamp = int(now.timestamp())
    to_send = [delivery for delivery in deliveries if delivery.subscription.is_active]
    requests = [
        _Request(
            url=delivery.subscription.url,
            headers=signing.webhook_headers(
                secrets=delivery.subscription.signing_secrets(now),
                message_id=delivery.message_id,
                timestamp=timestamp,
                body=delivery.body,
            ),
            body=delivery.body.encode("utf-8"),
        )
        for delivery in to_send
    ]
    results = _post_all(requests) if requests else []
    skipped = [delivery for delivery in deliveries if not delivery.subscription.is_active]
    return _record(list(zip(to_send, results, strict=True)), skipped)


def _response_text(result: HttpResult) -> str:
    # PostgreSQL text cannot hold NUL characters.
    return result.body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


@dataclass
class _Health:
    """What one batch says about one subscription, in the order the results came."""

    failed_attempt: bool = False
    succeeded: bool = False
    given_up_since_success: int = 0
    gone: bool = False
    last_error: str = ""


def _record(sent: list[tuple[WebhookDelivery, HttpResult]], skipped: list[WebhookDelivery]) -> BatchOutcome:
    """Store the attempts and the deliveries' new state, and update the subscriptions' health, at once."""
    now = timezone.now()
    outcome = BatchOutcome(claimed=len(sent) + len(skipped))
    attempts: list[WebhookAttempt] = []
    health: dict[int, _Health] = defaultdict(_Health)
    soon: dict[float, list[int]] = defaultdict(list)
    for delivery, result in sent:
        delivery.attempt_count += 1
        delivery.last_attempt_at = delivery.updated_at = now
        delivery.last_response_status = result.status
        error = result.error or ("" if result.succeeded else f"HTTP {result.status}")
        subscription_health = health[delivery.subscription_id]
        if result.succeeded:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
            delivery.last_error = ""
            subscription_health.succeeded = True
            subscription_health.given_up_since_success = 0
            outcome.delivered += 1
        else:
            subscription_health.failed_attempt = True
            subscription_health.last_error = error
            if result.status == GONE:
                delivery.status = WebhookDelivery.Status.FAILED
                delivery.last_error = "HTTP 410 Gone: the receiver asked for no more deliveries."
                subscription_health.gone = True
                subscription_health.given_up_since_success += 1
                outcome.failed += 1
            elif delivery.attempt_count >= MAX_ATTEMPTS:
                delivery.status = WebhookDelivery.Status.FAILED
                delivery.last_error = f"Gave up after {delivery.attempt_count} attempts. Last: {error}"
                subscription_health.given_up_since_success += 1
                outcome.failed += 1
            else:
                wait = RETRY_SCHEDULE[delivery.attempt_count - 1]
                delivery.status = WebhookDelivery.Status.PENDING
                delivery.next_attempt_at = now + wait
                delivery.last_error = error
                outcome.retrying += 1
                if wait <= COUNTDOWN_LIMIT:
                    soon[wait.total_seconds()].append(delivery.pk)
        attempts.append(
            WebhookAttempt(
                delivery=delivery,
                number=delivery.attempt_count,
                succeeded=result.succeeded,
                response_status=result.status,
                response_body=_response_text(result),
                response_truncated=result.truncated,
                error=result.error,
                duration_ms=result.duration_ms,
                created_at=now,
            )
        )
    for delivery in skipped:
        delivery.status = WebhookDelivery.Status.SKIPPED
        delivery.updated_at = now
        reason = delivery.subscription.disabled_reason
        delivery.last_error = "Not sent: the subscription was disabled" + (f" ({reason})." if reason else ".")
        outcome.skipped += 1

    rows = [delivery for delivery, _ in sent] + skipped
    with transaction.atomic():
        # Lock the rows: a subscription deleted meanwhile takes its deliveries with it, and then
        # there is nothing to record for them.
        existing = set(
            WebhookDelivery.objects.select_for_update()
            .filter(pk__in=[row.pk for row in rows])
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        WebhookAttempt.objects.bulk_create([attempt for attempt in attempts if attempt.delivery_id in existing])
        WebhookDelivery.objects.bulk_update(
            [row for row in rows if row.pk in existing],
            [
                "status",
                "attempt_count",
                "next_attempt_at",
                "last_attempt_at",
                "last_response_status",
                "last_error",
                "delivered_at",
                "updated_at",
            ],
        )
        # In id order: batches recorded at the same time by two workers touch the same subscriptions,
        # and locking them in one order is what keeps those transactions from deadlocking.
        for subscription_id in sorted(health):
            _update_health(subscription_id, health[subscription_id], now)
        for wait, ids in soon.items():
            transaction.on_commit(partial(enqueue, ids, countdown=wait))
    for delivery, result in sent:
        if not result.succeeded:
            logger.info(
                "Webhook delivery %s attempt %s to subscription %s: %s (%s)",
                delivery.pk,
                delivery.attempt_count,
                delivery.subscription_id,
                delivery.last_error,
                delivery.status,
            )
    return outcome


def _update_health(subscription_id: int, health: _Health, now: dt.datetime) -> None:
    """Success resets the failure count; given-up deliveries add to it; 410 or the limit disables."""
    subscriptions = WebhookSubscription.objects.filter(pk=subscription_id)
    changes: dict = {}
    if health.succeeded:
        changes.update(last_success_at=now, consecutive_failures=health.given_up_since_success)
    elif health.given_up_since_success:
        changes["consecutive_failures"] = F("consecutive_failures") + health.given_up_since_success
    if health.failed_attempt:
        changes["last_failure_at"] = now
    if changes:
        subscriptions.update(**changes, updated_at=now)
    if health.gone:
        subscriptions.filter(is_active=True).update(
            is_active=False,
            disabled_at=now,
            disabled_reason="The receiver answered HTTP 410 Gone: it asked for no more deliveries.",
            updated_at=now,
        )
    elif health.given_up_since_success:
        subscriptions.filter(is_active=True, consecutive_failures__gte=DISABLE_AFTER_FAILED_DELIVERIES).update(
            is_active=False,
            disabled_at=now,
            disabled_reason=(
                f"{DISABLE_AFTER_FAILED_DELIVERIES} deliveries in a row failed after all "
                f"{MAX_ATTEMPTS} attempts. Last error: {health.last_error}"
            ),
            updated_at=now,
        )


# --- entry points (the tasks) ---------------------------------------------------------


def deliveries_send(*, delivery_ids: Sequence[int]) -> BatchOutcome:
    """Attempt these deliveries if they are due and no other worker has them (others are left alone)."""
    ids = _claim(WebhookDelivery.objects.filter(pk__in=list(delivery_ids)), limit=len(delivery_ids))
    return _send_claimed(ids)


def deliveries_send_due(*, limit: int | None = None) -> BatchOutcome:
    """Attempt up to ``limit`` (default :data:`BATCH_SIZE`) due deliveries, oldest due first."""
    return _send_claimed(_claim(WebhookDelivery.objects.all(), limit=limit or BATCH_SIZE))


def deliveries_drain(*, time_budget: float = DRAIN_TIME_BUDGET_SECONDS) -> BatchOutcome:
    """Send due deliveries batch after batch until none is left or the time budget is spent.

    A burst of events (each enqueuing its own task) is then sent in batches
    by whichever worker gets there first; the tasks that come later find
    their deliveries done and return at once.
    """
    started = time.monotonic()
    total = BatchOutcome()
    while True:
        outcome = deliveries_send_due()
        total.add(outcome)
        if outcome.claimed < BATCH_SIZE or time.monotonic() - started > time_budget:
            return total


def deliveries_release_stuck() -> int:
    """Put deliveries whose worker died mid-attempt (``sending`` for :data:`STUCK_AFTER`) back to pending."""
    now = timezone.now()
    released = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.SENDING, updated_at__lte=now - STUCK_AFTER
    ).update(
        status=WebhookDelivery.Status.PENDING,
        next_attempt_at=now,
        updated_at=now,
        last_error="The worker stopped during an attempt; sending again.",
    )
    if released:
        logger.warning("Released %s webhook deliveries stuck in sending.", released)
    return released
