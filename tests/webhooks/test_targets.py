"""The SSRF guard: refused address ranges, resolution, the development switch, and the connect-time check
against the address actually connected to (DNS rebinding)."""

from __future__ import annotations

import re

import pytest

from tests.webhooks.local_receiver import local_receiver
from webhooks.sender import send
from webhooks.signing import generate_secret, headers_for
from webhooks.targets import (
    ALLOW_SETTING,
    TargetURLError,
    check_target,
    check_target_url,
    delivery_session,
)


def resolving_to(*addresses: str):
    def resolver(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolver


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.5", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("169.254.169.254", "metadata"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("100.127.255.254", "CGNAT"),
        ("0.1.2.3", "this network"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "255.255.255.255"),
        ("::ffff:127.0.0.1", "127.0.0.1"),
        ("::ffff:169.254.169.254", "metadata"),
        ("64:ff9b::a9fe:a9fe", "metadata"),
        ("2002:0a00:0001::1", "10.0.0.1"),
        ("198.18.0.1", "198.18.0.1"),
        ("2001:db8::1", "2001:db8::1"),
    ],
)
def test_non_public_addresses_are_refused_with_the_address_the_reason_and_the_setting(
    address: str, reason: str
) -> None:
    with pytest.raises(TargetURLError) as caught:
        check_target_url("https://hooks.example.com/x", resolver=resolving_to(address))
    message = caught.value.message
    assert reason in message and ALLOW_SETTING in message and "hooks.example.com" in message
    assert caught.value.fields == {"target_url": [message]} and caught.value.status == 422


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "1.1.1.1"])
def test_public_addresses_pass(address: str) -> None:
    checked = check_target_url("https://hooks.example.com:8443/in?x=1", resolver=resolving_to(address))
    assert (checked.host, checked.port, checked.addresses) == ("hooks.example.com", 8443, (address,))


def test_every_resolved_address_must_be_public() -> None:
    with pytest.raises(TargetURLError, match=re.escape("10.0.0.7")):
        check_target_url("http://mixed.example.com/", resolver=resolving_to("93.184.216.34", "10.0.0.7"))


def test_allow_private_lifts_the_address_rules_but_not_the_url_rules() -> None:
    assert check_target("http://127.0.0.1:9/hook", allow_private=True) == "http://127.0.0.1:9/hook"
    with pytest.raises(TargetURLError):
        check_target("ftp://127.0.0.1/hook", allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.example.com/x",
        "file:///etc/passwd",
        "https:///no-host",
        "hooks.example.com/x",
        "https://hooks.example.com:99999/x",
        "https://hooks.example.com/a b",
        "https://127.0.0.1\\@hooks.example.com/",
        "https://hooks.example.com/\r\nX-Injected: 1",
        "https://hooks.example.com/" + "a" * 2100,
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(TargetURLError):
        check_target_url(url, resolver=resolving_to("93.184.216.34"))


def test_unresolvable_hosts_are_refused_with_the_host_named() -> None:
    def failing(host: str, port: int) -> list[str]:
        raise OSError("no such host")

    with pytest.raises(TargetURLError, match=re.escape("nowhere.invalid")):
        check_target_url("https://nowhere.invalid/x", resolver=failing)
    with pytest.raises(TargetURLError, match="no address"):
        check_target_url("https://empty.example.com/x", resolver=resolving_to())


def test_userinfo_cannot_smuggle_a_private_host() -> None:
    with pytest.raises(TargetURLError, match=re.escape("127.0.0.1")):
        check_target_url("http://hooks.example.com@127.0.0.1/", resolver=lambda h, p: [h])


def test_the_system_resolver_is_used_by_default() -> None:
    with pytest.raises(TargetURLError, match="loopback"):
        check_target("http://localhost:9/hook")


def test_the_connect_time_guard_refuses_a_name_that_now_points_inside() -> None:
    """DNS rebinding: the name was public when subscribed; now it resolves to loopback. The delivery
    session checks the connected peer and sends nothing."""
    secret = generate_secret()
    body = b'{"id":"mem_1"}'
    with local_receiver(secret) as receiver:
        url = f"http://localhost:{receiver.port}/hook"
        headers = headers_for("dlv_1", 1_780_000_000, body, [secret])
        outcome = send(delivery_session(allow_private=False), url, body, headers, timeout=5)
        assert outcome.kind == "retry" and outcome.status is None
        assert outcome.error is not None and "loopback" in outcome.error and ALLOW_SETTING in outcome.error
        assert receiver.requests == []
        allowed = send(delivery_session(allow_private=True), url, body, headers, timeout=5)
        assert allowed.status is not None and len(receiver.requests) == 1
