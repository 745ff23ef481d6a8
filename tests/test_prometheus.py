"""The counters in Prometheus's format: the sandbox's ``/metrics`` scraped with
``prometheus_client``'s parser, who may read it, and totals shared by every process."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families

from django_jwtsession import metrics
from django_jwtsession.contrib.prometheus import FAMILIES, UP, JWTSessionCollector, MetricsView
from tests.helpers import PASSWORD, add_dead_cache, jwtsession_settings, make_user
from tests.prometheus_urls import TOKEN

ROOT = Path(__file__).resolve().parent.parent
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(autouse=True)
def _no_buffered_counts() -> Iterator[None]:
    metrics.reset()  # other tests' counts, still buffered in this process
    yield
    metrics.reset()


def scrape(path: str = "/metrics", client: Client | None = None, **headers: str) -> Samples:
    """GET ``path`` as Prometheus does, parsed with prometheus_client's parser."""
    response = (client or Client()).get(path, headers=headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert response["Cache-Control"] == "no-store"
    found: Samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[name, tuple(sorted(labels.items()))]


def test_families_are_named_and_labelled_as_documented() -> None:
    docs = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    covered: list[str] = []
    for family in FAMILIES:
        assert family.name.startswith("jwtsession_")
        assert f"`{family.name}_total`" in docs, family.name
        covered.extend(family.counters)
        per_strategy = {name in metrics.PER_STRATEGY_NAMES for name in family.counters}
        assert len(per_strategy) == 1, f"{family.name}: per strategy for some counters only"
    assert sorted(covered) == sorted(metrics.NAMES)  # every counter, once
    reasons = [name.partition(".")[2] for name in FAMILIES[1].counters]
    assert len(set(reasons)) == len(reasons)  # "revoked" is no TokenError reason


# -- who may read them -------------------------------------------------------------------------
@pytest.fixture
def view_urls(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.prometheus_urls"


@pytest.mark.django_db
@pytest.mark.usefixtures("view_urls")
def test_by_default_only_staff_may_read_them(django_assert_num_queries: Any) -> None:
    assert Client().get("/metrics/staff/").status_code == 403
    make_user("carol")
    make_user("alice", is_staff=True)
    carol, alice = Client(), Client()
    assert carol.login(username="carol", password=PASSWORD)
    assert alice.login(username="alice", password=PASSWORD)
    assert carol.get("/metrics/staff/").status_code == 403
    with django_assert_num_queries(0):  # is_staff comes from the claims
        assert value(scrape("/metrics/staff/", alice), UP) == 1


@pytest.mark.django_db
@pytest.mark.usefixtures("view_urls")
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
def test_with_a_token_a_scraper_without_it_is_unauthorized(authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = Client().get("/metrics/token/", headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"jwtsession_" not in response.content


@pytest.mark.django_db
@pytest.mark.usefixtures("view_urls")
def test_with_a_token_the_scraper_and_staff_may_read_them() -> None:
    assert value(scrape("/metrics/token/", Authorization=f"Bearer {TOKEN}"), UP) == 1
    assert value(scrape("/metrics/token/", Authorization=f"bearer {TOKEN}"), UP) == 1
    make_user("alice", is_staff=True)
    alice = Client()
    assert alice.login(username="alice", password=PASSWORD)
    assert value(scrape("/metrics/token/", alice), UP) == 1


@pytest.mark.usefixtures("view_urls")
def test_public_answers_anyone_get_and_head_only() -> None:
    assert value(scrape("/metrics/public/"), UP) == 1
    head = Client().head("/metrics/public/")
    assert (head.status_code, head.content) == (200, b"")
    assert Client().post("/metrics/public/").status_code == 405


@pytest.mark.parametrize("token", ["", "   ", 123, b"bytes-token"])
def test_a_token_that_is_not_a_non_empty_string_is_refused(token: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match="MetricsView token must be a non-empty string"):
        MetricsView.as_view(token=token)


# -- formats, registries, outages --------------------------------------------------------------
@pytest.mark.usefixtures("view_urls")
def test_openmetrics_when_the_scraper_asks_for_it() -> None:
    metrics.count("revoke.all", 2)
    accept = "application/openmetrics-text; version=1.0.0; charset=utf-8"
    response = Client().get("/metrics/public/", headers={"Accept": accept})
    assert response["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    text = response.content.decode()
    assert text.endswith("# EOF\n")
    revocations = {
        sample.labels["scope"]: sample.value
        for family in openmetrics_families(text)
        if family.name == "jwtsession_revocations"
        for sample in family.samples
    }
    assert revocations == {"session": 0, "user": 0, "all": 2}


def test_a_registry_of_your_own_reads_no_cache_until_scraped(cache_calls: list[str]) -> None:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(JWTSessionCollector())
    assert cache_calls == []  # describe(): names only
    metrics.count("state.memo", 5)
    metrics.flush()
    cache_calls.clear()
    text = generate_latest(registry).decode()
    assert cache_calls == ["get_many"]  # one round trip per scrape
    assert 'jwtsession_state_checks_total{result="memo"} 5.0' in text.splitlines()


@pytest.mark.usefixtures("view_urls")
def test_an_unreachable_cache_is_up_0_never_an_error(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    add_dead_cache(settings)
    with (
        jwtsession_settings(CACHE_ALIAS="down"),
        caplog.at_level(logging.WARNING, logger="django_jwtsession"),
    ):
        samples = scrape("/metrics/public/")
    assert samples == {(UP, ()): 0}
    assert "counters not read from the cache" in caplog.text


# -- several processes ------------------------------------------------------------------------
WORKER = """
import json, sys
import django
from django.conf import settings

settings.configure(SECRET_KEY="w" * 50, CACHES=json.loads(sys.argv[1]))
django.setup()
from django_jwtsession import metrics

if sys.argv[2] == "count":
    metrics.count("decode.ok", int(sys.argv[3]), strategy="jwt")
    metrics.count("revoke.session")
    metrics.flush()
else:
    from prometheus_client import generate_latest
    from django_jwtsession.contrib.prometheus import JWTSessionCollector

    sys.stdout.write(generate_latest(JWTSessionCollector()).decode())
"""


def in_process(tmp_path: Path, *args: str) -> str:
    """Run ``WORKER`` in a new Python process on this test's cache."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)  # the checkout, or (testing the wheel) no package: installed
    result = subprocess.run(
        [sys.executable, "-c", WORKER, json.dumps(settings.CACHES), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.usefixtures("view_urls")
def test_every_process_answers_the_totals_of_all_processes(tmp_path: Path) -> None:
    """Two workers count and flush; this process and a third one report the same sums."""
    in_process(tmp_path, "count", "3")
    in_process(tmp_path, "count", "4")
    metrics.count("decode.ok", strategy="jwt")  # this process: flushed by the view
    here = scrape("/metrics/public/")
    assert value(here, "jwtsession_sessions_decoded_total", strategy="jwt") == 8
    assert value(here, "jwtsession_revocations_total", scope="session") == 2
    elsewhere = in_process(tmp_path, "scrape")
    assert 'jwtsession_sessions_decoded_total{strategy="jwt"} 8.0' in elsewhere.splitlines()


def test_without_the_extra_the_sandbox_says_what_to_install(tmp_path: Path) -> None:
    """``manage.py check`` in a process where prometheus_client cannot be imported."""
    hide_and_check = (
        "import runpy, sys\n"
        "sys.modules['prometheus_client'] = None\n"  # import prometheus_client fails
        f"sys.path.insert(0, {str(ROOT / 'sandbox_project')!r})\n"
        "sys.argv = ['manage.py', 'check']\n"
        f"runpy.run_path({str(ROOT / 'sandbox_project' / 'manage.py')!r}, run_name='__main__')\n"
    )
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-c", hide_and_check],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured: django_jwtsession.contrib.prometheus needs" in result.stderr
    assert 'pip install "django-jwtsession[prometheus]"' in result.stderr
