"""Personal access tokens of the caller (endpoints.md §1): list, one, revoke. No ability is checked.

"The caller's tokens" are the tokens minted by the same user as the calling token (`_owner`), across
teams; a token minted without an owner sees only itself. Revoked tokens are not listed. Revocation is
effective on the next call, which answers 401 AUTHENTICATION_REQUIRED; the revoke answers 204.
"""

from __future__ import annotations

from connector.sandbox.errors import not_found
from connector.sandbox.framework import Ctx, api
from connector.sandbox.store import Obj
from connector.sandbox.tokens import describe


def _mine(ctx: Ctx, token: Obj) -> bool:
    if token["_revoked"]:
        return False
    owner = ctx.token.get("_owner")
    return token["id"] == ctx.token["id"] if owner is None else token.get("_owner") == owner


def _owned_token(ctx: Ctx, token_id: str) -> Obj:
    token = ctx.store.get("tokens", token_id)
    if token is None or not _mine(ctx, token):
        raise not_found("token")
    return token


@api.route("GET", "/tokens", None)
def list_tokens(ctx: Ctx) -> Obj:
    tokens = [describe(t) for t in ctx.store.rows("tokens", lambda t: _mine(ctx, t))]
    return {"data": tokens, "meta": {"total": len(tokens)}}


@api.route("GET", "/tokens/<token_id>", None)
def get_token(ctx: Ctx, token_id: str) -> Obj:
    return {"data": describe(_owned_token(ctx, token_id))}


@api.route("DELETE", "/tokens/<token_id>", None)
def revoke_token(ctx: Ctx, token_id: str) -> tuple[None, int]:
    token = _owned_token(ctx, token_id)
    token["_revoked"] = True
    ctx.activity("token", token["id"], "revoked", f"Token {token['name']} revoked")
    return None, 204
