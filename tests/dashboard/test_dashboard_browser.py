"""The dashboard in a real headless Chromium: opened by a one-time link, it shows the subscription and its
deliveries; the Retry button puts a dead delivery back on its way; Sign out ends the session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.connections import services
from connector.dashboard import demo_link
from connector.sandbox import SandboxServer
from tests.browser import MARKS, chromium
from tests.helpers import serving
from tests.triggers.connected import EVENT, Env, connected

pytestmark = MARKS


@pytest.fixture
def env(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connected(sandbox_server, tmp_path / "c.db") as made:
        yield made


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    with chromium(tmp_path / "chromium-profile", size="1400,1000") as driver:
        yield driver


def test_open_by_link_see_the_rows_retry_a_dead_delivery_and_sign_out(env: Env, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    subscription_id = env.subscribed(EVENT)
    env.emit(3)
    env.poll(subscription_id)
    dead = env.outbox(subscription_id)[0]["id"]
    env.app.extensions[services.DB].db.execute(
        "UPDATE outbox SET status = 'dead', attempts = 8, last_status = 500, last_error = 'HTTP 500' "
        "WHERE id = ?",
        [dead],
    )
    connection_id = env.client.get("/api/me", headers=env.headers).json["data"]["id"]
    with serving(env.app) as url:
        link = demo_link(env.app, connection_id)
        browser.get(url + link[link.index("/dashboard/open/") :])
        row = browser.find_element(By.ID, f"sub-{subscription_id}")
        assert EVENT in row.text and "polling" in row.text and "new 3" in row.text
        assert len(browser.find_elements(By.CSS_SELECTOR, "table.deliveries tr[id^=delivery-]")) == 3
        dead_row = browser.find_element(By.ID, f"delivery-{dead}")
        assert "dead" in dead_row.text and "HTTP 500" in dead_row.text

        browser.get(url + "/?live=0")  # a paused page: the click below is not raced by the refresh
        browser.find_element(By.ID, f"delivery-{dead}").find_element(By.CSS_SELECTOR, "button.retry").click()
        assert "queued again" in browser.find_element(By.ID, "notice").text
        assert "pending" in browser.find_element(By.ID, f"delivery-{dead}").text
        assert env.outbox(subscription_id)[0]["status"] == "pending"

        browser.find_element(By.ID, "sign-out").click()
        assert browser.find_element(By.ID, "sign-in").is_displayed()
        assert subscription_id not in browser.page_source
