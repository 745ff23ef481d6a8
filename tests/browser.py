"""Headless Chromium for the browser tests (``test_browser.py``, ``test_e2e.py``, marked
``browser``).

Debian's ``chromium`` and ``chromium-driver`` driven by Selenium, offline: the driver's path
is given (Selenium Manager never runs, ``SE_OFFLINE``) and every host name but 127.0.0.1
fails to resolve. Without them the tests skip, unless ``CI`` or ``REQUIRE_BROWSER`` is set
(as in ``.ci/run``): then they fail. ``pytest -m "not browser"`` leaves them out.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError:  # pragma: no cover - require_browser() says why (skip or failure)
    webdriver = Service = By = WebDriver = expected_conditions = Select = WebDriverWait = None  # type: ignore[assignment,misc]
    WebDriverException = Exception  # type: ignore[assignment,misc]

__all__ = [
    "WAIT_SECONDS",
    "By",
    "Select",
    "WebDriver",
    "WebDriverWait",
    "chromium",
    "expected_conditions",
    "require_browser",
    "submit",
]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-pings",
    "--disable-client-side-phishing-detection",
    "--disable-features=AutofillServerCommunication,PasswordLeakDetection,OptimizationHints,"
    "MediaRouter,Translate",
    "--force-device-scale-factor=1",
    # Only local servers are reachable: every other name fails to resolve, without a DNS query.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
)
WAIT_SECONDS = 10
"""The longest any browser wait (page load, explicit wait) may take."""


def missing_browser() -> list[str]:
    """What the browser tests lack, each with how to install it."""
    missing = [] if webdriver is not None else ["selenium (pip install -e '.[test]')"]
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            missing.append(f"{path} (apt-get install {package})")
    return missing


def require_browser() -> None:
    """Skip the test when the browser is missing; fail instead when ``CI`` or
    ``REQUIRE_BROWSER`` is set (CI runs the browser tests, never skips them)."""
    missing = missing_browser()
    if missing:
        message = f"the browser test needs {', '.join(missing)}"
        required = [name for name in ("REQUIRE_BROWSER", "CI") if os.environ.get(name)]
        if required:
            pytest.fail(f"{required[0]} is set and {message}")
        pytest.skip(f'{message} (or leave it out: -m "not browser")')


@contextmanager
def chromium(viewport: tuple[int, int] = (1280, 1024)) -> Iterator[WebDriver]:
    """A new headless Chromium (its own profile, so its own cookie jar) showing exactly
    ``viewport`` CSS pixels; quit on exit. Page loads time out after ``WAIT_SECONDS``; there
    is no implicit wait."""
    require_browser()
    width, height = viewport
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--window-size={width},{height}"):
        options.add_argument(flag)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # belt and braces: nothing to download, ever
        driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(WAIT_SECONDS)
        # The viewport is smaller than --window-size: pin it, so screenshots have a fixed size.
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        yield driver
    finally:
        driver.quit()


def submit(driver: WebDriver, button: WebElement) -> None:
    """Click a form's submit button and wait until the next page has replaced this one.

    The old page is marked and the wait is for a loaded page without the mark: chromedriver
    can answer ``staleness_of`` mid-navigation with an unknown error instead of "stale".
    """
    driver.execute_script("window.e2eOldPage = true")
    button.click()
    WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(WebDriverException,)).until(
        lambda d: d.execute_script(
            "return window.e2eOldPage === undefined && document.readyState === 'complete'"
        )
    )
