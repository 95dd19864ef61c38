"""Check a pasted MemberPass token: its format (C10), then upstream with ``GET /teams/current``.

Each way a paste can fail gets its own code, a message that says what happened (passing MemberPass's own
words through) and what to do: malformed (422), not recognised / revoked / expired / wrong environment
(401), lacking ``team:view`` (403), MemberPass unreachable (502) or unavailable (503, with Retry-After).
Abilities and scopes come from the token's own entry in ``GET /tokens`` (no ability needed); when that list
cannot be read, only ``team:view`` is known, and the connection says so (``abilities_source: inferred``).
A person is waiting on the paste, so verification has a 5 s budget and two attempts: when MemberPass asks to
wait longer (Retry-After), the answer is 503 with that Retry-After at once instead of a long spinner.
"""

from __future__ import annotations

import re
from typing import Any

from connector.client import MemberPassClient, RetryPolicy
from connector.errors import (
    AuthenticationError,
    AuthError,
    ConnectorError,
    InputError,
    MissingAbilityError,
    NetworkError,
    RetryableError,
    ValidationError,
)
from connector.storage.connections import VerifiedToken

TOKEN_RE = re.compile(r"^mpt_(live|test)_([A-Za-z0-9]{8,32})_([A-Za-z0-9]{24,64})$")
_WRONG_ENV = re.compile(r"\b(live|test) token cannot be used against the (live|test) environment", re.I)
MINT_URL = "app.memberpass.net/settings/tokens"
VERIFY_RETRY = RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0)


def check_format(token: object) -> str:
    """The token without surrounding spaces, or VALIDATION_FAILED naming ``token``."""
    if not isinstance(token, str) or not token.strip():
        raise _malformed("is required: paste the MemberPass token (mpt_live_… or mpt_test_…)")
    value = token.strip()
    if not TOKEN_RE.match(value):
        if value.startswith("mpc_"):
            raise _malformed("is a connection key of this connector, not a MemberPass token")
        raise _malformed(
            "is not a MemberPass token: expected mpt_live_<id>_<secret> or mpt_test_<id>_<secret> "
            "(copy the whole token, without quotes or spaces)"
        )
    return value


def _malformed(problem: str) -> ValidationError:
    return ValidationError(
        f"The token {problem}.",
        remediation=f"Copy the whole token from {MINT_URL} and paste it again.",
        fields={"token": [problem]},
    )


def verify_token(token: str, api_base: str, *, client: MemberPassClient | None = None) -> VerifiedToken:
    """Ask MemberPass who this token is; raise a clear, typed error for every way it can fail."""
    environment, token_id, _ = TOKEN_RE.match(token).groups()  # type: ignore[union-attr]
    own = client is None
    api = client or MemberPassClient(
        api_base, token, total_budget=5.0, timeout=(3.0, 5.0), retry=VERIFY_RETRY
    )
    try:
        team = _current_team(api, api_base)
        entry = _token_entry(api, token_id)
    finally:
        if own:
            api.close()
    if entry is None:
        abilities, source = ["team:view"], "inferred"
        scopes: dict[str, Any] = {"team_id": team["id"], "project_ids": None}
    else:
        abilities, source = [a for a in entry.get("abilities", []) if not a.startswith("scope:")], "token"
        scopes = entry.get("scopes") or {"team_id": team["id"], "project_ids": []}
    return VerifiedToken(
        team_id=str(team["id"]),
        team_name=str(team.get("name") or team["id"]),
        environment=environment,
        abilities=abilities,
        scopes=scopes,
        abilities_source=source,
        upstream_token_id=token_id,
    )


def _current_team(api: MemberPassClient, api_base: str) -> dict[str, Any]:
    try:
        result = api.request("GET", "/teams/current")
    except AuthenticationError as err:
        raise rejected(err, api_base) from None
    except MissingAbilityError as err:
        raise _lacks_team_view(err) from None
    except NetworkError as err:
        raise NetworkError(
            f"MemberPass at {api_base} could not be reached to verify the token ({err.message})",
            code="MEMBERPASS_UNREACHABLE",
            retry_after=err.retry_after or 30,
            remediation="Retry in a minute; if it keeps failing, check MEMBERPASS_API_BASE and the network.",
        ) from None
    except RetryableError as err:
        raise RetryableError(
            f"MemberPass could not verify the token right now ({err.status} {err.code}).",
            code="MEMBERPASS_UNAVAILABLE",
            status=503,
            retry_after=err.retry_after or 30,
            request_id=err.request_id,
            remediation="Retry after the number of seconds in Retry-After; the token was not stored.",
        ) from None
    team = result.data
    if not isinstance(team, dict) or "id" not in team:
        raise ConnectorError(
            "MemberPass answered GET /teams/current without a team.",
            code="INVALID_RESPONSE",
            status=502,
            request_id=result.request_id,
        )
    return team


def _token_entry(api: MemberPassClient, token_id: str) -> dict[str, Any] | None:
    """This token's entry in ``GET /tokens``, or None when the list cannot be read (4xx) or lacks it."""
    try:
        listing = api.request("GET", "/tokens").data
    except (InputError, AuthError, RetryableError):
        return None
    for entry in listing if isinstance(listing, list) else []:
        if isinstance(entry, dict) and str(entry.get("id")) == token_id:
            return entry
    return None


def rejected(err: AuthenticationError, api_base: str) -> AuthError:
    """The clear error for a 401 from MemberPass, told apart by what MemberPass said."""
    said = err.message.rstrip(".")
    mint = f"Mint a new token at {MINT_URL} and paste it."
    wrong_env = _WRONG_ENV.search(err.message)
    if wrong_env:
        token_env, server_env = wrong_env.groups()
        return _auth(
            "TOKEN_WRONG_ENVIRONMENT",
            f"This is a {token_env} token, but this connector talks to the {server_env} environment of "
            f"MemberPass ({api_base}). MemberPass says: {said}.",
            f"Paste an mpt_{server_env}_… token, or point MEMBERPASS_API_BASE at the {token_env} API.",
            f"is a {token_env} token; this connector uses the {server_env} environment",
        )
    if "revoked" in said.lower():
        return _auth(
            "TOKEN_REVOKED",
            f"This token was revoked in MemberPass. MemberPass says: {said}.",
            mint,
            "was revoked",
        )
    if "expired" in said.lower():
        return _auth(
            "TOKEN_EXPIRED", f"This token has expired. MemberPass says: {said}.", mint, "has expired"
        )
    return _auth(
        "TOKEN_NOT_RECOGNISED",
        f"MemberPass did not recognise this token. MemberPass says: {said}.",
        f"Check that you copied the whole token; if it was deleted, mint a new one at {MINT_URL}.",
        "was not recognised by MemberPass",
    )


def _auth(code: str, message: str, remediation: str, field: str) -> AuthError:
    return AuthError(message, code=code, status=401, remediation=remediation, fields={"token": [field]})


def _lacks_team_view(err: MissingAbilityError) -> MissingAbilityError:
    ability = err.required_ability or "team:view"
    return MissingAbilityError(
        f"The token works but lacks the `{ability}` ability, which the connector needs to identify "
        "your team.",
        remediation=f"Mint a token at {MINT_URL} that includes `{ability}` (plus the abilities of the "
        "triggers and actions you will use) and paste it.",
        request_id=err.request_id,
        context={"required_ability": ability},
        fields={"token": [f"lacks the {ability} ability"]},
    )
