"""The parameters of an authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636), checked in the order the
RFC asks: an unknown client or a redirect URI that is not exactly a registered one is shown as an error page
and never redirected to; every other problem goes back to the client's redirect URI with ``error`` and
``state``. PKCE with ``S256`` and a ``state`` are required.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from connector.storage.oauth import OAuthClient, OAuthRepository

CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class AuthorizePageError(Exception):
    """Cannot redirect (unknown client or redirect URI): show this on the page instead."""

    def __init__(self, message: str, remediation: str) -> None:
        super().__init__(message)
        self.message = message
        self.remediation = remediation


class AuthorizeRedirectError(Exception):
    """Send the browser back to the client with ``error`` (an RFC 6749 code) and a description."""

    def __init__(self, redirect_uri: str, state: str, error: str, text: str) -> None:
        super().__init__(text)
        self.redirect_uri, self.state, self.error, self.text = redirect_uri, state, error, text

    def location(self) -> str:
        params = {"error": self.error, "error_description": self.text}
        if self.state:
            params["state"] = self.state
        return with_query(self.redirect_uri, params)


@dataclass(frozen=True)
class AuthorizeRequest:
    client: OAuthClient
    redirect_uri: str
    state: str
    code_challenge: str

    def hidden_fields(self) -> dict[str, str]:
        return {
            "response_type": "code",
            "client_id": self.client.id,
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }

    def redirect_origin(self) -> str:
        parts = urlsplit(self.redirect_uri)
        return f"{parts.scheme}://{parts.netloc}"


def parse_authorize(params: Mapping[str, str], store: OAuthRepository) -> AuthorizeRequest:
    client_id = params.get("client_id", "")
    client = store.client(client_id) if client_id else None
    if client is None:
        raise AuthorizePageError(
            "The application that sent you here is not registered with this connector (unknown client_id).",
            "Ask the connector's operator to register it with `memberpass-connector oauth-clients add`.",
        )
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris:
        raise AuthorizePageError(
            f"The return address sent by {client.name} is not one registered for it (redirect_uri must match "
            "exactly), so you were not sent back.",
            "Ask the connector's operator to register that redirect URI for this client.",
        )
    state = params.get("state", "")

    def refuse(error: str, text: str) -> AuthorizeRedirectError:
        return AuthorizeRedirectError(redirect_uri, state, error, text)

    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "response_type must be code")
    if not state:
        raise refuse("invalid_request", "state is required")
    if params.get("code_challenge_method") != "S256":
        raise refuse(
            "invalid_request", "PKCE is required: send code_challenge_method=S256 and code_challenge"
        )
    challenge = params.get("code_challenge", "")
    if not CHALLENGE_RE.match(challenge):
        raise refuse("invalid_request", "code_challenge must be the base64url SHA-256 of the code_verifier")
    return AuthorizeRequest(client, redirect_uri, state, challenge)


def with_query(url: str, params: Mapping[str, str]) -> str:
    """``url`` with ``params`` added to its query string (keeping what the registered URI already has)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
