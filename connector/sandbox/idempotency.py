"""Idempotency keys (contract §4, C1-C5): per token, 24 h replay of 2xx answers."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

from connector.sandbox.errors import ApiError


@dataclass
class Record:
    fingerprint: str
    expires: float
    done: bool = False
    status: int = 0
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def check_key_format(key: str | None) -> str:
    if key is None or key == "":
        raise ApiError("IDEMPOTENCY_KEY_REQUIRED")
    if len(key) > 255 or not all(32 <= ord(c) < 127 for c in key):
        raise ApiError(
            "VALIDATION_FAILED",
            "The Idempotency-Key header is invalid.",
            fields={"Idempotency-Key": ["must be 1 to 255 printable ASCII characters"]},
        )
    return key


class IdempotencyStore:
    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._records: dict[tuple[str, str], Record] = {}
        self._lock = threading.Lock()

    def begin(self, token_id: str, key: str, fp: str, now: float) -> Record | None:
        """Claim the key. Returns a finished record to replay, or None when the caller should execute."""
        with self._lock:
            existing = self._records.get((token_id, key))
            if existing is not None and existing.expires <= now:
                existing = None
            if existing is None:
                self._records[(token_id, key)] = Record(fingerprint=fp, expires=now + self.ttl)
                return None
            if existing.fingerprint != fp:
                raise ApiError("IDEMPOTENCY_KEY_REUSED")
            if not existing.done:
                raise ApiError("IDEMPOTENCY_REQUEST_IN_PROGRESS", headers={"Retry-After": "1"})
            return existing

    def complete(self, token_id: str, key: str, status: int, body: Any, headers: dict[str, str]) -> None:
        with self._lock:
            record = self._records.get((token_id, key))
            if record is None:
                return
            if 200 <= status < 300:
                record.done, record.status, record.body, record.headers = True, status, body, headers
            else:
                del self._records[(token_id, key)]

    def release(self, token_id: str, key: str) -> None:
        with self._lock:
            record = self._records.get((token_id, key))
            if record is not None and not record.done:
                del self._records[(token_id, key)]

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
