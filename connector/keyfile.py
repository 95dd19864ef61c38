"""The key file used when CONNECTOR_ENCRYPTION_KEYS is unset: beside the database, mode 0600.

One urlsafe-base64 key per line, newest first (the same order as CONNECTOR_ENCRYPTION_KEYS); lines starting
with ``#`` are comments. Writes go to a temporary file that replaces the old one, so a reader never sees a
half-written ring.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from connector.config import Settings, parse_key_ring
from connector.crypto import KeyRing, encode_key, generate_key
from connector.errors import ConfigError

HEADER = (
    "# MemberPass Connector encryption keys, newest first. Keep this file secret (mode 0600) and backed up:\n"
    "# without it the stored MemberPass tokens cannot be decrypted.\n"
)


def key_file_path(db_path: str) -> Path:
    return Path(os.path.abspath(db_path) + ".keys")


def read_key_file(path: Path) -> tuple[bytes, ...]:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"the key file {path} can be read by other users (mode {mode:o})",
            remediation=f"Run `chmod 600 {path}` and start again.",
            context={"path": str(path)},
        )
    lines = [ln.strip() for ln in path.read_text().splitlines()]
    keys = parse_key_ring(",".join(ln for ln in lines if ln and not ln.startswith("#")))
    if not keys:
        raise ConfigError(
            f"the key file {path} holds no key",
            remediation="Restore it from a backup.",
            context={"path": str(path)},
        )
    return keys


def write_key_file(path: Path, keys: tuple[bytes, ...] | list[bytes]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(HEADER + "".join(encode_key(k) + "\n" for k in keys))
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_or_create(db_path: str) -> tuple[tuple[bytes, ...], Path, bool]:
    """The keys of the file beside ``db_path``, creating it with one new key if missing.

    Returns (keys, path, created)."""
    path = key_file_path(db_path)
    if path.exists():
        return read_key_file(path), path, False
    keys = parse_key_ring(generate_key())
    write_key_file(path, keys)
    return keys, path, True


def add_key(path: Path) -> tuple[bytes, ...]:
    """Put a new key first in the file; the old keys stay so existing rows keep decrypting."""
    keys = (*parse_key_ring(generate_key()), *read_key_file(path))
    write_key_file(path, keys)
    return keys


def keep_only(path: Path, keys: tuple[bytes, ...]) -> None:
    write_key_file(path, keys)


class FileKeySource:
    """The key file as a :class:`connector.crypto.KeySource`: reloaded when its modification time or size
    changes (``keys rotate`` in another process replaces the file)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None

    def _current(self) -> tuple[int, int]:
        st = self.path.stat()
        return st.st_mtime_ns, st.st_size

    def changed(self) -> bool:
        try:
            return self._current() != self._stamp
        except FileNotFoundError:
            return False

    def load(self) -> tuple[bytes, ...]:
        stamp = self._current()
        keys = read_key_file(self.path)
        self._stamp = stamp
        return keys


def ring_for(settings: Settings, announce: Callable[[str], None]) -> KeyRing:
    """The key ring for these settings: CONNECTOR_ENCRYPTION_KEYS when set; otherwise the key file beside the
    database (created with one key on first use); for an in-memory database, a key that dies with it."""
    if settings.encryption_keys:
        return KeyRing(settings.encryption_keys)
    if settings.db_path == ":memory:":
        announce("CONNECTOR_ENCRYPTION_KEYS is unset: using a throw-away key for the in-memory database.")
        return KeyRing(parse_key_ring(generate_key()))
    _, path, created = load_or_create(settings.db_path)
    if created:
        announce(
            f"CONNECTOR_ENCRYPTION_KEYS is unset: created the key file {path} (mode 0600). "
            "Back it up: without it the stored MemberPass tokens cannot be decrypted."
        )
    else:
        announce(f"CONNECTOR_ENCRYPTION_KEYS is unset: using the key file {path}.")
    return KeyRing.from_source(FileKeySource(path))
