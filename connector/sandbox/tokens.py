"""Personal access tokens: format (C10), minting, lookup, scopes (contract §2-§3)."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from connector.sandbox.ids import random_alnum
from connector.sandbox.store import Obj, Store

TOKEN_RE = re.compile(r"^mpt_(live|test)_([A-Za-z0-9]{8,32})_([A-Za-z0-9]{24,64})$")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def mint_token(
    store: Store,
    team_id: str,
    abilities: list[str],
    *,
    project_ids: list[str] | None = None,
    environment: str = "test",
    name: str = "API token",
    owner_user_id: str | None = None,
    expires_at: str | None = None,
) -> tuple[str, Obj]:
    """Create a token and return its plaintext (shown once) and its record."""
    token_id = random_alnum(16)
    secret = random_alnum(40)
    plaintext = f"mpt_{environment}_{token_id}_{secret}"
    plain_abilities = [a for a in abilities if not a.startswith("scope:")]
    record: Obj = {
        "id": token_id,
        "name": name,
        "abilities": plain_abilities,
        "abilities_count": len(plain_abilities),
        "scopes": {"team_id": team_id, "project_ids": list(project_ids or [])},
        "last_used_at": None,
        "expires_at": expires_at,
        "created_at": store.iso_now(),
        "_team": team_id,
        "_owner": owner_user_id,
        "_environment": environment,
        "_secret_digest": _digest(secret),
        "_revoked": False,
    }
    store.insert("tokens", record)
    return plaintext, record


def all_abilities_of(record: Obj) -> list[str]:
    """The token's abilities array as MemberPass stores it, scope tuples included."""
    scopes = [f"scope:team:{record['scopes']['team_id']}"]
    scopes += [f"scope:project:{p}" for p in record["scopes"]["project_ids"]]
    return list(record["abilities"]) + scopes


def authenticate(store: Store, header: str | None, environment: str) -> tuple[Obj | None, str]:
    """Return (token record, "") or (None, reason) for a bearer header."""
    if not header:
        return None, "No Authorization header was sent."
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None, "The Authorization header must be `Bearer <token>`."
    match = TOKEN_RE.match(value.strip())
    if not match:
        return None, "The token is malformed: expected mpt_live_… or mpt_test_…."
    env, token_id, secret = match.groups()
    if env != environment:
        return None, f"A {env} token cannot be used against the {environment} environment."
    record = store.get("tokens", token_id)
    if record is None or not hmac.compare_digest(record["_secret_digest"], _digest(secret)):
        return None, "The token is not recognised."
    if record["_revoked"]:
        return None, "The token has been revoked."
    if record["expires_at"] and record["expires_at"] < store.iso_now():
        return None, "The token has expired."
    return record, ""


def project_scope(record: Obj) -> set[str] | None:
    """Project ids the token is restricted to, or None when it sees the whole team (C13)."""
    ids = record["scopes"]["project_ids"]
    return set(ids) if ids else None


def describe(record: Obj) -> dict[str, Any]:
    return {k: v for k, v in record.items() if not k.startswith("_")}
