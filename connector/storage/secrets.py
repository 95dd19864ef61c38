"""Bearer secrets the connector issues (connection keys, refresh tokens, client secrets) and their hashes.

A secret is ``<prefix>_<lookup id>_<random>``: the lookup id finds the row, and the SHA-256 of the whole
secret is compared in constant time with the stored hash. Only hashes are stored. The secrets carry 256 bits
of randomness, so a fast hash is enough (there is nothing to brute-force).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class IssuedSecret:
    lookup_id: str
    plaintext: str
    hash: str


def hash_secret(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def issue(prefix: str) -> IssuedSecret:
    lookup_id = secrets.token_hex(8)
    plaintext = f"{prefix}_{lookup_id}_{secrets.token_urlsafe(32)}"
    return IssuedSecret(lookup_id, plaintext, hash_secret(plaintext))


def split(prefix: str, plaintext: str) -> str | None:
    """The lookup id of a secret of this prefix, or None when it is not shaped like one."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != prefix or len(parts[1]) != 16 or not parts[2]:
        return None
    if any(c not in "0123456789abcdef" for c in parts[1]):
        return None
    return parts[1]


def matches(plaintext: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(plaintext), stored_hash)
