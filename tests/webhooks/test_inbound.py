"""MP-Signature verification (webhooks.md §4) and event-id deduplication."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from connector.clock import FakeClock
from webhooks.inbound import (
    MIN_RETENTION_SECONDS,
    MemoryEventDeduper,
    SignatureHeaderError,
    SignatureMismatchError,
    StaleTimestampError,
    VerifiedSignature,
    WebhookVerificationError,
    verify_mp_signature,
)

OLD = "mp_secret_old_0123456789"
NEW = "mp_secret_new_9876543210"
BODY = b'{"id":"evt_01HX","type":"subscription.created","data":{}}'


def mac(secret: str, t: int, body: bytes = BODY) -> str:
    """Written from the reference's steps, independently of the module under test."""
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=1_780_000_000.0)


def test_a_valid_v1_signature_verifies(clock: FakeClock) -> None:
    t = int(clock.now())
    assert verify_mp_signature(f"t={t},v1={mac(NEW, t)}", BODY, [NEW], clock) == VerifiedSignature(t, "v1", 0)


def test_a_tampered_body_is_refused(clock: FakeClock) -> None:
    t = int(clock.now())
    with pytest.raises(SignatureMismatchError):
        verify_mp_signature(f"t={t},v1={mac(NEW, t)}", BODY.replace(b"created", b"canceled"), [NEW], clock)


def test_a_tampered_signature_is_refused(clock: FakeClock) -> None:
    t = int(clock.now())
    good = mac(NEW, t)
    bad = ("0" if good[0] != "0" else "1") + good[1:]
    with pytest.raises(SignatureMismatchError):
        verify_mp_signature(f"t={t},v1={bad}", BODY, [NEW], clock)


def test_a_signature_made_for_another_timestamp_is_refused(clock: FakeClock) -> None:
    t = int(clock.now())
    with pytest.raises(SignatureMismatchError):
        verify_mp_signature(f"t={t},v1={mac(NEW, t - 1)}", BODY, [NEW], clock)


def test_dual_signed_rotation_verifies_with_either_secret(clock: FakeClock) -> None:
    t = int(clock.now())
    header = f"t={t},v0={mac(OLD, t)},v1={mac(NEW, t)}"
    assert verify_mp_signature(header, BODY, [OLD], clock).version == "v0"
    assert verify_mp_signature(header, BODY, [NEW], clock).version == "v1"
    assert verify_mp_signature(header, BODY, [NEW, OLD], clock).secret_index == 0


def test_the_old_secret_alone_still_verifies_a_v1_signed_with_it(clock: FakeClock) -> None:
    """The receiver keeps the previous secret while MemberPass still signs with it."""
    t = int(clock.now())
    verified = verify_mp_signature(f"t={t},v1={mac(OLD, t)}", BODY, [NEW, OLD], clock)
    assert (verified.version, verified.secret_index) == ("v1", 1)


def test_an_unknown_secret_is_refused_and_the_message_names_no_secret(clock: FakeClock) -> None:
    t = int(clock.now())
    signature = mac("somebody_elses_secret", t)
    with pytest.raises(SignatureMismatchError) as caught:
        verify_mp_signature(f"t={t},v1={signature}", BODY, [NEW, OLD], clock)
    text = caught.value.message + caught.value.remediation
    assert NEW not in text and OLD not in text and signature not in text
    assert caught.value.status == 401


@pytest.mark.parametrize("offset", [-301, 301, 86_400, -86_400])
def test_timestamps_outside_the_tolerance_are_refused_both_ways(clock: FakeClock, offset: int) -> None:
    t = int(clock.now()) + offset
    with pytest.raises(StaleTimestampError) as caught:
        verify_mp_signature(f"t={t},v1={mac(NEW, t)}", BODY, [NEW], clock)
    assert ("future" in caught.value.message) == (offset > 0)


@pytest.mark.parametrize("offset", [-300, 300])
def test_the_tolerance_edge_is_inclusive(clock: FakeClock, offset: int) -> None:
    t = int(clock.now()) + offset
    assert verify_mp_signature(f"t={t},v1={mac(NEW, t)}", BODY, [NEW], clock).timestamp == t


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "v1=abc",
        "t=,v1=abc",
        "t=12a4,v1=abc",
        "t=-1780000000,v1=abc",
        "t=\uff11\uff17\uff18,v1=abc",  # full-width digits
        "t=1780000000",
        "t=1780000000,v2=abc",
        "garbage",
    ],
)
def test_malformed_headers_are_refused_as_such(clock: FakeClock, header: str | None) -> None:
    with pytest.raises(SignatureHeaderError) as caught:
        verify_mp_signature(header, BODY, [NEW], clock)
    assert caught.value.status == 400 and isinstance(caught.value, WebhookVerificationError)


def test_candidates_of_another_length_and_unknown_parts_are_skipped(clock: FakeClock) -> None:
    t = int(clock.now())
    header = f" t={t} , v1=short , x-future=1 , v1={mac(NEW, t)} "
    assert verify_mp_signature(header, BODY, [NEW], clock).version == "v1"


def test_no_known_secret_is_a_mismatch_not_a_crash(clock: FakeClock) -> None:
    t = int(clock.now())
    with pytest.raises(SignatureMismatchError, match="No MemberPass webhook secret"):
        verify_mp_signature(f"t={t},v1={mac(NEW, t)}", BODY, [], clock)


def test_event_ids_are_remembered_for_the_retention_then_forgotten(clock: FakeClock) -> None:
    deduper = MemoryEventDeduper(clock)
    assert not deduper.seen("evt_1")
    deduper.remember("evt_1", clock.now())
    clock.advance(47 * 3600)
    assert deduper.seen("evt_1")
    deduper.remember("evt_2", clock.now())
    clock.advance(2 * 3600)
    assert not deduper.seen("evt_1") and deduper.seen("evt_2")
    assert len(deduper) == 1


def test_retention_below_24_hours_is_refused(clock: FakeClock) -> None:
    MemoryEventDeduper(clock, retention=MIN_RETENTION_SECONDS)
    with pytest.raises(ValueError, match="24 hours"):
        MemoryEventDeduper(clock, retention=MIN_RETENTION_SECONDS - 1)
