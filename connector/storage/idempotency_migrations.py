"""Named migrations for the action idempotency records (DESIGN.md "Actions and idempotency").

One row per (connection, key): the caller's ``Idempotency-Key`` (``k:…``) or a key derived from the action
and its canonical input (``d:…``). ``state`` is ``in_progress`` while the first call runs (``lease_until``
bounds how long a crashed holder keeps it) and ``completed`` with the stored answer afterwards. The answer
body is AES-GCM ciphertext bound to its row, since a result may hold a secret (a webhook signing secret).
Times are unix seconds.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from connector.storage.db import register_migrations

idempotency_migrations = register_migrations(Migrations("action_idempotency"))


@idempotency_migrations(name="0001_action_idempotency")
def create_action_idempotency(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE action_idempotency (
            connection_id TEXT NOT NULL,
            key TEXT NOT NULL,
            action TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            upstream_key TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('in_progress', 'completed')),
            status INTEGER,
            body BLOB,
            created_at REAL NOT NULL,
            lease_until REAL NOT NULL,
            expires_at REAL NOT NULL,
            completed_at REAL,
            PRIMARY KEY (connection_id, key)
        );
        CREATE INDEX action_idempotency_expiry ON action_idempotency (expires_at);
        """
    )


@idempotency_migrations(name="0002_action_idempotency_owner")
def add_lease_owner(db: Database) -> None:
    """The process holding an in-progress claim (connector/leases.py), so a restarted process takes over
    the claim of a killed one at once instead of after the lease."""
    db.execute("ALTER TABLE action_idempotency ADD COLUMN lease_owner TEXT")
