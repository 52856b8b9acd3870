"""The HTTP side (``webhooks.transport``): the checked address, the host name for Host/SNI/TLS, and bounds.

Real local servers: plain HTTP and HTTPS with certificates from a test CA
(trustme). The target names a host that no DNS knows; the transport must
reach it through the address it is given, and still verify TLS for the name.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme

from webhooks.ssrf import Target, parse_url
from webhooks.transport import Transport

HOST = "hooks.example.test"


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse shows

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append({"host": self.headers["Host"], "body": body, "client": self.client_address})
        answer = self.server.answer
        if callable(answer):
            answer(self)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serving(context: ssl.SSLContext | None = None, answer=b"ok"):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.daemon_threads = True
    server.seen, server.answer, server.sni = [], answer, []
    if context is not None:
        context.sni_callback = lambda sock, name, ctx: server.sni.append(name)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def target(server, scheme: str = "http", host: str = HOST) -> Target:
    return Target(url=parse_url(f"{scheme}://{host}:{server.server_address[1]}/hook"), address="127.0.0.1")


def post(transport: Transport, where: Target, *, timeout: float = 5, max_bytes: int = 1024):
    return transport.post(
        where, headers={"content-type": "application/json"}, body=b"{}", timeout=timeout, max_response_bytes=max_bytes
    )


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture
def ca_file(ca):
    with ca.cert_pem.tempfile() as path:
        yield path


def tls_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    return context


def test_http_goes_to_the_given_address_with_the_host_name_in_the_host_header():
    with serving() as server:
        result = post(Transport(), target(server))

    assert result.succeeded and result.status == 200 and result.body == b"ok"
    assert server.seen[0]["host"] == f"{HOST}:{server.server_address[1]}"


def test_https_sends_the_host_name_as_sni_and_verifies_the_certificate_for_it(ca, ca_file):
    with serving(tls_context(ca, HOST)) as server:
        result = post(Transport(ca_certs=ca_file), target(server, "https"))

    assert result.succeeded, result.error
    assert server.sni == [HOST]
    assert server.seen[0]["host"] == f"{HOST}:{server.server_address[1]}"


def test_https_refuses_a_certificate_for_another_name(ca, ca_file):
    with serving(tls_context(ca, "other.example.test")) as server:
        result = post(Transport(ca_certs=ca_file), target(server, "https"))

    assert not result.succeeded and result.status is None
    assert result.error.startswith("TLS error") and HOST in result.error
    assert server.seen == []


def test_https_refuses_a_certificate_from_an_unknown_authority(ca):
    with serving(tls_context(ca, HOST)) as server:
        result = post(Transport(), target(server, "https"))  # the public CAs only

    assert result.error.startswith("TLS error") and "certificate verify failed" in result.error
    assert server.seen == []


def test_connections_to_one_receiver_are_reused():
    transport = Transport()
    with serving() as server:
        results = [post(transport, target(server)) for _ in range(3)]

    assert all(result.succeeded for result in results)
    assert len({seen["client"] for seen in server.seen}) == 1


def test_the_answer_is_read_up_to_the_limit_only():
    with serving(answer=b"y" * 100_000) as server:
        result = post(Transport(), target(server), max_bytes=1000)

    assert result.succeeded and result.truncated
    assert result.body == b"y" * 1000


def test_a_body_that_trickles_in_past_the_timeout_fails_the_attempt():
    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gives up first
            for _ in range(100):
                handler.wfile.write(b"z")
                handler.wfile.flush()
                time.sleep(0.05)

    with serving(answer=trickle) as server:
        result = post(Transport(), target(server), timeout=0.5)

    assert result.status == 200 and not result.succeeded
    assert result.error == "Timed out after 0.5 s."
