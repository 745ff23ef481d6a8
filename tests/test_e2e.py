"""End to end: the sandbox served by a real server, driven in headless Chromium.

One sandbox per strategy (``jwt``, ``db``) for the whole module: ``manage.py run_sandbox``
(migrate, ``seed_demo``, ``runserver --noreload``) on a free port of 127.0.0.1, on a fresh
SQLite file and its own file cache, whatever ``DATABASE_URL`` / ``REDIS_URL`` the tests run
with. Each browser is its own Chromium (its own profile and cookie jar), as two people or two
devices. Pages are found by their ``data-testid`` attributes (docs/quickstart.md).

Screenshots of the main pages go to ``$E2E_ARTIFACTS/<strategy>/`` (default
``artifacts/screenshots/<strategy>/``). ``E2E_DOCS_SCREENSHOTS=1`` also writes the jwt
strategy's into ``docs/images/`` for the quickstart::

    E2E_DOCS_SCREENSHOTS=1 .venv/bin/pytest tests/test_e2e.py -k jwt

Marked ``browser``: skipped without Chromium, chromedriver or Selenium unless ``CI`` or
``REQUIRE_BROWSER`` is set (``tests/browser.py``).
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.browser import (
    WAIT_SECONDS,
    By,
    Select,
    WebDriver,
    WebDriverWait,
    chromium,
    expected_conditions,
    require_browser,
    submit,
)
from tests.processes import (
    SANDBOX_PASSWORD as PASSWORD,
    free_port,
    sandbox_env,
    stop_process,
    wait_until_serving,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "sandbox_project" / "manage.py"
VIEWPORT = (1200, 800)
"""Every browser's viewport, so screenshots (and the docs' copies) have a fixed size."""
DOCS_IMAGES = ROOT / "docs" / "images"
DOCS_SHOTS = ("home", "my-sessions", "staff-user", "admin-metrics")
"""The screenshots docs/quickstart.md shows, as ``docs/images/sandbox-<name>.png``."""


@dataclass(frozen=True)
class Sandbox:
    url: str
    strategy: str
    artifacts: Path
    docs: bool
    """Whether screenshots are copied into docs/images/ too."""

    def screenshot(self, driver: WebDriver, name: str) -> None:
        """Save what ``driver`` shows as ``<name>.png`` (and the docs' copy, if asked), once
        the page is checked to fit the viewport: no column cut, no time wrapped."""
        assert layout_problems(driver) == {}, name
        path = self.artifacts / f"{name}.png"
        assert driver.save_screenshot(str(path)), path
        if self.docs and name in DOCS_SHOTS:
            DOCS_IMAGES.mkdir(exist_ok=True)
            shutil.copyfile(path, DOCS_IMAGES / f"sandbox-{name}.png")


LAYOUT_PROBLEMS = """
const problems = {};
if (document.documentElement.scrollWidth > window.innerWidth) {
  problems.page = `${document.documentElement.scrollWidth} px wide`;
}
const cut = [...document.querySelectorAll("table")]
  .filter(table => table.scrollWidth > table.parentElement.clientWidth + 1)
  .map(table => `${table.id || table.className || "table"}: ${table.scrollWidth} px in `
    + `${table.parentElement.clientWidth} px`);
if (cut.length) problems.cut = cut;
const oneLine = "td time, #result_list td, #result_list th, table.sessions th, "
  + "table.sessions td:not(.actions)";
const wrapped = [...document.querySelectorAll(oneLine)]
  .filter(element => element.getClientRects().length > 1)
  .map(element => element.textContent.trim());
if (wrapped.length) problems.wrapped = wrapped;
return problems;
"""


def layout_problems(driver: WebDriver) -> dict[str, Any]:
    """What does not fit the viewport: a page wider than it, a table wider than its box (the
    admin's list scrolls inside one), a time or a cell of a session list broken over lines."""
    problems: dict[str, Any] = driver.execute_script(LAYOUT_PROBLEMS)
    return problems


@pytest.fixture(scope="module", params=["jwt", "db"])
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    """The sandbox on a real server, for one strategy; stopped when the module is done."""
    require_browser()  # no server for tests that will skip
    strategy: str = request.param
    directory = tmp_path_factory.mktemp(f"sandbox-{strategy}")
    artifacts = Path(os.environ.get("E2E_ARTIFACTS") or ROOT / "artifacts" / "screenshots")
    artifacts = artifacts / strategy
    artifacts.mkdir(parents=True, exist_ok=True)
    url = f"http://127.0.0.1:{free_port()}"
    log = directory / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(MANAGE), "run_sandbox", url.removeprefix("http://")],
            cwd=directory,
            env=sandbox_env(directory, strategy),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(url, process, log)
        docs = strategy == "jwt" and os.environ.get("E2E_DOCS_SCREENSHOTS") == "1"
        yield Sandbox(url, strategy, artifacts, docs)
    finally:
        stop_process(process)


@pytest.fixture
def open_browser() -> Iterator[Callable[[], WebDriver]]:
    """Open a new browser (a separate Chromium: its own cookie jar); all quit after the test."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(chromium(VIEWPORT))


# -- what a person does in the browser -------------------------------------------------------------


def wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    return WebDriverWait(driver, WAIT_SECONDS)


def by_testid(driver: WebDriver, name: str) -> Any:
    """The element with ``data-testid=name``, once it is on the page."""
    locator = (By.CSS_SELECTOR, f"[data-testid={name}]")
    return wait(driver).until(expected_conditions.presence_of_element_located(locator))


def visit(driver: WebDriver, sandbox: Sandbox, path: str) -> int:
    """Load ``path`` as a page load and return its HTTP status (Navigation Timing)."""
    driver.get(sandbox.url + path)
    status: int = driver.execute_script(
        "return performance.getEntriesByType('navigation')[0].responseStatus"
    )
    return status


def log_in(driver: WebDriver, sandbox: Sandbox, username: str) -> None:
    """Log in with the login form; it brings the browser back to the home page."""
    assert visit(driver, sandbox, "/accounts/login/") == 200
    driver.find_element(By.ID, "id_username").send_keys(username)
    driver.find_element(By.ID, "id_password").send_keys(PASSWORD)
    submit(driver, by_testid(driver, "login-submit"))
    assert by_testid(driver, "current-user").text == username
    assert driver.current_url == sandbox.url + "/"


def whoami(driver: WebDriver, sandbox: Sandbox) -> dict[str, Any]:
    """``/whoami/`` as this browser sees it (a page load)."""
    assert visit(driver, sandbox, "/whoami/") == 200
    data: dict[str, Any] = json.loads(driver.find_element(By.TAG_NAME, "pre").text)
    return data


def message(driver: WebDriver) -> str:
    text: str = by_testid(driver, "message").text
    return text


# -- the flows -------------------------------------------------------------------------------------


def test_staff_downgrade_refuses_bobs_next_page_load(
    sandbox: Sandbox, open_browser: Callable[[], WebDriver]
) -> None:
    bob = open_browser()
    log_in(bob, sandbox, "bob")
    assert by_testid(bob, "strategy").get_attribute("data-strategy") == sandbox.strategy
    assert by_testid(bob, "whoami-tier").text == "pro"
    assert by_testid(bob, "guarded-hint-pro").text == "allowed"
    sandbox.screenshot(bob, "home")
    before = whoami(bob, sandbox)
    assert (before["username"], before["tier"], before["strategy"]) == (
        "bob",
        "pro",
        sandbox.strategy,
    )
    assert visit(bob, sandbox, "/guarded/pro/") == 200
    assert bob.find_element(By.TAG_NAME, "h1").text == "Pro and above"
    sandbox.screenshot(bob, "guarded-allowed")

    alice = open_browser()  # staff, in another browser
    log_in(alice, sandbox, "alice")
    assert visit(alice, sandbox, f"/staff/users/{before['id']}/") == 200
    assert alice.find_element(By.TAG_NAME, "h1").text == "bob"
    Select(alice.find_element(By.ID, "id_tier")).select_by_value("free")
    submit(alice, by_testid(alice, "staff-save"))
    assert message(alice).startswith("Saved bob's tier")
    assert Select(alice.find_element(By.ID, "id_tier")).first_selected_option.text.lower() == "free"
    sandbox.screenshot(alice, "staff-user")

    assert visit(bob, sandbox, "/guarded/pro/") == 403  # bob's very next page load
    assert bob.find_element(By.CSS_SELECTOR, '[data-testid="forbidden"]').is_displayed()
    # Refused, not signed out: the 403 page shows who is signed in.
    assert bob.find_element(By.CSS_SELECTOR, '[data-testid="current-user"]').text == "bob"
    sandbox.screenshot(bob, "guarded-refused")

    after = whoami(bob, sandbox)  # still signed in, same session, no new login
    assert after["authenticated"] is True
    assert (after["username"], after["tier"]) == ("bob", "free")
    assert after["session_id"] == before["session_id"]
    assert visit(bob, sandbox, "/") == 200
    assert by_testid(bob, "current-user").text == "bob"
    assert by_testid(bob, "guarded-hint-pro").text == "denied"

    # The staff views of it all: the admin's sessions and its metrics page.
    assert visit(alice, sandbox, "/admin/django_jwtsession/sessionrecord/") == 200
    users = {cell.text for cell in alice.find_elements(By.CSS_SELECTOR, "td.field-user_link")}
    assert {"alice", "bob"} <= users
    sandbox.screenshot(alice, "admin-sessions")
    assert visit(alice, sandbox, "/admin/django_jwtsession/sessionrecord/stats/") == 200
    sandbox.screenshot(alice, "admin-metrics")


def test_revoking_a_session_in_my_sessions_signs_that_browser_out(
    sandbox: Sandbox, open_browser: Callable[[], WebDriver]
) -> None:
    first = open_browser()
    log_in(first, sandbox, "bob")
    first_id = whoami(first, sandbox)["session_id"]

    second = open_browser()  # bob on a second device
    log_in(second, sandbox, "bob")
    second_id = whoami(second, sandbox)["session_id"]
    assert first_id != second_id

    assert visit(second, sandbox, "/sessions/") == 200
    by_testid(second, "session-list")
    rows = {
        row.get_attribute("data-session-id"): row
        for row in second.find_elements(By.CSS_SELECTOR, "[data-testid=session-row]")
    }
    assert {first_id, second_id} <= set(rows)
    assert rows[second_id].get_attribute("data-current") == "true"
    assert rows[first_id].get_attribute("data-current") == "false"
    sandbox.screenshot(second, "my-sessions")

    submit(second, rows[first_id].find_element(By.CSS_SELECTOR, "[data-testid=revoke-session]"))
    assert message(second).startswith("Revoked the session")
    live = {
        row.get_attribute("data-session-id")
        for row in second.find_elements(By.CSS_SELECTOR, "[data-testid=session-row]")
    }
    assert first_id not in live
    assert second_id in live
    sandbox.screenshot(second, "my-sessions-revoked")

    assert whoami(first, sandbox)["authenticated"] is False  # the first browser's next request
    assert visit(first, sandbox, "/") == 200
    by_testid(first, "whoami-anonymous")
    by_testid(first, "nav-login")
    assert whoami(second, sandbox)["session_id"] == second_id  # the second one stays


def scrape(sandbox: Sandbox) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The sandbox's ``/metrics`` as Prometheus reads it (prometheus_client's parser)."""
    host, port = sandbox.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=WAIT_SECONDS)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        body = response.read().decode()
    finally:
        connection.close()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
    }


def test_the_sandbox_serves_its_counters_to_prometheus(
    sandbox: Sandbox, open_browser: Callable[[], WebDriver]
) -> None:
    strategy = (("strategy", sandbox.strategy),)
    before = scrape(sandbox)
    assert before["jwtsession_metrics_up", ()] == 1
    carol = open_browser()
    log_in(carol, sandbox, "carol")
    assert whoami(carol, sandbox)["username"] == "carol"
    after = scrape(sandbox)
    logins = ("jwtsession_claims_refreshes_total", (("reason", "login"), *strategy))
    assert after[logins] == before[logins] + 1
    decoded = ("jwtsession_sessions_decoded_total", strategy)
    assert after[decoded] >= before[decoded] + 2  # the home page, then /whoami/


def test_a_third_browser_signing_in_ends_the_first_one(
    sandbox: Sandbox, open_browser: Callable[[], WebDriver]
) -> None:
    """The sandbox's SESSION_LIMIT gives carol two sessions ("evict_oldest"): a third sign-in
    ends the oldest, whose very next request is signed out."""
    first = open_browser()
    log_in(first, sandbox, "carol")
    assert visit(first, sandbox, "/sessions/") == 200  # earlier tests' sessions of carol: gone
    submit(first, by_testid(first, "revoke-others"))
    first_id = whoami(first, sandbox)["session_id"]

    second = open_browser()
    log_in(second, sandbox, "carol")
    assert whoami(first, sandbox)["authenticated"] is True  # two: the limit, not over it

    third = open_browser()
    log_in(third, sandbox, "carol")
    assert whoami(first, sandbox)["authenticated"] is False  # its very next request
    assert visit(first, sandbox, "/") == 200
    by_testid(first, "nav-login")
    assert whoami(second, sandbox)["authenticated"] is True
    assert whoami(third, sandbox)["authenticated"] is True

    assert visit(third, sandbox, "/sessions/") == 200
    live = {
        row.get_attribute("data-session-id")
        for row in third.find_elements(By.CSS_SELECTOR, "[data-testid=session-row]")
    }
    assert len(live) == 2
    assert first_id not in live
    ended = {
        row.get_attribute("data-session-id"): row.get_attribute("data-reason")
        for row in third.find_elements(By.CSS_SELECTOR, "[data-testid=ended-row]")
    }
    assert ended[first_id] == "limit"
    sandbox.screenshot(third, "my-sessions-limit")


def test_staff_impersonates_bob_from_the_admin_and_stops(
    sandbox: Sandbox, open_browser: Callable[[], WebDriver]
) -> None:
    """alice (staff, holding the permission as a superuser) picks bob in the user admin's
    "Impersonate" action: every page says so with a Stop button, the fresh-login page
    refuses, and Stop brings her back as herself, to the admin."""
    alice = open_browser()
    log_in(alice, sandbox, "alice")
    users = "/admin/auth/user/"
    assert visit(alice, sandbox, users) == 200
    row = alice.find_element(By.XPATH, "//tr[.//a[normalize-space()='bob']]")
    row.find_element(By.NAME, "_selected_action").click()
    Select(alice.find_element(By.NAME, "action")).select_by_value("jwtsession_impersonate")
    submit(alice, alice.find_element(By.NAME, "index"))
    acting = by_testid(alice, "impersonation-banner").get_attribute("data-impersonator-id")
    assert by_testid(alice, "impersonation-user").text == "bob"
    assert by_testid(alice, "impersonation-impersonator").text == "alice"
    assert by_testid(alice, "current-user").text == "bob"
    sandbox.screenshot(alice, "impersonation")
    me = whoami(alice, sandbox)
    assert (me["username"], me["impersonator_id"]) == (
        "bob",
        acting,
    )
    assert visit(alice, sandbox, "/guarded/fresh/") == 403  # refused, never "sign in again"
    assert "impersonating" in by_testid(alice, "forbidden-reason").text
    assert visit(alice, sandbox, "/") == 200
    submit(alice, by_testid(alice, "impersonation-stop"))
    assert alice.current_url == sandbox.url + users  # back where she started, in the admin
    assert visit(alice, sandbox, "/") == 200
    assert by_testid(alice, "current-user").text == "alice"
    assert not alice.find_elements(By.CSS_SELECTOR, "[data-testid=impersonation-banner]")
    me = whoami(alice, sandbox)
    assert (me["username"], me["impersonator_id"]) == ("alice", None)
    assert visit(alice, sandbox, "/guarded/fresh/") == 200  # her own sign-in, minutes old
