"""The action idempotency store (DESIGN.md "Actions and idempotency").

A call is identified per connection by the caller's ``Idempotency-Key`` (``k:<key>``) or, without one, by a
key derived from the action and its canonical input (``d:<sha256>``), so two identical calls within the
window are one call. Its fingerprint is the action plus the canonical input (sorted-keys JSON).

:meth:`IdempotencyStore.begin` either claims the key (the caller runs the action, then :meth:`complete` or
:meth:`release`), or returns the stored answer to replay, or raises:

- same key, different fingerprint → 422 ``IDEMPOTENCY_KEY_REUSED``;
- same key still running → the caller waits (polling, bounded by ``wait``) for the stored answer, and gets
  409 ``IDEMPOTENCY_REQUEST_IN_PROGRESS`` with ``retry_after`` if it does not come in time.

The claim is atomic: ``INSERT OR IGNORE`` on the (connection, key) primary key inside one write
transaction. Only successes are stored. A claim whose holder died (its lease ran out, or its process is
gone: a claim names its process, connector/leases.py, so a restart takes it over at once), or whose call
failed in a way that may have reached MemberPass (network error, 5xx, 429), is taken over by the next call
with the SAME upstream key: that key is derived from the connection, the key and the claim's creation time, so
a retry sends the key MemberPass already saw and gets its replay instead of a second record. After a
definite refusal (4xx) the claim is forgotten and a retry starts afresh. Stored answers are encrypted
(they may hold a webhook secret); one that can no longer be decrypted counts as lost, and the call runs
again with its upstream key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from connector.clock import Clock
from connector.crypto import DecryptionError, KeyRing
from connector.errors import IdempotencyInProgressError, IdempotencyKeyReusedError
from connector.leases import lease_owner, owner_is_gone
from connector.storage.db import ConnectorDB

DEFAULT_WINDOW = 86_400.0
RELEASE_RETRYABLE = (
    "UPDATE action_idempotency SET lease_until = 0 "
    "WHERE connection_id = ? AND key = ? AND state = 'in_progress'"
)
RELEASE_REFUSED = (
    "DELETE FROM action_idempotency WHERE connection_id = ? AND key = ? AND state = 'in_progress'"
)


def canonical(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(action: str, values: dict[str, Any]) -> str:
    return hashlib.sha256(f"{action}\n{canonical(values)}".encode()).hexdigest()


def scoped_key(action: str, values: dict[str, Any], caller_key: str | None) -> str:
    """The store key: the caller's key, or one derived from the action and its input."""
    return f"k:{caller_key}" if caller_key is not None else f"d:{fingerprint(action, values)}"


def upstream_key(connection_id: str, key: str, created_at: float) -> str:
    digest = hashlib.sha256(f"{connection_id}\n{key}\n{created_at!r}".encode()).hexdigest()
    return f"mpc-{digest[:48]}"


@dataclass(frozen=True)
class Claim:
    """This caller runs the action, sending ``upstream_key`` to MemberPass."""

    connection_id: str
    key: str
    upstream_key: str


@dataclass(frozen=True)
class Stored:
    """A completed call's answer, to replay."""

    status: int
    body: Any


class IdempotencyStore:
    """Over the ``action_idempotency`` table (migration ``connector/storage/idempotency_migrations.py``)."""

    def __init__(
        self,
        cdb: ConnectorDB,
        ring: KeyRing,
        clock: Clock,
        *,
        window: float = DEFAULT_WINDOW,
        lease: float = 120.0,
        wait: float = 15.0,
        poll: float = 0.05,
    ) -> None:
        self.cdb, self.ring, self.clock = cdb, ring, clock
        self.window, self.lease, self.wait, self.poll = window, lease, wait, poll

    def begin(self, connection_id: str, key: str, action: str, fp: str) -> Claim | Stored:
        deadline = self.clock.monotonic() + self.wait
        while True:
            outcome = self._try(connection_id, key, action, fp)
            if outcome is not None:
                return outcome
            if self.clock.monotonic() >= deadline:
                raise IdempotencyInProgressError(
                    "A call with this Idempotency-Key is still running.", retry_after=1.0
                )
            self.clock.sleep(self.poll)

    def _try(self, connection_id: str, key: str, action: str, fp: str) -> Claim | Stored | None:
        """One atomic look: claim, replay, refuse, or None (someone else is running it)."""
        now, owner = self.clock.now(), lease_owner()
        with self.cdb.transaction() as db:
            db.execute("DELETE FROM action_idempotency WHERE expires_at <= ?", [now])
            inserted = db.execute(
                "INSERT OR IGNORE INTO action_idempotency (connection_id, key, action, fingerprint, "
                "upstream_key, state, created_at, lease_until, expires_at, lease_owner) "
                "VALUES (?, ?, ?, ?, ?, 'in_progress', ?, ?, ?, ?)",
                [connection_id, key, action, fp, upstream_key(connection_id, key, now), now,
                 now + self.lease, now + self.window, owner],
            ).rowcount  # fmt: skip
            row = self._row(connection_id, key)
            if inserted:
                return Claim(connection_id, key, row["upstream_key"])
            if row["fingerprint"] != fp:
                raise IdempotencyKeyReusedError(
                    f"This Idempotency-Key was already used for a different call ({row['action']} with "
                    "other input).",
                    remediation="Use a fresh Idempotency-Key for a different call.",
                )
            if row["state"] == "completed":
                stored = self._decrypt(row)
                if stored is not None:
                    return stored
            elif row["lease_until"] > now and not owner_is_gone(row["lease_owner"] or ""):
                return None  # running elsewhere (a killed process's claim is taken over at once)
            db.execute(
                "UPDATE action_idempotency SET state = 'in_progress', lease_until = ?, lease_owner = ? "
                "WHERE connection_id = ? AND key = ?",
                [now + self.lease, owner, connection_id, key],
            )
            return Claim(connection_id, key, row["upstream_key"])

    def _row(self, connection_id: str, key: str) -> dict[str, Any]:
        rows = self.cdb.db.query(
            "SELECT * FROM action_idempotency WHERE connection_id = ? AND key = ?", [connection_id, key]
        )
        return next(iter(rows))

    def _decrypt(self, row: dict[str, Any]) -> Stored | None:
        try:
            plain = self.ring.decrypt(row["body"], _aad(row["connection_id"], row["key"]))
        except DecryptionError:
            return None
        return Stored(int(row["status"]), json.loads(plain))

    def complete(self, claim: Claim, status: int, body: Any) -> None:
        blob = self.ring.encrypt(json.dumps(body), _aad(claim.connection_id, claim.key))
        with self.cdb.transaction() as db:
            db.execute(
                "UPDATE action_idempotency SET state = 'completed', status = ?, body = ?, completed_at = ? "
                "WHERE connection_id = ? AND key = ?",
                [status, blob, self.clock.now(), claim.connection_id, claim.key],
            )

    def release(self, claim: Claim, *, retryable: bool) -> None:
        """The call failed. After a failure that may have reached MemberPass (network, 5xx, 429) the claim
        is kept with its lease ended, so the next call takes it over with the same upstream key; after a
        definite refusal it is forgotten, and the next call starts afresh."""
        sql = RELEASE_RETRYABLE if retryable else RELEASE_REFUSED
        with self.cdb.transaction() as db:
            db.execute(sql, [claim.connection_id, claim.key])


def _aad(connection_id: str, key: str) -> bytes:
    return f"action_idempotency:{connection_id}:{key}".encode()
