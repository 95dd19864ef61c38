"""Fixtures for the client's unit tests: a fake clock, a client with no jitter, the log of everything."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import responses

from connector.client import Limits, MemberPassClient, RateGovernor, RetryPolicy, no_jitter
from connector.clock import FakeClock

BASE = "https://api.memberpass.test/v1"
TOKEN = "mpt_test_AbCdEfGh12_" + "S3cr3tS3cr3tS3cr3tS3cr3tS3cr3t42"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def make_client(clock: FakeClock, **kw: object) -> MemberPassClient:
    """A client on its own governor (so tests never share rate state) with deterministic backoff."""
    kw.setdefault("governor", RateGovernor(Limits(), clock))
    kw.setdefault("jitter", no_jitter)
    return MemberPassClient(BASE, TOKEN, clock=clock, **kw)  # type: ignore[arg-type]


@pytest.fixture
def client(clock: FakeClock) -> MemberPassClient:
    return make_client(clock)


@pytest.fixture
def single_shot(clock: FakeClock) -> MemberPassClient:
    """A client that never retries, to see each error exactly as mapped."""
    return make_client(clock, retry=RetryPolicy(max_attempts=1, max_told_attempts=1))


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Captures every log record of every logger at DEBUG and above (read ``.records`` after the call)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def assert_no_token(*texts: object) -> None:
    for text in texts:
        assert TOKEN not in str(text)
        assert "S3cr3tS3cr3t" not in str(text)


def assert_logs_clean(logs: pytest.LogCaptureFixture) -> None:
    assert logs.records, "the call under test logged nothing, so the check would prove nothing"
    for record in logs.records:
        assert_no_token(record.getMessage(), record.exc_text or "", record.args)
