"""OAuth misuse beyond ``tests/connections/test_oauth.py`` (whose helpers this reuses): replaying a code after
its tokens were refreshed, refresh tokens and codes presented by another client or as something else,
PKCE downgrades, a missing ``redirect_uri``, a connection revoked behind a grant, and open-redirect attempts
at both authorize steps. Token-endpoint refusals are RFC 6749 §5.2 bodies with ``request_id`` (the
documented shape for ``/oauth/token``); authorize refusals are an error page without ``Location``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.clock import FakeClock
from connector.connections import services
from connector.connections.services import oauth_store
from connector.sandbox import SandboxServer
from tests.connections.support import bearer, csrf_token
from tests.connections.test_oauth import (
    REDIRECT,
    Registered,
    authorize_params,
    code_from,
    consent,
    exchange,
    pkce,
    refresh,
    sign_in,
)
from tests.helpers import Tenant, make_tenant
from tests.security.conftest import assert_error, body_of, db_snapshot, make_app


@pytest.fixture
def app(sandbox_server: SandboxServer, tmp_path: Any) -> Iterator[Flask]:
    made = make_app(sandbox_server, tmp_path / "oauth.db")
    made.extensions[services.CLOCK] = FakeClock(start=time.time())
    yield made
    made.extensions[services.DB].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def registered(app: Flask) -> Registered:
    with app.app_context():
        made, secret = oauth_store().add_client("Zapier", [REDIRECT])
    return Registered(made.id, secret)


@pytest.fixture
def other_client(app: Flask) -> Registered:
    with app.app_context():
        made, secret = oauth_store().add_client("n8n", [REDIRECT])
    return Registered(made.id, secret)


@pytest.fixture
def tenant(sandbox_server: SandboxServer) -> Tenant:
    return make_tenant(sandbox_server, name="OAuth Misuse Team")


def refused(response: Any, error: str, text: str = "") -> None:
    """RFC 6749 §5.2: 400 ``{"error", "error_description", "request_id"}``, never cached."""
    body = body_of(response)
    assert response.status_code == 400 and set(body) == {"error", "error_description", "request_id"}, body
    assert body["error"] == error and text in body["error_description"]
    assert (
        body["request_id"] == response.headers["X-Request-Id"]
        and response.headers["Cache-Control"] == "no-store"
    )


def works(client: FlaskClient, access: str) -> bool:
    return bool(client.get("/api/me", headers=bearer(access)).status_code == 200)


def test_replaying_a_code_revokes_the_tokens_refreshed_from_it(
    client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    verifier, challenge = pkce()
    code = code_from(consent(client, registered, tenant.token, challenge))
    first = body_of(exchange(client, registered, code, verifier))
    rotated = body_of(refresh(client, registered, first["refresh_token"]))
    assert works(client, rotated["access_token"])
    refused(exchange(client, registered, code, verifier), "invalid_grant", "already used")
    assert not works(client, rotated["access_token"]), "the grant's later tokens survive a code replay"
    refused(refresh(client, registered, rotated["refresh_token"]), "invalid_grant")


def test_a_refresh_token_of_another_client_is_refused_and_burns_nothing(
    client: FlaskClient, registered: Registered, other_client: Registered, tenant: Tenant
) -> None:
    tokens = sign_in(client, registered, tenant.token)
    refused(
        refresh(client, other_client, tokens["refresh_token"]), "invalid_grant", "not valid for this client"
    )
    assert works(client, tokens["access_token"])
    assert refresh(client, registered, tokens["refresh_token"]).status_code == 200, (
        "the owner's token still works"
    )


def test_tokens_are_not_interchangeable(
    app: Flask, client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    verifier, challenge = pkce()
    code = code_from(consent(client, registered, tenant.token, challenge))
    assert_error(client.get("/api/me", headers=bearer(code)), 401, "AUTHENTICATION_REQUIRED")
    tokens = body_of(exchange(client, registered, code, verifier))
    assert_error(
        client.get("/api/me", headers=bearer(tokens["refresh_token"])), 401, "AUTHENTICATION_REQUIRED"
    )
    refused(refresh(client, registered, tokens["access_token"]), "invalid_grant")
    refused(exchange(client, registered, tokens["refresh_token"], verifier), "invalid_grant")
    assert works(client, tokens["access_token"]), "failed misuse did not revoke the grant"


@pytest.mark.parametrize(
    ("make_verifier", "error", "text"),
    [
        (lambda verifier, challenge: challenge, "invalid_grant", "code_verifier does not match"),  # plain
        (lambda verifier, challenge: verifier[:42], "invalid_grant", "code_verifier does not match"),
        (lambda verifier, challenge: verifier + "=", "invalid_grant", "code_verifier does not match"),
        (lambda verifier, challenge: "", "invalid_request", "code_verifier is required"),
    ],
    ids=["plain-downgrade", "too-short", "bad-character", "missing"],
)
def test_pkce_cannot_be_downgraded_or_skipped(
    app: Flask, client: FlaskClient, registered: Registered, tenant: Tenant, make_verifier: Any, error: str,
    text: str,
) -> None:  # fmt: skip
    verifier, challenge = pkce()
    code = code_from(consent(client, registered, tenant.token, challenge))
    before = db_snapshot(app)
    refused(exchange(client, registered, code, make_verifier(verifier, challenge)), error, text)
    assert db_snapshot(app) == before, "a refused exchange changed state"


def test_a_missing_redirect_uri_is_refused(
    client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    verifier, challenge = pkce()
    code = code_from(consent(client, registered, tenant.token, challenge))
    refused(exchange(client, registered, code, verifier, redirect_uri=""), "invalid_grant", "redirect_uri")


def test_a_code_that_expired_stays_refused_and_leaves_nothing(
    app: Flask, client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    verifier, challenge = pkce()
    code = code_from(consent(client, registered, tenant.token, challenge))
    app.extensions[services.CLOCK].advance(3600)
    before = db_snapshot(app)
    for _ in range(2):
        refused(exchange(client, registered, code, verifier), "invalid_grant", "expired")
    assert db_snapshot(app) == before and before["oauth_grants"] == []


def test_a_revoked_connection_ends_its_grants(
    client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    tokens = sign_in(client, registered, tenant.token)
    assert client.delete("/api/me", headers=bearer(tokens["access_token"])).status_code == 200
    refused(refresh(client, registered, tokens["refresh_token"]), "invalid_grant")


OPEN_REDIRECTS = [
    REDIRECT + "../../evil",
    REDIRECT + "?next=https://attacker.example/",
    REDIRECT + "#@attacker.example",
    REDIRECT.replace("https://zapier.example", "https://zapier.example@attacker.example"),
    REDIRECT.replace("https://zapier.example", "https://zapier.example.attacker.example"),
    REDIRECT.replace("https://", "http://"),
    REDIRECT.replace("zapier.example", "ZAPIER.EXAMPLE"),
    REDIRECT.replace("https://zapier.example", "https://zapier.example:444"),
    REDIRECT.rstrip("/"),
    REDIRECT.replace("/", "\\", 3),
    "//attacker.example/cb",
    "javascript:alert(document.domain)",
    REDIRECT + "%0d%0aLocation:%20https://attacker.example",
]


@pytest.mark.parametrize("redirect_uri", OPEN_REDIRECTS)
def test_authorize_never_redirects_to_an_unregistered_uri(
    app: Flask, client: FlaskClient, registered: Registered, redirect_uri: str
) -> None:
    """Even with another error in the request (which would normally go back to the client)."""
    _, challenge = pkce()
    before = db_snapshot(app)
    for extra in ({}, {"response_type": "token"}, {"state": "-"}):
        params = authorize_params(registered, challenge, redirect_uri=redirect_uri, **extra)
        response = client.get("/oauth/authorize?" + urlencode(params))
        assert response.status_code == 400 and "Location" not in response.headers
        assert "attacker.example" not in response.headers.get("Content-Security-Policy", "")
    assert db_snapshot(app) == before


def test_consent_with_a_swapped_redirect_uri_gives_no_code(
    app: Flask, client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    """The form's hidden redirect_uri edited between the page and the submit: an error page, no code."""
    _, challenge = pkce()
    params = authorize_params(registered, challenge)
    page = client.get("/oauth/authorize?" + urlencode(params))
    form = {**params, "csrf_token": csrf_token(page.get_data(as_text=True)), "token": tenant.token}
    before = db_snapshot(app)
    for evil in ("https://attacker.example/cb", REDIRECT + "x"):
        response = client.post("/oauth/authorize", data={**form, "redirect_uri": evil})
        assert response.status_code == 400 and "Location" not in response.headers
    assert db_snapshot(app) == before, "a connection or code was made"
