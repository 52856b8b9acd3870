"""``make run``'s webhook receiver: the demo subscribes it once, and the launcher verifies each delivery."""

from __future__ import annotations

import io
import json
import time
import urllib.request

import pytest
from django.core.management import call_command

from devtools import WebhookReceiver
from devtools.run_local import describe_delivery
from webhooks.demo import DEMO_RECEIVER_URL, SECRET_FILE_NAME
from webhooks.models import WebhookSubscription
from webhooks.services import subscription_update
from webhooks.signing import generate_secret, webhook_headers

pytestmark = pytest.mark.django_db


@pytest.fixture
def var_dir(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    return tmp_path


def run_demo() -> str:
    out = io.StringIO()
    call_command("demo", stdout=out)
    return out.getvalue()


def test_the_demo_subscribes_the_local_receiver_once_and_keeps_its_secret_in_var(var_dir):
    first = run_demo()
    subscription = WebhookSubscription.objects.get()
    subscription_update(subscription=subscription, is_active=False)  # e.g. disabled while nobody listened
    second = run_demo()

    subscription = WebhookSubscription.objects.get()
    assert subscription.url == DEMO_RECEIVER_URL and subscription.is_active
    assert subscription.brand.slug == "demo" and len(subscription.event_types) == 8
    assert (var_dir / SECRET_FILE_NAME).read_text().strip() == subscription.secret
    assert oct((var_dir / SECRET_FILE_NAME).stat().st_mode & 0o777) == "0o600"
    for output in (first, second):
        assert f"signed with {subscription.secret[:12]}..." in output
        assert subscription.secret not in output
        assert output.strip().splitlines()[-1].startswith("  Demo API key")  # still the last line


def test_the_demo_still_runs_when_the_guard_refuses_the_local_receiver(var_dir, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False

    output = run_demo()

    assert "Webhooks:     not subscribed (127.0.0.1 is a loopback address" in output
    assert not WebhookSubscription.objects.exists()
    assert not (var_dir / SECRET_FILE_NAME).exists()


def signed(secret: str, body: dict) -> dict:
    raw = json.dumps(body)
    return {
        "raw_body": raw.encode(),
        "headers": webhook_headers(secrets=[secret], message_id="msg_1", timestamp=int(time.time()), body=raw),
    }


def test_the_launcher_says_whether_a_delivery_verifies(tmp_path):
    secret_file = tmp_path / SECRET_FILE_NAME
    body = {
        "type": "booking.created",
        "timestamp": "2026-12-01T08:00:00Z",
        "data": {"booking_id": 7, "status": "pending"},
    }

    assert describe_delivery(signed(generate_secret(), body), secret_file).endswith(
        "not verified: no " + SECRET_FILE_NAME + " (run `python manage.py demo`)"
    )
    secret = generate_secret()
    secret_file.write_text(secret + "\n")
    assert (
        describe_delivery(signed(secret, body), secret_file)
        == "booking.created booking 7 (pending) msg_1: signature valid"
    )
    tampered = signed(secret, body)
    tampered["raw_body"] = tampered["raw_body"].replace(b"pending", b"confirmed")
    assert describe_delivery(tampered, secret_file) == "msg_1 signature INVALID (No matching signature found)"


def test_the_receiver_prints_what_its_describer_says():
    lines: list[str] = []
    with WebhookReceiver(log=lines.append, describe=lambda request: f"{len(request['raw_body'])} bytes") as receiver:
        request = urllib.request.Request(receiver.url + "/demo", data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
        receiver.wait_for(1)

    assert lines == ["[webhook] POST /demo -> 200: 2 bytes"]
