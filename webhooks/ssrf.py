"""The SSRF guard: which webhook URLs we may call, and the address to connect to.

Pure (no Django): the callers pass ``allow_private`` from
``settings.WEBHOOK_ALLOW_PRIVATE_TARGETS``.

A webhook URL is chosen by an API client, and our worker calls it from
inside our network. Without a guard, a client could make the worker call
``http://169.254.169.254/`` (cloud metadata), ``http://10.0.0.5/admin`` or
``http://localhost:6379``. So, unless private targets are allowed (local
development, tests):

* only ``http`` and ``https``, with a host name, without credentials;
* every address the host resolves to must be publicly routable: loopback,
  private (RFC 1918, IPv6 unique local), link-local, shared (CGNAT,
  100.64.0.0/10), multicast, unspecified and reserved ranges are refused, in
  IPv4 and IPv6, including IPv6 forms that carry an IPv4 address (mapped
  ``::ffff:a.b.c.d``, compatible ``::a.b.c.d``, NAT64, 6to4, Teredo) and the
  old numeric IPv4 spellings (``2130706433``, ``0x7f.1``, ``127.1``);
* the address checked is the address connected to (:class:`Target`): the
  sender never resolves the name a second time, so DNS cannot answer
  differently between the check and the connection (DNS rebinding).

The check runs when a subscription is saved (a clear 400) and again before
every attempt (DNS may have changed since).
"""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(
    ipaddress.ip_network(network) for network in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = tuple(ipaddress.ip_network(network) for network in ("64:ff9b::/96", "64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why, in words an API client understands."""


@dataclass(frozen=True)
class WebhookUrl:
    """A URL split into what the sender needs; ``host`` as written (IDNA-encoded), without brackets."""

    scheme: str
    host: str
    port: int
    path: str  # path and query, never empty

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class Target:
    """A checked URL and the one address to connect to."""

    url: WebhookUrl
    address: str


Resolver = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def parse_url(url: str) -> WebhookUrl:
    """Split and check the form of ``url``: http(s), a host, no credentials, a valid port."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeUrl("Enter a URL.")
    if any(character.isspace() or ord(character) < 32 for character in url):
        raise UnsafeUrl("A URL cannot contain spaces or control characters.")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeUrl(f"Not a valid URL ({error}).") from None
    scheme = parts.scheme.lower()
    if not scheme or not parts.netloc:
        raise UnsafeUrl("Give a full URL with its scheme, e.g. https://example.com/webhooks.")
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeUrl(f"Only http and https URLs can receive webhooks, not {scheme}.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("Credentials in the URL are not supported; verify the signature instead.")
    host = parts.hostname or ""
    if not host:
        raise UnsafeUrl("The URL has no host name.")
    if port == 0:
        raise UnsafeUrl("Port 0 cannot be called.")
    if ":" not in host:  # IPv6 literals stay as they are; names are IDNA-encoded
        try:
            host = host.rstrip(".").encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise UnsafeUrl(f"{host!r} is not a valid host name.") from None
    if not host:
        raise UnsafeUrl("The URL has no host name.")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return WebhookUrl(scheme=scheme, host=host, port=port or DEFAULT_PORTS[scheme], path=path)


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one, in any spelling the system resolver would accept.

    ``inet_aton`` reads the old numeric forms (``2130706433``, ``0x7f.1``,
    ``127.1``) that browsers and resolvers still turn into addresses.
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host[:1].isdigit():
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _translated_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a connection to this IPv6 address really reaches (mapped, compatible, NAT64)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64[0] or address in _NAT64[1] or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _tunnelled_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses a 6to4 or Teredo address carries."""
    if address.sixtofour is not None:
        return (address.sixtofour,)
    return tuple(address.teredo or ())


def _own_blocked_reason(address: IPAddress) -> str | None:
    if address.is_unspecified or (address.version == 4 and address in _THIS_NETWORK):
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if any(address in network for network in _PRIVATE if network.version == address.version):
        return "a private address"
    if address.version == 4 and address in _CGNAT:
        return "a shared (carrier-grade NAT) address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_reserved or address.is_private or not address.is_global:
        return "a reserved address"
    return None


def blocked_reason(address: IPAddress) -> str | None:
    """Why ``address`` may not be called (e.g. ``"a loopback address"``), or ``None`` if it is public."""
    if address.version == 6:
        translated = _translated_ipv4(address)
        if translated is not None:
            return _own_blocked_reason(translated)
        for ipv4 in _tunnelled_ipv4(address):
            reason = _own_blocked_reason(ipv4)
            if reason:
                return reason
    return _own_blocked_reason(address)


def _check_addresses(url: WebhookUrl, addresses: list[str]) -> None:
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])
        reason = blocked_reason(address)
        if reason:
            reached = (_translated_ipv4(address) if address.version == 6 else None) or address
            shown = url.host if str(reached) == url.host else f"{url.host} ({reached})"
            raise UnsafeUrl(
                f"{shown} is {reason}: webhooks are sent only to public addresses "
                "(WEBHOOK_ALLOW_PRIVATE_TARGETS allows private ones for local development)."
            )


def resolve_target(url: str, *, allow_private: bool, resolver: Resolver | None = None) -> Target:
    """Check ``url`` and choose the address to connect to (the first one the host resolves to).

    Raises :class:`UnsafeUrl` for a malformed or forbidden URL, for a host that
    does not resolve, and, unless ``allow_private``, when any of its addresses
    is not public (a name with one public and one private address is refused
    too: the connection could go to either).
    """
    parsed = parse_url(url)
    literal = literal_address(parsed.host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = (resolver or resolve_host)(parsed.host, parsed.port)
        except (OSError, UnicodeError) as error:
            raise UnsafeUrl(f"{parsed.host} does not resolve ({error}).") from None
        if not addresses:
            raise UnsafeUrl(f"{parsed.host} does not resolve.")
    if not allow_private:
        _check_addresses(parsed, addresses)
    return Target(url=parsed, address=addresses[0])


def check_url(url: str, *, allow_private: bool, resolver: Resolver | None = None) -> None:
    """The subscribe-time check: the form always; the addresses unless private targets are allowed.

    With private targets allowed nothing is resolved here (a development URL
    may name a host that only exists later); the sender resolves it anyway.
    """
    if allow_private:
        parse_url(url)
        return
    resolve_target(url, allow_private=False, resolver=resolver)
