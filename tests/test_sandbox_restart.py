"""Restarting the sandbox keeps everyone signed in (shared/SANDBOX.md, docs/quickstart.md):
``manage.py run_sandbox`` (migrate, ``seed_demo``, ``runserver``) stopped and started again on
the same database and cache, with the same strategy and switching between them
(``ACCEPT_FROM``), each run a real server on 127.0.0.1."""

from __future__ import annotations

import re
from pathlib import Path

from tests.processes import SANDBOX_PASSWORD, Browser, running_sandbox


def sign_in(browser: Browser, username: str) -> None:
    status, url, _ = browser.submit(
        "/accounts/login/", {"username": username, "password": SANDBOX_PASSWORD}
    )
    assert (status, url) == (200, browser.base_url + "/whoami/")  # LOGIN_REDIRECT_URL


def revocations(browser: Browser) -> dict[str, float]:
    """``jwtsession_revocations_total`` by scope, from the sandbox's ``/metrics``."""
    status, _, text = browser.get("/metrics")
    assert status == 200
    found = re.findall(r'^jwtsession_revocations_total\{scope="(\w+)"\} (\S+)$', text, re.M)
    assert found, text[:500]
    return {scope: float(count) for scope, count in found}


def test_restarting_the_sandbox_keeps_everyone_signed_in(tmp_path: Path) -> None:
    people = {name: Browser("") for name in ("alice", "bob", "carol")}
    with running_sandbox(tmp_path, "jwt") as url:
        for name, browser in people.items():
            browser.set_base_url(url)
            sign_in(browser, name)
        before = {name: browser.json("/whoami/") for name, browser in people.items()}
    assert all(data["authenticated"] for data in before.values())

    started = ["jwt"]
    for strategy in ("jwt", "db", "db", "jwt"):  # the same again, then switching both ways
        with running_sandbox(tmp_path, strategy) as url:
            for name, browser in people.items():
                browser.set_base_url(url)
                now = browser.json("/whoami/")
                assert now["authenticated"] is True, (strategy, name)
                assert (now["username"], now["strategy"]) == (name, strategy)
                assert (now["roles"], now["tier"], now["flags"]) == (
                    before[name]["roles"],
                    before[name]["tier"],
                    before[name]["flags"],
                )
            if strategy == "jwt" and "db" not in started:
                # Seeding again revoked nothing: the statistics show no revocation nobody
                # made. (Taking a session over from the other strategy revokes its old
                # cookie, so that a copy of it cannot start a second session.)
                assert revocations(people["alice"]) == {"session": 0, "user": 0, "all": 0}
            started.append(strategy)
