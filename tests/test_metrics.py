"""Counters: buffered per process, flushed to per-minute cache buckets, read back summed."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from django_jwtsession import metrics
from django_jwtsession.conf import get_settings
from django_jwtsession.exceptions import TokenError
from tests.helpers import add_dead_cache, jwtsession_settings

MINUTE = 1_800_000_000 // 60  # a fixed minute, so bucket boundaries are not left to the clock
T = MINUTE * 60 + 30.0  # half-way through it


@pytest.fixture(autouse=True)
def _clean_counters() -> Iterator[None]:
    metrics.reset()
    caches[get_settings().cache_alias].clear()
    yield
    metrics.reset()


@pytest.fixture
def dead_cache(settings: Any) -> Iterator[None]:
    """``CACHE_ALIAS`` pointing at a Redis nobody listens on."""
    add_dead_cache(settings)
    with jwtsession_settings(CACHE_ALIAS="down"):
        yield


def stats(*args: str) -> str:
    out = io.StringIO()
    call_command("jwtsession_stats", *args, stdout=out)
    return out.getvalue()


# -- names ----------------------------------------------------------------------------------
def all_token_errors(cls: type[TokenError] = TokenError) -> set[type[TokenError]]:
    found = {cls}
    for subclass in cls.__subclasses__():
        found |= all_token_errors(subclass)
    return found


def test_every_decode_failure_reason_has_a_counter() -> None:
    reasons = {cls.reason for cls in all_token_errors()}
    assert {"expired", "signature", "invalid"} <= reasons
    assert {f"decode.{reason}" for reason in reasons} | {"decode.ok"} == set(metrics.DECODE_NAMES)
    assert len(set(metrics.NAMES)) == len(metrics.NAMES)


def test_unknown_name_is_ignored_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG", logger="django_jwtsession")
    metrics.count("state.hits")  # e.g. set_user(reason="impersonate") -> "refresh.impersonate"
    assert "'state.hits'" in caplog.text
    metrics.flush()
    assert set(metrics.totals().values()) == {0}


# -- count, flush, read -----------------------------------------------------------------------
def test_counts_reach_the_cache_only_when_flushed(cache_calls: list[str]) -> None:
    metrics.count("decode.ok", 2)
    metrics.count("state.hit")
    metrics.count("decode.ok")
    assert cache_calls == []  # counting is in-process only
    assert metrics.totals()["decode.ok"] == 0
    metrics.flush()
    totals = metrics.totals()
    assert set(totals) == set(metrics.NAMES)
    assert {name: value for name, value in totals.items() if value} == {
        "decode.ok": 3,
        "state.hit": 1,
    }


def test_flushing_nothing_touches_no_cache(cache_calls: list[str]) -> None:
    metrics.flush()
    assert cache_calls == []


def test_flushes_add_up() -> None:
    """Two flushes into one minute (as from two processes) add, they do not overwrite."""
    metrics.count("refresh.ttl", 2)
    metrics.flush(now=T)
    metrics.count("refresh.ttl", 3)
    metrics.count("refresh.mark")
    metrics.flush(now=T + 1)
    totals = metrics.totals(1, now=T + 1)
    assert (totals["refresh.ttl"], totals["refresh.mark"]) == (5, 1)


def test_counts_land_in_their_minute_and_the_window_drops_older_ones() -> None:
    metrics.count("revoke.user", 4)
    metrics.flush(now=T)
    metrics.count("revoke.user")
    metrics.count("revoke.all")
    metrics.flush(now=T + 120)

    series = metrics.series(3, now=T + 120)
    assert [start for start, _ in series] == [
        datetime.fromtimestamp((MINUTE + offset) * 60, tz=timezone.utc) for offset in (0, 1, 2)
    ]
    assert [(counts["revoke.user"], counts["revoke.all"]) for _, counts in series] == [
        (4, 0),
        (0, 0),
        (1, 1),
    ]
    assert all(set(counts) == set(metrics.NAMES) for _, counts in series)

    assert [start.minute for start, _ in metrics.series(2, now=T + 120)] == [
        series[1][0].minute,
        series[2][0].minute,
    ]
    assert metrics.totals(2, now=T + 120)["revoke.user"] == 1
    assert metrics.totals(3, now=T + 120)["revoke.user"] == 5
    assert metrics.totals(60, now=T - 60)["revoke.user"] == 0  # before anything happened


def test_running_totals_are_kept_per_strategy_and_never_age_out() -> None:
    metrics.count("decode.ok", 2, strategy="jwt")
    metrics.count("decode.ok", strategy="db")
    metrics.count("refresh.mark", strategy="db")
    metrics.count("state.hit", 3, strategy="jwt")  # not a per-strategy counter: no label
    metrics.flush(now=T)
    metrics.count("decode.ok", strategy="jwt")
    later = T + metrics.BUCKET_TIMEOUT + 3600  # the first minute's buckets are gone by now
    metrics.flush(now=later)

    running = metrics.running_totals()
    assert set(running) == set(metrics.RUNNING_TOTALS)
    assert {total: count for total, count in running.items() if count} == {
        ("decode.ok", "jwt"): 3,
        ("decode.ok", "db"): 1,
        ("refresh.mark", "db"): 1,
        ("state.hit", None): 3,
    }
    assert metrics.totals(1, now=later)["decode.ok"] == 1  # the per-minute view moved on


def test_a_store_counter_without_a_strategy_has_no_running_total(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG", logger="django_jwtsession")
    metrics.count("decode.expired")
    metrics.count("decode.expired", strategy="cookie")
    metrics.flush()
    assert "'decode.expired' counted without a strategy" in caplog.text
    assert metrics.totals()["decode.expired"] == 2
    assert set(metrics.running_totals().values()) == {0}


def test_window_must_be_at_least_a_minute() -> None:
    with pytest.raises(ValueError, match="minutes"):
        metrics.totals(0)


def test_unreachable_cache_keeps_the_counts(
    dead_cache: None, caplog: pytest.LogCaptureFixture
) -> None:
    metrics.count("state.fallback", 2)
    with caplog.at_level(logging.WARNING, logger="django_jwtsession"):
        metrics.flush()  # never raises
    assert "counts are kept in this process for the next flush" in caplog.text
    metrics.count("state.fallback")
    metrics.count("refresh.ttl", strategy="db")
    with jwtsession_settings(CACHE_ALIAS="default"):
        metrics.flush()
        assert metrics.totals()["state.fallback"] == 3
        running = metrics.running_totals()
        assert (running["state.fallback", None], running["refresh.ttl", "db"]) == (3, 1)


# -- flushing at the end of requests -----------------------------------------------------------
@pytest.mark.django_db
def test_requests_flush_once_the_interval_has_passed(client: Client) -> None:
    metrics.count("revoke.all", 3)
    client.get("/whoami/")  # METRICS_FLUSH_SECONDS=3600 in the test settings: not yet
    assert metrics.totals()["revoke.all"] == 0
    with jwtsession_settings(METRICS_FLUSH_SECONDS=0):
        client.get("/whoami/")  # 0: every request flushes
        assert metrics.totals()["revoke.all"] == 3
        metrics.count("revoke.all")
        client.get("/whoami/")
        assert metrics.totals()["revoke.all"] == 4


# -- hit rate ---------------------------------------------------------------------------------
def test_hit_rate_counts_cache_hits_and_memo_against_database_reads() -> None:
    assert metrics.hit_rate(dict.fromkeys(metrics.NAMES, 0)) is None
    counts = {"state.hit": 6, "state.memo": 2, "state.miss": 1, "state.fallback": 1}
    assert metrics.hit_rate({**counts, "state.refused": 5, "state.revoked": 5}) == 0.8


# -- the command --------------------------------------------------------------------------------
def count_some() -> None:
    metrics.count("decode.ok", 4)
    metrics.count("decode.expired")
    metrics.count("state.hit", 3)
    metrics.count("state.miss")
    metrics.count("refresh.mark", 2)
    metrics.count("revoke.session")


def test_stats_command_shows_every_counter_by_section() -> None:
    count_some()  # not flushed: the command flushes this process first
    lines = stats("--minutes", "5").splitlines()
    assert lines[0] == "django-jwtsession counters, last 5 minute(s)"
    assert lines[1].startswith("(each process adds its counts every 3600 s, METRICS_FLUSH_SECONDS")
    text = "\n".join(lines)
    for title in ("Decodes", "State checks (cache hit rate: 75.0%)", "Refreshes", "Revocations"):
        assert f"\n{title}\n" in text
    shown = {line.split()[0]: int(line.split()[1]) for line in lines if line.startswith("  ")}
    assert len(shown) == len(metrics.NAMES)
    assert (shown["ok"], shown["expired"], shown["signature"]) == (4, 1, 0)
    assert (shown["hit"], shown["miss"], shown["fallback"]) == (3, 1, 0)
    assert (shown["mark"], shown["ttl"], shown["session"], shown["all"]) == (2, 0, 1, 0)


def test_stats_command_without_checks_shows_no_rate() -> None:
    assert "State checks (cache hit rate: n/a)" in stats()
    assert json.loads(stats("--json"))["state_hit_rate"] is None


def test_stats_command_json() -> None:
    count_some()
    report = json.loads(stats("--json"))
    assert report["minutes"] == 60
    assert report["state_hit_rate"] == 0.75
    assert report["totals"] == {
        **dict.fromkeys(metrics.NAMES, 0),
        "decode.ok": 4,
        "decode.expired": 1,
        "state.hit": 3,
        "state.miss": 1,
        "refresh.mark": 2,
        "revoke.session": 1,
    }


@pytest.mark.parametrize("minutes", ["0", "-5", str(metrics.RETENTION_MINUTES + 1)])
def test_stats_command_refuses_a_bad_window(minutes: str) -> None:
    with pytest.raises(CommandError, match="--minutes must be between 1 and"):
        stats("--minutes", minutes)


def test_stats_command_reports_an_unreachable_cache(dead_cache: None) -> None:
    with pytest.raises(CommandError, match="Cannot read the counters from cache 'down'"):
        stats()
