"""Local stand-ins for Resend, Twilio and a webhook receiver (standard library only).

Three small HTTP servers that speak just enough of each protocol for the real
``resend`` and ``twilio`` SDKs to talk to them:

* ``ResendStandin``   -- ``POST /emails``, ``POST /emails/batch`` (+ ``GET /emails/{id}``),
  Bearer auth, ``Idempotency-Key`` honoured, Resend's error shape.
* ``TwilioStandin``   -- ``POST /2010-04-01/Accounts/{sid}/Messages.json``, the
  message list (``GET .../Messages.json`` filtered by ``To``, ``From``, ``DateSent``)
  and ``GET .../Messages/{SM...}.json``, HTTP Basic auth, SMS and
  ``whatsapp:`` addresses, Twilio's error shape (21211 for a non-E.164 To...).
* ``WebhookReceiver`` -- records any request on any path and answers a
  configurable status (default 200).

Each one binds ``127.0.0.1`` on a free port (or a given one), serves from a
daemon thread, records every request thread-safely, and supports fault
injection (fail the next N requests with status S, drop connections, delay
responses) through a Python API and an HTTP control API under
``/__standin__/`` (see ``StandinClient`` to drive it from another process).

Running them for development (``make run``)::

    .venv/bin/python -m devtools [--resend-port 8025] [--twilio-port 8026] [--webhook-port 8027]

prints one line per email / SMS / webhook received.  Point the application at
them with::

    RESEND_API_KEY=re_dev
    RESEND_API_URL=http://127.0.0.1:8025
    TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000
    TWILIO_AUTH_TOKEN=dev
    TWILIO_FROM_NUMBER=+15005550006
    TWILIO_API_URL=http://127.0.0.1:8026

(``TWILIO_EDGE`` / ``TWILIO_REGION`` must be unset: the twilio SDK would
rewrite the stand-in's host name.)  How the SDKs consume these variables is
described in ``devtools/README.md``.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import copy
import datetime
import email.utils
import json
import re
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = [
    "Headers",
    "ResendStandin",
    "StandinClient",
    "TwilioStandin",
    "WebhookReceiver",
    "main",
]

CONTROL_PREFIX = "/__standin__/"
E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")


# --------------------------------------------------------------------------- helpers


class Headers(dict):
    """HTTP headers as a plain (JSON-serialisable) dict, with case-insensitive lookups."""

    def _real_key(self, name: str) -> str:
        if dict.__contains__(self, name):
            return name
        lowered = name.lower()
        for key in self:
            if key.lower() == lowered:
                return key
        return name

    def __getitem__(self, name: str) -> str:
        return dict.__getitem__(self, self._real_key(name))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and dict.__contains__(self, self._real_key(name))

    def get(self, name: str, default: Any = None) -> Any:
        return dict.get(self, self._real_key(name), default)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _excerpt(text: Any, limit: int = 60) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _jsonable(value: Any) -> Any:
    """``json.dumps`` default hook: bytes are sent base64-encoded."""
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _flatten_query(parsed: Mapping[str, list[str]]) -> dict[str, Any]:
    return {k: v[0] if len(v) == 1 else v for k, v in parsed.items()}


def _to_bytes(body: Any) -> tuple[bytes, str]:
    """Response body -> (bytes, content type)."""
    if body is None:
        return b"", "text/plain; charset=utf-8"
    if isinstance(body, (bytes, bytearray)):
        return bytes(body), "application/octet-stream"
    if isinstance(body, str):
        return body.encode("utf-8"), "text/plain; charset=utf-8"
    return json.dumps(body, default=_jsonable).encode("utf-8"), "application/json"


class _Response:
    __slots__ = ("status", "body", "headers", "note")

    def __init__(self, status: int, body: Any = None, headers: Mapping[str, str] | None = None, note: str = ""):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.note = note


_DROP = object()  # fault marker: close the connection without answering


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # a delayed handler must not hold up stop()
    request_queue_size = 128  # senders open many connections at once (socketserver's default backlog is 5)
    standin: _Standin


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "devtools-standin/1.0"

    def _go(self) -> None:
        self.server.standin._dispatch(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _go

    def log_message(self, format: str, *args: Any) -> None:
        pass  # silence the default stderr access log


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if "chunked" in (handler.headers.get("Transfer-Encoding") or "").lower():
        chunks = []
        while True:
            line = handler.rfile.readline()
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length > 0 else b""


# --------------------------------------------------------------------------- base


class _Standin:
    """Common machinery: server thread, recording, fault injection, control API."""

    name = "standin"
    records_name = "records"  # what ``records`` is called in the control API

    def __init__(self, host: str = "127.0.0.1", port: int = 0, log: Callable[[str], None] | None = None):
        self.host = host
        self.port = port
        self.log = log
        self._cond = threading.Condition(threading.RLock())
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._requests: list[dict] = []
        self._records: list[dict] = []
        self._faults: collections.deque = collections.deque()
        self._delay = 0.0
        self._delay_times: int | None = None
        self._delay_generation = 0
        self._init_state()

    # ---- lifecycle
    def start(self) -> _Standin:
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        server.standin = self
        self._server = server
        self.port = server.server_address[1]
        self._stopping = False
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name}-standin:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        with self._cond:
            self._stopping = True
            self._cond.notify_all()  # wake delayed responses and wait_for()
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    def __repr__(self) -> str:
        where = self.url if self._server else "stopped"
        return f"<{type(self).__name__} {where}>"

    # ---- recordings
    @property
    def requests(self) -> list[dict]:
        """Every request received (control API excluded), oldest first (copies)."""
        with self._cond:
            return copy.deepcopy(self._requests)

    @property
    def records(self) -> list[dict]:
        """What was 'delivered' (emails / messages / webhook requests), copies."""
        with self._cond:
            return copy.deepcopy(self._records)

    def wait_for(
        self, count: int = 1, timeout: float = 10.0, match: Callable[[dict], bool] | None = None
    ) -> list[dict]:
        """Block until at least ``count`` (matching) records exist; return them all.

        Raises ``TimeoutError`` when they do not arrive within ``timeout`` seconds.
        """
        return self._wait(self._records, self.records_name, count, timeout, match)

    def wait_for_requests(
        self, count: int = 1, timeout: float = 10.0, match: Callable[[dict], bool] | None = None
    ) -> list[dict]:
        """Like ``wait_for`` but on raw requests (failed / rejected ones included)."""
        return self._wait(self._requests, "requests", count, timeout, match)

    def _wait(
        self, source: list[dict], what: str, count: int, timeout: float, match: Callable[[dict], bool] | None
    ) -> list[dict]:
        def found() -> list[dict]:
            return [r for r in source if match is None or match(r)]

        deadline = time.monotonic() + timeout
        with self._cond:
            while len(found()) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._stopping:
                    summary = (
                        "; ".join(f"{r['method']} {r['path']} -> {r.get('status')}" for r in self._requests[-10:])
                        or "nothing"
                    )
                    raise TimeoutError(
                        f"{self.name}: expected {count} {what}, got {len(found())} within "
                        f"{timeout}s (last requests: {summary})"
                    )
                self._cond.wait(remaining)
            return copy.deepcopy(found())

    def clear(self) -> None:
        """Forget recorded requests/records (faults, delay and configuration are kept)."""
        with self._cond:
            self._requests.clear()
            self._records.clear()
            self._clear_state()

    def reset(self) -> None:
        """Back to the initial state: recordings, faults, delay and configuration."""
        with self._cond:
            self._requests.clear()
            self._records.clear()
            self._faults.clear()
            self._delay, self._delay_times = 0.0, None
            self._delay_generation += 1
            self._init_state()
            self._cond.notify_all()

    # ---- fault injection
    def fail_next(
        self, times: int = 1, status: int = 500, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (body defaults to the
        service's error shape).  Calls queue up: ``fail_next(2, 500); fail_next(1, 429)``."""
        if body is None:
            body = self._error_body(status, "Injected failure (devtools stand-in)")
        with self._cond:
            for _ in range(int(times)):
                self._faults.append(_Response(int(status), body, headers, note="injected"))

    def drop_next(self, times: int = 1) -> None:
        """Close the connection without answering the next ``times`` requests."""
        with self._cond:
            self._faults.extend([_DROP] * int(times))

    def set_delay(self, seconds: float, times: int | None = None) -> None:
        """Delay every response (or only the next ``times``) by ``seconds``.
        The request is processed (and recorded) before the delay."""
        with self._cond:
            self._delay = max(0.0, float(seconds))
            self._delay_times = None if times is None else int(times)
            self._delay_generation += 1  # wakes responses already waiting
            self._cond.notify_all()

    @property
    def pending_faults(self) -> int:
        with self._cond:
            return len(self._faults)

    # ---- request handling
    def _dispatch(self, handler: _Handler) -> None:
        try:
            raw = _read_body(handler)
            split = urllib.parse.urlsplit(handler.path)
            path = split.path
            query = _flatten_query(urllib.parse.parse_qs(split.query, keep_blank_values=True))
            if path.startswith(CONTROL_PREFIX):
                self._send(handler, self._control(handler.command, path[len(CONTROL_PREFIX) :], query, raw))
                return
            request = self._make_record(handler, path, query, raw)
            with self._cond:
                self._requests.append(request)
                fault = self._faults.popleft() if self._faults else None
                delay, generation = self._take_delay()
            if fault is _DROP:
                with self._cond:
                    request["status"] = None
                    request["dropped"] = True
                    self._cond.notify_all()
                self._emit(f"[{self.name}] {request['method']} {path} -> connection dropped (injected)")
                self._sleep(delay, generation)
                handler.close_connection = True
                return
            try:
                response = fault if fault is not None else self._handle(request)
            except Exception as exc:  # keep the server alive, tell the client
                response = _Response(500, self._error_body(500, f"stand-in crashed: {exc!r}"), note="crash")
            with self._cond:
                request["status"] = response.status
                request["response"] = copy.deepcopy(response.body)
                self._cond.notify_all()
            self._emit(self._summary(request, response))
            self._sleep(delay, generation)
            self._send(handler, response)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client went away (e.g. timed out during a delay)

    def _take_delay(self) -> tuple[float, int]:
        delay = self._delay
        if delay and self._delay_times is not None:
            self._delay_times -= 1
            if self._delay_times <= 0:
                self._delay, self._delay_times = 0.0, None
        return delay, self._delay_generation

    def _sleep(self, delay: float, generation: int) -> None:
        if delay <= 0:
            return
        with self._cond:
            self._cond.wait_for(lambda: self._stopping or self._delay_generation != generation, timeout=delay)

    @staticmethod
    def _send(handler: _Handler, response: _Response) -> None:
        body, content_type = _to_bytes(response.body)
        handler.send_response(response.status)
        headers = {"Content-Type": content_type, **response.headers}
        headers["Content-Length"] = str(len(body))
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()

    def _make_record(self, handler: _Handler, path: str, query: dict, raw: bytes) -> dict:
        headers = Headers()
        for key, value in handler.headers.items():
            if key in headers:  # repeated header: join, like requests does
                key, value = headers._real_key(key), f"{headers[key]}, {value}"
            headers[key] = value
        text = raw.decode("utf-8", errors="replace")
        content_type = (headers.get("Content-Type") or "").lower()
        parsed_json = form = None
        if "json" in content_type and raw:
            with contextlib.suppress(ValueError):
                parsed_json = json.loads(text)
        elif "x-www-form-urlencoded" in content_type:
            form = _flatten_query(urllib.parse.parse_qs(text, keep_blank_values=True))
        now = _now()
        return {
            "method": handler.command,
            "path": path,
            "query": query,
            "headers": headers,
            "body": text,
            "raw_body": raw,
            "json": parsed_json,
            "form": form,
            "client": handler.client_address[0],
            "time": now.timestamp(),
            "received_at": now.isoformat(),
            "status": None,
        }

    def _emit(self, line: str | None) -> None:
        if line and self.log is not None:
            with contextlib.suppress(Exception):  # a broken logger must not break the server
                self.log(line)

    def _summary(self, request: dict, response: _Response) -> str | None:
        note = f" ({response.note})" if response.note else ""
        return f"[{self.name}] {request['method']} {request['path']} -> {response.status}{note}"

    # ---- control API
    def _control(self, method: str, action: str, query: dict, raw: bytes) -> _Response:
        try:
            data = json.loads(raw) if raw.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("expected a JSON object")
            data = {**query, **data}
            if method == "GET" and action == "requests":
                return _Response(200, {"requests": self.requests})
            if method == "GET" and action in (self.records_name, "records"):
                return _Response(200, {self.records_name: self.records})
            if method == "GET" and action == "wait":
                what = data.get("what", self.records_name)
                waiter = self.wait_for_requests if what == "requests" else self.wait_for
                try:
                    found = waiter(count=int(data.get("count", 1)), timeout=float(data.get("timeout", 10)))
                except TimeoutError as exc:
                    return _Response(408, {"error": str(exc)})
                return _Response(200, {what: found})
            if method == "GET" and action == "state":
                return _Response(200, self._state())
            if method == "POST" and action == "fail":
                self.fail_next(
                    int(data.get("times", 1)), int(data.get("status", 500)), data.get("body"), data.get("headers")
                )
                return _Response(200, self._state())
            if method == "POST" and action == "drop":
                self.drop_next(int(data.get("times", 1)))
                return _Response(200, self._state())
            if method == "POST" and action == "delay":
                times = data.get("times")
                self.set_delay(float(data.get("seconds", 0)), None if times is None else int(times))
                return _Response(200, self._state())
            if method == "POST" and action == "reset":
                self.reset()
                return _Response(200, self._state())
            if method == "POST" and action == "clear":
                self.clear()
                return _Response(200, self._state())
            extra = self._extra_control(method, action, data)
            if extra is not None:
                return extra
        except (ValueError, TypeError, KeyError) as exc:
            return _Response(400, {"error": f"bad control request: {exc}"})
        return _Response(404, {"error": f"unknown control endpoint {method} {CONTROL_PREFIX}{action}"})

    def _state(self) -> dict:
        with self._cond:
            return {
                "name": self.name,
                "url": self.url,
                "requests": len(self._requests),
                self.records_name: len(self._records),
                "pending_faults": len(self._faults),
                "delay": self._delay,
                "delay_times": self._delay_times,
                **self._extra_state(),
            }

    # ---- subclass hooks
    def _init_state(self) -> None:
        pass

    def _clear_state(self) -> None:
        pass

    def _extra_state(self) -> dict:
        return {}

    def _extra_control(self, method: str, action: str, data: dict) -> _Response | None:
        return None

    def _error_body(self, status: int, message: str) -> Any:
        return {"error": message, "status": status}

    def _handle(self, request: dict) -> _Response:
        raise NotImplementedError


# --------------------------------------------------------------------------- Resend


BATCH_LIMIT = 100  # emails per POST /emails/batch, as Resend
_RESEND_ADDRESS = re.compile(r"(?:[^<>]*<)?[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+>?")

_RESEND_ERROR_NAMES = {
    400: "validation_error",
    401: "missing_api_key",
    403: "invalid_api_key",
    404: "not_found",
    405: "method_not_allowed",
    409: "invalid_idempotent_request",
    422: "validation_error",
    429: "rate_limit_exceeded",
}


class ResendStandin(_Standin):
    """Resend API stand-in: ``POST /emails`` answers ``200 {"id": "<uuid>"}``.

    * ``Authorization: Bearer <key>`` is required (``401 missing_api_key`` otherwise;
      ``Bearer None`` -- what the SDK sends when ``resend.api_key`` is unset -- counts
      as missing).  With ``api_key=...`` any other key gets ``403 invalid_api_key``.
    * ``Idempotency-Key``: a repeat with the same payload answers the same id and
      is not delivered again; a different payload gets ``409``.  Failed requests
      (injected faults) do not consume the key.
    * ``POST /emails/batch``: up to 100 emails in one request, answered
      ``{"data": [{"id"}, ...]}`` in order; strict validation (one invalid email,
      such as a malformed ``to`` address, or any attachment, refuses the whole
      batch with 422); one ``Idempotency-Key``
      covers the whole list.  Each email is recorded with its ``batch_index``.
    * ``emails``: delivered emails -- the JSON payload as sent (``from``, ``to``,
      ``subject``, ``html``, ``text``, ``attachments``, ``headers``...) plus ``id``,
      ``idempotency_key``, ``api_key``, ``request_headers``, ``received_at``.
    """

    name = "resend"
    records_name = "emails"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        api_key: str | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.api_key = api_key
        super().__init__(host, port, log)

    @property
    def emails(self) -> list[dict]:
        return self.records

    def _init_state(self) -> None:
        self._idempotency: dict[str, tuple[str, list[str]]] = {}  # key -> (payload fingerprint, email ids)

    def _error_body(self, status: int, message: str) -> dict:
        name = _RESEND_ERROR_NAMES.get(status, "application_error" if status >= 500 else "validation_error")
        return {"statusCode": status, "name": name, "message": message}

    def _error(self, status: int, message: str, name: str | None = None) -> _Response:
        body = self._error_body(status, message)
        if name:
            body["name"] = name
        return _Response(status, body)

    def _handle(self, request: dict) -> _Response:
        path, method = request["path"].rstrip("/"), request["method"]
        match = re.fullmatch(r"/emails/([^/]+)", path)
        if path != "/emails" and not match:
            return self._error(404, "The requested endpoint does not exist.")
        auth = request["headers"].get("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or token in ("", "None"):
            return self._error(
                401,
                "Missing API key in the authorization header. Include the following "
                "header Authorization: Bearer YOUR_API_KEY in the request.",
            )
        if self.api_key is not None and token != self.api_key:
            return self._error(403, "API key is invalid")
        if path == "/emails/batch":
            if method != "POST":
                return self._error(405, "Method not allowed")
            return self._send_batch(request, token)
        if match:
            if method != "GET":
                return self._error(405, "Method not allowed")
            return self._fetch(match.group(1))
        if method != "POST":
            return self._error(405, "Method not allowed")
        payload = request["json"]
        if not isinstance(payload, dict):
            return self._error(422, "Invalid JSON body (expected an object).")
        invalid = self._invalid_email(payload)
        if invalid:
            return self._error(422, invalid, name="missing_required_field")
        response = self._deliver(request, token, [payload])
        if response.status == 200:
            response.body = response.body["data"][0]  # a single email answers {"id"}
        return response

    @staticmethod
    def _invalid_email(payload: dict) -> str | None:
        for field in ("from", "to", "subject"):
            if not payload.get(field) and not (field != "to" and payload.get("template")):
                return f"Missing `{field}` field."
        recipients = payload["to"] if isinstance(payload["to"], list) else [payload["to"]]
        for recipient in recipients:
            if not isinstance(recipient, str) or not _RESEND_ADDRESS.fullmatch(recipient.strip()):
                return (
                    "Invalid `to` field. The email address needs to follow the `email@example.com` "
                    "or `Name <email@example.com>` format."
                )
        return None

    def _send_batch(self, request: dict, token: str) -> _Response:
        """``POST /emails/batch``: up to 100 emails, strict validation (one bad email refuses them all).

        Like Resend, attachments are not supported here, and one ``Idempotency-Key``
        covers the whole request: a repeat with the same list answers the same ids.
        """
        payload = request["json"]
        if not isinstance(payload, list) or not payload:
            return self._error(422, "Invalid JSON body (expected a non-empty array of emails).")
        if len(payload) > BATCH_LIMIT:
            return self._error(422, f"Too many emails: a batch holds at most {BATCH_LIMIT}.")
        for index, item in enumerate(payload):
            if not isinstance(item, dict):
                return self._error(422, f"emails[{index}]: expected an object.")
            if item.get("attachments"):
                return self._error(422, f"emails[{index}]: attachments are not supported in batch sending.")
            invalid = self._invalid_email(item)
            if invalid:
                return self._error(422, f"emails[{index}]: {invalid}", name="missing_required_field")
        return self._deliver(request, token, payload, batch=True)

    def _deliver(self, request: dict, token: str, emails: list[dict], *, batch: bool = False) -> _Response:
        """Record ``emails`` once per ``Idempotency-Key``; answer ``{"data": [{"id"}, ...]}``."""
        key = request["headers"].get("Idempotency-Key")
        fingerprint = json.dumps(emails if batch else emails[0], sort_keys=True, default=str)
        with self._cond:
            if key is not None and key in self._idempotency:
                previous_fingerprint, email_ids = self._idempotency[key]
                if previous_fingerprint != fingerprint:
                    return self._error(
                        409,
                        "Same idempotency key used with a different request payload. "
                        "Change your idempotency key or payload.",
                    )
                request["idempotent_replay"] = True
                data = [{"id": email_id} for email_id in email_ids]
                return _Response(200, {"data": data}, note=f"idempotent replay of {', '.join(email_ids)}")
            email_ids = [str(uuid.uuid4()) for _ in emails]
            if key is not None:
                self._idempotency[key] = (fingerprint, email_ids)
            for index, (email, email_id) in enumerate(zip(emails, email_ids, strict=True)):
                record = {
                    **copy.deepcopy(email),
                    "id": email_id,
                    "idempotency_key": key,
                    "api_key": token,
                    "request_headers": Headers(request["headers"]),
                    "received_at": request["received_at"],
                }
                if batch:
                    record["batch_index"] = index
                self._records.append(record)
            self._cond.notify_all()
        return _Response(200, {"data": [{"id": email_id} for email_id in email_ids]})

    def _fetch(self, email_id: str) -> _Response:
        with self._cond:
            for email in self._records:
                if email["id"] == email_id:
                    return _Response(
                        200,
                        {
                            "object": "email",
                            "id": email_id,
                            "from": email.get("from"),
                            "to": email.get("to") if isinstance(email.get("to"), list) else [email.get("to")],
                            "subject": email.get("subject"),
                            "html": email.get("html"),
                            "text": email.get("text"),
                            "cc": email.get("cc"),
                            "bcc": email.get("bcc"),
                            "reply_to": email.get("reply_to"),
                            "created_at": email["received_at"],
                            "last_event": "delivered",
                        },
                    )
        return self._error(404, "Email not found")

    def _summary(self, request: dict, response: _Response) -> str | None:
        if isinstance(request["json"], list) and response.status == 200 and not response.note:
            key = request["headers"].get("Idempotency-Key")
            return f"[resend] batch of {len(request['json'])} emails" + (f" key={key}" if key else "")
        payload = request["json"] if isinstance(request["json"], dict) else {}
        if request["method"] == "POST" and response.status == 200 and not response.note:
            to = payload.get("to")
            to = ", ".join(to) if isinstance(to, list) else to
            key = request["headers"].get("Idempotency-Key")
            return f"[resend] email to={to} subject={_excerpt(payload.get('subject'))!r}" + (
                f" key={key}" if key else ""
            )
        if response.status >= 400:
            message = response.body.get("message") if isinstance(response.body, dict) else ""
            note = f" ({response.note})" if response.note else ""
            return (
                f"[resend] {request['method']} {request['path']} -> {response.status}{note}"
                f" to={payload.get('to')}: {_excerpt(message, 80)}"
            )
        return super()._summary(request, response)


# --------------------------------------------------------------------------- Twilio

# Twilio's "magic" test numbers (https://www.twilio.com/docs/iam/test-credentials).
TWILIO_MAGIC_TO_NUMBERS: dict[str, tuple[int, str]] = {
    "+15005550001": (21211, "The 'To' number +15005550001 is not a valid phone number."),
    "+15005550002": (
        21612,
        "The 'To' phone number: +15005550002, is not currently reachable using the 'From' phone number via SMS.",
    ),
    "+15005550003": (
        21408,
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +15005550003.",
    ),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "To number: +15005550009, is not a mobile number"),
}

_TWILIO_MESSAGES = re.compile(r"/2010-04-01/Accounts/(?P<account>[^/]+)/Messages(?:/(?P<sid>[^/]+))?\.json")


def _twilio_error(status: int, code: int, message: str) -> dict:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _parse_date_filter(value: str) -> datetime.date | datetime.datetime | None:
    """A ``DateSent`` filter value: a date, or an instant (UTC when it names no zone)."""
    value = value.strip()
    try:
        if len(value) == 10:
            return datetime.date.fromisoformat(value)
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


def _date_matches(sent_iso: str | None, compare: str, bound: datetime.date | datetime.datetime) -> bool:
    if not sent_iso:
        return False  # not sent yet: Twilio's DateSent filters leave it out
    sent = datetime.datetime.fromisoformat(sent_iso)
    if compare == "on":
        day = bound.date() if isinstance(bound, datetime.datetime) else bound
        return sent.date() == day
    value: datetime.date | datetime.datetime = sent if isinstance(bound, datetime.datetime) else sent.date()
    return value <= bound if compare == "before" else value >= bound


def _segments(body: str) -> int:
    if not body:
        return 1
    single, multi = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // multi)


class TwilioStandin(_Standin):
    """Twilio Messages API stand-in (``/2010-04-01/Accounts/{sid}/Messages.json``).

    * HTTP Basic auth is required (401, code 20003).  With ``auth_token=...`` the
      password must match; a username starting with ``AC`` must match the path's
      account sid.
    * ``To`` must be E.164 (``+15551234567`` or ``whatsapp:+15551234567``), else
      400 / 21211.  Numbers in ``rejected`` (Twilio's magic numbers by default,
      e.g. ``+15005550001``; add more with ``reject()``) get their error.
    * Success answers 201 with a Message resource (``sid`` = ``SM`` + 32 hex,
      ``status`` ``queued`` -- ``accepted`` with a MessagingServiceSid and no From).
    * ``GET .../Messages.json`` lists accepted messages, newest first, filtered by
      ``To``, ``From``, ``DateSent``, ``DateSent<`` and ``DateSent>`` (Twilio's page
      shape; the SDK's ``messages.list(...)`` reads it).  A message counts as sent
      (``date_sent`` set, ``status`` ``sent``) as soon as it is accepted.
    * ``messages``: accepted messages -- ``sid``, ``account_sid``, ``to``, ``from``,
      ``body``, ``channel`` (``sms``/``mms``/``whatsapp``), ``media_url``,
      ``messaging_service_sid``, ``status_callback``, ``params`` (the raw form
      fields ``To``/``From``/``Body``...), ``auth`` ({``username``, ``password``}),
      ``request_headers``, ``resource`` (the JSON as fetched or listed), ``date_sent``
      (ISO 8601), ``received_at``.
    """

    name = "twilio"
    records_name = "messages"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        auth_token: str | None = None,
        rejected: Mapping[str, tuple[int, str]] | Iterable[str] | None = None,
        log: Callable[[str], None] | None = None,
    ):
        self.auth_token = auth_token
        if rejected is None:
            rejected = TWILIO_MAGIC_TO_NUMBERS
        elif not isinstance(rejected, Mapping):
            rejected = {n: (21211, f"The 'To' number {n} is not a valid phone number.") for n in rejected}
        self._initial_rejected = dict(rejected)
        super().__init__(host, port, log)

    @property
    def messages(self) -> list[dict]:
        return self.records

    def _init_state(self) -> None:
        self._rejected: dict[str, tuple[int, str, int]] = {
            number: (code, message, 400) for number, (code, message) in self._initial_rejected.items()
        }

    def reject(self, number: str, code: int = 21211, message: str | None = None, status: int = 400) -> None:
        """Make messages to ``number`` (with or without ``whatsapp:``) fail with ``code``."""
        if message is None:
            message = f"The 'To' number {number} is not a valid phone number."
        with self._cond:
            self._rejected[number] = (int(code), message, int(status))

    def _extra_control(self, method: str, action: str, data: dict) -> _Response | None:
        if method == "POST" and action == "reject":
            self.reject(data["number"], int(data.get("code", 21211)), data.get("message"), int(data.get("status", 400)))
            return _Response(200, self._state())
        return None

    def _extra_state(self) -> dict:
        return {"rejected": sorted(self._rejected)}

    def _error_body(self, status: int, message: str) -> dict:
        code = {401: 20003, 404: 20404, 429: 20429}.get(status, 20000 + status if status >= 500 else 21000)
        return _twilio_error(status, code, message)

    @staticmethod
    def _error(status: int, code: int, message: str) -> _Response:
        return _Response(status, _twilio_error(status, code, message))

    def _handle(self, request: dict) -> _Response:
        match = _TWILIO_MESSAGES.fullmatch(request["path"])
        if not match:
            return self._error(404, 20404, f"The requested resource {request['path']} was not found")
        account = match.group("account")
        auth = request["headers"].get("Authorization") or ""
        scheme, _, encoded = auth.partition(" ")
        try:
            username, _, password = base64.b64decode(encoded.strip()).decode("utf-8").partition(":")
        except ValueError:
            username = password = ""
        if scheme.lower() != "basic" or not username:
            return self._error(401, 20003, "Authentication Error - No credentials provided")
        if (self.auth_token is not None and password != self.auth_token) or (
            username.startswith("AC") and username != account
        ):
            return self._error(401, 20003, "Authenticate")

        sid = match.group("sid")
        if sid is not None:
            if request["method"] != "GET":
                return self._error(405, 20004, "Method not allowed")
            with self._cond:
                for message in self._records:
                    if message["sid"] == sid and message["account_sid"] == account:
                        return _Response(200, message["resource"])
            return self._error(404, 20404, f"The requested resource {request['path']} was not found")
        if request["method"] == "GET":
            return self._list(account, request["path"], request["query"])
        if request["method"] != "POST":
            return self._error(405, 20004, "Method not allowed")

        form = dict(request["form"] or {})
        params = {k: v[-1] if isinstance(v, list) and k != "MediaUrl" else v for k, v in form.items()}
        to, from_ = params.get("To") or "", params.get("From") or ""
        body = params.get("Body") or ""
        media = form.get("MediaUrl") or []
        media = media if isinstance(media, list) else [media]
        service = params.get("MessagingServiceSid")
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not from_ and not service:
            return self._error(400, 21603, "A 'From' phone number is required.")
        if not body and not media and not params.get("ContentSid"):
            return self._error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return self._error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        channel, _, number = to.rpartition(":")
        if not E164_RE.match(number) or channel not in ("", "whatsapp", "messenger", "rcs"):
            return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if from_ and from_.rpartition(":")[0] != channel:
            return self._error(400, 21910, "Invalid From and To pair. From and To should be of the same channel")
        with self._cond:
            rejection = self._rejected.get(to) or self._rejected.get(number)
        if rejection:
            code, message, status = rejection
            return self._error(status, code, message)

        sent_at = _now().replace(microsecond=0)
        now = email.utils.format_datetime(sent_at)
        sid = "SM" + secrets.token_hex(16)
        uri = f"/2010-04-01/Accounts/{account}/Messages/{sid}.json"
        resource = {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_ or None,
            "messaging_service_sid": service,
            "num_media": str(len(media)),
            "num_segments": str(_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": to,
            "uri": uri,
        }
        with self._cond:
            self._records.append(
                {
                    "sid": sid,
                    "account_sid": account,
                    "to": to,
                    "from": from_ or None,
                    "body": body,
                    "channel": channel or ("mms" if media else "sms"),
                    "media_url": media,
                    "messaging_service_sid": service,
                    "status_callback": params.get("StatusCallback"),
                    "params": params,
                    "auth": {"username": username, "password": password},
                    "request_headers": Headers(request["headers"]),
                    # The stand-in hands a message to the carrier at once: listed and
                    # fetched as "sent", while the create answer says "queued" as Twilio's does.
                    "resource": {**resource, "status": "sent", "date_sent": now},
                    "date_sent": sent_at.isoformat(),
                    "received_at": request["received_at"],
                }
            )
            self._cond.notify_all()
        return _Response(201, resource)

    def _list(self, account: str, path: str, query: dict) -> _Response:
        """``GET .../Messages.json``: Twilio's message list, newest first, one page at a time.

        Filters: ``To``, ``From``, ``DateSent`` (that day), ``DateSent<`` (on or
        before), ``DateSent>`` (on or after); a date (``YYYY-MM-DD``) compares
        days, a date and time (``YYYY-MM-DDTHH:MM:SSZ``, what the SDK sends)
        compares instants. ``PageSize`` (default 50) and ``Page`` page it.
        """
        bounds = []
        for name, compare in (("DateSent", "on"), ("DateSent<", "before"), ("DateSent>", "after")):
            value = query.get(name)
            if value is None:
                continue
            bound = _parse_date_filter(str(value))
            if bound is None:
                return self._error(400, 20001, f"Invalid {name}: {value}")
            bounds.append((compare, bound))
        try:
            page_size = max(1, min(1000, int(query.get("PageSize") or 50)))
            page = max(0, int(query.get("Page") or 0))
        except ValueError:
            return self._error(400, 20001, "Invalid PageSize or Page")
        with self._cond:
            found = [
                message
                for message in reversed(self._records)
                if message["account_sid"] == account
                and (query.get("To") is None or message["to"] == query["To"])
                and (query.get("From") is None or message["from"] == query["From"])
                and all(_date_matches(message["date_sent"], compare, bound) for compare, bound in bounds)
            ]
            resources = [copy.deepcopy(message["resource"]) for message in found]
        start = page * page_size
        items = resources[start : start + page_size]
        filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

        def page_uri(number: int) -> str:
            return f"{path}?{urllib.parse.urlencode({**filters, 'PageSize': page_size, 'Page': number})}"

        has_next = start + page_size < len(resources)
        return _Response(
            200,
            {
                "messages": items,
                "start": start,
                "end": start + max(len(items) - 1, 0),
                "page": page,
                "page_size": page_size,
                "uri": page_uri(page),
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(page + 1) if has_next else None,
                "previous_page_uri": page_uri(page - 1) if page > 0 else None,
            },
        )

    def _summary(self, request: dict, response: _Response) -> str | None:
        form = request["form"] or {}
        if response.status == 201:
            kind = "whatsapp" if str(form.get("To", "")).startswith("whatsapp:") else "sms"
            sender = form.get("From") or form.get("MessagingServiceSid")
            return f"[twilio] {kind} to={form.get('To')} from={sender}: {_excerpt(form.get('Body'))!r}"
        if response.status >= 400:
            body = response.body if isinstance(response.body, dict) else {}
            note = f" ({response.note})" if response.note else ""
            return (
                f"[twilio] {request['method']} {request['path']} -> {response.status}{note} "
                f"code={body.get('code')} to={form.get('To')}: {_excerpt(body.get('message'), 80)}"
            )
        return super()._summary(request, response)


# --------------------------------------------------------------------------- webhooks


class WebhookReceiver(_Standin):
    """Records any request on any path and answers ``respond_with()``'s status (default 200).

    ``describe(request) -> str``, when given, writes the logged line's text
    (``make run`` verifies each delivery's signature there).

    ``requests`` (== ``records``): ``method``, ``path``, ``query``, ``headers``
    (case-insensitive lookups), ``body`` (text), ``raw_body`` (bytes -- exact, for
    signature checks), ``json`` / ``form`` when parseable, ``status`` answered,
    ``received_at``.  Injected failures are recorded too (a retrying sender's
    attempts all show up).
    """

    name = "webhook"
    records_name = "requests"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        status: int = 200,
        log: Callable[[str], None] | None = None,
        describe: Callable[[dict], str] | None = None,
    ):
        self._initial_status = status
        self.describe = describe
        super().__init__(host, port, log)

    def _init_state(self) -> None:
        self._response = (self._initial_status, None, {})

    def respond_with(self, status: int = 200, body: Any = None, headers: Mapping[str, str] | None = None) -> None:
        """Answer every following request with ``status`` (and ``body``: dict -> JSON,
        str -> text, bytes; default ``{"received": true}``)."""
        with self._cond:
            self._response = (int(status), body, dict(headers or {}))

    def wait_for(
        self, count: int = 1, timeout: float = 10.0, match: Callable[[dict], bool] | None = None
    ) -> list[dict]:
        return self.wait_for_requests(count, timeout, match)

    @property
    def records(self) -> list[dict]:
        return self.requests

    def _extra_control(self, method: str, action: str, data: dict) -> _Response | None:
        if method == "POST" and action == "respond":
            self.respond_with(int(data.get("status", 200)), data.get("body"), data.get("headers"))
            return _Response(200, self._state())
        return None

    def _extra_state(self) -> dict:
        return {"status": self._response[0]}

    def _handle(self, request: dict) -> _Response:
        with self._cond:
            status, body, headers = self._response
        if body is None:
            body = {"received": True} if status < 400 else {"error": f"configured status {status}"}
        return _Response(status, copy.deepcopy(body), headers)

    def _summary(self, request: dict, response: _Response) -> str | None:
        note = f" ({response.note})" if response.note else ""
        if self.describe is not None:
            try:
                described = self.describe(request)
            except Exception as exc:  # a broken describer must not break the server
                described = f"(describe failed: {exc!r})"
            return f"[webhook] {request['method']} {request['path']} -> {response.status}{note}: {described}"
        content_type = request["headers"].get("Content-Type") or "-"
        return (
            f"[webhook] {request['method']} {request['path']} {len(request['raw_body'])}B "
            f"{content_type} -> {response.status}{note}: {_excerpt(request['body'], 70)!r}"
        )


# --------------------------------------------------------------------------- remote control


class StandinClient:
    """Drive a stand-in's HTTP control API from another process (e.g. a test
    talking to stand-ins used by a real Celery worker)::

        ctl = StandinClient("http://127.0.0.1:8025")
        ctl.fail_next(3, status=500)
        ctl.set_delay(2)
        emails = ctl.wait_for(count=1, timeout=10)
        ctl.reset()

    Recorded ``raw_body`` values come back base64-encoded.
    """

    def __init__(self, url: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _call(
        self, method: str, action: str, data: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> dict:
        url = f"{self.url}{CONTROL_PREFIX}{action}"
        body = None
        if method == "GET" and data:
            url += "?" + urllib.parse.urlencode(data)
        elif method == "POST":
            body = json.dumps(dict(data or {})).encode()
        request = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(request, timeout=timeout or self.timeout) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            payload = exc.read().decode("utf-8", errors="replace")
            if exc.code == 408:
                raise TimeoutError(json.loads(payload).get("error", payload)) from None
            raise RuntimeError(f"{method} {url} -> {exc.code}: {payload}") from None

    def state(self) -> dict:
        return self._call("GET", "state")

    def requests(self) -> list[dict]:
        return self._call("GET", "requests")["requests"]

    def records(self) -> list[dict]:
        """Delivered emails / messages / webhook requests, depending on the stand-in."""
        return next(iter(self._call("GET", "records").values()))

    def wait_for(self, count: int = 1, timeout: float = 10.0, what: str | None = None) -> list[dict]:
        params: dict[str, Any] = {"count": count, "timeout": timeout}
        if what:
            params["what"] = what
        return next(iter(self._call("GET", "wait", params, timeout=timeout + 5).values()))

    def fail_next(
        self, times: int = 1, status: int = 500, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> dict:
        return self._call("POST", "fail", {"times": times, "status": status, "body": body, "headers": headers})

    def drop_next(self, times: int = 1) -> dict:
        return self._call("POST", "drop", {"times": times})

    def set_delay(self, seconds: float, times: int | None = None) -> dict:
        return self._call("POST", "delay", {"seconds": seconds, "times": times})

    def reset(self) -> dict:
        return self._call("POST", "reset")

    def clear(self) -> dict:
        return self._call("POST", "clear")

    def respond_with(self, status: int = 200, body: Any = None, headers: Mapping[str, str] | None = None) -> dict:
        """WebhookReceiver only."""
        return self._call("POST", "respond", {"status": status, "body": body, "headers": headers})

    def reject(self, number: str, code: int = 21211, message: str | None = None, status: int = 400) -> dict:
        """TwilioStandin only."""
        return self._call("POST", "reject", {"number": number, "code": code, "message": message, "status": status})


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools",
        description="Run the Resend, Twilio and webhook-receiver stand-ins in the foreground.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--resend-port", type=int, default=8025, help="0 = any free port")
    parser.add_argument("--twilio-port", type=int, default=8026, help="0 = any free port")
    parser.add_argument("--webhook-port", type=int, default=8027, help="0 = any free port")
    parser.add_argument("--webhook-status", type=int, default=200, help="status the webhook receiver answers")
    args = parser.parse_args(argv)

    print_lock = threading.Lock()

    def log(line: str) -> None:
        stamp = datetime.datetime.now().strftime("%H:%M:%S")
        with print_lock:
            print(f"{stamp} {line}", flush=True)

    servers = [
        ResendStandin(args.host, args.resend_port, log=log),
        TwilioStandin(args.host, args.twilio_port, log=log),
        WebhookReceiver(args.host, args.webhook_port, status=args.webhook_status, log=log),
    ]
    try:
        for server in servers:
            server.start()
    except OSError as exc:
        for server in servers:
            server.stop()
        print(f"devtools: cannot bind: {exc}", file=sys.stderr)
        return 1
    resend_server, twilio_server, webhook_server = servers
    print(
        "devtools stand-ins running (Ctrl-C to stop)\n"
        f"  resend   {resend_server.url}\n"
        f"  twilio   {twilio_server.url}\n"
        f"  webhook  {webhook_server.url}/<any path>  (answers {args.webhook_status})\n"
        "environment:\n"
        f"  RESEND_API_KEY=re_dev RESEND_API_URL={resend_server.url}\n"
        "  TWILIO_ACCOUNT_SID=AC00000000000000000000000000000000 TWILIO_AUTH_TOKEN=dev "
        f"TWILIO_FROM_NUMBER=+15005550006 TWILIO_API_URL={twilio_server.url}",
        flush=True,
    )
    stop = threading.Event()
    # Handle SIGINT explicitly too: a background launcher may have left it ignored.
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for server in servers:
            server.stop()
    print("devtools stand-ins stopped", flush=True)
    return 0
