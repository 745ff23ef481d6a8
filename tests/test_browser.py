"""The session admin in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium against a live server on 127.0.0.1.

Marked ``browser``: skipped when Chromium, chromedriver or Selenium is missing, unless ``CI`` or
``REQUIRE_BROWSER`` is set (as in ``.ci/run``): then it fails (``tests/browser.py``).
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from pytest_django.live_server_helper import LiveServer

from tests.browser import (
    WAIT_SECONDS,
    By,
    Select,
    WebDriver,
    WebDriverWait,
    chromium,
    expected_conditions,
    submit,
)
from tests.helpers import PASSWORD, make_user

User = get_user_model()

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),  # the live server's thread commits for real
    pytest.mark.usefixtures("strategy"),
]

CHANGELIST = "/admin/django_jwtsession/sessionrecord/"


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    """pytest-django's live server (static files served), bound to 127.0.0.1 rather than
    ``localhost``. Named ``live_server`` so pytest-django's autouse helper still gives each test
    a transactional database and the server's ``ALLOWED_HOSTS``."""
    server = LiveServer("127.0.0.1:0")
    yield server
    server.stop()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Headless Chromium (``tests/browser.py``), finding elements for up to ``WAIT_SECONDS``."""
    with chromium() as driver:
        driver.implicitly_wait(WAIT_SECONDS)
        yield driver


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
    wait.until(admin_stylesheet_loaded)  # served by the live server (a loaded machine is slow)
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
    assert "Active" in rows[0].text
    rows[0].find_element(By.NAME, "_selected_action").click()
    Select(browser.find_element(By.NAME, "action")).select_by_visible_text(
        "Revoke selected sessions"
    )
    go = browser.find_element(By.CSS_SELECTOR, "#changelist-form .actions button[name=index]")
    submit(browser, go)

    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist li.success")
    assert message.text == "Revoked 1 session."
    assert browser.find_element(By.ID, "user-tools")  # the staff user is still signed in

    assert other.whoami() == {"authenticated": False}  # bob's very next request
