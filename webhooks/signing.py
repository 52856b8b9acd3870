"""Standard Webhooks signing: secrets, the three headers and the signature.

Pure: plain values in, plain values out, no Django. The HMAC itself comes
from the ``standardwebhooks`` library (the reference implementation), so what
we send is exactly what its ``Webhook.verify`` accepts on the receiving end.

A secret is ``whsec_`` followed by the base64 of 24 to 64 random bytes; the
HMAC key is the decoded bytes. A message carries one ``v1,<base64 HMAC-SHA256
of "id.timestamp.body">`` per secret, space-separated: during a rotation the
old and the new secret both sign, so a receiver that still has either one
verifies every delivery.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
from collections.abc import Sequence

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


def generate_secret() -> str:
    """A new signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def secret_error(secret: str) -> str | None:
    """Why ``secret`` cannot be used to sign, or ``None`` when it can."""
    if not isinstance(secret, str) or not secret.startswith(SECRET_PREFIX):
        return f"A secret starts with {SECRET_PREFIX!r} followed by base64 (leave it out to have one generated)."
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return f"The part after {SECRET_PREFIX!r} must be base64."
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        return f"The secret must decode to {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes; this one has {len(key)}."
    return None


def sign(*, secret: str, message_id: str, timestamp: int, body: str) -> str:
    """``v1,<base64 signature>`` of one message with one secret."""
    moment = dt.datetime.fromtimestamp(timestamp, tz=dt.UTC)
    return Webhook(secret).sign(msg_id=message_id, timestamp=moment, data=body)


def signature_header(*, secrets: Sequence[str], message_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` value: one signature per secret, space-separated."""
    if not secrets:
        raise ValueError("at least one secret is needed to sign")
    return " ".join(sign(secret=secret, message_id=message_id, timestamp=timestamp, body=body) for secret in secrets)


def webhook_headers(*, secrets: Sequence[str], message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The request headers of one attempt: content type and the three Standard Webhooks headers."""
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets=secrets, message_id=message_id, timestamp=timestamp, body=body),
    }
