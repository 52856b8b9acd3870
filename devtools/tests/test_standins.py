"""Stand-in tests, through the real resend / twilio SDKs (no Django).

Run with ``.venv/bin/pytest devtools -q`` (the tests need no Django, but the root conftest.py does;
without it: ``.venv/bin/pytest devtools -q -p no:django --noconftest``).
"""

import base64
import json
import queue
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import requests
import resend
import resend.exceptions
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from devtools import ResendStandin, StandinClient, TwilioStandin, WebhookReceiver

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "dev-token"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
EMAIL = {
    "from": "Acme <noreply@acme.test>",
    "to": ["alice@example.test"],
    "subject": "Your booking is confirmed",
    "html": "<p>See you soon</p>",
    "text": "See you soon",
    "headers": {"X-Entity-Ref-ID": "booking-42"},
    "attachments": [{"filename": "invite.ics", "content": base64.b64encode(b"BEGIN:VCALENDAR").decode()}],
}


def http(method, url, body=None, headers=None, timeout=5):
    """(status, parsed JSON or text) via urllib, HTTP errors included."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with NO_PROXY.open(request, timeout=timeout) as response:
            status, raw, ctype = response.status, response.read(), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        status, raw, ctype = exc.code, exc.read(), exc.headers.get("Content-Type", "")
    return status, json.loads(raw) if "json" in ctype else raw.decode()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def resend_server(monkeypatch):
    with ResendStandin() as server:
        monkeypatch.setattr(resend, "api_key", "re_test_key")
        monkeypatch.setattr(resend, "api_url", server.url)
        monkeypatch.setattr(resend, "default_http_client", resend.RequestsClient(timeout=5))
        yield server


@pytest.fixture
def twilio_server():
    with TwilioStandin() as server:
        yield server


@pytest.fixture
def twilio_client(twilio_server):
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=TwilioHttpClient(timeout=5))
    client.api.base_url = twilio_server.url
    return client


@pytest.fixture
def webhook_server():
    with WebhookReceiver() as server:
        yield server


# --------------------------------------------------------------------------- Resend


def test_resend_email_recorded_with_headers_and_body(resend_server):
    result = resend.Emails.send(EMAIL, options={"idempotency_key": "booking-42-confirmation"})

    assert re.fullmatch(r"[0-9a-f-]{36}", result["id"])
    [email] = resend_server.wait_for(count=1, timeout=2)
    assert email["id"] == result["id"]
    assert email["to"] == ["alice@example.test"]
    assert email["subject"] == "Your booking is confirmed"
    assert email["html"] == "<p>See you soon</p>" and email["text"] == "See you soon"
    assert email["headers"] == {"X-Entity-Ref-ID": "booking-42"}
    assert email["attachments"][0]["filename"] == "invite.ics"
    assert email["idempotency_key"] == "booking-42-confirmation"
    assert email["api_key"] == "re_test_key"

    [request] = resend_server.requests
    assert (request["method"], request["path"], request["status"]) == ("POST", "/emails", 200)
    assert request["headers"]["Authorization"] == "Bearer re_test_key"
    assert request["headers"]["idempotency-key"] == "booking-42-confirmation"  # case-insensitive
    assert request["json"] == EMAIL
    assert request["received_at"]


def test_resend_same_idempotency_key_delivers_once(resend_server):
    first = resend.Emails.send(EMAIL, options={"idempotency_key": "same-key"})
    second = resend.Emails.send(EMAIL, options={"idempotency_key": "same-key"})
    other = resend.Emails.send(EMAIL, options={"idempotency_key": "other-key"})

    assert first["id"] == second["id"] != other["id"]
    assert [e["id"] for e in resend_server.emails] == [first["id"], other["id"]]
    assert len(resend_server.requests) == 3
    assert resend_server.requests[1].get("idempotent_replay") is True

    with pytest.raises(resend.exceptions.ResendError) as excinfo:  # same key, different payload
        resend.Emails.send({**EMAIL, "subject": "changed"}, options={"idempotency_key": "same-key"})
    assert excinfo.value.code == 409


def test_resend_fail_next_then_success(resend_server):
    resend_server.fail_next(3, status=500)

    for _ in range(3):
        with pytest.raises(resend.exceptions.ApplicationError) as excinfo:
            resend.Emails.send(EMAIL, options={"idempotency_key": "retry-me"})
        assert excinfo.value.code == 500
    result = resend.Emails.send(EMAIL, options={"idempotency_key": "retry-me"})

    assert [e["id"] for e in resend_server.emails] == [result["id"]]  # failures did not consume the key
    assert [r["status"] for r in resend_server.requests] == [500, 500, 500, 200]


def test_resend_rate_limit_fault(resend_server):
    resend_server.fail_next(1, status=429, headers={"Retry-After": "1"})
    with pytest.raises(resend.exceptions.RateLimitError) as excinfo:
        resend.Emails.send(EMAIL)
    assert excinfo.value.headers.get("Retry-After") == "1"


def test_resend_missing_api_key(resend_server, monkeypatch):
    monkeypatch.setattr(resend, "api_key", None)  # the SDK then sends "Bearer None"
    with pytest.raises(resend.exceptions.MissingApiKeyError) as excinfo:
        resend.Emails.send(EMAIL)
    assert excinfo.value.code == 401
    assert resend_server.emails == []

    status, body = http("POST", f"{resend_server.url}/emails", EMAIL, {"Content-Type": "application/json"})
    assert status == 401
    assert body["statusCode"] == 401 and body["name"] == "missing_api_key" and body["message"]


def test_resend_invalid_api_key_and_validation():
    with ResendStandin(api_key="re_right") as server:
        headers = {"Content-Type": "application/json", "Authorization": "Bearer re_wrong"}
        status, body = http("POST", f"{server.url}/emails", EMAIL, headers)
        assert (status, body["name"]) == (403, "invalid_api_key")
        headers["Authorization"] = "Bearer re_right"
        status, body = http("POST", f"{server.url}/emails", {"from": "a@b.test", "subject": "x"}, headers)
        assert (status, body["name"]) == (422, "missing_required_field")
        assert server.emails == []


def batch_email(number: int) -> dict:
    return {**{k: v for k, v in EMAIL.items() if k != "attachments"}, "to": [f"student{number}@example.test"]}


def test_resend_batch_delivers_each_email_once_per_idempotency_key(resend_server):
    emails = [batch_email(n) for n in range(3)]

    first = resend.Batch.send(emails, options={"idempotency_key": "batch-1"})
    again = resend.Batch.send(emails, options={"idempotency_key": "batch-1"})

    ids = [item["id"] for item in first["data"]]
    assert len(set(ids)) == 3 and [item["id"] for item in again["data"]] == ids
    delivered = resend_server.emails
    assert [(e["to"], e["id"], e["batch_index"]) for e in delivered] == [(emails[n]["to"], ids[n], n) for n in range(3)]
    assert {e["idempotency_key"] for e in delivered} == {"batch-1"}
    assert resend_server.requests[1].get("idempotent_replay") is True
    assert resend_server.requests[0]["path"] == "/emails/batch"

    with pytest.raises(resend.exceptions.ResendError) as excinfo:  # same key, another list
        resend.Batch.send(emails[:2], options={"idempotency_key": "batch-1"})
    assert (excinfo.value.code, excinfo.value.error_type) == (409, "invalid_idempotent_request")
    assert len(resend_server.emails) == 3


def test_resend_batch_is_refused_whole_when_one_email_is_invalid_or_has_attachments(resend_server):
    with_attachment = {**batch_email(9), "attachments": EMAIL["attachments"]}
    for bad in ({"from": "a@b.test", "subject": "no recipient"}, with_attachment):
        with pytest.raises(resend.exceptions.ResendError) as excinfo:
            resend.Batch.send([batch_email(1), bad], options={"idempotency_key": "strict"})
        assert excinfo.value.code == 422
        assert "emails[1]" in excinfo.value.message
    with pytest.raises(resend.exceptions.ResendError) as excinfo:
        resend.Batch.send([batch_email(n) for n in range(101)])
    assert excinfo.value.code == 422 and "at most 100" in excinfo.value.message
    assert resend_server.emails == []
    # A refused batch did not consume its key.
    assert len(resend.Batch.send([batch_email(1)], options={"idempotency_key": "strict"})["data"]) == 1


# --------------------------------------------------------------------------- Twilio


def test_twilio_sms_and_whatsapp_recorded(twilio_server, twilio_client):
    sms = twilio_client.messages.create(to="+15551234567", from_="+15005550006", body="Booking confirmed")
    whatsapp = twilio_client.messages.create(
        to="whatsapp:+33612345678", from_="whatsapp:+15005550006", body="Réservation confirmée"
    )

    assert re.fullmatch(r"SM[0-9a-f]{32}", sms.sid)
    assert (sms.status, sms.to, sms.from_, sms.body) == ("queued", "+15551234567", "+15005550006", "Booking confirmed")
    assert sms.account_sid == ACCOUNT_SID and sms.date_created is not None
    assert whatsapp.to == "whatsapp:+33612345678"

    first, second = twilio_server.wait_for(count=2, timeout=2)
    assert first["sid"] == sms.sid
    assert first["params"]["To"] == "+15551234567"
    assert first["params"]["From"] == "+15005550006"
    assert first["params"]["Body"] == "Booking confirmed"
    assert first["channel"] == "sms" and second["channel"] == "whatsapp"
    assert second["to"] == "whatsapp:+33612345678" and second["from"] == "whatsapp:+15005550006"
    assert second["body"] == "Réservation confirmée"
    assert first["auth"] == {"username": ACCOUNT_SID, "password": AUTH_TOKEN}
    assert first["account_sid"] == ACCOUNT_SID
    request = twilio_server.requests[0]
    assert request["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request["headers"]["Authorization"].startswith("Basic ")
    assert request["status"] == 201

    fetched = twilio_client.messages(sms.sid).fetch()  # GET .../Messages/SM....json
    assert fetched.body == "Booking confirmed"


def test_twilio_lists_messages_by_to_from_and_date_sent_through_the_sdk(twilio_server, twilio_client):
    import datetime as dt

    sent = [
        twilio_client.messages.create(to=to, from_=sender, body=f"message {n}")
        for n, (to, sender) in enumerate(
            [("+15551234567", "+15005550006"), ("+15551234567", "+15005550007"), ("+15557654321", "+15005550006")]
        )
    ]
    today = dt.datetime.now(dt.UTC)

    listed = twilio_client.messages.list(to="+15551234567", from_="+15005550006", date_sent_after=today.date())
    assert [m.sid for m in listed] == [sent[0].sid]
    assert listed[0].body == "message 0" and listed[0].status == "sent"
    assert listed[0].date_sent is not None and abs(listed[0].date_sent - today) < dt.timedelta(minutes=1)
    assert [m.sid for m in twilio_client.messages.list(to="+15551234567")] == [sent[1].sid, sent[0].sid]
    tomorrow = today + dt.timedelta(days=1)
    assert twilio_client.messages.list(to="+15551234567", date_sent_after=tomorrow) == []
    assert len(twilio_client.messages.list(date_sent_before=tomorrow)) == 3
    assert len(twilio_client.messages.list(date_sent=today.date())) == 3
    # Paging follows next_page_uri: three pages of one.
    assert [m.sid for m in twilio_client.messages.list(page_size=1)] == [m.sid for m in reversed(sent)]
    request = twilio_server.requests[3]
    assert request["method"] == "GET" and request["query"]["To"] == "+15551234567"
    assert request["query"]["DateSent>"].startswith(today.date().isoformat())


def test_twilio_list_refuses_a_bad_date_and_needs_auth(twilio_server):
    url = f"{twilio_server.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    auth = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    status, body = http("GET", url + "?DateSent%3E=yesterday", headers={"Authorization": auth})
    assert status == 400 and "DateSent>" in body["message"]
    status, body = http("GET", url)
    assert status == 401 and body["code"] == 20003


def test_twilio_invalid_number_raises_21211(twilio_server, twilio_client):
    with pytest.raises(TwilioRestException) as excinfo:
        twilio_client.messages.create(to="0612345678", from_="+15005550006", body="hi")
    assert excinfo.value.status == 400
    assert excinfo.value.code == 21211
    assert "0612345678" in excinfo.value.msg
    assert twilio_server.messages == []
    assert twilio_server.requests[0]["response"]["more_info"].endswith("/21211")


def test_twilio_rejected_numbers_and_faults(twilio_server, twilio_client):
    twilio_server.reject("+15551230000", code=21610, message="Attempt to send to unsubscribed recipient")
    for to, code in [("+15551230000", 21610), ("whatsapp:+15551230000", 21610), ("+15005550001", 21211)]:
        with pytest.raises(TwilioRestException) as excinfo:
            twilio_client.messages.create(to=to, from_="+15005550006" if ":" not in to else "whatsapp:+1500", body="hi")
        assert (excinfo.value.status, excinfo.value.code) == (400, code)

    twilio_server.fail_next(1, status=500)
    with pytest.raises(TwilioRestException) as excinfo:
        twilio_client.messages.create(to="+15551234567", from_="+15005550006", body="hi")
    assert excinfo.value.status == 500
    assert twilio_client.messages.create(to="+15551234567", from_="+15005550006", body="hi").sid
    assert len(twilio_server.messages) == 1


def test_twilio_requires_basic_auth(twilio_server):
    url = f"{twilio_server.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    status, body = http(
        "POST",
        url,
        b"To=%2B15551234567&From=%2B15005550006&Body=hi",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 401 and body["code"] == 20003
    with TwilioStandin(auth_token="right") as strict:
        client = Client(ACCOUNT_SID, "wrong")
        client.api.base_url = strict.url
        with pytest.raises(TwilioRestException) as excinfo:
            client.messages.create(to="+15551234567", from_="+15005550006", body="hi")
        assert excinfo.value.status == 401


# --------------------------------------------------------------------------- webhooks


def test_webhook_receiver_records_and_answers_configured_status(webhook_server):
    payload = b'{"event": "booking.created", "id": 42}'
    headers = {"Content-Type": "application/json", "X-Signature": "sha256=abc"}
    status, body = http("POST", f"{webhook_server.url}/hooks/bookings?attempt=1", payload, headers)
    assert status == 200 and body == {"received": True}

    webhook_server.respond_with(503)
    status, _ = http(
        "POST", f"{webhook_server.url}/anything", b"x=1", {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 503

    first, second = webhook_server.wait_for(count=2, timeout=2)
    assert first["path"] == "/hooks/bookings" and first["query"] == {"attempt": "1"}
    assert first["headers"]["x-signature"] == "sha256=abc"
    assert first["raw_body"] == payload and first["json"] == {"event": "booking.created", "id": 42}
    assert (first["status"], second["status"]) == (200, 503)
    assert second["form"] == {"x": "1"}


# --------------------------------------------------------------------------- control API, delay


def test_http_control_api_from_another_thread(resend_server):
    results = {}

    def other_process_stand_in():
        base = f"{resend_server.url}/__standin__"
        results["fail"] = http(
            "POST", f"{base}/fail", {"times": 1, "status": 500}, {"Content-Type": "application/json"}
        )
        results["ready"] = True

    thread = threading.Thread(target=other_process_stand_in)
    thread.start()
    thread.join(5)
    assert results["fail"][0] == 200 and results["fail"][1]["pending_faults"] == 1

    with pytest.raises(resend.exceptions.ApplicationError):
        resend.Emails.send(EMAIL)
    sent = resend.Emails.send(EMAIL)

    control = StandinClient(resend_server.url)
    waited = queue.Queue()
    threading.Thread(target=lambda: waited.put(control.wait_for(count=1, timeout=2))).start()
    assert [e["id"] for e in waited.get(timeout=5)] == [sent["id"]]
    assert [r["status"] for r in control.requests()] == [500, 200]
    assert base64.b64decode(control.requests()[1]["raw_body"]).startswith(b"{")
    assert control.records()[0]["subject"] == EMAIL["subject"]
    assert control.state()["emails"] == 1

    control.drop_next(1)
    with pytest.raises(resend.exceptions.ResendError) as excinfo:
        resend.Emails.send(EMAIL)
    assert excinfo.value.error_type == "HttpClientError"

    control.reset()
    assert resend_server.requests == [] and resend_server.emails == []
    with pytest.raises(TimeoutError):
        control.wait_for(count=1, timeout=0.1)
    status, body = http("GET", f"{resend_server.url}/__standin__/nope")
    assert status == 404


def test_twilio_and_webhook_control_endpoints(twilio_server, twilio_client, webhook_server):
    StandinClient(twilio_server.url).reject("+15559990000", code=21614)
    with pytest.raises(TwilioRestException) as excinfo:
        twilio_client.messages.create(to="+15559990000", from_="+15005550006", body="hi")
    assert excinfo.value.code == 21614

    StandinClient(webhook_server.url).respond_with(418, body="teapot")
    assert http("POST", f"{webhook_server.url}/x", b"{}") == (418, "teapot")
    assert StandinClient(webhook_server.url).records()[0]["path"] == "/x"


def test_delay_makes_short_timeout_client_time_out(webhook_server, resend_server, monkeypatch):
    webhook_server.set_delay(1.0)
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        http("POST", f"{webhook_server.url}/slow", b"{}", timeout=0.2)

    # Resend processes the request, then answers late: the SDK times out, and a
    # retry with the same idempotency key must not deliver a second email.
    resend_server.set_delay(1.0, times=1)
    monkeypatch.setattr(resend, "default_http_client", resend.RequestsClient(timeout=0.2))
    with pytest.raises(resend.exceptions.ResendError) as excinfo:
        resend.Emails.send(EMAIL, options={"idempotency_key": "slow"})
    assert excinfo.value.error_type == "HttpClientError"
    retried = resend.Emails.send(EMAIL, options={"idempotency_key": "slow"})
    assert [e["id"] for e in resend_server.emails] == [retried["id"]]


def test_twilio_sdk_times_out_on_delay(twilio_server):
    twilio_server.set_delay(1.0)
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=TwilioHttpClient(timeout=0.2))
    client.api.base_url = twilio_server.url
    with pytest.raises(requests.exceptions.Timeout):
        client.messages.create(to="+15551234567", from_="+15005550006", body="hi")


# --------------------------------------------------------------------------- CLI


def test_cli_prints_one_line_per_message():
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "devtools", "--resend-port", "0", "--twilio-port", "0", "--webhook-port", "0"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()

    def next_line():
        return lines.get(timeout=10)

    try:
        urls = {}
        while len(urls) < 3:
            match = re.match(r"\s+(resend|twilio|webhook)\s+(http://\S+?)(?:/<any path>)?\s", next_line())
            if match:
                urls[match.group(1)] = match.group(2)
        banner = ""
        while "TWILIO_API_URL=" not in banner:  # the environment lines end the banner
            banner += next_line()
        assert f"RESEND_API_URL={urls['resend']}" in banner and f"TWILIO_API_URL={urls['twilio']}" in banner

        http(
            "POST",
            f"{urls['resend']}/emails",
            EMAIL,
            {"Content-Type": "application/json", "Authorization": "Bearer re_dev"},
        )
        assert re.search(r"\[resend\] email to=alice@example.test subject='Your booking is confirmed'", next_line())
        http(
            "POST",
            f"{urls['twilio']}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
            b"To=%2B15551234567&From=%2B15005550006&Body=Hello+there",
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": "Basic " + base64.b64encode(f"{ACCOUNT_SID}:dev".encode()).decode(),
            },
        )
        assert "[twilio] sms to=+15551234567 from=+15005550006: 'Hello there'" in next_line()
        http("POST", f"{urls['webhook']}/hooks/x", b'{"a": 1}', {"Content-Type": "application/json"})
        assert "[webhook] POST /hooks/x 8B application/json -> 200" in next_line()
    finally:
        process.terminate()
        assert process.wait(timeout=5) == 0
