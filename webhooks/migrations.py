"""Named migrations for the delivery outbox, inbound MemberPass event ids and delivery health (DESIGN.md
"Delivery").

``outbox``: one row per record to deliver to one subscription. Its id is the ``webhook-id`` the receiver
sees, derived from (subscription, record key), so a record queued again after a crash gets the same id and
``UNIQUE (subscription_id, record_key)`` with ``INSERT OR IGNORE`` keeps it queued at most once.
``lease_until`` marks a row claimed by a delivery worker; the claim's value doubles as its token, so an
outcome booked after the lease ran out (and another worker took the row) changes nothing.

``inbound_events``: event ids of MemberPass webhooks already accepted, per subscription, kept at least 24 h
(webhooks.md §4 step 5). The key is (subscription, event) rather than the event alone: two subscriptions
to the same event each receive it, and each must queue it once.

``delivery_health``: when a subscription's current run of failed attempts began (the disable rule of
webhooks/schedule.py needs the run's length and age; the count is ``subscriptions.consecutive_failures``).

No foreign keys to ``subscriptions`` (another feature's table, migrated in its own set): deleting a
subscription deletes these rows in code (:func:`webhooks.outbox.delete_for_subscription`). Times are unix
seconds.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from connector.storage.db import register_migrations

webhooks_migrations = register_migrations(Migrations("webhooks"))


@webhooks_migrations(name="0001_outbox")
def create_outbox(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            subscription_id TEXT NOT NULL,
            connection_id TEXT NOT NULL,
            record_key TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed', 'dead')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at REAL,
            last_status INTEGER,
            last_error TEXT,
            created_at REAL NOT NULL,
            delivered_at REAL,
            lease_until REAL,
            UNIQUE (subscription_id, record_key)
        );
        CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
        CREATE INDEX outbox_connection ON outbox (connection_id, created_at);
        """
    )


@webhooks_migrations(name="0002_inbound_events")
def create_inbound_events(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE inbound_events (
            subscription_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            received_at REAL NOT NULL,
            PRIMARY KEY (subscription_id, event_id)
        );
        CREATE INDEX inbound_events_received ON inbound_events (received_at);
        """
    )


@webhooks_migrations(name="0003_delivery_health")
def create_delivery_health(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE delivery_health (
            subscription_id TEXT PRIMARY KEY,
            failing_since REAL NOT NULL
        );
        """
    )


@webhooks_migrations(name="0004_outbox_lease_owner")
def add_outbox_lease_owner(db: Database) -> None:
    """Claims name their process, so a restarted worker can take over the claims of a killed one."""
    db.execute("ALTER TABLE outbox ADD COLUMN lease_owner TEXT")


@webhooks_migrations(name="0005_outbox_waiting_index")
def add_outbox_waiting_index(db: Database) -> None:
    """Claiming reads waiting rows in due order from a partial index (only ``pending`` and ``failed`` rows,
    ordered as :func:`webhooks.outbox.due` orders them), so a claim costs the rows it takes rather than a
    sort of the whole backlog; delivered and dead rows, the bulk of the table, are not in it. It replaces
    ``outbox_due``, which led the planner to that sort."""
    db.executescript(
        """
        CREATE INDEX outbox_waiting ON outbox (next_attempt_at, created_at)
            WHERE status IN ('pending', 'failed');
        DROP INDEX outbox_due;
        """
    )
