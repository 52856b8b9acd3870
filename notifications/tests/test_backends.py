"""The delivery backends against the stand-ins, with the real SDKs, and how settings choose them."""

from __future__ import annotations

import base64
import logging
import socket

import pytest

from devtools import ResendStandin, TwilioStandin
from notifications import backends
from notifications.backends import (
    Attachment,
    ConsoleBackend,
    MemoryBackend,
    OutgoingMessage,
    PermanentError,
    ResendEmailBackend,
    TemporaryError,
    TwilioSmsBackend,
    backend_for,
    channel_unavailable_reason,
    sender_for,
)
from scheduling.models import Brand

SID = "AC" + "2" * 32


def email(**overrides) -> OutgoingMessage:
    fields = {
        "channel": "email",
        "to": "ada@example.com",
        "sender": "Acme <hello@acme.test>",
        "subject": "Hello",
        "text": "Hi Ada",
        "html": "<p>Hi Ada</p>",
        "reply_to": "coach@example.com",
        "attachments": (Attachment("booking.ics", b"BEGIN:VCALENDAR\r\n", "text/calendar; method=REQUEST"),),
        "idempotency_key": "notification-7",
    }
    return OutgoingMessage(**{**fields, **overrides})


def text(channel: str = "sms", to: str = "+15551234567", sender: str = "+15005550006") -> OutgoingMessage:
    return OutgoingMessage(channel=channel, to=to, sender=sender, text="Your session is tomorrow")


def unused_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def resend_server():
    with ResendStandin(api_key="re_key") as server:
        yield server


@pytest.fixture
def twilio_server():
    with TwilioStandin(auth_token="token") as server:
        yield server


def resend_backend(url: str, key: str = "re_key", timeout: float = 5) -> ResendEmailBackend:
    return ResendEmailBackend(api_key=key, api_url=url, timeout=timeout)


def twilio_backend(url: str, token: str = "token") -> TwilioSmsBackend:
    return TwilioSmsBackend(account_sid=SID, auth_token=token, api_url=url, timeout=5)


# --- Resend ----------------------------------------------------------------------------------


def test_resend_sends_the_email_with_key_idempotency_key_and_attachment(resend_server):
    message_id = resend_backend(resend_server.url).send(email())

    (received,) = resend_server.emails
    assert received["id"] == message_id
    assert received["from"] == "Acme <hello@acme.test>"
    assert received["to"] == ["ada@example.com"]
    assert (received["subject"], received["text"], received["html"]) == ("Hello", "Hi Ada", "<p>Hi Ada</p>")
    assert received["reply_to"] == ["coach@example.com"]
    assert received["api_key"] == "re_key"
    assert received["request_headers"]["Idempotency-Key"] == "notification-7"
    (attachment,) = received["attachments"]
    assert attachment["filename"] == "booking.ics"
    assert attachment["content_type"] == "text/calendar; method=REQUEST"
    assert base64.b64decode(attachment["content"]) == b"BEGIN:VCALENDAR\r\n"


def test_resend_answers_the_same_id_for_a_repeated_idempotency_key(resend_server):
    backend = resend_backend(resend_server.url)
    assert backend.send(email()) == backend.send(email())
    assert len(resend_server.emails) == 1


def test_a_key_reused_with_another_body_means_an_earlier_request_was_accepted(resend_server):
    """Resend answers 409 ``invalid_idempotent_request``: neither a failure to retry nor a permanent one."""
    backend = resend_backend(resend_server.url)
    backend.send(email())

    with pytest.raises(backends.DeliveryError) as error:
        backend.send(email(subject="Hello again"))

    assert isinstance(error.value, backends.AlreadyAccepted)
    assert not isinstance(error.value, PermanentError | TemporaryError)
    assert (error.value.status, error.value.code) == (409, "invalid_idempotent_request")
    assert len(resend_server.emails) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_resend_server_errors_and_rate_limits_are_temporary(resend_server, status):
    resend_server.fail_next(1, status=status)
    with pytest.raises(TemporaryError) as error:
        resend_backend(resend_server.url).send(email())
    assert error.value.status == status
    assert f"Resend {status}" in str(error.value)


@pytest.mark.parametrize("status", [400, 422])
def test_resend_validation_errors_are_permanent(resend_server, status):
    resend_server.fail_next(1, status=status)
    with pytest.raises(PermanentError):
        resend_backend(resend_server.url).send(email())


def test_a_wrong_resend_key_is_permanent(resend_server):
    with pytest.raises(PermanentError, match="Resend 403"):
        resend_backend(resend_server.url, key="re_wrong").send(email())


def test_resend_unreachable_is_temporary():
    with pytest.raises(TemporaryError, match="HttpClientError"):
        resend_backend(unused_port_url()).send(email())


def test_a_resend_timeout_is_temporary(resend_server):
    resend_server.set_delay(1.5, times=1)
    with pytest.raises(TemporaryError):
        resend_backend(resend_server.url, timeout=0.3).send(email())


def test_a_dropped_resend_connection_is_temporary(resend_server):
    resend_server.drop_next(1)
    with pytest.raises(TemporaryError):
        resend_backend(resend_server.url).send(email())


# --- Twilio ----------------------------------------------------------------------------------


def test_twilio_sends_an_sms(twilio_server):
    sid = twilio_backend(twilio_server.url).send(text())

    (message,) = twilio_server.messages
    assert message["sid"] == sid and sid.startswith("SM")
    assert (message["to"], message["from"], message["body"], message["channel"]) == (
        "+15551234567",
        "+15005550006",
        "Your session is tomorrow",
        "sms",
    )
    assert message["auth"] == {"username": SID, "password": "token"}


def test_twilio_whatsapp_prefixes_both_addresses(twilio_server):
    twilio_backend(twilio_server.url).send(text(channel="whatsapp", sender="+14155238886"))

    (message,) = twilio_server.messages
    assert (message["to"], message["from"], message["channel"]) == (
        "whatsapp:+15551234567",
        "whatsapp:+14155238886",
        "whatsapp",
    )


def test_a_number_twilio_rejects_is_permanent_with_its_code(twilio_server):
    with pytest.raises(PermanentError) as error:
        twilio_backend(twilio_server.url).send(text(to="+15005550001"))
    assert (error.value.status, error.value.code) == (400, 21211)
    assert str(error.value).startswith("Twilio 400 (code 21211): ")


def test_a_malformed_number_is_permanent(twilio_server):
    with pytest.raises(PermanentError, match="21211"):
        twilio_backend(twilio_server.url).send(text(to="0151 not a number"))


def test_twilio_server_errors_are_temporary(twilio_server):
    twilio_server.fail_next(1, status=503)
    with pytest.raises(TemporaryError, match="Twilio 503"):
        twilio_backend(twilio_server.url).send(text())


def test_wrong_twilio_credentials_are_permanent(twilio_server):
    with pytest.raises(PermanentError, match="Twilio 401"):
        twilio_backend(twilio_server.url, token="wrong").send(text())


def test_twilio_unreachable_is_temporary():
    with pytest.raises(TemporaryError, match="Twilio unreachable"):
        twilio_backend(unused_port_url()).send(text())


# --- local backends --------------------------------------------------------------------------


def test_the_memory_backend_keeps_messages_in_the_outbox():
    backends.outbox.clear()
    message_id = MemoryBackend().send(email())
    assert backends.outbox == [email()]
    assert message_id.startswith("memory-")
    backends.outbox.clear()


def test_the_console_backend_logs_the_message(caplog):
    with caplog.at_level(logging.INFO, logger="notifications.backends"):
        message_id = ConsoleBackend().send(email())
    assert message_id.startswith("console-")
    assert "to=ada@example.com" in caplog.text and "'Hello'" in caplog.text and "Hi Ada" in caplog.text


# --- selection by settings ---------------------------------------------------------------------


def test_email_without_a_resend_key_uses_the_local_backend(settings):
    settings.RESEND_API_KEY = ""
    settings.NOTIFICATIONS_LOCAL_BACKEND = "console"
    assert isinstance(backend_for("email"), ConsoleBackend)
    settings.NOTIFICATIONS_LOCAL_BACKEND = "memory"
    assert isinstance(backend_for("email"), MemoryBackend)
    assert channel_unavailable_reason("email") is None


def test_the_test_settings_select_the_memory_backend_and_no_real_provider(settings):
    assert settings.RESEND_API_KEY == "" and settings.TWILIO_ACCOUNT_SID == ""
    assert isinstance(backend_for("email"), MemoryBackend)


def test_email_with_a_resend_key_uses_resend_at_the_configured_url(settings):
    settings.RESEND_API_KEY = "re_live"
    settings.RESEND_API_URL = "http://127.0.0.1:9/"
    settings.NOTIFICATIONS_PROVIDER_TIMEOUT = 3
    backend = backend_for("email")
    assert isinstance(backend, ResendEmailBackend)
    assert (backend.api_key, backend.api_url, backend.timeout) == ("re_live", "http://127.0.0.1:9", 3)


def test_sms_and_whatsapp_without_twilio_credentials_are_not_configured(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    assert backend_for("sms") is None
    assert channel_unavailable_reason("sms") == "SMS is not configured (TWILIO_* settings)"
    assert channel_unavailable_reason("whatsapp") == "WhatsApp is not configured (TWILIO_* settings)"


def test_twilio_needs_a_sender_per_channel(settings):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, "token"
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_WHATSAPP_FROM = "+15005550006", ""
    settings.TWILIO_API_URL = "http://127.0.0.1:9"
    assert isinstance(backend_for("sms"), TwilioSmsBackend)
    assert backend_for("whatsapp") is None
    assert "TWILIO_WHATSAPP_FROM" in channel_unavailable_reason("whatsapp")
    brand = Brand(name="Acme", slug="acme", whatsapp_from="+14155238886")
    assert isinstance(backend_for("whatsapp", brand), TwilioSmsBackend)


def test_a_forced_backend_configures_a_channel(settings):
    settings.TWILIO_ACCOUNT_SID = ""
    settings.NOTIFICATIONS_BACKENDS = {"sms": "memory"}
    assert isinstance(backend_for("sms"), MemoryBackend)
    assert channel_unavailable_reason("sms") is None


def test_an_unknown_forced_backend_is_an_error(settings):
    settings.NOTIFICATIONS_BACKENDS = {"email": "carrier-pigeon"}
    with pytest.raises(ValueError, match="carrier-pigeon"):
        backend_for("email")


def test_the_sender_identity_falls_back_field_by_field(settings):
    settings.RESEND_FROM_EMAIL = "Bookings <bookings@example.com>"
    settings.TWILIO_FROM_NUMBER, settings.TWILIO_WHATSAPP_FROM = "+15005550006", "+14155238886"
    plain = Brand(name="Plain", slug="plain")
    named = Brand(name="Named", slug="named", from_name="Acme Coaching")
    full = Brand(name="Full", slug="full", from_name="Acme", from_email="hi@acme.test", sms_from="+15005550007")

    assert sender_for("email", plain) == "Bookings <bookings@example.com>"
    assert sender_for("email", named) == "Acme Coaching <bookings@example.com>"
    assert sender_for("email", full) == "Acme <hi@acme.test>"
    assert sender_for("sms", plain) == "+15005550006"
    assert sender_for("sms", full) == "+15005550007"
    assert sender_for("whatsapp", full) == "+14155238886"
