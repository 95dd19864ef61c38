"""The dashboard during a real ``demo`` run, in a headless Chromium: the one-time link the demo prints opens
it, and the page shows the demo's connection, its five subscriptions in both modes and delivered rows. The
screenshot is written to ``tmp_path``, or to the file named by ``DASHBOARD_SCREENSHOT`` (how the README's
``docs/dashboard.png`` is made: ``DASHBOARD_SCREENSHOT=docs/dashboard.png pytest -k demo_run``)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tests.browser import MARKS, chromium
from tests.demo.process import read_until, start_demo, stop

pytestmark = MARKS


def test_the_dashboard_of_a_demo_run_shows_both_modes_and_deliveries(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    process = start_demo("--rate", "8")
    try:
        lines = read_until(process, "Dashboard ")
        link = lines[-1].split()[1]
        read_until(process, "── ")  # the first summary: about 5 s of traffic has flowed
        with chromium(tmp_path / "profile", size="1500,1300") as browser:
            browser.get(link)
            assert "Demo Creators" in browser.find_element(By.TAG_NAME, "h2").text
            rows = browser.find_elements(By.CSS_SELECTOR, "table.subscriptions tr[id^=sub-]")
            modes = {row.find_elements(By.TAG_NAME, "td")[1].text for row in rows}
            assert len(rows) == 5 and modes == {"webhook", "polling"}
            deadline = time.monotonic() + 20
            while not browser.find_elements(By.CSS_SELECTOR, "table.deliveries .s-delivered"):
                assert time.monotonic() < deadline, "no delivered row on the dashboard"
                time.sleep(1)
                browser.refresh()
            assert int(browser.find_element(By.CSS_SELECTOR, ".count-delivered").text) > 0
            target = Path(os.environ.get("DASHBOARD_SCREENSHOT") or tmp_path / "dashboard.png")
            assert browser.save_screenshot(str(target)) and target.stat().st_size > 10_000
    finally:
        out = stop(process, signal.SIGTERM)
    assert process.returncode == 0 and "stopped cleanly" in out
