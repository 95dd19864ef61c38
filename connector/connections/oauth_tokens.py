"""``POST /oauth/token`` logic: the authorization-code and refresh-token grants (RFC 6749 §4.1.3, §6; PKCE
RFC 7636 §4.6).

Errors are RFC 6749 §5.2 bodies (``{"error", "error_description"}``), because the OAuth clients of Zapier and
n8n read that shape; ``request_id`` is added. Security decisions where the RFCs leave a choice:

- a code is single-use and valid 60 s; a second use revokes every token issued from the first (§4.1.2);
- refresh tokens rotate: each use returns a new one, and presenting a used one revokes the whole grant
  (OAuth 2.0 Security BCP §4.14), since it means the token was copied;
- a wrong ``code_verifier`` does not burn the code (the verifier has 256 bits; nothing to guess);
- a refresh for a connection whose MemberPass token was refused (``needs_attention``) is ``invalid_grant``:
  Zapier then marks the connection stale and holds its runs, where a fresh access token would only meet
  the same refusal (workflow-platforms.md §6.5).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from connector.connections.services import connections, current_db, oauth_store
from connector.ids import prefixed
from connector.storage.oauth import OAuthClient

CODE_TTL = 60.0
ACCESS_TTL = 3600.0
VERIFIER_RE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def exchange_code(client: OAuthClient, params: Mapping[str, str]) -> dict[str, Any]:
    code, verifier = _required(params, "code"), _required(params, "code_verifier")
    with current_db().transaction():  # one writer at a time: a code cannot be redeemed twice concurrently
        outcome = _exchange(client, code, verifier, params.get("redirect_uri", ""))
    if isinstance(outcome, OAuthError):
        raise outcome  # after the commit, so a revocation it caused is kept
    return outcome


def _exchange(
    client: OAuthClient, code: str, verifier: str, redirect_uri: str
) -> dict[str, Any] | OAuthError:
    store = oauth_store()
    record = store.code(code)
    if record is None or record.client_id != client.id:
        return OAuthError("invalid_grant", "The authorization code is not valid for this client.")
    if record.used_at is not None:
        if record.grant_id:
            store.revoke_grant(record.grant_id, "authorization code used twice")
        return OAuthError(
            "invalid_grant",
            "The authorization code was already used; the tokens issued for it were revoked. Sign in again.",
        )
    if store.clock.now() >= record.expires_at:
        return OAuthError("invalid_grant", f"The authorization code expired (codes last {CODE_TTL:.0f} s).")
    if redirect_uri != record.redirect_uri:
        return OAuthError("invalid_grant", "redirect_uri differs from the one the code was issued for.")
    if not VERIFIER_RE.match(verifier) or not hmac.compare_digest(s256(verifier), record.code_challenge):
        return OAuthError("invalid_grant", "The code_verifier does not match the code_challenge (PKCE S256).")
    connection = connections().get(record.connection_id)
    if connection is None or connection.status == "revoked":
        return OAuthError("invalid_grant", "The connection behind this code was revoked. Sign in again.")
    grant_id = prefixed("grt", 12)
    store.redeem_code(code, grant_id)
    store.create_grant(client.id, connection.id, grant_id)
    return _tokens(grant_id, connection.id)


def refresh(client: OAuthClient, params: Mapping[str, str]) -> dict[str, Any]:
    presented = _required(params, "refresh_token")
    with current_db().transaction():
        outcome = _refresh(client, presented)
    if isinstance(outcome, OAuthError):
        raise outcome
    return outcome


def _refresh(client: OAuthClient, presented: str) -> dict[str, Any] | OAuthError:
    store = oauth_store()
    record = store.refresh_token(presented)
    if record is None or record.client_id != client.id:
        return OAuthError("invalid_grant", "The refresh token is not valid for this client.")
    if record.revoked_at is not None or record.grant_revoked_at is not None:
        return OAuthError("invalid_grant", "The refresh token was revoked. Sign in again.")
    if record.used_at is not None:
        store.revoke_grant(record.grant_id, "refresh token used twice")
        return OAuthError(
            "invalid_grant",
            "The refresh token was already used (each one works once). For safety every token of this "
            "sign-in was revoked; sign in again.",
        )
    connection = connections().get(record.connection_id)
    if connection is None or connection.status == "revoked":
        return OAuthError("invalid_grant", "The connection was revoked. Sign in again.")
    if connection.status == "needs_attention":
        # A new access token would meet the same refusal: answering invalid_grant makes Zapier mark the
        # connection stale and hold its runs instead of refreshing in a loop. The refresh token is not
        # used up, so it works again once the MemberPass token is replaced.
        return OAuthError(
            "invalid_grant",
            f"MemberPass refused the token behind this connection ({connection.status_reason}). "
            "Sign in again with a working MemberPass token.",
        )
    store.use_refresh_token(record.id)
    return _tokens(record.grant_id, connection.id)


def _tokens(grant_id: str, connection_id: str) -> dict[str, Any]:
    access = connections().issue_key(connection_id, "oauth_access", grant_id=grant_id, ttl=ACCESS_TTL)
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TTL),
        "refresh_token": oauth_store().issue_refresh_token(grant_id),
        "connection_id": connection_id,
    }


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "")
    if not value:
        raise OAuthError("invalid_request", f"{name} is required.")
    return value
