"""MemberPass error envelope (contract §7) as raised inside the sandbox."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, tuple[int, str, str]] = {
    # code: (status, message, remediation)
    "AUTHENTICATION_REQUIRED": (
        401,
        "A valid API token is required.",
        "Send `Authorization: Bearer mpt_…` with a token minted at app.memberpass.net/settings/tokens.",
    ),
    "TOKEN_MISSING_ABILITY": (
        403,
        "The token lacks the ability this route requires.",
        "Mint a token that carries the ability named in context.required_ability.",
    ),
    "RESOURCE_NOT_FOUND": (
        404,
        "The resource does not exist or is outside the token's scope.",
        "Check the id and the token's team and project scopes.",
    ),
    "VALIDATION_FAILED": (422, "The request is invalid.", "Fix the fields listed in `fields`."),
    "RATE_LIMITED": (429, "Too many requests.", "Wait for the number of seconds in Retry-After, then retry."),
    "TEAM_TIER_REQUIRED": (403, "This feature needs a higher tier.", "Upgrade the team's tier."),
    "SUBSCRIPTION_ALREADY_ACTIVE": (
        409,
        "The subscription is already cancelled.",
        "Nothing to do: the cancellation is already recorded.",
    ),
    "IDEMPOTENCY_KEY_REQUIRED": (
        400,
        "Mutations require an Idempotency-Key header.",
        "Send a fresh UUID v4 as Idempotency-Key with every POST, PATCH, PUT and DELETE.",
    ),
    "IDEMPOTENCY_KEY_REUSED": (
        422,
        "This Idempotency-Key was used for a different request.",
        "Use a fresh Idempotency-Key for a different request.",
    ),
    "IDEMPOTENCY_REQUEST_IN_PROGRESS": (
        409,
        "A request with this Idempotency-Key is still running.",
        "Retry after the number of seconds in Retry-After.",
    ),
    "METHOD_NOT_ALLOWED": (405, "The method is not allowed on this path.", "Check the API reference."),
    "INTERNAL_ERROR": (500, "An internal error occurred.", "Retry later with the same Idempotency-Key."),
    "SERVICE_UNAVAILABLE": (503, "The service is temporarily unavailable.", "Retry later."),
    "BAD_REQUEST": (
        400,
        "The request could not be read.",
        "Send a JSON body with Content-Type application/json.",
    ),
}


class ApiError(Exception):
    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        remediation: str | None = None,
        fields: dict[str, list[str]] | None = None,
        context: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        default_status, default_message, default_remediation = DEFAULTS.get(
            code, (500, "Error.", "Retry later.")
        )
        self.code = code
        self.status = status or default_status
        self.message = message or default_message
        self.remediation = remediation or default_remediation
        self.fields = fields
        self.context = context
        self.headers = headers or {}
        super().__init__(self.message)

    def envelope(self, request_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "docs_url": f"https://docs.memberpass.net/api/errors#{self.code.lower()}",
            "remediation": self.remediation,
            "request_id": request_id,
        }
        if self.fields:
            body["fields"] = self.fields
        if self.context:
            body["context"] = self.context
        return {"error": body}


def not_found(what: str = "resource") -> ApiError:
    return ApiError("RESOURCE_NOT_FOUND", f"No {what} with that id is visible to this token.")


def invalid(fields: dict[str, list[str]], message: str = "The given data was invalid.") -> ApiError:
    return ApiError("VALIDATION_FAILED", message, fields=fields)
