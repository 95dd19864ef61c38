"""The connection repository: verified MemberPass tokens (encrypted), their health, and connection keys.

Every method that reads or changes a connection takes its id; the HTTP layer passes only the id of the
calling connection, so one connection never reaches another's row. The MemberPass token is stored only as
AES-GCM ciphertext bound to ``connection:<id>:token``; connection keys only as SHA-256 hashes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from connector.clock import Clock, iso
from connector.crypto import KeyRing, key_id_of
from connector.errors import AuthenticationError, ConflictError, NotFoundError
from connector.ids import prefixed
from connector.storage import secrets as bearer
from connector.storage.db import ConnectorDB

KEY_PREFIX = "mpc"
STATUSES = ("active", "needs_attention", "revoked")
LAST_USED_RESOLUTION = 60.0  # seconds: a key's last use is recorded at most once a minute (no write per call)


@dataclass(frozen=True)
class VerifiedToken:
    """What MemberPass told us about a pasted token. Holds no secret."""

    team_id: str
    team_name: str
    environment: str
    abilities: list[str]
    scopes: dict[str, Any]
    abilities_source: str  # "token" (from GET /tokens/{id}) or "inferred" (only team:view is proven)
    upstream_token_id: str


@dataclass(frozen=True)
class Connection:
    id: str
    label: str
    team_id: str
    team_name: str
    environment: str
    abilities: list[str]
    scopes: dict[str, Any]
    abilities_source: str
    upstream_token_id: str
    status: str
    status_reason: str | None
    status_changed_at: float
    created_via: str
    oauth_client_id: str | None
    created_at: float
    updated_at: float
    verified_at: float
    revoked_at: float | None
    has_token: bool = field(default=True)

    def public(self) -> dict[str, Any]:
        """The connection as the API shows it: never the token or a key."""
        return {
            "id": self.id,
            "label": self.label,
            "team": {"id": self.team_id, "name": self.team_name},
            "environment": self.environment,
            "abilities": self.abilities,
            "abilities_source": self.abilities_source,
            "scopes": self.scopes,
            "token_id": self.upstream_token_id,
            "status": self.status,
            "status_reason": self.status_reason,
            "status_changed_at": iso(self.status_changed_at),
            "created_via": self.created_via,
            "created_at": iso(self.created_at),
            "verified_at": iso(self.verified_at),
            "revoked_at": iso(self.revoked_at) if self.revoked_at is not None else None,
        }


def token_aad(connection_id: str) -> bytes:
    return f"connection:{connection_id}:token".encode()


def _row_to_connection(row: dict[str, Any]) -> Connection:
    values = {k: row[k] for k in Connection.__dataclass_fields__ if k in row}
    values["abilities"] = json.loads(row["abilities"])
    values["scopes"] = json.loads(row["scopes"])
    values["has_token"] = row["token_ciphertext"] is not None
    return Connection(**values)


class ConnectionRepository:
    def __init__(self, cdb: ConnectorDB, ring: KeyRing, clock: Clock) -> None:
        self.cdb = cdb
        self.ring = ring
        self.clock = clock

    # --- reading -----------------------------------------------------------------------------------------
    def get(self, connection_id: str) -> Connection | None:
        rows = list(self.cdb.db.query("SELECT * FROM connections WHERE id = ?", [connection_id]))
        return _row_to_connection(rows[0]) if rows else None

    def require(self, connection_id: str) -> Connection:
        connection = self.get(connection_id)
        if connection is None:
            raise NotFoundError(f"No connection {connection_id}.", remediation="Check the connection id.")
        return connection

    def list_all(self) -> list[Connection]:
        """Every connection, newest first: for the operator's CLI only, never for an API caller."""
        rows = self.cdb.db.query("SELECT * FROM connections ORDER BY created_at DESC, id DESC")
        return [_row_to_connection(r) for r in rows]

    def token(self, connection_id: str) -> str:
        """The decrypted MemberPass token of a connection that is not revoked."""
        rows = list(
            self.cdb.db.query("SELECT token_ciphertext FROM connections WHERE id = ?", [connection_id])
        )
        if not rows or rows[0]["token_ciphertext"] is None:
            raise AuthenticationError(
                "This connection has no MemberPass token (it was revoked).",
                remediation="Create a new connection on the connect page.",
            )
        return self.ring.decrypt(rows[0]["token_ciphertext"], token_aad(connection_id)).decode()

    # --- creating and changing ----------------------------------------------------------------------------
    def create(
        self,
        verified: VerifiedToken,
        token: str,
        *,
        label: str | None,
        created_via: str,
        oauth_client_id: str | None = None,
        issue_key: bool = True,
    ) -> tuple[Connection, str | None]:
        """Store a verified token; returns the connection and its first connection key (shown once), or None
        when ``issue_key`` is False (OAuth sign-ins get access tokens instead)."""
        now = self.clock.now()
        connection_id = prefixed("con", 12)
        row = {
            "id": connection_id,
            "label": label or verified.team_name,
            **_verified_columns(verified),
            "token_ciphertext": self.ring.encrypt(token, token_aad(connection_id)),
            "status": "active",
            "status_reason": None,
            "status_changed_at": now,
            "created_via": created_via,
            "oauth_client_id": oauth_client_id,
            "created_at": now,
            "updated_at": now,
            "verified_at": now,
            "revoked_at": None,
        }
        with self.cdb.transaction() as db:
            db.table("connections").insert(row)
            key = self.issue_key(connection_id, "key") if issue_key else None
        return self.require(connection_id), key

    def replace_token(self, connection_id: str, verified: VerifiedToken, token: str) -> Connection:
        """Swap in a new token of the same team and mark the connection active again."""
        current = self.require(connection_id)
        if current.status == "revoked":
            raise ConflictError(
                "This connection was revoked; its token cannot be replaced.",
                remediation="Create a new connection instead.",
            )
        if verified.team_id != current.team_id:
            raise ConflictError(
                f"This token belongs to the MemberPass team {verified.team_name!r}, "
                f"but the connection is for {current.team_name!r}.",
                code="TOKEN_TEAM_MISMATCH",
                remediation=f"Paste a token minted in the team {current.team_name!r}, "
                "or create a new connection.",
                fields={"token": ["belongs to another MemberPass team"]},
            )
        now = self.clock.now()
        changes = {
            **_verified_columns(verified),
            "token_ciphertext": self.ring.encrypt(token, token_aad(connection_id)),
            "status": "active",
            "status_reason": None,
            "status_changed_at": now if current.status != "active" else current.status_changed_at,
            "updated_at": now,
            "verified_at": now,
        }
        with self.cdb.transaction() as db:
            db.table("connections").update(connection_id, changes)
        return self.require(connection_id)

    def set_label(self, connection_id: str, label: str) -> Connection:
        with self.cdb.transaction() as db:
            db.table("connections").update(connection_id, {"label": label, "updated_at": self.clock.now()})
        return self.require(connection_id)

    def revoke(self, connection_id: str, reason: str = "revoked by its owner") -> Connection:
        """Destroy the ciphertext (overwritten, then NULL; secure_delete zeroes the freed bytes) and every
        key and OAuth grant of the connection. The row stays, as revoked, for the audit trail."""
        now = self.clock.now()
        with self.cdb.transaction() as db:
            db.execute(
                "UPDATE connections SET token_ciphertext = zeroblob(length(token_ciphertext)) "
                "WHERE id = ? AND token_ciphertext IS NOT NULL",
                [connection_id],
            )
            db.execute(
                "UPDATE connections SET token_ciphertext = NULL, status = 'revoked', status_reason = ?, "
                "status_changed_at = ?, updated_at = ?, revoked_at = COALESCE(revoked_at, ?) WHERE id = ?",
                [reason, now, now, now, connection_id],
            )
            db.execute(
                "UPDATE connection_keys SET revoked_at = ? WHERE connection_id = ? AND revoked_at IS NULL",
                [now, connection_id],
            )
            db.execute(
                "UPDATE oauth_grants SET revoked_at = ?, revoked_reason = 'connection revoked' "
                "WHERE connection_id = ? AND revoked_at IS NULL",
                [now, connection_id],
            )
        return self.require(connection_id)

    # --- health -------------------------------------------------------------------------------------------
    def mark_needs_attention(self, connection_id: str, reason: str) -> None:
        """Called when MemberPass answers 401 or 403 for this connection's token; a revoked connection stays
        revoked. The reason is shown by ``GET /api/me``: say what failed and what to do."""
        now = self.clock.now()
        self.cdb.db.execute(
            "UPDATE connections SET status = 'needs_attention', status_reason = ?, updated_at = ?, "
            "status_changed_at = CASE WHEN status = 'needs_attention' THEN status_changed_at ELSE ? END "
            "WHERE id = ? AND status != 'revoked'",
            [reason, now, now, connection_id],
        )

    def mark_healthy(self, connection_id: str) -> None:
        """Called when the token works again (e.g. after a successful upstream call)."""
        now = self.clock.now()
        self.cdb.db.execute(
            "UPDATE connections SET status = 'active', status_reason = NULL, status_changed_at = ?, "
            "updated_at = ? WHERE id = ? AND status = 'needs_attention'",
            [now, now, connection_id],
        )

    # --- connection keys ------------------------------------------------------------------------------------
    def issue_key(
        self, connection_id: str, kind: str, *, grant_id: str | None = None, ttl: float | None = None
    ) -> str:
        secret = bearer.issue(KEY_PREFIX)
        now = self.clock.now()
        with self.cdb.transaction() as db:
            db.table("connection_keys").insert(
                {
                    "id": secret.lookup_id,
                    "connection_id": connection_id,
                    "kind": kind,
                    "secret_hash": secret.hash,
                    "grant_id": grant_id,
                    "created_at": now,
                    "expires_at": now + ttl if ttl is not None else None,
                    "revoked_at": None,
                    "last_used_at": None,
                }
            )
        return secret.plaintext

    def authenticate(self, key: str) -> Connection:
        """The connection a key belongs to, or AuthenticationError with a reason that leaks nothing."""
        lookup_id = bearer.split(KEY_PREFIX, key)
        rows = list(self.cdb.db.query("SELECT * FROM connection_keys WHERE id = ?", [lookup_id or ""]))
        if lookup_id is None or not rows or not bearer.matches(key, rows[0]["secret_hash"]):
            raise AuthenticationError(
                "The connection key is not valid.",
                remediation="Send `Authorization: Bearer mpc_…` with the key shown when you connected.",
            )
        row = rows[0]
        if row["revoked_at"] is not None:
            raise AuthenticationError(
                "This connection key was revoked.", remediation="Connect again to get a new key."
            )
        now = self.clock.now()
        if row["expires_at"] is not None and row["expires_at"] <= now:
            raise AuthenticationError(
                "The access token has expired.",
                code="ACCESS_TOKEN_EXPIRED",
                remediation="Refresh it at POST /oauth/token with grant_type=refresh_token.",
            )
        connection = self.require(row["connection_id"])
        if connection.status == "revoked":
            raise AuthenticationError(
                "This connection was revoked.", remediation="Connect again with a MemberPass token."
            )
        if row["last_used_at"] is None or now - row["last_used_at"] >= LAST_USED_RESOLUTION:
            self.cdb.db.execute("UPDATE connection_keys SET last_used_at = ? WHERE id = ?", [now, row["id"]])
        return connection

    # --- encryption key rotation ---------------------------------------------------------------------------
    def reencrypt_all(self, batch: int = 200) -> int:
        """Re-encrypt every token not under the ring's first key; returns how many rows changed.

        Rows are read in id order and updated compare-and-swap (only if the ciphertext is still the one read),
        so a token replaced meanwhile by a running server is left as that server wrote it."""
        changed, after = 0, ""
        while True:
            rows = list(
                self.cdb.db.query(
                    "SELECT id, token_ciphertext FROM connections "
                    "WHERE token_ciphertext IS NOT NULL AND id > ? ORDER BY id LIMIT ?",
                    [after, batch],
                )
            )
            if not rows:
                return changed
            with self.cdb.transaction() as db:
                for row in rows:
                    blob = row["token_ciphertext"]
                    if not self.ring.needs_rotation(blob):
                        continue
                    aad = token_aad(row["id"])
                    fresh = self.ring.encrypt(self.ring.decrypt(blob, aad), aad)
                    cursor = db.execute(
                        "UPDATE connections SET token_ciphertext = ? WHERE id = ? AND token_ciphertext = ?",
                        [fresh, row["id"], blob],
                    )
                    changed += cursor.rowcount
            after = rows[-1]["id"]

    def key_usage(self) -> dict[str, int]:
        """How many stored tokens each key id (hex) encrypts: a key with no row can leave the ring."""
        usage: dict[str, int] = {}
        for row in self.cdb.db.query(
            "SELECT token_ciphertext FROM connections WHERE token_ciphertext IS NOT NULL"
        ):
            kid = key_id_of(row["token_ciphertext"]).hex()
            usage[kid] = usage.get(kid, 0) + 1
        return usage

    def revoke_grant_keys(self, grant_id: str) -> None:
        self.cdb.db.execute(
            "UPDATE connection_keys SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL",
            [self.clock.now(), grant_id],
        )


def _verified_columns(verified: VerifiedToken) -> dict[str, Any]:
    return {
        "team_id": verified.team_id,
        "team_name": verified.team_name,
        "environment": verified.environment,
        "abilities": json.dumps(verified.abilities),
        "scopes": json.dumps(verified.scopes),
        "abilities_source": verified.abilities_source,
        "upstream_token_id": verified.upstream_token_id,
    }
