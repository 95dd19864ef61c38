"""Named migrations for connections, connection keys and the OAuth authorization server.

Times are unix seconds (REAL) so that expiry checks are plain comparisons against the injected clock.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from connector.storage.db import register_migrations

connections_migrations = register_migrations(Migrations("connections"))


@connections_migrations(name="0001_connections")
def create_connections(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE connections (
            id TEXT PRIMARY KEY,
            label TEXT NOT NULL,
            team_id TEXT NOT NULL,
            team_name TEXT NOT NULL,
            environment TEXT NOT NULL CHECK (environment IN ('live', 'test')),
            abilities TEXT NOT NULL,
            scopes TEXT NOT NULL,
            abilities_source TEXT NOT NULL,
            upstream_token_id TEXT NOT NULL,
            token_ciphertext BLOB,
            status TEXT NOT NULL CHECK (status IN ('active', 'needs_attention', 'revoked')),
            status_reason TEXT,
            status_changed_at REAL NOT NULL,
            created_via TEXT NOT NULL,
            oauth_client_id TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            verified_at REAL NOT NULL,
            revoked_at REAL
        );
        CREATE INDEX connections_team ON connections (team_id);
        CREATE TABLE connection_keys (
            id TEXT PRIMARY KEY,
            connection_id TEXT NOT NULL REFERENCES connections (id),
            kind TEXT NOT NULL CHECK (kind IN ('key', 'oauth_access')),
            secret_hash TEXT NOT NULL,
            grant_id TEXT,
            created_at REAL NOT NULL,
            expires_at REAL,
            revoked_at REAL,
            last_used_at REAL
        );
        CREATE INDEX connection_keys_connection ON connection_keys (connection_id);
        """
    )


@connections_migrations(name="0002_oauth")
def create_oauth(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE oauth_clients (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            redirect_uris TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            revoked_at REAL
        );
        CREATE TABLE oauth_grants (
            id TEXT PRIMARY KEY,
            client_id TEXT NOT NULL REFERENCES oauth_clients (id),
            connection_id TEXT NOT NULL REFERENCES connections (id),
            created_at REAL NOT NULL,
            revoked_at REAL,
            revoked_reason TEXT
        );
        CREATE INDEX oauth_grants_connection ON oauth_grants (connection_id);
        CREATE TABLE oauth_codes (
            code_hash TEXT PRIMARY KEY,
            client_id TEXT NOT NULL REFERENCES oauth_clients (id),
            connection_id TEXT NOT NULL REFERENCES connections (id),
            redirect_uri TEXT NOT NULL,
            code_challenge TEXT NOT NULL,
            expires_at REAL NOT NULL,
            used_at REAL,
            grant_id TEXT
        );
        CREATE TABLE oauth_refresh_tokens (
            id TEXT PRIMARY KEY,
            grant_id TEXT NOT NULL REFERENCES oauth_grants (id),
            secret_hash TEXT NOT NULL,
            created_at REAL NOT NULL,
            used_at REAL,
            revoked_at REAL
        );
        CREATE INDEX oauth_refresh_grant ON oauth_refresh_tokens (grant_id);
        """
    )
