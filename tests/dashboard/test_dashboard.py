"""The dashboard at ``/``: sign-in (key, one-time link, the connect page), what it shows of each signed-in
connection, the retry and enable buttons, CSRF, and that a browser never sees another connection's data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.connections import services
from connector.dashboard import demo_link
from connector.sandbox import SandboxServer
from tests.dashboard.support import html, page_token, sign_in, submit
from tests.helpers import make_tenant
from tests.triggers.connected import EVENT, Env, connected


@pytest.fixture
def env(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connected(sandbox_server, tmp_path / "c.db") as made:
        yield made


def with_deliveries(env: Env, count: int = 2) -> tuple[str, list[str]]:
    subscription_id = env.subscribed(EVENT)
    env.emit(count)
    env.poll(subscription_id)
    return subscription_id, [r["id"] for r in env.outbox(subscription_id)]


def outbox_status(env: Env, delivery_id: str) -> str:
    return str(env.sql("SELECT status FROM outbox WHERE id = ?", [delivery_id])[0]["status"])


def test_without_a_session_the_page_is_the_sign_in_form_and_shows_nothing(env: Env) -> None:
    subscription_id, _ = with_deliveries(env)
    browser = env.app.test_client()
    page = html(browser, "/")
    assert 'action="/dashboard/sign-in"' in page and subscription_id not in page
    assert browser.get("/").headers["Cache-Control"] == "no-store"


def test_a_wrong_key_is_refused_on_the_form_and_opens_no_session(env: Env) -> None:
    browser = env.app.test_client()
    response = submit(browser, "/dashboard/sign-in", connection_key="mpc_0123456789abcdef_nope")
    assert response.status_code == 401
    assert "The connection key is not valid." in response.get_data(as_text=True)
    assert browser.get_cookie("connector_dashboard") is None
    forged = browser.post("/dashboard/sign-in", data={"connection_key": env.key})
    assert forged.status_code == 403 and browser.get_cookie("connector_dashboard") is None


def test_signed_in_the_page_shows_subscriptions_with_cursor_and_last_poll_and_deliveries(env: Env) -> None:
    subscription_id, deliveries = with_deliveries(env, 3)
    browser = env.app.test_client()
    sign_in(browser, env.key)
    cookie = browser.get_cookie("connector_dashboard")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    page = html(browser)
    assert f'id="sub-{subscription_id}"' in page and EVENT in page and "polling" in page
    assert "polled: fetched 3, new 3" in page  # the last poll decision
    cursor = env.client.get(f"/api/subscriptions/{subscription_id}", headers=env.headers).json["data"][
        "cursor"
    ]
    assert cursor and f"<code>{cursor}</code>" in page
    assert all(f'id="delivery-{d}"' in page for d in deliveries)
    assert 'class="count-pending">3<' in page
    assert '<meta http-equiv="refresh"' in html(browser, "/") and '<meta http-equiv="refresh"' not in page
    stored = env.sql("SELECT secret_hash FROM dashboard_sessions")
    assert stored and all(cookie.value not in str(row) for row in stored)


def test_retry_puts_a_dead_delivery_back_and_needs_the_forms_csrf_token(env: Env) -> None:
    _, deliveries = with_deliveries(env, 1)
    env.app.extensions[services.DB].db.execute(
        "UPDATE outbox SET status = 'dead' WHERE id = ?", [deliveries[0]]
    )
    browser = env.app.test_client()
    sign_in(browser, env.key)
    assert 'class="retry"' in html(browser)
    forged = browser.post(f"/dashboard/deliveries/{deliveries[0]}/retry", data={"csrf_token": "x.1.y"})
    assert forged.status_code == 403 and forged.json["error"]["code"] == "CSRF_FAILED"
    assert outbox_status(env, deliveries[0]) == "dead"
    done = submit(browser, f"/dashboard/deliveries/{deliveries[0]}/retry")
    assert done.status_code == 303 and "queued%20again" in done.headers["Location"]
    assert outbox_status(env, deliveries[0]) == "pending"
    again = submit(browser, f"/dashboard/deliveries/{deliveries[0]}/retry")
    assert "only%20failed%20or%20dead" in again.headers["Location"]


def test_enable_re_enables_a_disabled_subscription(env: Env) -> None:
    subscription_id, _ = with_deliveries(env, 1)
    env.app.extensions[services.DB].db.execute(
        "UPDATE subscriptions SET status = 'disabled', status_reason = 'receiver kept failing' WHERE id = ?",
        [subscription_id],
    )
    browser = env.app.test_client()
    sign_in(browser, env.key)
    assert "receiver kept failing" in html(browser) and 'class="enable"' in html(browser)
    done = submit(browser, f"/dashboard/subscriptions/{subscription_id}/enable")
    assert done.status_code == 303
    assert (
        env.sql("SELECT status FROM subscriptions WHERE id = ?", [subscription_id])[0]["status"] == "active"
    )


def test_a_browser_sees_and_touches_only_the_connections_it_signed_in_with(
    env: Env, sandbox_server: SandboxServer
) -> None:
    mine_sub, mine = with_deliveries(env, 1)
    other = make_tenant(sandbox_server, name="Other Shop")
    other_key = env.client.post("/api/connections", json={"token": other.token}).json["connection_key"]
    outsider = env.app.test_client()
    sign_in(outsider, other_key)
    page = html(outsider)
    assert "Other Shop" in page and mine_sub not in page and mine[0] not in page
    env.app.extensions[services.DB].db.execute("UPDATE outbox SET status = 'dead' WHERE id = ?", [mine[0]])
    refused = submit(outsider, f"/dashboard/deliveries/{mine[0]}/retry")
    assert "No%20delivery" in refused.headers["Location"]
    assert outbox_status(env, mine[0]) == "dead"
    both = env.app.test_client()
    sign_in(both, env.key)
    sign_in(both, other_key)
    shown = html(both)
    assert mine_sub in shown and "Other Shop" in shown


def test_a_one_time_link_signs_in_once(env: Env) -> None:
    connection_id = env.client.get("/api/me", headers=env.headers).json["data"]["id"]
    link = demo_link(env.app, connection_id)
    path = link[link.index("/dashboard/open/") :]
    browser = env.app.test_client()
    opened = browser.get(path)
    assert opened.status_code == 303 and browser.get_cookie("connector_dashboard") is not None
    assert f"connection <code>{connection_id}</code>" in html(browser)
    replayed = env.app.test_client().get(path)
    assert replayed.status_code == 410 and "used already or has expired" in replayed.get_data(as_text=True)


def test_sign_out_ends_the_session(env: Env) -> None:
    browser = env.app.test_client()
    sign_in(browser, env.key)
    session = browser.get_cookie("connector_dashboard")
    assert session is not None
    assert submit(browser, "/dashboard/sign-out").status_code == 303
    assert env.sql("SELECT * FROM dashboard_sessions") == []
    stale = env.app.test_client()
    stale.set_cookie("connector_dashboard", session.value)
    assert 'action="/dashboard/sign-in"' in html(stale, "/")


def test_connecting_on_the_connect_page_signs_the_browser_in(env: Env, sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server, name="Paste Shop")
    browser = env.app.test_client()
    token = page_token(browser, "/connect")
    response = browser.post("/connect", data={"csrf_token": token, "token": tenant.token, "label": "Pasted"})
    assert response.status_code == 201 and 'id="dashboard-link"' in response.get_data(as_text=True)
    assert "Pasted" in html(browser)
