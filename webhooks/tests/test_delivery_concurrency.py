"""Several workers draining at once send each delivery exactly once.

Real transactions (``transaction=True``) and one database connection per
thread, as separate worker processes would have: the claim
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, the IMMEDIATE write
lock on SQLite) is what keeps them apart.
"""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from webhooks import delivery, services
from webhooks.models import WebhookDelivery

from .factories import subscribe, verified

pytestmark = pytest.mark.django_db(transaction=True)

WORKERS = 4
DELIVERIES = 40


def test_concurrent_drains_send_every_delivery_exactly_once(brand, receiver, monkeypatch):
    monkeypatch.setattr(services, "enqueue", lambda *args, **kwargs: False)  # as if the broker were down
    monkeypatch.setattr(delivery, "BATCH_SIZE", 5)
    subscription = subscribe(brand, receiver)
    for _ in range(DELIVERIES):
        services.subscription_ping(subscription=subscription)
    receiver.set_delay(0.02)
    errors: list[BaseException] = []
    start = threading.Barrier(WORKERS)

    def worker() -> None:
        try:
            start.wait()
            delivery.deliveries_drain()
        except BaseException as error:  # reported below, with the thread's failure
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    ids = Counter(request["headers"]["webhook-id"] for request in receiver.requests)
    assert len(ids) == DELIVERIES and set(ids.values()) == {1}
    assert set(WebhookDelivery.objects.values_list("status", "attempt_count")) == {("delivered", 1)}
    verified(receiver.requests[0], subscription.secret)
