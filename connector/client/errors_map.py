"""Turn a MemberPass error answer (contract §7) or a transport failure into one typed error.

Known codes map to their class; an unknown code keeps its own ``code`` and takes the class of its HTTP
status, so new upstream codes still land on the right branch (fix input / reconnect / retry later). A body
that is not the envelope (an HTML page from a proxy, an empty 502) still gives a typed error with the status.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Mapping
from typing import Any

import requests

from connector.errors import (
    AuthenticationError,
    ConflictError,
    ConnectorError,
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    InputError,
    MissingAbilityError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    RetryableError,
    ServerError,
    TierRequiredError,
    ValidationError,
)

Scrub = Callable[[str], str]

BY_CODE: dict[str, type[ConnectorError]] = {
    "AUTHENTICATION_REQUIRED": AuthenticationError,
    "TOKEN_MISSING_ABILITY": MissingAbilityError,
    "TEAM_TIER_REQUIRED": TierRequiredError,
    "RESOURCE_NOT_FOUND": NotFoundError,
    "VALIDATION_FAILED": ValidationError,
    "IDEMPOTENCY_KEY_REUSED": IdempotencyKeyReusedError,
    "IDEMPOTENCY_KEY_REQUIRED": InputError,
    "IDEMPOTENCY_REQUEST_IN_PROGRESS": IdempotencyInProgressError,
    "RATE_LIMITED": RateLimitedError,
    "SUBSCRIPTION_ALREADY_ACTIVE": ConflictError,
    "METHOD_NOT_ALLOWED": InputError,
    "BAD_REQUEST": InputError,
    "INTERNAL_ERROR": ServerError,
    "SERVICE_UNAVAILABLE": ServerError,
}

# Codes a bare status implies without doubt (C9); others get ``HTTP_<status>``.
CODE_FOR_STATUS = {
    400: "BAD_REQUEST",
    401: "AUTHENTICATION_REQUIRED",
    404: "RESOURCE_NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    422: "VALIDATION_FAILED",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


def class_for_status(status: int) -> type[ConnectorError]:
    if status >= 500:
        return ServerError
    exact: dict[int, type[ConnectorError]] = {
        401: AuthenticationError,
        403: MissingAbilityError,
        404: NotFoundError,
        409: ConflictError,
        422: ValidationError,
        429: RateLimitedError,
    }
    if status in exact:
        return exact[status]
    return InputError if 400 <= status < 500 else ConnectorError


def parse_retry_after(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now: integer/decimal seconds (C6) or an HTTP date."""
    if value is None or not value.strip():
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def _envelope(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), str):
        return None
    return error


def error_from_response(response: requests.Response, *, now: float, scrub: Scrub) -> ConnectorError:
    """The typed error for a non-2xx answer; ``scrub`` removes the caller's own secrets from any text."""
    status = response.status_code
    headers: Mapping[str, str] = response.headers
    envelope = _envelope(response)
    header_id = headers.get("X-Request-Id")
    if envelope is None:
        cls = class_for_status(status)
        code = CODE_FOR_STATUS.get(status, f"HTTP_{status}")
        kind = headers.get("Content-Type", "no content type").split(";")[0]
        message = f"MemberPass answered HTTP {status} without an error envelope ({kind})."
        kwargs: dict[str, Any] = {"code": code, "status": status, "request_id": header_id}
    else:
        code = envelope["code"]
        cls = BY_CODE.get(code) or class_for_status(status)
        message = scrub(str(envelope.get("message") or f"MemberPass answered {code}."))
        remediation = envelope.get("remediation")
        fields, context = envelope.get("fields"), envelope.get("context")
        kwargs = {
            "code": code,
            "status": status,
            "request_id": envelope.get("request_id") or header_id,
            "remediation": scrub(str(remediation)) if remediation else None,
            "fields": fields if isinstance(fields, dict) else None,
            "context": context if isinstance(context, dict) else None,
            "docs_url": envelope.get("docs_url") if isinstance(envelope.get("docs_url"), str) else None,
        }
    if issubclass(cls, RetryableError):
        kwargs["retry_after"] = parse_retry_after(headers.get("Retry-After"), now)
    return cls(message, **kwargs)


def network_error(exc: requests.RequestException, method: str, path: str, scrub: Scrub) -> ConnectorError:
    """A transport failure: connection refused or dropped, read or connect timeout, broken body.

    TLS failures get the code ``TLS_FAILED`` (they do not heal by retrying); a request the library refused
    to build is a plain ConnectorError, since sending it again changes nothing.
    """
    reason = scrub(type(exc).__name__)
    if isinstance(exc, requests.exceptions.SSLError):
        return NetworkError(f"TLS handshake with MemberPass failed on {method} {path}.", code="TLS_FAILED")
    if isinstance(exc, requests.Timeout):
        return NetworkError(f"MemberPass did not answer {method} {path} in time ({reason}).")
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return NetworkError(f"The connection to MemberPass failed on {method} {path} ({reason}).")
    return ConnectorError(
        f"The request {method} {path} could not be sent ({reason}).", code="REQUEST_NOT_SENT", status=500
    )
