"""CSRF protection for the HTML forms: a signed double-submit token.

The token is ``<nonce>.<issued at>.<HMAC>``, signed with a sub-key of the encryption key ring. It is set as a
``SameSite=Strict``, ``HttpOnly`` cookie and repeated in a hidden form field; a POST is accepted only when the
two are equal, the signature verifies under a key of the ring and the token is younger than ``MAX_AGE``. A
cross-site form can neither read the cookie nor forge a signed value.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import Response, request

from connector.connections.services import current_clock, current_ring, current_settings
from connector.errors import ConnectorError

COOKIE = "connector_csrf"
FIELD = "csrf_token"
MAX_AGE = 2 * 3600


class CsrfError(ConnectorError):
    code = "CSRF_FAILED"
    status = 403
    default_remediation = "Reload the page and submit the form again."


def _sign(key: bytes, message: str) -> str:
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def _valid(token: str) -> bool:
    parts = token.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return False
    nonce, issued, signature = parts
    age = current_clock().now() - int(issued)
    if not 0 <= age <= MAX_AGE:
        return False
    message = f"{nonce}.{issued}"
    return any(hmac.compare_digest(signature, _sign(k, message)) for k in current_ring().derive("csrf"))


def token_for_form() -> str:
    """The caller's current token when still valid (so several open tabs keep working), else a new one."""
    existing = request.cookies.get(COOKIE, "")
    if existing and _valid(existing):
        return existing
    message = f"{secrets.token_urlsafe(16)}.{int(current_clock().now())}"
    return f"{message}.{_sign(current_ring().derive('csrf')[0], message)}"


def set_cookie(response: Response, token: str) -> None:
    """``Secure`` when the request came over HTTPS or the public URL is HTTPS (behind a TLS proxy)."""
    secure = request.is_secure or (current_settings().public_url or "").startswith("https://")
    response.set_cookie(
        COOKIE, token, max_age=MAX_AGE, path="/", secure=secure, httponly=True, samesite="Strict"
    )


def check() -> None:
    cookie = request.cookies.get(COOKIE, "")
    sent = request.form.get(FIELD, "")
    if not cookie:
        raise CsrfError(
            "The form could not be verified: this browser did not send the connector's form cookie.",
            remediation="Allow cookies for this site, reload the page and submit the form again.",
        )
    if not sent or not hmac.compare_digest(cookie, sent) or not _valid(sent):
        raise CsrfError(
            "The form could not be verified: it has expired, or it was not sent from this connector's page."
        )
