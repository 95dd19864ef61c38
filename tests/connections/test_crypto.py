"""The key ring: AES-GCM bound to its row, key ids, rotation checks, and the key file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from connector.config import Settings
from connector.crypto import DecryptionError, KeyRing, key_id
from connector.errors import ConfigError
from connector.keyfile import FileKeySource, add_key, key_file_path, load_or_create, read_key_file, ring_for
from tests.connections.support import new_keys

AAD = b"connection:con_1:token"
SECRET = "mpt_test_AbCdEfGh12_S3cr3tS3cr3tS3cr3tS3cr3tS3cr3t42"


def test_round_trip_and_layout() -> None:
    ring = KeyRing(new_keys())
    blob = ring.encrypt(SECRET, AAD)
    assert ring.decrypt(blob, AAD).decode() == SECRET
    assert blob[0] == 1 and blob[1:5] == ring.primary_id
    assert SECRET.encode() not in blob
    assert ring.encrypt(SECRET, AAD) != blob, "a fresh nonce every time"


def test_ciphertext_is_bound_to_its_row() -> None:
    ring = KeyRing(new_keys())
    blob = ring.encrypt(SECRET, AAD)
    with pytest.raises(DecryptionError, match="integrity"):
        ring.decrypt(blob, b"connection:con_2:token")


def test_tampered_blob_fails() -> None:
    ring = KeyRing(new_keys())
    blob = bytearray(ring.encrypt(SECRET, AAD))
    blob[-1] ^= 1
    with pytest.raises(DecryptionError):
        ring.decrypt(bytes(blob), AAD)


def test_first_key_encrypts_every_key_decrypts() -> None:
    old, new = new_keys(), new_keys()
    old_blob = KeyRing(old).encrypt(SECRET, AAD)
    ring = KeyRing(new + old)
    assert ring.decrypt(old_blob, AAD).decode() == SECRET
    assert ring.needs_rotation(old_blob)
    assert not ring.needs_rotation(ring.encrypt(SECRET, AAD))
    with pytest.raises(DecryptionError, match="not in the key ring"):
        KeyRing(new).decrypt(old_blob, AAD)


def test_empty_ring_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="CONNECTOR_ENCRYPTION_KEYS"):
        KeyRing(())


def test_key_file_is_created_0600_and_reused(tmp_path: Path) -> None:
    db = str(tmp_path / "c.db")
    keys, path, created = load_or_create(db)
    assert created and path == key_file_path(db) and path.parent == tmp_path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again, _, created_again = load_or_create(db)
    assert not created_again and again == keys


def test_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    _, path, _ = load_or_create(str(tmp_path / "c.db"))
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="can be read by other users") as caught:
        read_key_file(path)
    assert f"chmod 600 {path}" in caught.value.remediation


def test_ring_for_announces_the_key_file(tmp_path: Path) -> None:
    said: list[str] = []
    settings = Settings(db_path=str(tmp_path / "c.db"))
    ring_for(settings, said.append)
    ring_for(settings, said.append)
    assert "created the key file" in said[0] and "(mode 0600)" in said[0]
    assert "using the key file" in said[1]


def test_ring_reloads_the_key_file_when_it_changes(tmp_path: Path) -> None:
    """A server's ring picks up a key that `keys rotate` added in another process."""
    _, path, _ = load_or_create(str(tmp_path / "c.db"))
    server_ring = KeyRing.from_source(FileKeySource(path))
    before = server_ring.primary_id
    keys = add_key(path)
    os.utime(path, ns=(path.stat().st_mtime_ns + 10**9, path.stat().st_mtime_ns + 10**9))
    blob = KeyRing(keys).encrypt(SECRET, AAD)  # the CLI's ring, under the new key
    assert server_ring.decrypt(blob, AAD).decode() == SECRET
    assert server_ring.primary_id == key_id(keys[0]) != before
