"""Outbound Standard Webhooks signatures: the spec's fixed vector, rotation, secrets."""

from __future__ import annotations

import base64
import re
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from webhooks.signing import generate_secret, headers_for, sign

VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_the_fixed_vector_of_the_standard_webhooks_python_library() -> None:
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
    assert headers_for(VECTOR_ID, VECTOR_TS, VECTOR_BODY, [VECTOR_SECRET]) == {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": "1614265330",
        "webhook-signature": VECTOR_SIGNATURE,
    }


def test_a_fractional_timestamp_is_floored_to_the_second_it_names() -> None:
    assert headers_for(VECTOR_ID, VECTOR_TS + 0.9, VECTOR_BODY, [VECTOR_SECRET])["webhook-signature"] == (
        VECTOR_SIGNATURE
    )


def test_several_secrets_sign_side_by_side_and_each_verifies_alone() -> None:
    old, new = generate_secret(), generate_secret()
    now = int(time.time())
    headers = headers_for("dlv_01", now, b'{"id":"mem_1"}', [new, old])
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        assert Webhook(secret).verify(b'{"id":"mem_1"}', headers) == {"id": "mem_1"}
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(b'{"id":"mem_1"}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new).verify(b'{"id":"mem_2"}', headers)


def test_generated_secrets_are_whsec_and_32_random_bytes() -> None:
    fixed = generate_secret(lambda n: bytes(range(n)))
    assert fixed.startswith("whsec_")
    assert base64.b64decode(fixed.removeprefix("whsec_")) == bytes(range(32))
    assert generate_secret() != generate_secret()


def test_ids_with_dots_and_missing_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("'.'")):
        headers_for("a.b", VECTOR_TS, VECTOR_BODY, [VECTOR_SECRET])
    with pytest.raises(ValueError, match="secret"):
        headers_for(VECTOR_ID, VECTOR_TS, VECTOR_BODY, [])
