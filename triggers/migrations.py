"""Named migrations for subscriptions and their polling state (DESIGN.md "Trigger modes").

- ``subscriptions``: one row per REST-hook subscription. ``secret_ciphertext`` is the ``whsec_…`` signing
  secret, AES-GCM bound to ``subscription:<id>:secret``; ``upstream_*`` are set in webhook mode.
  ``status_changed_at`` says when the status last changed (a held subscription resumes once its connection
  changed after that). A deleted subscription's row is deleted, with its state, log and outbox rows.
- ``poll_state``: the :class:`~triggers.cursor.PollState` JSON (NULL before the first committed poll) and the
  lease (``lease_owner``, ``lease_until``) that keeps two workers off one subscription.
- ``poll_log``: one row per poll with its decision; the newest 200 per subscription are kept.

Times are unix seconds (REAL).
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from connector.storage.db import register_migrations

triggers_migrations = register_migrations(Migrations("triggers"))


@triggers_migrations(name="0001_subscriptions")
def create_subscriptions(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE subscriptions (
            id TEXT PRIMARY KEY,
            connection_id TEXT NOT NULL REFERENCES connections (id),
            trigger_key TEXT NOT NULL,
            inputs TEXT NOT NULL,
            target_url TEXT NOT NULL,
            secret_ciphertext BLOB NOT NULL,
            mode TEXT NOT NULL CHECK (mode IN ('polling', 'webhook')),
            first_run TEXT NOT NULL,
            poll_interval REAL NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('active', 'held', 'disabled')),
            status_reason TEXT,
            status_changed_at REAL NOT NULL,
            upstream_id TEXT,
            upstream_secret_ciphertext BLOB,
            consecutive_failures INTEGER NOT NULL DEFAULT 0,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            next_poll_at REAL,
            last_poll_at REAL
        );
        CREATE INDEX subscriptions_connection ON subscriptions (connection_id, created_at);
        CREATE TABLE poll_state (
            subscription_id TEXT PRIMARY KEY REFERENCES subscriptions (id) ON DELETE CASCADE,
            state TEXT,
            lease_owner TEXT,
            lease_until REAL
        );
        CREATE TABLE poll_log (
            id INTEGER PRIMARY KEY,
            subscription_id TEXT NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
            at REAL NOT NULL,
            decision TEXT NOT NULL
        );
        CREATE INDEX poll_log_subscription ON poll_log (subscription_id, id);
        """
    )
