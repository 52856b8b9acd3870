"""Delivery backends: one small class per way of sending a message.

A backend takes an :class:`OutgoingMessage` (already rendered, sender already
resolved) and returns the provider's message id, or raises
:class:`PermanentError` (retrying cannot help: invalid number, validation
error, bad credentials), :class:`TemporaryError` (try again later: 5xx,
429, timeouts, connection errors) or :class:`AlreadyAccepted` (an earlier
request with the same idempotency key was accepted). The caller
(``notifications.services``) turns those into the notification's status and
its retry schedule.

Two providers' abilities shape the sending (``docs/notifications.md``):

* Resend takes up to 100 emails in one request (``send_batch``) under one
  Idempotency-Key; attachments cannot go that way;
* Twilio has no idempotency key, but lists what it sent (``find_sent``): a
  retry of an SMS whose earlier attempt may have reached Twilio looks there
  first instead of sending blind.

Backends are called from several threads of one send task at once (the
requests wait on the network), so they keep no per-request state.

Which backend sends a channel is decided by settings (:func:`backend_for`):

* email: :class:`ResendEmailBackend` when ``RESEND_API_KEY`` is set, else
  ``NOTIFICATIONS_LOCAL_BACKEND`` (``console`` locally, ``memory`` in tests);
* SMS / WhatsApp: :class:`TwilioSmsBackend` when ``TWILIO_ACCOUNT_SID`` and
  ``TWILIO_AUTH_TOKEN`` are set and there is a sender (the brand's
  ``sms_from``/``whatsapp_from`` or ``TWILIO_FROM_NUMBER``/``TWILIO_WHATSAPP_FROM``);
  otherwise the channel is *not configured* (a warning, not a console print);
* ``NOTIFICATIONS_BACKENDS`` (``{"sms": "memory"}``...) forces a backend for
  a channel, e.g. in tests.

Both SDKs are the real ones, pointed at ``RESEND_API_URL`` / ``TWILIO_API_URL``,
so the devtools stand-ins can receive their requests.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import logging
import threading
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from email.utils import formataddr, parseaddr
from typing import Protocol

import requests
import resend
from django.conf import settings
from resend.exceptions import ResendError
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

logger = logging.getLogger(__name__)

EMAIL = "email"
SMS = "sms"
WHATSAPP = "whatsapp"
WHATSAPP_PREFIX = "whatsapp:"
TEXT_CHANNEL_NAMES = {SMS: "SMS", WHATSAPP: "WhatsApp"}


class DeliveryError(Exception):
    """A provider refused or could not take the message; ``str()`` is what the log shows."""

    def __init__(self, message: str, *, status: int | None = None, code: str | int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


class PermanentError(DeliveryError):
    """Retrying the same message cannot succeed (4xx: invalid recipient, validation, auth)."""


class TemporaryError(DeliveryError):
    """The provider may accept the same message later (5xx, 429, timeout, connection)."""


class AlreadyAccepted(DeliveryError):
    """The provider already accepted a request with this idempotency key, with another body.

    Resend answers ``409 invalid_idempotent_request`` when a key comes back with
    a different payload: the first request under that key was accepted (the
    email went out then), so this message counts as sent, not as a failure.
    """


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    to: str
    sender: str
    subject: str = ""
    text: str = ""
    html: str = ""
    reply_to: str = ""
    attachments: tuple[Attachment, ...] = ()
    idempotency_key: str = ""
    """Resend ``Idempotency-Key``: the same key never sends a second email."""


class Backend(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> str:
        """Hand the message to the provider; return its message id."""


BATCH_LIMIT = 100
"""Emails in one Resend batch request (the API's maximum)."""


# --- email: Resend --------------------------------------------------------------


_resend_lock = threading.Lock()
_resend_clients: dict[float, object] = {}


def _resend_http_client(timeout: float):
    with _resend_lock:
        client = _resend_clients.get(timeout)
        if client is None:
            client = _resend_clients[timeout] = resend.RequestsClient(timeout=timeout)
        return client


class ResendEmailBackend:
    """Email through the ``resend`` SDK.

    The SDK keeps its key, base URL and HTTP client in module globals that it
    reads on every request (see ``devtools/README.md``), so they are set before
    each send; every process uses the same values, so concurrent sends agree.
    """

    name = "resend"

    def __init__(self, *, api_key: str, api_url: str, timeout: float):
        self.api_key = api_key
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def _configure(self) -> None:
        resend.api_key = self.api_key
        resend.api_url = self.api_url
        resend.default_http_client = _resend_http_client(self.timeout)

    def send(self, message: OutgoingMessage) -> str:
        self._configure()
        options = {"idempotency_key": message.idempotency_key} if message.idempotency_key else None
        try:
            result = resend.Emails.send(_resend_params(message), options=options)
        except ResendError as error:
            raise _resend_error(error) from error
        return str(result["id"])

    def send_batch(self, messages: Sequence[OutgoingMessage], *, idempotency_key: str) -> list[str]:
        """Up to :data:`BATCH_LIMIT` emails without attachments in one request; their ids, in order.

        One Idempotency-Key covers the whole request (Resend has none per email
        in a batch), so a retry must send the very same list under it. Strict
        validation: one invalid email refuses the batch (a ``PermanentError``
        with status 422), and nothing is sent.
        """
        if not messages or len(messages) > BATCH_LIMIT or any(message.attachments for message in messages):
            raise ValueError(f"A batch holds 1 to {BATCH_LIMIT} emails without attachments.")
        self._configure()
        try:
            result = resend.Batch.send(
                [_resend_params(message) for message in messages], options={"idempotency_key": idempotency_key}
            )
        except ResendError as error:
            raise _resend_error(error) from error
        ids = [str(item["id"]) for item in result["data"]]
        if len(ids) != len(messages):
            raise TemporaryError(f"Resend answered {len(ids)} ids for a batch of {len(messages)} emails.")
        return ids


def _resend_params(message: OutgoingMessage) -> dict:
    params: dict = {
        "from": message.sender,
        "to": [message.to],
        "subject": message.subject,
        "html": message.html,
        "text": message.text,
    }
    if message.reply_to:
        params["reply_to"] = [message.reply_to]
    if message.attachments:
        params["attachments"] = [
            {
                "filename": attachment.filename,
                "content": base64.b64encode(attachment.content).decode("ascii"),
                "content_type": attachment.content_type,
            }
            for attachment in message.attachments
        ]
    return params


def _resend_error(error) -> DeliveryError:
    try:
        status = int(error.code)
    except (TypeError, ValueError):
        status = 500
    error_type = str(getattr(error, "error_type", "") or "")
    text = f"Resend {status} {error_type}: {error.message}".replace("  ", " ")
    # 409 invalid_idempotent_request: the key was used before with another body, and that request was accepted.
    if status == 409 and error_type == "invalid_idempotent_request":
        return AlreadyAccepted(text, status=status, code=error_type)
    # 409 concurrent_idempotent_requests: the first request with this key is still running.
    if status >= 500 or status in (408, 429) or error_type in ("HttpClientError", "concurrent_idempotent_requests"):
        return TemporaryError(text, status=status, code=error_type)
    return PermanentError(text, status=status, code=error_type)


# --- SMS and WhatsApp: Twilio ------------------------------------------------------


_twilio_clients = threading.local()


def _twilio_client(account_sid: str, auth_token: str, api_url: str, timeout: float):
    """One SDK client per thread, credentials and base URL.

    A client pools HTTP connections in a ``requests`` session and remembers its
    last request and response, so threads sending at once do not share one.
    """
    key = (account_sid, auth_token, api_url, timeout)
    clients = getattr(_twilio_clients, "by_key", None)
    if clients is None:
        clients = _twilio_clients.by_key = {}
    client = clients.get(key)
    if client is None:
        client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
        client.api.base_url = api_url
        clients[key] = client
    return client


def whatsapp_address(number: str) -> str:
    return number if number.startswith(WHATSAPP_PREFIX) else f"{WHATSAPP_PREFIX}{number}"


class TwilioSmsBackend:
    """SMS and WhatsApp through the ``twilio`` SDK's Messages API.

    WhatsApp is the same API with ``whatsapp:``-prefixed addresses. Twilio has
    no idempotency key for messages, so before a retry the caller asks
    :meth:`find_sent` whether an earlier attempt got through (what that lookup
    cannot rule out is in ``docs/notifications.md``).
    """

    name = "twilio"

    def __init__(self, *, account_sid: str, auth_token: str, api_url: str, timeout: float):
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout

    def _addresses(self, message: OutgoingMessage) -> tuple[str, str]:
        if message.channel == WHATSAPP:
            return whatsapp_address(message.to), whatsapp_address(message.sender)
        return message.to, message.sender

    def _client(self):
        return _twilio_client(self.account_sid, self.auth_token, self.api_url, self.timeout)

    def send(self, message: OutgoingMessage) -> str:
        to, sender = self._addresses(message)
        try:
            sent = self._client().messages.create(to=to, from_=sender, body=message.text)
        except TWILIO_ERRORS as error:
            raise _twilio_error(error) from error
        return str(sent.sid)

    def find_sent(self, message: OutgoingMessage, *, since: dt.datetime, exclude: Collection[str] = ()) -> str | None:
        """The sid of a message Twilio sent with this ``To``, ``From`` and body since ``since``, if any.

        Reads Twilio's message list filtered by ``To``, ``From`` and ``DateSent``
        (from ``since``'s day), keeps those sent at ``since`` or later (less a
        minute for clock skew) whose body is this one, and leaves out the sids
        in ``exclude`` (messages already recorded for other notifications, such
        as the original of a resent copy). Raises ``TemporaryError`` when the
        list cannot be read: then nobody knows, and nothing may be sent.
        """
        to, sender = self._addresses(message)
        earliest = since - LOOKUP_CLOCK_SKEW
        try:
            listed = self._client().messages.list(
                to=to, from_=sender, date_sent_after=earliest.date(), limit=LOOKUP_LIMIT
            )
        except TWILIO_ERRORS as error:
            raise _twilio_error(error, doing="listing messages") from error
        for candidate in listed:
            sent_at = candidate.date_sent
            if candidate.sid in exclude or sent_at is None or sent_at < earliest:
                continue
            if (candidate.body or "").strip() == message.text.strip():
                return str(candidate.sid)
        return None


LOOKUP_CLOCK_SKEW = dt.timedelta(minutes=1)
"""How far Twilio's clock may be behind ours when comparing ``date_sent``."""
LOOKUP_LIMIT = 200
"""Messages read at most per lookup (to one number, from one sender, since one day)."""
TWILIO_ERRORS = (TwilioException, requests.RequestException)


def _twilio_error(error: Exception, *, doing: str = "") -> DeliveryError:
    """A Twilio SDK or HTTP exception as a delivery error (4xx permanent, the rest temporary)."""
    context = f" while {doing}" if doing else ""
    if isinstance(error, TwilioRestException):
        text = f"Twilio {error.status} (code {error.code}){context}: {error.msg}"
        if error.status >= 500 or error.status == 429:
            return TemporaryError(text, status=error.status, code=error.code)
        return PermanentError(text, status=error.status, code=error.code)
    if isinstance(error, requests.RequestException):
        return TemporaryError(f"Twilio unreachable{context}: {type(error).__name__}: {error}")
    return TemporaryError(f"Twilio{context}: {error}")


# --- local backends ----------------------------------------------------------------


class ConsoleBackend:
    """Logs the message (``make run`` without credentials shows it in the worker output)."""

    name = "console"

    def send(self, message: OutgoingMessage) -> str:
        message_id = f"console-{uuid.uuid4()}"
        attachments = ", ".join(a.filename for a in message.attachments) or "none"
        logger.info(
            "[%s] to=%s from=%s subject=%r attachments=%s id=%s\n%s",
            message.channel,
            message.to,
            message.sender,
            message.subject,
            attachments,
            message_id,
            message.text,
        )
        return message_id


outbox: list[OutgoingMessage] = []
"""Messages "sent" by :class:`MemoryBackend`, in order (tests clear it)."""

_memory_ids = itertools.count(1)


class MemoryBackend:
    """Keeps messages in :data:`outbox`; the test settings select it when nothing else is configured."""

    name = "memory"

    def send(self, message: OutgoingMessage) -> str:
        outbox.append(message)
        return f"memory-{next(_memory_ids)}"


# --- selection ---------------------------------------------------------------------


def _timeout() -> float:
    return float(getattr(settings, "NOTIFICATIONS_PROVIDER_TIMEOUT", 10))


def _twilio_credentials() -> bool:
    return bool(settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN)


def _build(name: str) -> Backend:
    if name == "resend":
        return ResendEmailBackend(api_key=settings.RESEND_API_KEY, api_url=settings.RESEND_API_URL, timeout=_timeout())
    if name == "twilio":
        return TwilioSmsBackend(
            account_sid=settings.TWILIO_ACCOUNT_SID,
            auth_token=settings.TWILIO_AUTH_TOKEN,
            api_url=settings.TWILIO_API_URL,
            timeout=_timeout(),
        )
    if name == "console":
        return ConsoleBackend()
    if name == "memory":
        return MemoryBackend()
    raise ValueError(f"Unknown notification backend '{name}' (resend, twilio, console or memory).")


def _backend_name(channel: str) -> str | None:
    choice = dict(getattr(settings, "NOTIFICATIONS_BACKENDS", {}) or {}).get(channel, "auto")
    if choice != "auto":
        return choice
    if channel == EMAIL:
        return "resend" if settings.RESEND_API_KEY else getattr(settings, "NOTIFICATIONS_LOCAL_BACKEND", "console")
    return "twilio" if _twilio_credentials() else None


def sender_for(channel: str, brand) -> str:
    """The brand's sender identity for ``channel``, falling back to the global settings."""
    if channel == EMAIL:
        default_name, default_address = parseaddr(settings.RESEND_FROM_EMAIL)
        name = (brand.from_name if brand else "") or default_name
        address = (brand.from_email if brand else "") or default_address
        return formataddr((name, address)) if name else address
    if channel == WHATSAPP:
        return (brand.whatsapp_from if brand else "") or settings.TWILIO_WHATSAPP_FROM
    return (brand.sms_from if brand else "") or settings.TWILIO_FROM_NUMBER


def channel_unavailable_reason(channel: str, brand=None) -> str | None:
    """Why ``channel`` cannot be attempted for ``brand`` (``None``: it can).

    Email always can: without Resend credentials it goes to the local backend.
    """
    name = _backend_name(channel)
    if channel == EMAIL:
        return None
    label = TEXT_CHANNEL_NAMES.get(channel, channel)
    if name is None:
        return f"{label} is not configured (TWILIO_* settings)"
    if name == "twilio" and not sender_for(channel, brand):
        setting = "TWILIO_WHATSAPP_FROM" if channel == WHATSAPP else "TWILIO_FROM_NUMBER"
        return f"{label} is not configured (no sender: set {setting} or the brand's sender)"
    return None


def backend_for(channel: str, brand=None) -> Backend | None:
    """The backend that sends ``channel`` now, or ``None`` when it is not configured."""
    if channel_unavailable_reason(channel, brand):
        return None
    name = _backend_name(channel)
    return _build(name) if name else None
