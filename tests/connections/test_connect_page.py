"""GET/POST /connect without a browser: CSRF refusals, one clear message per failure, the key shown once."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.clock import FakeClock
from connector.connections import csrf
from connector.connections.services import connections
from tests.connections.support import bearer, connect, csrf_token, mint, revoke
from tests.helpers import Tenant, make_tenant, token_for

KEY_RE = re.compile(r'id="connection-key">(mpc_[^<]+)<')


def submit(client: FlaskClient, **form: str) -> tuple[int, str]:
    token = csrf_token(client.get("/connect").get_data(as_text=True))
    response = client.post("/connect", data={"csrf_token": token, **form})
    return response.status_code, response.get_data(as_text=True)


def test_form_works_without_javascript_and_is_locked_down(client: FlaskClient) -> None:
    page = client.get("/connect")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert '<form method="post" action="/connect"' in html and "<script" not in html
    assert 'name="token"' in html and 'type="password"' in html and 'for="token"' in html
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["Cache-Control"] == "no-store"
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith(f"{csrf.COOKIE}=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert csrf_token(html) in cookie, "double submit: the field repeats the cookie"


def test_paste_shows_the_key_once(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    status, html = submit(client, token=tenant.token, label="My shop")
    assert status == 201
    keys = KEY_RE.findall(html)
    assert len(keys) == 1 and "shown only this once" in html
    assert tenant.token not in html
    me = client.get("/api/me", headers=bearer(keys[0])).json["data"]
    assert me["label"] == "My shop" and me["created_via"] == "connect_page"
    for path in ("/connect", "/api/me"):
        assert keys[0] not in client.get(path, headers=bearer(keys[0])).get_data(as_text=True)


def test_csrf_refusals(client: FlaskClient, tenant: Tenant, clock: FakeClock) -> None:
    no_cookie = client.application.test_client().post(
        "/connect", data={"token": tenant.token, "csrf_token": "x"}
    )
    assert (
        no_cookie.status_code == 403
        and "did not send the connector&#39;s form cookie" in no_cookie.get_data(as_text=True)
    )

    good = csrf_token(client.get("/connect").get_data(as_text=True))
    missing = client.post("/connect", data={"token": tenant.token})
    assert missing.status_code == 403 and "could not be verified" in missing.get_data(as_text=True)
    forged = good.rsplit(".", 1)[0] + "." + "0" * 64
    client.set_cookie(csrf.COOKIE, forged)
    assert client.post("/connect", data={"token": tenant.token, "csrf_token": forged}).status_code == 403
    client.set_cookie(csrf.COOKIE, good)
    clock.advance(csrf.MAX_AGE + 1)
    assert client.post("/connect", data={"token": tenant.token, "csrf_token": good}).status_code == 403
    with client.application.app_context():
        assert connections().list_all() == [], "nothing was stored for a refused form"


def test_each_failure_has_its_own_message(client: FlaskClient, tenant: Tenant) -> None:
    revoked = mint(tenant.server, tenant.team["id"])
    revoke(tenant.server, revoked["data"]["id"])
    cases = [
        ("not-a-token", 422, "is not a MemberPass token"),
        ("mpt_test_abcdefgh_" + "a" * 30, 401, "MemberPass did not recognise this token"),
        (revoked["token"], 401, "The token has been revoked."),
        (
            mint(tenant.server, tenant.team["id"], environment="live")["token"],
            401,
            "this connector talks to the test environment",
        ),
        (
            mint(tenant.server, tenant.team["id"], ["project:view-any"])["token"],
            403,
            "lacks the `team:view` ability",
        ),
    ]
    for token, status, text in cases:
        got, html = submit(client, token=token, label="kept")
        assert (got, text in html) == (status, True), html
        assert 'role="alert"' in html and 'aria-invalid="true"' in html
        assert token not in html, "the token is never echoed back"
        assert 'value="kept"' in html and not KEY_RE.search(html)


@pytest.mark.parametrize("same_team", [True, False])
def test_existing_key_replaces_the_token_without_a_new_key(
    app: Flask, client: FlaskClient, tenant: Tenant, same_team: bool
) -> None:
    key, connection = connect(client, tenant.token)
    other = token_for(tenant) if same_team else make_tenant(tenant.server, name="Elsewhere")
    status, html = submit(client, token=other.token, connection_key=key)
    assert not KEY_RE.search(html)
    with app.app_context():
        stored = connections().token(connection["id"])
    if same_team:
        assert status == 200 and "Token replaced" in html and stored == other.token
    else:
        assert status == 409 and "belongs to the MemberPass team" in html and stored == tenant.token


def test_wrong_existing_key_is_named(client: FlaskClient, tenant: Tenant) -> None:
    status, html = submit(client, token=tenant.token, connection_key="mpc_0123456789abcdef_wrong")
    assert status == 401 and "This connection key was not accepted." in html and "<details open>" in html
