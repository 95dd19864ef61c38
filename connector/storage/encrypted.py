"""Every column of the connector's database that holds ciphertext, and rotating them all to the newest key.

- ``connections.token_ciphertext``: AAD ``connection:<id>:token`` (connector/storage/connections.py);
- ``subscriptions.secret_ciphertext``: ``subscription:<id>:secret`` (triggers/subscriptions.py);
- ``subscriptions.upstream_secret_ciphertext``: ``subscription:<id>:upstream_secret`` (likewise);
- ``action_idempotency.body``: ``action_idempotency:<connection_id>:<key>`` (actions/idempotency.py).

The associated data (AAD) binds each blob to its row and is fixed by the writer of the column;
``tests/connections/test_rotate_every_secret.py`` writes rows through the writers and checks that every
BLOB column of the migrated schema is listed here. A table whose migrations never ran on this database is
skipped.

Rotation reads rows in ``rowid`` order, in batches, and updates each compare-and-swap (only if the blob is
still the one read), so a value a running server rewrote meanwhile is left as that server wrote it. A stored
action result that no key of the ring can read any more is left alone (its reader already treats it as lost
and runs the call again); any other unreadable blob stops the rotation with the error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connector.crypto import DecryptionError, KeyRing, key_id_of
from connector.storage.connections import token_aad
from connector.storage.db import ConnectorDB


@dataclass(frozen=True)
class EncryptedColumn:
    table: str
    column: str
    noun: str  # what one value is, for the operator: "stored token", "subscription secret", …
    aad: Callable[[dict[str, Any]], bytes]  # from the row
    lost_ok: bool = False  # an unreadable value is skipped (its reader treats it as lost)


COLUMNS = (
    EncryptedColumn("connections", "token_ciphertext", "stored token", lambda r: token_aad(r["id"])),
    EncryptedColumn(
        "subscriptions", "secret_ciphertext", "subscription secret",
        lambda r: f"subscription:{r['id']}:secret".encode(),
    ),
    EncryptedColumn(
        "subscriptions", "upstream_secret_ciphertext", "upstream webhook secret",
        lambda r: f"subscription:{r['id']}:upstream_secret".encode(),
    ),
    EncryptedColumn(
        "action_idempotency", "body", "stored action result",
        lambda r: f"action_idempotency:{r['connection_id']}:{r['key']}".encode(), lost_ok=True,
    ),
)  # fmt: skip


@dataclass
class Rotated:
    changed: int = 0
    unreadable: int = 0  # left as they were (``lost_ok`` columns only)


def _exists(cdb: ConnectorDB, table: str) -> bool:
    return cdb.db[table].exists()


def reencrypt(cdb: ConnectorDB, ring: KeyRing, column: EncryptedColumn, batch: int = 200) -> Rotated:
    """Re-encrypt every value of ``column`` that is not under the ring's first key."""
    done = Rotated()
    if not _exists(cdb, column.table):
        return done
    after = 0
    select = (
        f"SELECT rowid AS _rowid, * FROM [{column.table}] "  # noqa: S608 (names from COLUMNS, not input)
        f"WHERE [{column.column}] IS NOT NULL AND rowid > ? ORDER BY rowid LIMIT ?"
    )
    update = f"UPDATE [{column.table}] SET [{column.column}] = ? WHERE rowid = ? AND [{column.column}] = ?"  # noqa: S608
    while rows := list(cdb.db.query(select, [after, batch])):
        with cdb.transaction() as db:
            for row in rows:
                blob = row[column.column]
                if not ring.needs_rotation(blob):
                    continue
                try:
                    plain = ring.decrypt(blob, column.aad(row))
                except DecryptionError:
                    if not column.lost_ok:
                        raise
                    done.unreadable += 1
                    continue
                fresh = ring.encrypt(plain, column.aad(row))
                done.changed += db.execute(update, [fresh, row["_rowid"], blob]).rowcount
        after = rows[-1]["_rowid"]
    return done


def reencrypt_every_column(cdb: ConnectorDB, ring: KeyRing) -> dict[EncryptedColumn, Rotated]:
    return {column: reencrypt(cdb, ring, column) for column in COLUMNS}


def key_usage(cdb: ConnectorDB, columns: tuple[EncryptedColumn, ...] = COLUMNS) -> dict[str, int]:
    """How many stored values each key id (hex) encrypts, over ``columns``: a key with none can go."""
    usage: dict[str, int] = {}
    for column in columns:
        if not _exists(cdb, column.table):
            continue
        sql = f"SELECT [{column.column}] AS blob FROM [{column.table}] WHERE [{column.column}] IS NOT NULL"  # noqa: S608
        for row in cdb.db.query(sql):
            kid = key_id_of(row["blob"]).hex()
            usage[kid] = usage.get(kid, 0) + 1
    return usage
