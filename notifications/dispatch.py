"""The provider side of one send task: which requests to make, and making them at once.

:func:`notifications.services.notifications_send` claims and renders a set
of notifications, then hands their messages here:

* :func:`plan` groups emails without attachments into Resend batch requests
  of up to 100. Resend's rate limit counts requests (2 to 5 a second by
  default), and a round trip costs the same for one email or a hundred;
* :func:`run` makes the requests from a small thread pool, since they only
  wait on the network, and starts none that could still be running when the
  task's claim lapses (its *deadline*): a request not started is reported
  as such and the caller hands the message out again, unattempted;
* an SMS or WhatsApp message retried after an attempt that may have reached
  Twilio is first looked up in Twilio's message list, and not sent again if
  it is there (Twilio has no idempotency key).

Nothing here touches the database: the threads only talk HTTP, and the
caller records every result.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .backends import (
    BATCH_LIMIT,
    EMAIL,
    AlreadyAccepted,
    Backend,
    DeliveryError,
    OutgoingMessage,
    PermanentError,
    TemporaryError,
)

logger = logging.getLogger(__name__)

BATCH_REFUSED_STATUSES = (400, 422)
"""A batch refused for these (one email failed validation) sent nothing: its emails go one by one."""

ALREADY_ACCEPTED_NOTE = (
    "Recorded as sent: an earlier attempt under this Idempotency-Key was accepted by the provider "
    "(its answer was lost) and the request has changed since, so nothing was sent again. Answer: {answer}"
)
FOUND_AT_TWILIO_NOTE = (
    "Recorded as sent without sending again: an earlier attempt reached Twilio, which lists this "
    "message ({sid}) to this number, from this sender, with this text."
)


@dataclass
class Item:
    """One claimed notification, rendered and ready for its provider."""

    notification_id: int
    message: OutgoingMessage
    backend: Backend
    batch_key: str = ""
    """The Resend batch it belongs to: kept from an earlier attempt, or given by :func:`plan`."""
    lookup_since: dt.datetime | None = None
    """Set for an SMS/WhatsApp retry: look in Twilio's list for a message sent since then first."""
    lookup_exclude: frozenset[str] = frozenset()
    """Twilio sids already recorded for other notifications (never taken for this one)."""


@dataclass
class Result:
    """What happened to one item. ``started=False``: no request was made for it (deadline)."""

    provider_message_id: str = ""
    error: DeliveryError | None = None
    note: str = ""
    duration_ms: int = 0
    started: bool = True
    batch_dissolved: bool = False
    """Its batch was refused as a whole, so no email went out under the batch's key; it is free of it."""


@dataclass
class Request:
    """One request to a provider: a batch of emails, or one message (after a lookup, for a retried SMS)."""

    items: list[Item]
    batch_key: str = ""
    calls: int = field(init=False)

    def __post_init__(self) -> None:
        self.calls = 2 if not self.batch_key and self.items[0].lookup_since is not None else 1


def _batch_group(backend: Backend) -> tuple | None:
    """Emails that may share a batch request: same provider account and address."""
    if not hasattr(backend, "send_batch"):
        return None
    return (type(backend).__name__, getattr(backend, "api_url", ""), getattr(backend, "api_key", ""))


def plan(items: Iterable[Item], *, new_batch_key: Callable[[list[Item]], str]) -> list[Request]:
    """The requests that send ``items``.

    * items already holding a batch key (the batch's outcome was unknown)
      are sent again together, under that key: Resend then answers with the
      first batch instead of sending it twice;
    * two or more emails without attachments for a backend that batches form
      new batches of up to :data:`~notifications.backends.BATCH_LIMIT`, each
      keyed by ``new_batch_key`` (the caller stores the key before the request
      is made, so a retry can reuse it); their ``batch_key`` is set;
    * everything else is one request per message.
    """
    requests: list[Request] = []
    retried_batches: dict[str, list[Item]] = defaultdict(list)
    batchable: dict[tuple, list[Item]] = defaultdict(list)
    for item in items:
        group = _batch_group(item.backend) if item.message.channel == EMAIL else None
        if item.batch_key and group is not None:
            retried_batches[item.batch_key].append(item)
        elif item.batch_key:  # the provider that had the batch is no longer configured: nothing to repeat there
            requests.append(Request([item]))
        elif group is not None and not item.message.attachments:
            batchable[group].append(item)
        else:
            requests.append(Request([item]))
    for key, members in retried_batches.items():
        requests.append(Request(members, batch_key=key))
    for members in batchable.values():
        if len(members) < 2:
            requests.extend(Request([item]) for item in members)
            continue
        for start in range(0, len(members), BATCH_LIMIT):
            chunk = members[start : start + BATCH_LIMIT]
            key = new_batch_key(chunk)
            for item in chunk:
                item.batch_key = key
            requests.append(Request(chunk, batch_key=key))
    return requests


def run(requests: list[Request], *, deadline: float, timeout: float, concurrency: int) -> dict[int, Result]:
    """Make ``requests``, up to ``concurrency`` at once; a result per notification id.

    ``deadline`` is a ``time.monotonic()`` value: a request whose calls could
    take it past the deadline (``calls x timeout``) is not started.
    """

    def execute(request: Request) -> dict[int, Result]:
        if time.monotonic() + request.calls * timeout > deadline:
            return {item.notification_id: Result(started=False) for item in request.items}
        if request.batch_key:
            return _send_batch(request, deadline=deadline, timeout=timeout)
        (item,) = request.items
        return {item.notification_id: _send_one(item)}

    results: dict[int, Result] = {}
    workers = min(max(1, concurrency), len(requests))
    if workers <= 1:
        for request in requests:
            results.update(execute(request))
        return results
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="notification-send") as pool:
        for partial in pool.map(execute, requests):
            results.update(partial)
    return results


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _send_one(item: Item) -> Result:
    started = time.monotonic()
    try:
        if item.lookup_since is not None:
            sid = item.backend.find_sent(item.message, since=item.lookup_since, exclude=item.lookup_exclude)
            if sid:
                return Result(sid, note=FOUND_AT_TWILIO_NOTE.format(sid=sid), duration_ms=_elapsed_ms(started))
        provider_message_id = item.backend.send(item.message)
    except AlreadyAccepted as accepted:
        return Result(note=ALREADY_ACCEPTED_NOTE.format(answer=accepted), duration_ms=_elapsed_ms(started))
    except DeliveryError as error:
        return Result(error=error, duration_ms=_elapsed_ms(started))
    except Exception as unexpected:  # a bug or an SDK surprise: retried, it may be transient
        logger.exception("Notification %s: unexpected error while sending", item.notification_id)
        error = TemporaryError(f"{type(unexpected).__name__}: {unexpected}")
        return Result(error=error, duration_ms=_elapsed_ms(started))
    return Result(provider_message_id, duration_ms=_elapsed_ms(started))


def _send_batch(request: Request, *, deadline: float, timeout: float) -> dict[int, Result]:
    items = request.items
    started = time.monotonic()
    try:
        ids = items[0].backend.send_batch([item.message for item in items], idempotency_key=request.batch_key)
    except AlreadyAccepted as accepted:
        note = ALREADY_ACCEPTED_NOTE.format(answer=accepted)
        return {item.notification_id: Result(note=note, duration_ms=_elapsed_ms(started)) for item in items}
    except PermanentError as error:
        if error.status not in BATCH_REFUSED_STATUSES:
            return {item.notification_id: Result(error=error, duration_ms=_elapsed_ms(started)) for item in items}
        logger.warning("Batch %s refused (%s): sending its %s emails one by one", request.batch_key, error, len(items))
        return _send_each(items, deadline=deadline, timeout=timeout)
    except DeliveryError as error:
        return {item.notification_id: Result(error=error, duration_ms=_elapsed_ms(started)) for item in items}
    except Exception as unexpected:  # a bug or an SDK surprise: retried, it may be transient
        logger.exception("Batch %s: unexpected error while sending", request.batch_key)
        error = TemporaryError(f"{type(unexpected).__name__}: {unexpected}")
        return {item.notification_id: Result(error=error, duration_ms=_elapsed_ms(started)) for item in items}
    duration_ms = _elapsed_ms(started)
    return {
        item.notification_id: Result(provider_message_id, duration_ms=duration_ms)
        for item, provider_message_id in zip(items, ids, strict=True)
    }


def _send_each(items: list[Item], *, deadline: float, timeout: float) -> dict[int, Result]:
    """The emails of a refused batch, one request each (their own keys), while the deadline allows."""
    results = {}
    for item in items:
        if time.monotonic() + timeout > deadline:
            results[item.notification_id] = Result(started=False, batch_dissolved=True)
            continue
        result = _send_one(item)
        result.batch_dissolved = True
        results[item.notification_id] = result
    return results
