"""SSRF: subscription target URLs that lead inside are refused at ``POST /api/triggers/<key>/subscriptions``
with ``422 TARGET_URL_REFUSED`` naming ``target_url``, and nothing is kept (no subscription, no poll state,
no outbox row, no upstream webhook); at delivery time a redirect is a failed attempt, never followed, and a
name that now resolves inside is refused before a byte is sent.

The app runs with ``allow_private_targets=False`` (the default of ``CONNECTOR_ALLOW_PRIVATE_TARGETS``).
Receivers need a listening socket, which here can only be on loopback: a receiver on 127.0.0.2 stands in for
a public host by making :func:`webhooks.targets.check_address` treat that one address as public, so the
rest of the guard (and the redirect rule) is the product's own.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import webhooks.targets
from tests.security.conftest import TEAM_EVENT, Harness, assert_error, body_of
from triggers.engine import run_poll
from webhooks.worker import DeliveryWorker

REFUSED = "TARGET_URL_REFUSED"
PUBLIC_STAND_IN = "127.0.0.2"
FAKE_NAMES = {
    "rebind.attacker.test": ["127.0.0.1"],
    "metadata.google.internal": ["169.254.169.254"],  # what it resolves to inside Google Cloud
    "dual.attacker.test": ["93.184.216.34", "10.0.0.7"],  # one public address is not enough
    "v6.attacker.test": ["::1"],
}


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """``socket.getaddrinfo`` answering for a few attacker-controlled names, and for ``*.localhost`` with
    loopback as RFC 6761 §6.3 asks (glibc does not); every other name resolves as before."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = (host.decode() if isinstance(host, bytes) else str(host)).lower().rstrip(".")
        local = name == "localhost" or name.endswith(".localhost")
        addresses = FAKE_NAMES.get(name) or (["127.0.0.1", "::1"] if local else None)
        if addresses is None:
            return real(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port or 0)))
            for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


LOOPBACK = [
    "http://127.0.0.1/hook",
    "http://127.1/hook",
    "http://0x7f000001/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://127.255.255.254:8080/hook",
    "http://[::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "https://localhost/hook",
    "https://LOCALHOST./hook",
    "https://api.localhost/hook",
    "https://rebind.attacker.test/hook",
    "https://v6.attacker.test/hook",
]
PRIVATE = [
    "http://10.0.0.1/hook",
    "http://10.255.255.255/hook",
    "http://172.16.0.1/hook",
    "http://172.31.255.254/hook",
    "http://192.168.0.1/hook",
    "http://192.168.255.254/hook",
    "http://[fc00::1]/hook",
    "http://[fd12:3456:789a::1]/hook",
    "http://100.64.0.1/hook",  # CGNAT
    "https://dual.attacker.test/hook",
]
LINK_LOCAL = [
    "http://169.254.1.1/hook",
    "http://[fe80::1]/hook",
    "http://[fe80::1%eth0]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",  # NAT64 form of the metadata address
    "http://metadata.google.internal/computeMetadata/v1/",
]
UNSPECIFIED = ["http://0.0.0.0/hook", "http://0/hook", "http://[::]/hook", "http://0.1.2.3/hook"]
NOT_HTTP = [
    "ftp://hooks.example.com/x",
    "file:///etc/passwd",
    "gopher://127.0.0.1:6379/_FLUSHALL",
    "dict://127.0.0.1:11211/stats",
    "javascript:alert(1)",
    "data:text/plain,hi",
    "//hooks.example.com/x",
    "hooks.example.com/x",
    "http:///x",
]
USERINFO = [
    "http://example.com@127.0.0.1/",
    "http://hooks.example.com:443@169.254.169.254/",
    "http://user:pass@[::1]/",
    "http://127.0.0.1\\@hooks.example.com/",
    "http://hooks.example.com#@127.0.0.1/",
    "http://[fe80::1%25eth0]/hook",  # RFC 6874 zone id: refused, whether or not it resolves
]


def refused(h: Harness, url: str) -> dict[str, Any]:
    with h.unchanged():
        error = assert_error(h.subscribe(h.a, url), 422, REFUSED)
    assert list(error["fields"]) == ["target_url"], error
    assert not h.server.sandbox.store.rows("webhook_endpoints", lambda r: r.get("_team") == h.a.team_id)
    return error


@pytest.mark.usefixtures("fake_dns")
@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_targets_are_refused(h: Harness, url: str) -> None:
    assert refused(h, url)["context"]["reason"].endswith("a loopback address")


@pytest.mark.usefixtures("fake_dns")
@pytest.mark.parametrize("url", PRIVATE)
def test_private_targets_are_refused(h: Harness, url: str) -> None:
    reason = refused(h, url)["context"]["reason"]
    assert "private" in reason or "CGNAT" in reason


@pytest.mark.usefixtures("fake_dns")
@pytest.mark.parametrize("url", LINK_LOCAL)
def test_link_local_and_metadata_targets_are_refused(h: Harness, url: str) -> None:
    error = refused(h, url)
    assert "metadata" in error["context"]["reason"] or "link-local" in error["context"]["reason"]


@pytest.mark.parametrize("url", UNSPECIFIED)
def test_unspecified_and_this_network_targets_are_refused(h: Harness, url: str) -> None:
    assert refused(h, url)["context"]["address"].startswith(("0.", "::"))


@pytest.mark.parametrize("url", NOT_HTTP)
def test_non_http_targets_are_refused(h: Harness, url: str) -> None:
    assert "http" in refused(h, url)["message"]


@pytest.mark.parametrize("url", USERINFO)
def test_userinfo_and_parser_confusion_cannot_smuggle_an_inside_host(h: Harness, url: str) -> None:
    refused(h, url)


def test_the_metadata_name_is_refused_even_where_it_does_not_resolve(h: Harness) -> None:
    error = refused(h, "http://metadata.google.internal/computeMetadata/v1/")
    assert "could not be resolved" in error["message"]


def test_the_guard_applies_to_every_connection_and_trigger(h: Harness) -> None:
    with h.unchanged():
        for who in (h.a, h.b):
            response = h.call(
                "POST", "/api/triggers/new_member/subscriptions", who,
                json={"target_url": "http://127.0.0.1/x", "inputs": {"project_id": who.project_id}},
            )  # fmt: skip
            assert_error(response, 422, REFUSED)


def test_a_public_target_is_accepted_so_the_refusals_are_about_the_address(h: Harness) -> None:
    """Control case: the same request with a public address (resolved by the fake DNS) subscribes."""
    with dns({"hooks.public.test": ["93.184.216.34"]}):
        response = h.subscribe(h.a, "https://hooks.public.test/in")
    assert response.status_code == 201, response.get_data(as_text=True)
    deleted = h.call("DELETE", f"/api/subscriptions/{body_of(response)['id']}")
    assert deleted.status_code == 204


# --- at delivery time ---------------------------------------------------------------------------------------
@contextmanager
def dns(names: dict[str, list[str]]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        real = socket.getaddrinfo

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host in names:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port or 0))) for a in names[host]]
            return real(host, port, *args, **kwargs)

        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        yield


@dataclass
class Hits:
    paths: list[str] = field(default_factory=list)
    answer: tuple[int, dict[str, str]] = (204, {})


@contextmanager
def http_server(host: str, hits: Hits) -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
            hits.paths.append(self.path)
            status, headers = hits.answer
            self.send_response(status)
            for name, value in {**headers, "Content-Length": "0"}.items():
                self.send_header(name, value)
            self.end_headers()

        do_GET = do_POST = _any

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """127.0.0.2 counts as a public address; the guard's every other rule is unchanged."""
    real = webhooks.targets.check_address

    def check_address(address: str, *, allow_private: bool = False, host: str | None = None) -> None:
        if address != PUBLIC_STAND_IN:
            real(address, allow_private=allow_private, host=host)

    monkeypatch.setattr(webhooks.targets, "check_address", check_address)


def deliver_one(h: Harness, target_url: str) -> tuple[str, Any]:
    """Subscribe A to ``target_url``, make one event upstream, poll it into the outbox and attempt it.
    Returns (subscription id, the attempt)."""
    created = h.subscribe(h.a, target_url)
    assert created.status_code == 201, created.get_data(as_text=True)
    sub_id = body_of(created)["id"]
    store = h.server.sandbox.store
    with store.lock:
        store.emit(h.a.team_id, None, TEAM_EVENT, {"invoice": {"id": "inv_ssrf"}})
    with h.app.app_context():
        assert run_poll(sub_id).enqueued == 1
    [attempt] = DeliveryWorker.for_app(h.app, pool_size=1, timeout=5).run_once()
    return sub_id, attempt


@pytest.mark.usefixtures("stand_in")
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_an_inside_address_is_not_followed(h: Harness, status: int) -> None:
    inside, outside = Hits(), Hits()
    with http_server("127.0.0.1", inside) as inside_port, http_server(PUBLIC_STAND_IN, outside) as port:
        outside.answer = (status, {"Location": f"http://127.0.0.1:{inside_port}/admin"})
        sub_id, attempt = deliver_one(h, f"http://{PUBLIC_STAND_IN}:{port}/hook")
    assert outside.paths == ["/hook"] and inside.paths == [], "the redirect was followed"
    assert attempt.outcome.kind == "retry" and attempt.outcome.status == status
    listed = body_of(h.call("GET", "/api/deliveries", query_string={"subscription_id": sub_id}))["data"]
    assert [(d["status"], d["last_status"], d["delivered_at"]) for d in listed] == [("failed", status, None)]
    assert h.call("DELETE", f"/api/subscriptions/{sub_id}").status_code == 204


@pytest.mark.usefixtures("stand_in")
def test_a_redirect_to_the_metadata_address_is_not_followed(h: Harness) -> None:
    outside = Hits(answer=(307, {"Location": "http://169.254.169.254/latest/meta-data/iam/"}))
    with http_server(PUBLIC_STAND_IN, outside) as port:
        sub_id, attempt = deliver_one(h, f"http://{PUBLIC_STAND_IN}:{port}/hook")
    assert outside.paths == ["/hook"]
    assert (attempt.outcome.kind, attempt.outcome.status) == ("retry", 307)
    assert h.call("DELETE", f"/api/subscriptions/{sub_id}").status_code == 204


@pytest.mark.usefixtures("stand_in")
def test_a_name_that_now_resolves_inside_gets_nothing_at_delivery(h: Harness) -> None:
    """DNS rebinding: public when subscribed, loopback when delivering; the peer check refuses the
    connection before the request is written, and the row stays undelivered."""
    inside = Hits()
    with http_server("127.0.0.1", inside) as port:
        with dns({"rebinding.attacker.test": [PUBLIC_STAND_IN]}):
            created = h.subscribe(h.a, f"http://rebinding.attacker.test:{port}/hook")
        assert created.status_code == 201, created.get_data(as_text=True)
        sub_id = body_of(created)["id"]
        with h.server.sandbox.store.lock:
            h.server.sandbox.store.emit(h.a.team_id, None, TEAM_EVENT, {"invoice": {"id": "inv_rebind"}})
        with h.app.app_context():
            assert run_poll(sub_id).enqueued == 1
        with dns({"rebinding.attacker.test": ["127.0.0.1"]}):
            [attempt] = DeliveryWorker.for_app(h.app, pool_size=1, timeout=5).run_once()
    assert inside.paths == [], "a request reached the inside address"
    outcome = attempt.outcome
    assert outcome is not None and outcome.status is None and "loopback" in (outcome.error or "")
    listed = body_of(h.call("GET", "/api/deliveries", query_string={"subscription_id": sub_id}))["data"]
    assert [d["status"] for d in listed] == ["failed"] and "refused" in listed[0]["last_error"]
    assert h.call("DELETE", f"/api/subscriptions/{sub_id}").status_code == 204
