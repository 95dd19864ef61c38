"""Storage of the OAuth authorization server: registered clients, single-use codes, grants and refresh tokens.

A grant is one sign-in of one client to one connection; its access tokens are connection keys of kind
``oauth_access`` and its refresh tokens rotate on every use. Only hashes of codes, secrets and refresh
tokens are stored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connector.clock import Clock
from connector.ids import prefixed
from connector.storage import secrets as bearer
from connector.storage.db import ConnectorDB

SECRET_PREFIX = "mpo"  # noqa: S105  (a prefix, not a secret)


@dataclass(frozen=True)
class OAuthClient:
    id: str
    name: str
    redirect_uris: list[str]


@dataclass(frozen=True)
class CodeRecord:
    client_id: str
    connection_id: str
    redirect_uri: str
    code_challenge: str
    expires_at: float
    used_at: float | None
    grant_id: str | None


@dataclass(frozen=True)
class RefreshRecord:
    id: str
    grant_id: str
    client_id: str
    connection_id: str
    used_at: float | None
    revoked_at: float | None
    grant_revoked_at: float | None


class OAuthRepository:
    def __init__(self, cdb: ConnectorDB, clock: Clock) -> None:
        self.cdb = cdb
        self.clock = clock

    # --- clients ------------------------------------------------------------------------------------------
    def add_client(self, name: str, redirect_uris: list[str]) -> tuple[OAuthClient, str]:
        """Register a client; returns it and its secret (shown once)."""
        client_id = prefixed("cli", 12)
        secret = bearer.issue(SECRET_PREFIX)
        with self.cdb.transaction() as db:
            db.table("oauth_clients").insert(
                {
                    "id": client_id,
                    "name": name,
                    "redirect_uris": json.dumps(redirect_uris),
                    "secret_hash": secret.hash,
                    "created_at": self.clock.now(),
                    "revoked_at": None,
                }
            )
        return OAuthClient(client_id, name, redirect_uris), secret.plaintext

    def client(self, client_id: str) -> OAuthClient | None:
        rows = self._query("SELECT * FROM oauth_clients WHERE id = ? AND revoked_at IS NULL", [client_id])
        if not rows:
            return None
        return OAuthClient(rows[0]["id"], rows[0]["name"], json.loads(rows[0]["redirect_uris"]))

    def clients(self) -> list[OAuthClient]:
        rows = self._query("SELECT * FROM oauth_clients WHERE revoked_at IS NULL ORDER BY created_at", [])
        return [OAuthClient(r["id"], r["name"], json.loads(r["redirect_uris"])) for r in rows]

    def client_secret_matches(self, client_id: str, secret: str) -> bool:
        rows = self._query(
            "SELECT secret_hash FROM oauth_clients WHERE id = ? AND revoked_at IS NULL", [client_id]
        )
        expected = rows[0]["secret_hash"] if rows else bearer.hash_secret("no such client")
        return bearer.matches(secret, expected) and bool(rows)

    # --- authorization codes -----------------------------------------------------------------------------
    def create_code(
        self, client_id: str, connection_id: str, redirect_uri: str, code_challenge: str, ttl: float
    ) -> str:
        code = bearer.issue(SECRET_PREFIX)
        with self.cdb.transaction() as db:
            db.table("oauth_codes").insert(
                {
                    "code_hash": code.hash,
                    "client_id": client_id,
                    "connection_id": connection_id,
                    "redirect_uri": redirect_uri,
                    "code_challenge": code_challenge,
                    "expires_at": self.clock.now() + ttl,
                    "used_at": None,
                    "grant_id": None,
                }
            )
        return code.plaintext

    def code(self, code: str) -> CodeRecord | None:
        rows = self._query("SELECT * FROM oauth_codes WHERE code_hash = ?", [bearer.hash_secret(code)])
        if not rows:
            return None
        fields = {k: rows[0][k] for k in CodeRecord.__dataclass_fields__}
        return CodeRecord(**fields)

    def redeem_code(self, code: str, grant_id: str) -> bool:
        """Mark the code used by ``grant_id``; False when another exchange got there first."""
        with self.cdb.transaction() as db:
            cursor = db.execute(
                "UPDATE oauth_codes SET used_at = ?, grant_id = ? WHERE code_hash = ? AND used_at IS NULL",
                [self.clock.now(), grant_id, bearer.hash_secret(code)],
            )
        return cursor.rowcount == 1

    # --- grants and refresh tokens ------------------------------------------------------------------------
    def create_grant(self, client_id: str, connection_id: str, grant_id: str | None = None) -> str:
        grant_id = grant_id or prefixed("grt", 12)
        with self.cdb.transaction() as db:
            db.table("oauth_grants").insert(
                {
                    "id": grant_id,
                    "client_id": client_id,
                    "connection_id": connection_id,
                    "created_at": self.clock.now(),
                    "revoked_at": None,
                    "revoked_reason": None,
                }
            )
        return grant_id

    def revoke_grant(self, grant_id: str, reason: str) -> None:
        """Revoke the grant, its refresh tokens and its access tokens (connection keys)."""
        now = self.clock.now()
        with self.cdb.transaction() as db:
            db.execute(
                "UPDATE oauth_grants SET revoked_at = ?, revoked_reason = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                [now, reason, grant_id],
            )
            db.execute(
                "UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL",
                [now, grant_id],
            )
            db.execute(
                "UPDATE connection_keys SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL",
                [now, grant_id],
            )

    def issue_refresh_token(self, grant_id: str) -> str:
        secret = bearer.issue(SECRET_PREFIX)
        with self.cdb.transaction() as db:
            db.table("oauth_refresh_tokens").insert(
                {
                    "id": secret.lookup_id,
                    "grant_id": grant_id,
                    "secret_hash": secret.hash,
                    "created_at": self.clock.now(),
                    "used_at": None,
                    "revoked_at": None,
                }
            )
        return secret.plaintext

    def refresh_token(self, plaintext: str) -> RefreshRecord | None:
        lookup_id = bearer.split(SECRET_PREFIX, plaintext)
        if lookup_id is None:
            return None
        rows = self._query(
            "SELECT r.id, r.grant_id, r.secret_hash, r.used_at, r.revoked_at, g.client_id, g.connection_id, "
            "g.revoked_at AS grant_revoked_at FROM oauth_refresh_tokens r "
            "JOIN oauth_grants g ON g.id = r.grant_id WHERE r.id = ?",
            [lookup_id],
        )
        if not rows or not bearer.matches(plaintext, rows[0]["secret_hash"]):
            return None
        fields = {k: rows[0][k] for k in RefreshRecord.__dataclass_fields__}
        return RefreshRecord(**fields)

    def use_refresh_token(self, record_id: str) -> bool:
        """Mark a refresh token used (rotated); False when it already was (a concurrent or replayed use)."""
        with self.cdb.transaction() as db:
            cursor = db.execute(
                "UPDATE oauth_refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL",
                [self.clock.now(), record_id],
            )
        return cursor.rowcount == 1

    def client_connection(self, client_id: str, team_id: str) -> str | None:
        """The newest connection this client signed in to for this MemberPass team, unless revoked."""
        rows = self._query(
            "SELECT id FROM connections WHERE oauth_client_id = ? AND team_id = ? AND status != 'revoked' "
            "ORDER BY created_at DESC LIMIT 1",
            [client_id, team_id],
        )
        return rows[0]["id"] if rows else None

    def _query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return list(self.cdb.db.query(sql, params))
