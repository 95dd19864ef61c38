"""A real headless Chromium (Debian's chromium + chromium-driver, driven by Selenium) for the page tests, and
a connector app served on 127.0.0.1 for it to load. Tests using it are skipped, saying what is missing, when
the browser, its driver or the selenium package is not installed."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
        reason="needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)",
    ),
]


@contextmanager
def chromium(profile: Path, size: str = "1000,1000") -> Iterator[Any]:
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="needs the selenium package (pip install selenium)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-quic",
        "--no-first-run",
        f"--user-data-dir={profile}",
        f"--window-size={size}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(20)
    driver.implicitly_wait(5)  # elements of the page a click navigated to, on a loaded machine
    try:
        yield driver
    finally:
        driver.quit()
