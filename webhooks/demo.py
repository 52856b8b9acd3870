"""The demo's webhook subscription: ``make run``'s local receiver gets every event.

``manage.py demo`` calls :func:`demo_subscription_ensure`; ``make run``
(``devtools.run_local``) serves the receiver on :data:`DEMO_RECEIVER_URL`
and verifies each delivery with the secret kept in ``var/``, so a newcomer
sees signed deliveries print next to the emails.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError

from bookings.signals import EVENT_NAMES
from scheduling.models import Brand

from .models import WebhookSubscription
from .services import subscription_create, subscription_update

DEMO_RECEIVER_URL = "http://127.0.0.1:8027/demo"
SECRET_FILE_NAME = "demo-webhook-secret.txt"


def demo_subscription_ensure(*, brand: Brand, var_dir: Path) -> str:
    """Subscribe the local receiver to every event once (re-enabling it if it was disabled); a line to print.

    The secret goes to ``var/`` for the receiver; the line shows only its
    beginning. Refused URLs (``WEBHOOK_ALLOW_PRIVATE_TARGETS`` off) are
    reported, not raised: the rest of the demo still works.
    """
    subscription = WebhookSubscription.objects.filter(brand=brand, url=DEMO_RECEIVER_URL).first()
    try:
        if subscription is None:
            subscription = subscription_create(
                brand=brand,
                url=DEMO_RECEIVER_URL,
                event_types=list(EVENT_NAMES),
                description="make run's local receiver (devtools), which verifies and prints each delivery",
            )
        elif not subscription.is_active:
            subscription = subscription_update(subscription=subscription, is_active=True)
    except ValidationError as error:
        return f"  Webhooks:     not subscribed ({' '.join(error.messages)})"
    path = var_dir / SECRET_FILE_NAME
    path.write_text(subscription.secret + "\n")
    path.chmod(0o600)
    return (
        f"  Webhooks:     every event goes to {DEMO_RECEIVER_URL}, signed with {subscription.secret[:12]}... "
        f"(var/{SECRET_FILE_NAME})"
    )
