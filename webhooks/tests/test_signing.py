"""Standard Webhooks signing (``webhooks.signing``), checked against the reference verification.

Pure: no database. The fixed vector is the one published with the Standard
Webhooks reference libraries (secret, id, timestamp and body below).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac

import pytest
import time_machine
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook, WebhookVerificationError

from webhooks import signing

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
MESSAGE_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
TIMESTAMP = 1614265330
BODY = '{"test": 2432232314}'
EXPECTED = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_fixed_vector():
    assert signing.sign(secret=SECRET, message_id=MESSAGE_ID, timestamp=TIMESTAMP, body=BODY) == EXPECTED


def test_the_fixed_vector_is_hmac_sha256_of_id_timestamp_body_with_the_decoded_secret():
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{MESSAGE_ID}.{TIMESTAMP}.{BODY}".encode(), hashlib.sha256).digest()

    assert "v1," + base64.b64encode(digest).decode() == EXPECTED


def test_the_reference_verification_accepts_our_headers():
    headers = signing.webhook_headers(secrets=[SECRET], message_id=MESSAGE_ID, timestamp=TIMESTAMP, body=BODY)

    assert headers == {
        "content-type": "application/json",
        "webhook-id": MESSAGE_ID,
        "webhook-timestamp": str(TIMESTAMP),
        "webhook-signature": EXPECTED,
    }
    with time_machine.travel(TIMESTAMP, tick=False):
        assert Webhook(SECRET).verify(BODY, headers) == {"test": 2432232314}


def test_a_changed_body_id_or_timestamp_fails_verification():
    headers = signing.webhook_headers(secrets=[SECRET], message_id=MESSAGE_ID, timestamp=TIMESTAMP, body=BODY)
    with time_machine.travel(TIMESTAMP, tick=False):
        with pytest.raises(WebhookVerificationError):
            Webhook(SECRET).verify('{"test": 2432232315}', headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(SECRET).verify(BODY, {**headers, "webhook-id": "msg_other"})
        with pytest.raises(WebhookVerificationError):
            Webhook(SECRET).verify(BODY, {**headers, "webhook-timestamp": str(TIMESTAMP + 1)})


def test_two_secrets_give_two_signatures_each_verifiable_on_its_own():
    new = signing.generate_secret()
    headers = signing.webhook_headers(secrets=[new, SECRET], message_id=MESSAGE_ID, timestamp=TIMESTAMP, body=BODY)

    new_signature, old_signature = headers["webhook-signature"].split(" ")
    assert old_signature == EXPECTED
    with time_machine.travel(TIMESTAMP, tick=False):
        Webhook(new).verify(BODY, headers)
        Webhook(SECRET).verify(BODY, headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(signing.generate_secret()).verify(BODY, headers)


def test_signing_needs_a_secret():
    with pytest.raises(ValueError):
        signing.signature_header(secrets=[], message_id=MESSAGE_ID, timestamp=TIMESTAMP, body=BODY)


@given(
    body=st.text(max_size=300),
    message_id=st.from_regex(r"msg_[A-Za-z0-9]{1,30}", fullmatch=True),
    offset=st.integers(min_value=-200, max_value=200),
)
def test_any_message_verifies_with_the_reference_code(body, message_id, offset):
    secret = signing.generate_secret()
    now = int(dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp())
    headers = signing.webhook_headers(secrets=[secret], message_id=message_id, timestamp=now + offset, body=body)

    with time_machine.travel(now, tick=False):
        Webhook(secret).verify(body, headers, json_parse=False)


def test_generated_secrets_are_whsec_and_32_random_bytes():
    secrets = {signing.generate_secret() for _ in range(20)}

    assert len(secrets) == 20
    for secret in secrets:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        assert signing.secret_error(secret) is None


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with 'whsec_'"),
        ("whsec_", "24 to 64 bytes; this one has 0"),
        ("whsec_not base64!", "must be base64"),
        ("whsec_" + base64.b64encode(b"x" * 23).decode(), "this one has 23"),
        ("whsec_" + base64.b64encode(b"x" * 65).decode(), "this one has 65"),
    ],
)
def test_unusable_secrets_are_explained(secret, message):
    assert message in signing.secret_error(secret)
