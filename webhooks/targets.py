"""Where deliveries may go: the SSRF guard for subscription target URLs.

Rules (DESIGN.md Security; Standard Webhooks delivery guidance):

- only ``http`` and ``https`` URLs with a host, no whitespace, backslashes or control characters;
- the host is resolved and *every* address it resolves to must be public: loopback, private (RFC 1918,
  fc00::/7), link-local (169.254/16 with the cloud metadata address 169.254.169.254, fe80::/10),
  shared CGNAT space (100.64/10), "this network" (0/8), unspecified, multicast, broadcast, reserved and
  documentation ranges are refused, and so are IPv6 forms that embed such an IPv4 address (mapped
  ``::ffff:a.b.c.d``, NAT64 ``64:ff9b::/96``, 6to4, Teredo);
- ``allow_private`` (``CONNECTOR_ALLOW_PRIVATE_TARGETS``, for development) lifts the address rules;
- the check runs again when connecting (:class:`GuardedAdapter`), against the address the socket is
  actually connected to, so a name that re-resolves to an internal address later (DNS rebinding) is
  refused before a byte of the request is sent;
- redirects are never followed (``send`` uses ``allow_redirects=False``; a 3xx is a failed attempt).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from connector.errors import ValidationError

ALLOW_SETTING = "CONNECTOR_ALLOW_PRIVATE_TARGETS"
MAX_URL_LENGTH = 2048
METADATA_ADDRESS = ipaddress.ip_address("169.254.169.254")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_UNSAFE_CHARS = re.compile(r"[\s\\\x00-\x1f\x7f]")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]


class TargetURLError(ValidationError):
    """A subscription target URL (or the address it leads to) is not allowed."""

    code = "TARGET_URL_REFUSED"
    default_remediation = (
        "Use a public http(s) URL. For local development set "
        f"{ALLOW_SETTING}=1 to allow private and loopback addresses."
    )

    def __init__(self, message: str, **kwargs: Any) -> None:
        kwargs.setdefault("fields", {"target_url": [message]})
        super().__init__(message, **kwargs)


@dataclass(frozen=True)
class CheckedTarget:
    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, as the socket layer would connect to it."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def refusal_reason(address: Address) -> str | None:
    """Why deliveries may not go to ``address``, or None when it is a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None and (reason := refusal_reason(inner)) is not None:
            return f"it embeds the IPv4 address {inner}, which is {reason}"
    checks = [
        (address == METADATA_ADDRESS, "the cloud metadata address"),
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.version == 4 and address in _THIS_NETWORK, "in 'this network' (0.0.0.0/8)"),
        (address.version == 4 and address in _CGNAT, "in the shared CGNAT range (100.64.0.0/10)"),
        (address.is_multicast, "a multicast address"),
        (address.is_reserved, "a reserved address"),
        (address.is_private, "a private address"),
        (not address.is_global, "not a globally routable address"),
    ]
    return next((reason for hit, reason in checks if hit), None)


def check_address(address: str, *, allow_private: bool = False, host: str | None = None) -> None:
    """Raise :class:`TargetURLError` naming the address, why, and what to set, unless it is allowed."""
    if allow_private:
        return
    try:
        parsed = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise TargetURLError(f"The target resolved to {address!r}, which is not an IP address.") from None
    reason = refusal_reason(parsed)
    if reason is not None:
        of_host = f" (the address of {host})" if host and host != address else ""
        raise TargetURLError(
            f"Deliveries may not go to {parsed}{of_host}: it is {reason}. "
            f"Set {ALLOW_SETTING}=1 to allow private targets in development.",
            context={"address": str(parsed), "reason": reason},
        )


def check_target_url(
    url: str, *, allow_private: bool = False, resolver: Resolver = system_resolver
) -> CheckedTarget:
    """Parse, resolve and check a target URL; :class:`TargetURLError` says what is wrong."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH or _UNSAFE_CHARS.search(url):
        raise TargetURLError(f"The target URL must be a single line of at most {MAX_URL_LENGTH} characters.")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetURLError("The target URL must be an http or https URL with a host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetURLError("The target URL has an invalid port.") from None
    host = parts.hostname
    try:
        addresses = resolver(host, port)
    except OSError:
        raise TargetURLError(f"The target host {host!r} could not be resolved.") from None
    if not addresses:
        raise TargetURLError(f"The target host {host!r} resolved to no address.")
    for address in addresses:
        check_address(address, allow_private=allow_private, host=host)
    return CheckedTarget(url, parts.scheme, host, port, tuple(addresses))


def check_target(url: str, *, allow_private: bool = False, resolver: Resolver = system_resolver) -> str:
    """The URL itself once :func:`check_target_url` accepts it (what the subscription stores)."""
    return check_target_url(url, allow_private=allow_private, resolver=resolver).url


# --- checked again at connect time: DNS rebinding --------------------------------------------------------
class _GuardMixin:
    allow_private = False

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        peer = self.sock.getpeername()[0]  # type: ignore[attr-defined]
        try:
            check_address(peer, allow_private=self.allow_private, host=self.host)  # type: ignore[attr-defined]
        except TargetURLError:
            self.close()  # type: ignore[attr-defined]
            raise


class _GuardedHTTPConnection(_GuardMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardMixin, HTTPSConnection):
    pass


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections refuse a non-public peer address before sending anything."""

    def __init__(self, *, allow_private: bool = False, **kwargs: Any) -> None:
        self.allow_private = allow_private
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        guard = {"allow_private": self.allow_private}
        http_conn = type("GuardedHTTP", (_GuardedHTTPConnection,), guard)
        https_conn = type("GuardedHTTPS", (_GuardedHTTPSConnection,), guard)
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
            "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
        }


def delivery_session(*, allow_private: bool = False) -> requests.Session:
    """A session for deliveries: guarded connections, no proxies or netrc from the environment."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(allow_private=allow_private)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
