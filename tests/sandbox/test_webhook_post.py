"""One delivery attempt of the sandbox against receivers that break the connection: a failed attempt with
its reason, never a crash of the dispatcher."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from connector.sandbox.webhook_delivery import Job
from connector.sandbox.webhook_dispatcher import post


@contextmanager
def answering(raw: bytes) -> Iterator[str]:
    """A receiver that reads the request, writes ``raw`` and closes the connection."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(raw)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        thread.join(5)
        server.close()


def job(url: str) -> Job:
    return Job("whd_1", 1, "whe_1", url, b'{"id": "evt_1"}', {"Content-Type": "application/json"})


def test_a_body_cut_short_is_a_failed_attempt_not_a_crash() -> None:
    with answering(b"HTTP/1.1 200 OK\r\nContent-Length: 38\r\n\r\n") as url:
        outcome = post(job(url), timeout=5)
    assert not outcome.ok and outcome.http_status is None
    assert outcome.excerpt is not None and outcome.excerpt.startswith("Connection failed")


def test_a_complete_answer_is_read() -> None:
    with answering(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok") as url:
        outcome = post(job(url), timeout=5)
    assert outcome.ok and outcome.http_status == 200 and outcome.excerpt == "ok"
