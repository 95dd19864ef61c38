"""Browser sessions of the dashboard, and the one-time sign-in tickets that open one.

A session is a bearer secret (``mpd_<lookup>_<random>``, only its hash stored) naming the connections this
browser signed in with: a connection key pasted on the sign-in form, a connection made on ``/connect``, or a
ticket. Sessions last ``SESSION_TTL``; a ticket (an ``mpk_`` secret) is good once, for
``TICKET_TTL``, and is what ``memberpass-connector demo`` prints so the tour opens without pasting a key.
Nothing here widens what a browser sees: a session only ever lists connections it proved it holds.
"""

from __future__ import annotations

import json

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from connector.clock import Clock
from connector.storage import secrets as bearer
from connector.storage.db import ConnectorDB, register_migrations

SESSION_PREFIX = "mpd"
TICKET_PREFIX = "mpk"
SESSION_TTL = 12 * 3600.0
TICKET_TTL = 600.0
MAX_CONNECTIONS = 20  # per session: a browser juggling more is not a person

dashboard_migrations = register_migrations(Migrations("dashboard"))


@dashboard_migrations(name="0001_dashboard_sessions")
def create_sessions(db: Database) -> None:
    db.executescript(
        """
        CREATE TABLE dashboard_sessions (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('session', 'ticket')),
            secret_hash TEXT NOT NULL,
            connection_ids TEXT NOT NULL,
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL
        );
        """
    )


class DashboardSessions:
    def __init__(self, cdb: ConnectorDB, clock: Clock) -> None:
        self.cdb, self.clock = cdb, clock

    def _issue(self, kind: str, connection_ids: list[str], ttl: float) -> str:
        secret = bearer.issue(SESSION_PREFIX if kind == "session" else TICKET_PREFIX)
        now = self.clock.now()
        with self.cdb.transaction() as db:
            db.execute("DELETE FROM dashboard_sessions WHERE expires_at <= ?", [now])
            db.execute(
                "INSERT INTO dashboard_sessions VALUES (?, ?, ?, ?, ?, ?)",
                [secret.lookup_id, kind, secret.hash, json.dumps(connection_ids), now, now + ttl],
            )
        return secret.plaintext

    def _row(self, kind: str, plaintext: str) -> dict[str, object] | None:
        lookup = bearer.split(SESSION_PREFIX if kind == "session" else TICKET_PREFIX, plaintext)
        rows = list(
            self.cdb.db.query(
                "SELECT * FROM dashboard_sessions WHERE id = ? AND kind = ? AND expires_at > ?",
                [lookup or "", kind, self.clock.now()],
            )
        )
        if lookup is None or not rows or not bearer.matches(plaintext, str(rows[0]["secret_hash"])):
            return None
        return rows[0]

    def ticket(self, connection_id: str) -> str:
        return self._issue("ticket", [connection_id], TICKET_TTL)

    def open(self, connection_ids: list[str]) -> str:
        return self._issue("session", connection_ids[:MAX_CONNECTIONS], SESSION_TTL)

    def redeem(self, ticket: str) -> list[str] | None:
        """The ticket's connections, once: a second use (or an expired ticket) finds nothing."""
        row = self._row("ticket", ticket)
        if row is None:
            return None
        deleted = self.cdb.db.execute("DELETE FROM dashboard_sessions WHERE id = ?", [row["id"]]).rowcount
        return list(json.loads(str(row["connection_ids"]))) if deleted == 1 else None

    def connection_ids(self, session: str) -> list[str]:
        row = self._row("session", session) if session else None
        return list(json.loads(str(row["connection_ids"]))) if row else []

    def add(self, session: str, connection_ids: list[str]) -> str:
        """The session with these connections added (a new session when there is none)."""
        row = self._row("session", session) if session else None
        if row is None:
            return self.open(connection_ids)
        merged = list(dict.fromkeys([*json.loads(str(row["connection_ids"])), *connection_ids]))
        self.cdb.db.execute(
            "UPDATE dashboard_sessions SET connection_ids = ? WHERE id = ?",
            [json.dumps(merged[-MAX_CONNECTIONS:]), row["id"]],
        )
        return session

    def close(self, session: str) -> None:
        row = self._row("session", session) if session else None
        if row is not None:
            self.cdb.db.execute("DELETE FROM dashboard_sessions WHERE id = ?", [row["id"]])
