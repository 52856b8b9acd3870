"""Webhook writes: subscriptions (create, change, rotate the secret, delete) and queueing deliveries.

Every door (API, admin, the demo command, the event bus receiver) goes
through these. Sending lives in ``webhooks.delivery``.

Rules kept here:

* ``event_types`` are names from the event bus (``bookings.signals.EVENT_NAMES``);
  ``webhook.test`` is sent by :func:`subscription_ping` to any subscription;
* the URL passes the SSRF guard (``webhooks.ssrf``) when it is saved, unless
  ``WEBHOOK_ALLOW_PRIVATE_TARGETS``; it is checked again before every attempt;
* a secret is generated (``whsec_`` + base64 of 32 random bytes) unless given;
* re-enabling a subscription (``is_active`` back to true) clears its disabled
  reason and its failure count;
* a rotation keeps the previous secret signing for :data:`ROTATION_OVERLAP`.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from booking_project.formats import utc_iso
from bookings.models import Event
from bookings.signals import EVENT_NAMES
from scheduling.models import Brand

from . import signing, ssrf
from .delivery import enqueue
from .errors import DeliveryInProgress, SubscriptionDisabled
from .models import WebhookDelivery, WebhookSubscription

TEST_EVENT = "webhook.test"
ROTATION_OVERLAP = dt.timedelta(hours=24)
"""How long the previous secret keeps signing after a rotation."""
DISABLED_BY_HAND = "Disabled by hand."
UPDATABLE_FIELDS = ("url", "event_types", "description", "is_active")


# --- validation ---------------------------------------------------------------------


def event_types_clean(value: Any) -> list[str]:
    """A non-empty list of known event names, duplicates dropped, order kept."""
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError({"event_types": "Give a list of event names."})
    names = list(dict.fromkeys(value))
    if not names:
        raise ValidationError({"event_types": f"Choose at least one of: {', '.join(EVENT_NAMES)}."})
    unknown = [name for name in names if name not in EVENT_NAMES]
    if unknown:
        listed = ", ".join(repr(str(name)) for name in unknown)
        raise ValidationError(
            {"event_types": f"Unknown event type {listed}. Known event types: {', '.join(EVENT_NAMES)}."}
        )
    return names


def url_error(url: str) -> str | None:
    """Why ``url`` cannot receive webhooks (form, scheme, private address), or ``None``."""
    try:
        ssrf.check_url(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_TARGETS)
    except ssrf.UnsafeUrl as error:
        return str(error)
    return None


def _clean(subscription: WebhookSubscription, *, changed: Iterable[str]) -> None:
    """Every problem of the fields being written, at once, keyed by field."""
    errors: dict[str, list[str]] = {}
    try:
        subscription.full_clean(exclude=["brand", "event_types"])
    except ValidationError as error:
        errors.update(error.message_dict)
    changed = set(changed)
    if "url" in changed and "url" not in errors:
        message = url_error(subscription.url)
        if message:
            errors["url"] = [message]
    if "event_types" in changed:
        try:
            subscription.event_types = event_types_clean(subscription.event_types)
        except ValidationError as error:
            errors.update(error.message_dict)
    if "secret" in changed and "secret" not in errors:
        message = signing.secret_error(subscription.secret)
        if message:
            errors["secret"] = [message]
    if errors:
        raise ValidationError(errors)


# --- subscriptions ------------------------------------------------------------------


@transaction.atomic
def subscription_create(
    *, brand: Brand, url: str, event_types: list[str], description: str = "", secret: str | None = None
) -> WebhookSubscription:
    """A new active subscription; ``secret`` is generated when not given."""
    subscription = WebhookSubscription(
        brand=brand,
        url=(url or "").strip(),
        event_types=event_types,
        description=description,
        secret=secret or signing.generate_secret(),
    )
    _clean(subscription, changed=("url", "event_types", "secret"))
    subscription.save()
    return subscription


@transaction.atomic
def subscription_update(
    *, subscription: WebhookSubscription, reason: str = DISABLED_BY_HAND, **changes: Any
) -> WebhookSubscription:
    """Change ``url``, ``event_types``, ``description`` or ``is_active``.

    Switching ``is_active`` on re-enables a disabled subscription: its reason
    and failure count are cleared, so the disable rule starts counting anew.
    Switching it off records ``reason``. Only the changed columns are
    written, so a delivery worker updating the health columns at the same
    time loses nothing.
    """
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValidationError({name: "This field cannot be changed." for name in sorted(unknown)})
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if "url" in changes:
        changes["url"] = (changes["url"] or "").strip()
    changed = [name for name, value in changes.items() if getattr(locked, name) != value]
    for name in changed:
        setattr(locked, name, changes[name])
    _clean(locked, changed=changed)
    update_fields = list(changed)
    if "is_active" in changed:
        if locked.is_active:
            locked.disabled_reason, locked.disabled_at, locked.consecutive_failures = "", None, 0
        else:
            locked.disabled_reason, locked.disabled_at = reason, timezone.now()
        update_fields += ["disabled_reason", "disabled_at", "consecutive_failures"]
    if update_fields:
        locked.save(update_fields=[*update_fields, "updated_at"])
    return locked


@transaction.atomic
def subscription_rotate_secret(*, subscription: WebhookSubscription, secret: str | None = None) -> WebhookSubscription:
    """A new secret at once; the current one keeps signing beside it for :data:`ROTATION_OVERLAP`.

    Receivers can switch to the new secret at any moment in that window and
    never see a delivery they cannot verify. Rotating again within the window
    drops the oldest secret.
    """
    locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    locked.previous_secret = locked.secret
    locked.previous_secret_expires_at = timezone.now() + ROTATION_OVERLAP
    locked.secret = secret or signing.generate_secret()
    _clean(locked, changed=("secret",))
    locked.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return locked


@transaction.atomic
def subscription_delete(*, subscription: WebhookSubscription) -> None:
    """Delete the subscription and its delivery log; nothing more is sent to it."""
    subscription.delete()


# --- deliveries -----------------------------------------------------------------------


def render_body(*, event_type: str, timestamp: dt.datetime, data: dict) -> str:
    """The JSON body of a message: ``{"type", "timestamp", "data"}`` (ASCII, compact)."""
    return json.dumps({"type": event_type, "timestamp": utc_iso(timestamp), "data": data}, separators=(",", ":"))


def new_message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _queue(deliveries: list[WebhookDelivery]) -> list[WebhookDelivery]:
    """Write the rows; their first attempt is enqueued when the surrounding transaction commits."""
    created = WebhookDelivery.objects.bulk_create(deliveries)
    if created:
        transaction.on_commit(partial(enqueue, [delivery.pk for delivery in created]))
    return created


def deliveries_queue_for_event(*, event: Event) -> list[WebhookDelivery]:
    """One pending delivery per active subscription of the event's brand that wants its type.

    Called by the event bus receiver inside the transaction that stored the
    event: a rollback leaves no delivery, and nothing is enqueued before the
    commit. Event types are matched in Python (a brand has a handful of
    subscriptions), which works the same on SQLite and PostgreSQL.
    """
    subscriptions = [
        subscription
        for subscription in WebhookSubscription.objects.filter(brand_id=event.brand_id, is_active=True)
        if subscription.wants(event.type)
    ]
    if not subscriptions:
        return []
    body = render_body(event_type=event.type, timestamp=event.created_at, data=event.payload)
    return _queue(
        [
            WebhookDelivery(
                subscription=subscription,
                event=event,
                event_type=event.type,
                message_id=new_message_id(),
                body=body,
            )
            for subscription in subscriptions
        ]
    )


def _require_active(subscription: WebhookSubscription) -> None:
    if not subscription.is_active:
        raise SubscriptionDisabled(
            "This subscription is disabled"
            + (f" ({subscription.disabled_reason})" if subscription.disabled_reason else "")
            + ": re-enable it first (is_active: true)."
        )


@transaction.atomic
def subscription_ping(*, subscription: WebhookSubscription) -> WebhookDelivery:
    """Queue a ``webhook.test`` message, delivered, signed and retried like any event."""
    _require_active(subscription)
    now = timezone.now()
    data = {
        "subscription_id": subscription.pk,
        "brand_id": subscription.brand_id,
        "message": "A test event: this URL receives the brand's webhooks.",
    }
    (delivery,) = _queue(
        [
            WebhookDelivery(
                subscription=subscription,
                event_type=TEST_EVENT,
                message_id=new_message_id(),
                body=render_body(event_type=TEST_EVENT, timestamp=now, data=data),
                created_at=now,
            )
        ]
    )
    return delivery


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a finished delivery again: a new delivery with the same body and ``webhook-id``.

    A new row with a fresh retry schedule, so the old one keeps its attempts
    as they were. The ``webhook-id`` stays the same (Standard Webhooks: it is
    the same message), so a receiver that did process it can tell.
    """
    subscription = WebhookSubscription.objects.select_for_update().get(pk=delivery.subscription_id)
    _require_active(subscription)
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    if delivery.is_in_progress:
        raise DeliveryInProgress(f"This delivery is still {delivery.status}: wait until it is delivered or has failed.")
    (copy,) = _queue(
        [
            WebhookDelivery(
                subscription=subscription,
                event_id=delivery.event_id,
                event_type=delivery.event_type,
                message_id=delivery.message_id,
                body=delivery.body,
                redelivery_of=delivery,
            )
        ]
    )
    return copy
