"""The /connect page in a real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium):
paste a sandbox token, see the connection key once; a bad paste shows its message; the OAuth sign-in. Skipped
when the browser, its driver or the selenium package is missing."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from flask import Flask

from connector.connections import services
from connector.sandbox import SandboxServer
from tests.browser import MARKS, chromium
from tests.connections.support import build_app
from tests.helpers import make_tenant, serving

pytestmark = MARKS


@pytest.fixture
def connector_app(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Flask]:
    app = build_app(sandbox_server, tmp_path / "c.db")
    yield app
    app.extensions[services.DB].close()


@pytest.fixture
def connector_url(connector_app: Flask) -> Iterator[str]:
    with serving(connector_app) as url:
        yield url


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile") as driver:
        yield driver


def test_paste_a_token_and_see_the_key_once(
    browser: Any, connector_url: str, sandbox_server: SandboxServer
) -> None:
    from selenium.webdriver.common.by import By

    tenant = make_tenant(sandbox_server, name="Browser Shop")
    browser.get(connector_url + "/connect")
    assert "Connect your MemberPass account" in browser.find_element(By.TAG_NAME, "h1").text
    browser.find_element(By.ID, "token").send_keys(tenant.token)
    browser.find_element(By.ID, "label").send_keys("From the browser")
    browser.find_element(By.ID, "submit").click()

    key = browser.find_element(By.ID, "connection-key").text
    assert key.startswith("mpc_")
    assert "shown only this once" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert browser.page_source.count(key) == 1 and tenant.token not in browser.page_source
    me = requests.get(connector_url + "/api/me", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    assert me.status_code == 200 and me.json()["data"]["label"] == "From the browser"

    browser.get(connector_url + "/connect")
    assert key not in browser.page_source and not browser.find_elements(By.ID, "connection-key")


def test_a_bad_paste_shows_its_message(browser: Any, connector_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(connector_url + "/connect")
    browser.find_element(By.ID, "token").send_keys("mpt_test_abcdefgh_" + "a" * 30)
    browser.find_element(By.ID, "submit").click()
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "MemberPass did not recognise this token" in alert
    assert browser.find_element(By.ID, "token").get_attribute("aria-invalid") == "true"
    assert browser.find_element(By.ID, "token").get_attribute("value") == ""


def test_oauth_sign_in_in_the_browser(
    browser: Any, connector_app: Flask, connector_url: str, sandbox_server: SandboxServer
) -> None:
    """What Zapier or n8n show: the consent page, the paste, the redirect back with code and state (the page's
    content security policy must allow that redirect), then the code exchanged with the PKCE verifier."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Another origin than the connector's (localhost vs 127.0.0.1), as Zapier's or n8n's callback would be;
    # any page will do: only the URL the browser is sent to matters.
    callback = connector_url.replace("127.0.0.1", "localhost") + "/callback-of-the-client"
    with connector_app.app_context():
        client, secret = services.oauth_store().add_client("n8n", [callback])
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    params = {
        "response_type": "code",
        "client_id": client.id,
        "redirect_uri": callback,
        "state": "n8n-state-1",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    browser.get(connector_url + "/oauth/authorize?" + urlencode(params))
    assert "Connect n8n to MemberPass" in browser.find_element(By.TAG_NAME, "h1").text
    browser.find_element(By.ID, "token").send_keys(make_tenant(sandbox_server, name="OAuth Shop").token)
    browser.find_element(By.ID, "submit").click()
    WebDriverWait(browser, 15).until(lambda b: b.current_url.startswith(callback))

    landed = urlsplit(browser.current_url)
    assert f"{landed.scheme}://{landed.netloc}{landed.path}" == callback
    query = parse_qs(landed.query)
    assert query["state"] == ["n8n-state-1"]
    tokens = requests.post(
        connector_url + "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": query["code"][0],
            "redirect_uri": callback,
            "code_verifier": verifier,
        },
        auth=(client.id, secret),
        timeout=10,
    )
    assert tokens.status_code == 200, tokens.text
    me = requests.get(
        connector_url + "/api/me",
        headers={"Authorization": f"Bearer {tokens.json()['access_token']}"},
        timeout=10,
    )
    assert me.json()["data"]["label"] == "OAuth Shop"
