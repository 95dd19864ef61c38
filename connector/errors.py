"""The one error hierarchy of the product.

Every error carries a stable ``code``, an HTTP ``status``, a human ``message``, a ``remediation`` (what to do
next) and, where known, the ``request_id`` of the call that failed. Branches follow what the caller should
do: fix the input, reconnect, retry later, or give up. No error text ever contains a token or secret: callers
pass messages, never credentials, and :func:`redact` scrubs anything that looks like one.
"""

from __future__ import annotations

import re
from typing import Any

DOCS_BASE = "https://docs.memberpass.net/api/errors#"

_SECRET_PATTERNS = re.compile(
    r"(mpt_(?:live|test)_[A-Za-z0-9]+_[A-Za-z0-9]+|mpc_[A-Za-z0-9_\-]+|whsec_[A-Za-z0-9+/=]+|mpo_[A-Za-z0-9_\-]+)"
)


def redact(text: str) -> str:
    """Replace anything shaped like a token, key or secret with a fixed marker."""
    return _SECRET_PATTERNS.sub("[redacted]", text)


class ConnectorError(Exception):
    """Root of every error the connector raises on purpose."""

    code = "INTERNAL_ERROR"
    status = 500
    default_remediation = "Retry later; if it keeps happening, report the request id."

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        remediation: str | None = None,
        request_id: str | None = None,
        fields: dict[str, list[str]] | None = None,
        context: dict[str, Any] | None = None,
        docs_url: str | None = None,
    ) -> None:
        self.message = redact(message)
        super().__init__(self.message)
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.remediation = redact(remediation or self.default_remediation)
        self.request_id = request_id
        self.fields = fields
        self.context = context
        self.docs_url = docs_url or DOCS_BASE + self.code.lower()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status}, message={self.message!r})"

    def envelope(self, request_id: str | None = None) -> dict[str, Any]:
        """The MemberPass-style error envelope for this error."""
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "remediation": self.remediation,
            "docs_url": self.docs_url,
            "request_id": request_id or self.request_id,
        }
        if self.fields:
            body["fields"] = self.fields
        if self.context:
            body["context"] = self.context
        return {"error": body}


# --- fix the input ---------------------------------------------------------------------------------------
class InputError(ConnectorError):
    code = "BAD_REQUEST"
    status = 400
    default_remediation = "Correct the request and send it again."


class ValidationError(InputError):
    code = "VALIDATION_FAILED"
    status = 422
    default_remediation = "Fix the fields named in `fields` and send the request again."


class IdempotencyKeyReusedError(InputError):
    code = "IDEMPOTENCY_KEY_REUSED"
    status = 422
    default_remediation = "Use a fresh Idempotency-Key for a different request."


class NotFoundError(InputError):
    code = "RESOURCE_NOT_FOUND"
    status = 404
    default_remediation = "Check the id, and that the token's team and project scope include it."


class UnsupportedMediaTypeError(InputError):
    code = "UNSUPPORTED_MEDIA_TYPE"
    status = 415
    default_remediation = "Send the body as JSON with Content-Type: application/json."


class ConflictError(InputError):
    """The request cannot succeed in the resource's current state (e.g. already cancelled)."""

    code = "CONFLICT"
    status = 409
    default_remediation = "Nothing to do: the resource is already in the requested state."


# --- reconnect ---------------------------------------------------------------------------------------------
class AuthError(ConnectorError):
    code = "AUTHENTICATION_REQUIRED"
    status = 401
    default_remediation = "Reconnect: paste a valid MemberPass token on the connect page."


class AuthenticationError(AuthError):
    pass


class MissingAbilityError(AuthError):
    code = "TOKEN_MISSING_ABILITY"
    status = 403
    default_remediation = "Mint a MemberPass token that carries the required ability and reconnect."

    @property
    def required_ability(self) -> str | None:
        return (self.context or {}).get("required_ability")


class TierRequiredError(AuthError):
    code = "TEAM_TIER_REQUIRED"
    status = 403
    default_remediation = "Upgrade the MemberPass team tier, or leave out the feature that needs it."


# --- retry later -------------------------------------------------------------------------------------------
class RetryableError(ConnectorError):
    """Worth retrying later; ``retry_after`` (seconds) says when, if known."""

    retry_after: float | None = None

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class RateLimitedError(RetryableError):
    code = "RATE_LIMITED"
    status = 429
    default_remediation = "Wait for the number of seconds in Retry-After, then retry."


class IdempotencyInProgressError(RetryableError):
    code = "IDEMPOTENCY_REQUEST_IN_PROGRESS"
    status = 409
    default_remediation = "The same request is still running; retry after Retry-After seconds."


class ServerError(RetryableError):
    code = "INTERNAL_ERROR"
    status = 500
    default_remediation = "MemberPass had an internal error; retry later with the same Idempotency-Key."


class NetworkError(RetryableError):
    code = "NETWORK_ERROR"
    status = 502
    default_remediation = "MemberPass could not be reached; check connectivity and retry."


class TimeoutBudgetError(RetryableError):
    code = "UPSTREAM_TIMEOUT"
    status = 504
    default_remediation = "MemberPass did not answer within the time budget; retry later."


# --- give up ----------------------------------------------------------------------------------------------
class PaginationLoopError(ConnectorError):
    """A list answered a page or cursor it had already answered; reading on would never end."""

    code = "PAGINATION_LOOP"
    status = 502
    default_remediation = (
        "The list was stopped to avoid an endless loop; report the request id to MemberPass."
    )


# --- operator / start-up -----------------------------------------------------------------------------------
class ConfigError(ConnectorError):
    code = "CONFIGURATION_INVALID"
    status = 500
    default_remediation = "Fix the named environment variable and start again."
