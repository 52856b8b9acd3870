"""The SSRF guard (``webhooks.ssrf``): which URLs may be called, and which address is connected to.

Pure: no database, no network (name resolution is a function the tests pass in).
"""

from __future__ import annotations

import ipaddress

import pytest

from webhooks.ssrf import UnsafeUrl, blocked_reason, check_url, literal_address, parse_url, resolve_target

REFUSED = {
    "10.0.0.1": "a private address",
    "172.16.5.4": "a private address",
    "192.168.1.10": "a private address",
    "127.0.0.1": "a loopback address",
    "127.8.9.10": "a loopback address",
    "169.254.169.254": "a link-local address",
    "100.64.0.1": "a shared (carrier-grade NAT) address",
    "224.0.0.1": "a multicast address",
    "0.0.0.0": "an unspecified address",
    "0.1.2.3": "an unspecified address",
    "255.255.255.255": "a reserved address",
    "240.0.0.1": "a reserved address",
    "192.0.2.1": "a reserved address",
    "198.18.0.1": "a reserved address",
    "::1": "a loopback address",
    "::": "an unspecified address",
    "fe80::1": "a link-local address",
    "fc00::1": "a private address",
    "fd12:3456::1": "a private address",
    "ff02::1": "a multicast address",
    "2001:db8::1": "a reserved address",
    "::ffff:127.0.0.1": "a loopback address",
    "::ffff:10.1.2.3": "a private address",
    "::ffff:169.254.169.254": "a link-local address",
    "::127.0.0.1": "a loopback address",
    "64:ff9b::127.0.0.1": "a loopback address",
    "2002:7f00:1::": "a loopback address",
    "2002:a00:1::": "a private address",
}
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "2002:808:808::"]


@pytest.mark.parametrize(("address", "reason"), REFUSED.items())
def test_non_public_addresses_are_refused_with_the_reason(address, reason):
    assert blocked_reason(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert blocked_reason(ipaddress.ip_address(address)) is None


def url_for(address: str) -> str:
    return f"http://[{address}]/hook" if ":" in address else f"http://{address}/hook"


@pytest.mark.parametrize("address", REFUSED)
def test_urls_on_non_public_addresses_are_refused_unless_allowed(address):
    with pytest.raises(UnsafeUrl, match="webhooks are sent only to public addresses"):
        resolve_target(url_for(address), allow_private=False, resolver=pytest.fail)

    allowed = resolve_target(url_for(address), allow_private=True, resolver=pytest.fail)
    assert ipaddress.ip_address(allowed.address) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("0251.0376.0251.0376", "169.254.169.254"),
    ],
)
def test_old_numeric_spellings_are_read_as_the_addresses_they_reach(spelling, address):
    assert str(literal_address(spelling)) == address
    with pytest.raises(UnsafeUrl, match=rf"{spelling} \({address}\) is a"):
        resolve_target(f"http://{spelling}/hook", allow_private=False, resolver=pytest.fail)


def test_names_that_look_numeric_are_still_names():
    assert literal_address("1password.example") is None
    assert literal_address("example.com") is None


def test_a_name_is_resolved_and_every_address_must_be_public():
    answers = {"public.example": ["93.184.216.34"], "mixed.example": ["93.184.216.34", "10.0.0.7"]}

    def resolver(host, port):
        return answers[host]

    target = resolve_target("https://public.example/hook?x=1", allow_private=False, resolver=resolver)
    assert (target.address, target.url.host, target.url.port, target.url.path) == (
        "93.184.216.34",
        "public.example",
        443,
        "/hook?x=1",
    )
    with pytest.raises(UnsafeUrl, match=r"mixed.example \(10.0.0.7\) is a private address"):
        resolve_target("https://mixed.example/", allow_private=False, resolver=resolver)


def test_the_first_resolved_address_is_the_one_to_connect_to():
    target = resolve_target(
        "http://hooks.example/", allow_private=True, resolver=lambda host, port: ["127.0.0.2", "127.0.0.3"]
    )
    assert target.address == "127.0.0.2"


def test_a_name_that_does_not_resolve_is_refused():
    def resolver(host, port):
        raise OSError("Name or service not known")

    with pytest.raises(UnsafeUrl, match="nowhere.example does not resolve"):
        resolve_target("http://nowhere.example/", allow_private=False, resolver=resolver)
    with pytest.raises(UnsafeUrl, match="does not resolve"):
        resolve_target("http://nowhere.example/", allow_private=True, resolver=lambda host, port: [])


def test_the_subscribe_time_check_resolves_only_with_the_guard_on():
    calls = []

    def resolver(host, port):
        calls.append(host)
        return ["93.184.216.34"]

    check_url("https://later.example/hook", allow_private=True, resolver=resolver)
    assert calls == []
    check_url("https://later.example/hook", allow_private=False, resolver=resolver)
    assert calls == ["later.example"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://hooks.example/", "Only http and https URLs can receive webhooks, not ftp."),
        ("file:///etc/passwd", "Give a full URL with its scheme"),
        ("gopher://hooks.example/", "not gopher"),
        ("hooks.example/hook", "Give a full URL with its scheme"),
        ("//hooks.example/hook", "Give a full URL with its scheme"),
        ("", "Enter a URL."),
        ("http://", "Give a full URL"),
        ("http://:80/", "no host name"),
        ("http://hooks example/", "spaces"),
        ("http://hooks.example/\nHost: evil", "control characters"),
        ("http://user@hooks.example/", "Credentials in the URL"),
        ("http://127.0.0.1@hooks.example/", "Credentials in the URL"),
        ("http://hooks.example:0/", "Port 0"),
        ("http://hooks.example:70000/", "Port out of range"),
        ("http://[::1/", "Not a valid URL"),
    ],
)
def test_malformed_urls_are_refused_whatever_the_setting(url, message):
    with pytest.raises(UnsafeUrl, match=message.replace(".", r"\.").replace("(", r"\(")):
        check_url(url, allow_private=True)


def test_urls_are_split_for_the_sender():
    assert parse_url("HTTPS://Bücher.Example./a/b?c=d#fragment") == parse_url("https://xn--bcher-kva.example/a/b?c=d")
    parsed = parse_url("http://[::1]:8027")
    assert (parsed.host, parsed.port, parsed.path, parsed.host_header) == ("::1", 8027, "/", "[::1]:8027")
    assert parse_url("https://hooks.example:443/x").host_header == "hooks.example"
    assert parse_url("http://hooks.example:8080/x").host_header == "hooks.example:8080"
