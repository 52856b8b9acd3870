"""One webhook HTTP request: to the checked address, no redirects, bounded in time and memory.

Pure (no Django), on urllib3 (which ``requests`` is built on) because it lets
us connect to an address we choose while the request still names the host:

* the connection goes to :attr:`~webhooks.ssrf.Target.address`, the address
  the SSRF guard checked, never to a second DNS answer;
* the ``Host`` header, the TLS SNI and the certificate check use the URL's
  host name, so HTTPS verifies the receiver exactly as a browser would;
* redirects are answered as they are (a 3xx is a failed attempt), because
  following one would reach a URL nobody checked;
* the whole request is bounded by ``timeout`` (connect and first byte), and
  the body is read in small pieces until ``max_response_bytes`` (then the
  connection is dropped), so a slow or huge answer cannot hold a worker or
  fill its memory;
* connections are pooled per (address, port, host name): a burst of
  deliveries to one receiver reuses them, from many threads at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from .ssrf import Target

USER_AGENT = "coaching-bookings-webhooks/1.0"
READ_CHUNK_BYTES = 16 * 1024


@dataclass(frozen=True)
class HttpResult:
    """What one request got: a status (``None`` when no answer came), the first bytes of the body, an error."""

    status: int | None
    body: bytes = b""
    truncated: bool = False
    error: str = ""
    duration_ms: int = 0

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.error


class Transport:
    """Sends webhook requests over pooled connections; safe to share between threads."""

    def __init__(self, *, max_connections: int = 16, ca_certs: str | None = None):
        self._pools = urllib3.PoolManager(
            num_pools=128,
            maxsize=max_connections,
            block=False,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_certs or certifi.where(),
        )

    def post(
        self, target: Target, *, headers: dict[str, str], body: bytes, timeout: float, max_response_bytes: int
    ) -> HttpResult:
        """POST ``body`` to ``target``; never raises for network trouble (it is in ``HttpResult.error``)."""
        started = time.monotonic()
        url = target.url
        pool_kwargs = {"server_hostname": url.host} if url.scheme == "https" else None
        pool = self._pools.connection_from_host(target.address, url.port, url.scheme, pool_kwargs=pool_kwargs)
        request_headers = {"user-agent": USER_AGENT, **headers, "host": url.host_header}

        def elapsed_ms() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            response = pool.urlopen(
                "POST",
                url.path,
                body=body,
                headers=request_headers,
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=urllib3.Timeout(total=timeout),
                preload_content=False,
                decode_content=False,
            )
        except HTTPError as error:
            return HttpResult(status=None, error=describe_error(error, timeout), duration_ms=elapsed_ms())

        try:
            content, truncated = _read_capped(response, max_response_bytes, deadline=started + timeout)
        except HTTPError as error:
            response.close()
            response.release_conn()
            return HttpResult(status=response.status, error=describe_error(error, timeout), duration_ms=elapsed_ms())
        if truncated:
            response.close()  # the rest is never read: this connection cannot be reused
        response.release_conn()
        error = ""
        if 300 <= response.status < 400:
            location = response.headers.get("location", "")
            error = f"Redirect ({response.status}) to {location or 'nowhere'} not followed."
        return HttpResult(
            status=response.status, body=content, truncated=truncated, error=error, duration_ms=elapsed_ms()
        )


class _BodyTimeout(ReadTimeoutError):
    def __init__(self) -> None:
        super().__init__(None, "", "the response body took too long")


def _read_capped(response, max_bytes: int, *, deadline: float) -> tuple[bytes, bool]:
    """At most ``max_bytes`` of the body, and whether there was more; gives up at ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    while size <= max_bytes:
        if time.monotonic() > deadline:
            raise _BodyTimeout()
        chunk = response.read1(min(READ_CHUNK_BYTES, max_bytes + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    content = b"".join(chunks)
    return content[:max_bytes], size > max_bytes


def describe_error(error: Exception, timeout: float) -> str:
    """A network error in a sentence for the delivery log."""
    if isinstance(error, NewConnectionError):  # before timeouts: urllib3 derives it from ConnectTimeoutError
        return f"Could not connect: {_innermost(error)}"
    if isinstance(error, (ConnectTimeoutError, ReadTimeoutError)) or "timed out" in str(error).lower():
        return f"Timed out after {timeout:g} s."
    if isinstance(error, SSLError):
        return f"TLS error: {_innermost(error)}"
    if isinstance(error, ProtocolError):
        return f"Connection broken: {_innermost(error)}"
    return f"{type(error).__name__}: {_innermost(error)}"


def _innermost(error: BaseException) -> str:
    while error.__cause__ is not None or (error.args and isinstance(error.args[-1], BaseException)):
        error = error.__cause__ or error.args[-1]
    return str(error) or type(error).__name__
