"""The encryption key ring: AES-256-GCM with associated data that binds each ciphertext to its row.

Blob layout (bytes): ``version (1) | key id (4) | nonce (12) | ciphertext + tag``. The key id is a fingerprint
of the key, so decryption picks the right key from the ring; the first key of the ring encrypts, every key
decrypts. The associated data (e.g. ``b"connection:con_1:token"``) is authenticated but not stored: a blob
copied onto another row fails to decrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from connector.errors import ConfigError, ConnectorError

VERSION = 1
KEY_ID_BYTES = 4
NONCE_BYTES = 12
_HEADER = 1 + KEY_ID_BYTES + NONCE_BYTES


class DecryptionError(ConnectorError):
    """A stored secret could not be decrypted: its key left the ring, or the blob is not for this row."""

    code = "STORED_SECRET_UNREADABLE"
    status = 500
    default_remediation = (
        "Keep every key still in use in CONNECTOR_ENCRYPTION_KEYS (run `memberpass-connector keys rotate` "
        "before removing one), or reconnect with a fresh MemberPass token."
    )


def generate_key() -> str:
    """A new 32-byte key as urlsafe base64 without padding (the CONNECTOR_ENCRYPTION_KEYS format)."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode().rstrip("=")


def key_id(key: bytes) -> bytes:
    return hashlib.sha256(b"memberpass-connector/key-id/" + key).digest()[:KEY_ID_BYTES]


class KeySource(Protocol):
    """Where a ring's keys come from when they can change while the process runs (the key file)."""

    def changed(self) -> bool: ...

    def load(self) -> Sequence[bytes]: ...


@dataclass(frozen=True)
class _Ring:
    keys: tuple[bytes, ...]
    by_id: dict[bytes, AESGCM]
    primary_id: bytes


def _build(keys: Sequence[bytes]) -> _Ring:
    if not keys:
        raise ConfigError(
            "CONNECTOR_ENCRYPTION_KEYS: no encryption key is configured",
            remediation="Generate one with `memberpass-connector keys generate` and set the variable.",
        )
    if any(len(k) != 32 for k in keys):
        raise ConfigError("CONNECTOR_ENCRYPTION_KEYS: every key must be 32 bytes")
    return _Ring(tuple(keys), {key_id(k): AESGCM(k) for k in keys}, key_id(keys[0]))


class KeyRing:
    """Keys newest first. With a ``source`` (the key file), the ring reloads when the source changed, before
    encrypting and when a blob names an unknown key: a running server keeps reading while ``keys rotate``
    re-encrypts rows under a key it just added, and encrypts new rows under that key too. The ring's state
    is swapped as one object, so a concurrent reader never mixes two generations."""

    def __init__(self, keys: Sequence[bytes], source: KeySource | None = None) -> None:
        self._source = source
        self._ring = _build(keys)

    @classmethod
    def from_source(cls, source: KeySource) -> KeyRing:
        return cls(source.load(), source)

    @property
    def keys(self) -> tuple[bytes, ...]:
        return self._ring.keys

    @property
    def primary_id(self) -> bytes:
        return self._ring.primary_id

    def encrypt(self, plaintext: bytes | str, aad: bytes) -> bytes:
        self._refresh()
        ring = self._ring
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = os.urandom(NONCE_BYTES)
        header = bytes([VERSION]) + ring.primary_id + nonce
        return header + ring.by_id[ring.primary_id].encrypt(nonce, data, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        if len(blob) <= _HEADER or blob[0] != VERSION:
            raise DecryptionError("A stored secret is not in a format this connector can read.")
        kid, nonce, body = key_id_of(blob), blob[1 + KEY_ID_BYTES : _HEADER], blob[_HEADER:]
        aead = self._ring.by_id.get(kid)
        if aead is None and self._refresh():
            aead = self._ring.by_id.get(kid)
        if aead is None:
            raise DecryptionError(
                f"A stored secret was encrypted with key {kid.hex()}, which is not in the key ring."
            )
        try:
            return aead.decrypt(nonce, body, aad)
        except InvalidTag:
            raise DecryptionError(
                "A stored secret failed its integrity check (it belongs to another row or was altered)."
            ) from None

    def _refresh(self) -> bool:
        if self._source is None or not self._source.changed():
            return False
        self._ring = _build(self._source.load())
        return True

    def needs_rotation(self, blob: bytes) -> bool:
        """True when the blob was not encrypted with the current (first) key."""
        self._refresh()
        return key_id_of(blob) != self._ring.primary_id

    def derive(self, purpose: str) -> list[bytes]:
        """Sub-keys for signing (e.g. CSRF tokens), one per ring key, the first from the primary key."""
        label = b"memberpass-connector/" + purpose.encode()
        return [hmac.new(k, label, hashlib.sha256).digest() for k in self._ring.keys]


def key_id_of(blob: bytes) -> bytes:
    return blob[1 : 1 + KEY_ID_BYTES]
