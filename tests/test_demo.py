"""`demo` starts the sandbox and the connector, drives live traffic, and stops cleanly."""

from __future__ import annotations

import socket

import pytest

from connector.demo import run_demo


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_runs_briefly_and_produces_traffic(capsys: pytest.CaptureFixture[str]) -> None:
    counts = run_demo(sandbox_port=_port(), connector_port=_port(), duration=1.5, rate=10)
    out = capsys.readouterr().out
    assert sum(counts.values()) >= 5
    assert "subscription.created" in counts
    assert "MemberPass sandbox" in out and "token full" in out
    assert "stopped cleanly" in out
