"""The session admin in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium against a live server on 127.0.0.1.

Skipped when Chromium, chromedriver or Selenium is missing, unless ``REQUIRE_BROWSER`` is set
(as ``.ci/run`` does): then it fails.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from pytest_django.live_server_helper import LiveServer

from tests.conftest import PASSWORD, make_user

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.wait import WebDriverWait
except ImportError:  # pragma: no cover - the skip (or failure) below says why
    webdriver = None

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the live server's thread commits for real
    pytest.mark.usefixtures("strategy"),
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
    # Only the live server is reachable: every other name fails to resolve, without a DNS query.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,1024",
)
WAIT_SECONDS = 10
CHANGELIST = "/admin/django_jwtsession/sessionrecord/"


def missing_browser() -> list[str]:
    """What the browser test lacks, each with how to install it."""
    missing = [] if webdriver is not None else ["selenium (pip install -e '.[test]')"]
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            missing.append(f"{path} (apt-get install {package})")
    return missing


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    """pytest-django's live server (static files served), bound to 127.0.0.1 rather than
    ``localhost``. Named ``live_server`` so pytest-django's autouse helper still gives each test
    a transactional database and the server's ``ALLOWED_HOSTS``."""
    server = LiveServer("127.0.0.1:0")
    yield server
    server.stop()


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebDriver]:
    """Headless Chromium; Selenium Manager is never run (the driver path is given)."""
    missing = missing_browser()
    if missing:
        message = f"the browser test needs {', '.join(missing)}"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(f"REQUIRE_BROWSER is set and {message}")
        pytest.skip(message)
    monkeypatch.setenv("SE_OFFLINE", "true")  # belt and braces: nothing to download, ever
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(WAIT_SECONDS)
        driver.implicitly_wait(WAIT_SECONDS)
        yield driver
    finally:
        driver.quit()


class HttpClient:
    """A plain HTTP client with its own cookie jar, as a second person's browser."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=WAIT_SECONDS) as response:
            text: str = response.read().decode()
        return text

    def login(self, username: str) -> None:
        page = self.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None, page[:500]
        form = {
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1),
            "next": "/whoami/",
        }
        data = urllib.parse.urlencode(form).encode()
        with self.opener.open(self.base_url + "/accounts/login/", data, timeout=WAIT_SECONDS):
            pass  # a successful login redirects (followed) to ``next``

    def whoami(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.get("/whoami/"))
        return data


def admin_stylesheet_loaded(driver: WebDriver) -> bool:
    """Whether the page applied the admin's own stylesheet (served by the live server)."""
    loaded: bool = driver.execute_script(
        "return [...document.styleSheets].some("
        "  s => (s.href || '').endsWith('/static/admin/css/base.css') && s.cssRules.length > 0)"
    )
    return loaded


def test_staff_revokes_another_users_session_in_the_admin(
    live_server: LiveServer, browser: WebDriver, strategy: str
) -> None:
    make_user("root", is_staff=True, is_superuser=True)
    bob: User = make_user("bob", roles=("editor",))
    other = HttpClient(live_server.url)
    other.login("bob")
    assert other.whoami()["username"] == "bob"

    wait = WebDriverWait(browser, WAIT_SECONDS)
    browser.get(live_server.url + "/admin/login/")
    assert admin_stylesheet_loaded(browser)
    browser.find_element(By.ID, "id_username").send_keys("root")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "#login-form [type=submit]").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "user-tools")))

    browser.get(live_server.url + CHANGELIST)
    rows = browser.find_elements(
        By.XPATH,
        "//table[@id='result_list']/tbody/tr[td[contains(@class, 'field-user_link')]/a"
        f"[normalize-space() = '{bob.username}']]",
    )
    assert len(rows) == 1, browser.page_source[:2000]  # bob's one session; root's is another
    assert strategy in rows[0].text
    rows[0].find_element(By.NAME, "_selected_action").click()
    Select(browser.find_element(By.NAME, "action")).select_by_visible_text(
        "Revoke selected sessions"
    )
    go = browser.find_element(By.CSS_SELECTOR, "#changelist-form .actions button[name=index]")
    go.click()
    wait.until(expected_conditions.staleness_of(go))

    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist li.success")
    assert message.text == "Revoked 1 session."
    assert browser.find_element(By.ID, "user-tools")  # the staff user is still signed in

    assert other.whoami() == {"authenticated": False}  # bob's very next request
