"""The deployment checks (``jwtsession.W1xx``, ``manage.py check --deploy``) and the cookie
prefix error ``jwtsession.E101``: each one triggered, and a production-ready configuration
that triggers none."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.core.checks import Error, Warning, run_checks
from django.test import override_settings

from django_jwtsession import deploy_checks
from django_jwtsession.cookie_header import VULNERABLE_UNQUOTE
from tests.helpers import jwtsession_settings

SOURCE = Path(deploy_checks.__file__).read_text()
PRODUCTION = {
    "SECRET_KEY": "a-production-key-of-our-own-0123456789-abcdefghijklmnopqrstuvwxyz",
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_NAME": "__Host-sessionid",
    "CSRF_COOKIE_SECURE": True,
}
TRIGGERS: dict[str, dict[str, Any]] = {
    "jwtsession.W101": {"SECRET_KEY": "tests-secret-key-4f9a2c7e1b8d3f6a0c5e9b2d7f1a4c8e"},
    "jwtsession.W102": {
        "SECRET_KEY": "a-forty-character-key-0123456789-abcdefg",
        "JWTSESSION": {"ALGORITHM": "HS512"},
    },
    "jwtsession.W103": {"JWTSESSION": {"LEEWAY": 301}},
    "jwtsession.W104": {"JWTSESSION": {"CLAIMS_TTL": 3601}},
    "jwtsession.W105": {"JWTSESSION": {"STATE_MEMO_SECONDS": 6}},
    "jwtsession.W106": {"JWTSESSION": {"MAX_LIFETIME": 366 * 24 * 3600}},
    "jwtsession.W107": {"JWTSESSION": {"STATE_CACHE_TIMEOUT": 2 * 24 * 3600}},
    "jwtsession.W108": {
        "JWTSESSION": {"ACCEPT_FROM": ["django.contrib.sessions.backends.signed_cookies"]}
    },
    "jwtsession.W109": {"SESSION_COOKIE_SAMESITE": "None"},
    "jwtsession.W110": {
        "SESSION_COOKIE_NAME": "sessionid",
        "SESSION_COOKIE_DOMAIN": ".example.com",
    },
    "jwtsession.W111": {"SESSION_COOKIE_NAME": "sessionid"},
    "jwtsession.W112": {"JWTSESSION": {"SECRET_KEYS": ["k" * 40 + "shared-between-services"]}},
    "jwtsession.E101": {"SESSION_COOKIE_NAME": "__Host-sessionid", "SESSION_COOKIE_SECURE": False},
}


def deploy_ids(**overrides: Any) -> set[str]:
    jwtsession = overrides.pop("JWTSESSION", {})
    with override_settings(**{**PRODUCTION, **overrides}), jwtsession_settings(**jwtsession):
        return {
            message.id
            for message in run_checks(include_deployment_checks=True, databases=[])
            if re.fullmatch(r"jwtsession\.[EW]1\d\d", message.id or "")
            and message.id != "jwtsession.W113"  # the interpreter's: see below
        }


def test_every_id_in_the_module_has_a_trigger() -> None:
    ids = set(re.findall(r"jwtsession\.[EW]1\d\d", SOURCE))
    assert ids - {"jwtsession.W113"} == set(TRIGGERS)


def test_a_production_configuration_triggers_none() -> None:
    assert deploy_ids() == set()


@pytest.mark.parametrize("check_id", sorted(TRIGGERS))
def test_each_check_is_triggered_alone(check_id: str) -> None:
    assert deploy_ids(**TRIGGERS[check_id]) == {check_id}


@pytest.mark.parametrize("check_id", sorted(TRIGGERS))
def test_ids_follow_their_level(check_id: str) -> None:
    overrides = dict(TRIGGERS[check_id])
    jwtsession = overrides.pop("JWTSESSION", {})
    with override_settings(**{**PRODUCTION, **overrides}), jwtsession_settings(**jwtsession):
        message = next(
            m for m in run_checks(include_deployment_checks=True, databases=[]) if m.id == check_id
        )
    assert type(message) is (Error if check_id.startswith("jwtsession.E") else Warning)


def test_deploy_warnings_need_deploy() -> None:
    with override_settings(**{**PRODUCTION, **TRIGGERS["jwtsession.W109"]}):
        assert not [m for m in run_checks(databases=[]) if (m.id or "").startswith("jwtsession.W1")]


def test_the_interpreter_check_follows_the_interpreter() -> None:
    with override_settings(**PRODUCTION):
        ids = {m.id for m in run_checks(include_deployment_checks=True, databases=[])}
    assert ("jwtsession.W113" in ids) is VULNERABLE_UNQUOTE
