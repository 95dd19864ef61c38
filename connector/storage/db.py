"""The connector's SQLite database: one connection per thread, WAL mode, named migrations.

Reads use :attr:`ConnectorDB.db` (this thread's ``sqlite_utils.Database``). Writes that span statements go
through ``with cdb.transaction() as db:``, which serialises writers of this process and starts the
transaction with ``BEGIN IMMEDIATE`` so that writers of other processes (the CLI during ``keys rotate``)
wait on ``busy_timeout`` instead of failing. ``secure_delete`` is on: deleted or overwritten values are
zeroed in the file, not left in free pages.

Schema changes are sqlite-utils ``Migrations`` sets. Each feature registers its own set with
:func:`register_migrations` at import time; :func:`open_db` applies every registered set.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

BUSY_TIMEOUT_MS = 10_000
_REGISTERED: list[Migrations] = []


def register_migrations(migrations: Migrations) -> Migrations:
    """Add a feature's migration set to those :func:`open_db` applies (idempotent)."""
    if all(m.name != migrations.name for m in _REGISTERED):
        _REGISTERED.append(migrations)
    return migrations


class ConnectorDB:
    def __init__(self, path: str) -> None:
        self.path = path
        self._memory_name = f"connector-{uuid.uuid4().hex}" if path == ":memory:" else None
        self._local = threading.local()
        self._conns: dict[int, Database] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.RLock()
        self.db.execute("SELECT 1")  # keeps a shared in-memory database alive for the handle's lifetime
        if self._memory_name is None:
            self.db.enable_wal()

    @property
    def db(self) -> Database:
        """This thread's connection."""
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
        return db

    def _connect(self) -> Database:
        if self._memory_name is not None:
            db = Database(memory_name=self._memory_name)
        else:
            db = Database(sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False))
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA secure_delete = ON")
        db.execute("PRAGMA synchronous = NORMAL")
        with self._lock:
            alive = {t.ident for t in threading.enumerate()}
            ident = threading.get_ident()
            for stale in [i for i in self._conns if i not in alive or i == ident]:
                self._conns.pop(stale).close()
            self._conns[ident] = db
        return db

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction; nested use joins the outer one."""
        db = self.db
        with self._write_lock:
            if db.conn.in_transaction:
                yield db
                return
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            db.commit()

    def migrate(self, *sets: Migrations) -> None:
        with self._write_lock:
            for migrations in sets or tuple(_REGISTERED):
                migrations.apply(self.db)

    def checkpoint(self) -> None:
        """Fold the WAL into the main file and truncate it (used by tests that scan the file bytes)."""
        if self._memory_name is None:
            self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def close(self) -> None:
        with self._lock:
            for db in self._conns.values():
                db.close()
            self._conns.clear()
        self._local = threading.local()


def open_db(path: str) -> ConnectorDB:
    """Open the database and apply every registered migration set."""
    from connector.storage import migrations  # noqa: F401  (registers the connector's own sets)

    cdb = ConnectorDB(path)
    cdb.migrate()
    return cdb
