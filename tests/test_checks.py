"""System checks: every id is triggered, ids are unique, a clean project yields none."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.checks import Error, Warning, run_checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_jwtsession import checks, conf
from django_jwtsession.middleware import AuthenticationMiddleware, SessionMiddleware
from tests.helpers import DEAD_REDIS, jwtsession_settings
from tests.keyfiles import private_pem

ID_PATTERN = re.compile(r"""["']jwtsession\.([EW]\d{3})["']""")
PACKAGE = Path(checks.__file__).parent
SOURCE = "\n".join(
    (PACKAGE / name).read_text()
    for name in (
        "checks.py",
        "clock_checks.py",
        "policy_checks.py",
        "project_checks.py",
        "installed.py",
        "contrib/rest_framework/checks.py",
    )
)
OUT_OF_PROCESS = {"jwtsession.E014"}
"""Ids that cannot be triggered here (the app is installed): tests/test_fresh_project.py."""

OUR_SESSION = checks.OUR_SESSION_MIDDLEWARE
OUR_AUTH = checks.OUR_AUTH_MIDDLEWARE
BASE_MIDDLEWARE = settings.MIDDLEWARE


class SubclassedSessionMiddleware(SessionMiddleware):
    """A project's own subclass counts as ours."""


class SubclassedAuthenticationMiddleware(AuthenticationMiddleware):
    """A project's own subclass counts as ours."""


def function_middleware(get_response: Any) -> Any:
    """Middleware written as a function (Django accepts it)."""
    return get_response


def without(*paths: str) -> list[str]:
    return [path for path in BASE_MIDDLEWARE if path not in paths]


def our_messages(deploy: bool = False) -> list[Any]:
    """This module's checks' messages (the deployment checks of deploy_checks.py have theirs
    in test_deploy_checks.py)."""
    return [
        message
        for message in run_checks(include_deployment_checks=deploy)
        if (message.id or "").startswith("jwtsession.")
        and not (message.id or "").startswith(("jwtsession.W1", "jwtsession.E1"))
    ]


def our_ids(deploy: bool = False) -> set[str]:
    return {message.id for message in our_messages(deploy)}


LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DUMMY = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}

# Settings that trigger each check: a dict under "JWTSESSION" lists only the keys to change.
TRIGGERS: dict[str, list[Any]] = {
    "jwtsession.E001": [{"JWTSESSION": {"ALGORITM": "HS256"}}],
    "jwtsession.E002": [
        {"JWTSESSION": {"ALGORITHM": "none"}},
        {"JWTSESSION": "HS256"},
        {"JWTSESSION": {"CLAIMS_TTL": -1}},
        {"SECRET_KEY": ""},
        {"JWTSESSION": {"SESSION_LIMIT": 0}},
        {"JWTSESSION": {"SESSION_LIMIT": {"roles": {"admin": "1"}}}},
        {"JWTSESSION": {"SESSION_LIMIT_POLICY": "evict_newest"}},
        {"JWTSESSION": {"HISTORY_RETENTION": -1}},
    ],
    "jwtsession.E003": [
        {"JWTSESSION": {"ALGORITHM": "ES256"}},
        {"JWTSESSION": {"ALGORITHM": "RS256", "PRIVATE_KEY": "p256"}},
        {"JWTSESSION": {"ALGORITHM": "EdDSA", "PRIVATE_KEY": "not a pem"}},
    ],
    "jwtsession.E004": [
        {"JWTSESSION": {"PRIVATE_KEY": "p256"}},
        {"JWTSESSION": {"ALGORITHM": "HS512", "PUBLIC_KEYS": ["p256"]}},
    ],
    "jwtsession.E006": [{"MIDDLEWARE": without(OUR_SESSION)}],
    "jwtsession.E007": [{"MIDDLEWARE": without(OUR_AUTH)}],
    "jwtsession.E008": [
        {"MIDDLEWARE": [OUR_SESSION, *BASE_MIDDLEWARE]},
        {"MIDDLEWARE": [*BASE_MIDDLEWARE, f"{__name__}.SubclassedAuthenticationMiddleware"]},
    ],
    "jwtsession.E009": [{"MIDDLEWARE": [OUR_AUTH, *without(OUR_AUTH)]}],
    "jwtsession.E010": [
        {"MIDDLEWARE": [*BASE_MIDDLEWARE, checks.DJANGO_SESSION_MIDDLEWARE]},
        {"MIDDLEWARE": [*BASE_MIDDLEWARE, checks.DJANGO_AUTH_MIDDLEWARE]},
    ],
    "jwtsession.E011": [
        {"JWTSESSION": {"CLAIMS_PROVIDER": "no.such.module.provider"}},
        {"JWTSESSION": {"CLAIMS_PROVIDER": "django_jwtsession.claims.no_such_provider"}},
    ],
    "jwtsession.E012": [{"JWTSESSION": {"CACHE_ALIAS": "sessions"}}],
    "jwtsession.E013": [
        {
            "JWTSESSION": {"ACCEPT_FROM": ["django.contrib.sessions.backends.db"]},
            "INSTALLED_APPS": [
                app for app in settings.INSTALLED_APPS if app != "django.contrib.sessions"
            ],
        }
    ],
    "jwtsession.W001": [
        {"SECRET_KEY": "short-secret"},
        {"JWTSESSION": {"SECRET_KEYS": ["ab" * 40]}},
        {"SECRET_KEY_FALLBACKS": ["old"]},
    ],
    "jwtsession.W002": [{"SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"}],
    "jwtsession.W003": [{"CACHES": LOCMEM}, {"CACHES": DUMMY}],
    "jwtsession.W004": [{"SESSION_COOKIE_SECURE": False}],
    "jwtsession.W005": [
        {"JWTSESSION": {"UPDATE_AGE": 1209600}},
        {"SESSION_COOKIE_AGE": 3600},
    ],
    "jwtsession.W006": [
        {"JWTSESSION": {"MAX_LIFETIME": 86400}},
        {"SESSION_COOKIE_AGE": 60 * 24 * 3600},
    ],
    "jwtsession.W007": [{"SESSION_COOKIE_HTTPONLY": False}],
    "jwtsession.W009": [
        {
            "SESSION_ENGINE": "django_jwtsession.backends.jwt",
            "JWTSESSION": {"STRATEGY": "db"},
        },
        {
            "SESSION_ENGINE": "django_jwtsession.backends.db",
            "JWTSESSION": {"STRATEGY": "jwt"},
        },
    ],
    "jwtsession.W008": [
        {"JWTSESSION": {"MAX_TOKEN_BYTES": 8001}},
        {"JWTSESSION": {"MAX_TOKEN_BYTES": 16384}},
    ],
    "jwtsession.E015": [
        {"JWTSESSION": None, "JWT_SESSION": {"ENCRYPT": True}},
        {"JWTSESSION": None, "JWTSESSIONS": {"ENCRYPT": True}},
        {"JWTSESSION": None, "JWT_SESSIONS": {}},
    ],
    "jwtsession.W010": [{"JWT_SESSION": {"ENCRYPT": True}}],
    "jwtsession.E016": [
        {"JWTSESSION": {"TIER_SOURCE": "plam.tier"}},
        {"JWTSESSION": {"FLAGS_SOURCE": "plan.flagz"}},
        {"JWTSESSION": {"ROLES_SOURCE": "rolez"}},
    ],
    "jwtsession.E017": [
        {"JWTSESSION": {"MARK_MODELS": {"testapp.Nothing": "user"}}},
        {"JWTSESSION": {"MARK_MODELS": {"billing.Subscription": "user"}}},
        {"JWTSESSION": {"MARK_MODELS": {"testapp.Plan": "usr"}}},
    ],
    "jwtsession.W011": [{"CACHES": {"default": DEAD_REDIS}}],
    "jwtsession.W020": [
        {"JWTSESSION": {"IDLE_TIMEOUT": 30 * 24 * 3600}},
        {
            "JWTSESSION": {"IDLE_TIMEOUT": 3600, "MAX_LIFETIME": 3600, "UPDATE_AGE": 600},
            "SESSION_COOKIE_AGE": 3600,
        },
    ],
    "jwtsession.W021": [
        {"JWTSESSION": {"IDLE_TIMEOUT": 14 * 24 * 3600}},
        {"JWTSESSION": {"IDLE_TIMEOUT": 7200}, "SESSION_COOKIE_AGE": 7200},
    ],
    "jwtsession.W030": [
        {"JWTSESSION": {"TIER_ORDER": ["free", "pro"], "SESSION_LIMIT": {"tiers": {"Pro": 5}}}},
    ],
    "jwtsession.W031": [
        {"JWTSESSION": {"SESSION_LIMIT_POLICY": "deny"}},
        {"JWTSESSION": {"SESSION_LIMIT_POLICY": "evict_oldest", "SESSION_LIMIT": None}},
    ],
    "jwtsession.E018": [
        {"INSTALLED_APPS": [app for app in settings.INSTALLED_APPS if app != "rest_framework"]}
    ],
}
DEPLOY_ONLY = {"jwtsession.W004", "jwtsession.W007"}
SECURE = {"SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_HTTPONLY": True}


@contextmanager
def overridden(overrides: dict[str, Any]) -> Iterator[None]:
    """A ``TRIGGERS`` case on top of ``SECURE``, the placeholder key kind ``"p256"`` replaced
    with a PEM generated for this run."""
    django = {**SECURE, **overrides}
    keys = django.get("JWTSESSION", {})
    if not isinstance(keys, dict):  # not a dict at all: replaced, not merged
        with override_settings(**django):
            yield
        return
    django.pop("JWTSESSION", None)
    if keys.get("PRIVATE_KEY") == "p256":
        keys = {**keys, "PRIVATE_KEY": private_pem("p256")}
    if keys.get("PUBLIC_KEYS") == ["p256"]:
        keys = {**keys, "PUBLIC_KEYS": [private_pem("p256")]}
    with override_settings(**django), jwtsession_settings(**keys):
        yield


def source_ids() -> list[str]:
    return [f"jwtsession.{match}" for match in ID_PATTERN.findall(SOURCE)]


def test_check_ids_are_unique() -> None:
    counts = Counter(source_ids())
    assert counts
    assert [check_id for check_id, count in counts.items() if count > 1] == []


def test_every_check_id_has_a_trigger() -> None:
    assert sorted(TRIGGERS) == sorted(set(source_ids()) - OUT_OF_PROCESS)


def test_ids_follow_their_level() -> None:
    for check_id, cases in TRIGGERS.items():
        with overridden(cases[0]):
            message = next(m for m in our_messages(deploy=True) if m.id == check_id)
        expected = Error if check_id.startswith("jwtsession.E") else Warning
        assert type(message) is expected, check_id


@pytest.mark.parametrize(
    ("check_id", "overrides"),
    [
        pytest.param(
            check_id,
            overrides,
            id=f"{check_id}-{index}",
            # Without JWTSESSION the default ROLES_SOURCE ("groups") applies: E016 too when the
            # user model has no groups.
            marks=[pytest.mark.needs_groups] if overrides.get("JWTSESSION", {}) is None else [],
        )
        for check_id, cases in TRIGGERS.items()
        for index, overrides in enumerate(cases)
    ],
)
def test_check_triggered(check_id: str, overrides: dict[str, Any]) -> None:
    deploy = check_id in DEPLOY_ONLY
    with overridden(overrides):
        assert our_ids(deploy=deploy) == {check_id}
        if deploy:
            assert our_ids(deploy=False) == set()


def test_clean_configuration_yields_no_messages() -> None:
    assert our_messages() == []
    with override_settings(**SECURE):
        assert our_messages(deploy=True) == []


@pytest.mark.parametrize("kind", ["p256", "ed25519"])
def test_clean_asymmetric_configuration_yields_no_messages(kind: str) -> None:
    algorithm = {"p256": "ES256", "ed25519": "EdDSA"}[kind]
    with jwtsession_settings(ALGORITHM=algorithm, PRIVATE_KEY=private_pem(kind)):
        assert our_messages() == []


def test_subclassed_middleware_counts_as_ours() -> None:
    middleware = [
        f"{__name__}.SubclassedSessionMiddleware" if path == OUR_SESSION else path
        for path in BASE_MIDDLEWARE
    ]
    with override_settings(MIDDLEWARE=middleware):
        assert our_ids() == set()


def test_middleware_checks_silent_without_our_engine() -> None:
    with override_settings(
        SESSION_ENGINE="django.contrib.sessions.backends.db",
        MIDDLEWARE=[checks.DJANGO_SESSION_MIDDLEWARE, checks.DJANGO_AUTH_MIDDLEWARE],
    ):
        assert our_ids(deploy=True) == set()


def test_unknown_key_message_names_the_key() -> None:
    with jwtsession_settings(ALGORITM="HS256"):
        (message,) = our_messages()
    assert "ALGORITM" in message.msg
    assert "ALGORITHM" in message.hint


def test_missing_cache_alias_message_names_it() -> None:
    with jwtsession_settings(CACHE_ALIAS="sessions"):
        (message,) = our_messages()
    assert "'sessions'" in message.msg


def test_key_errors_do_not_show_key_material() -> None:
    pem = private_pem("rsa1024")
    with jwtsession_settings(ALGORITHM="RS256", PRIVATE_KEY=pem):
        (message,) = our_messages()
    assert message.id == "jwtsession.E003"
    for line in pem.splitlines()[1:-1]:
        assert line not in message.msg


def test_check_functions_callable_directly() -> None:
    """The check functions follow Django's signature and can run without the registry."""
    with override_settings(**SECURE):
        for check in (
            checks.check_settings,
            checks.check_middleware,
            checks.check_cache,
            checks.check_cookie_deploy,
        ):
            assert check(app_configs=None) == []
    with override_settings(CACHES=LOCMEM):
        assert [message.id for message in checks.check_cache()] == ["jwtsession.W003"]


def test_function_middleware_does_not_break_the_middleware_checks() -> None:
    with override_settings(MIDDLEWARE=[f"{__name__}.function_middleware", *BASE_MIDDLEWARE]):
        assert our_ids() == set()
    with override_settings(MIDDLEWARE=[f"{__name__}.function_middleware"]):
        assert our_ids() == {"jwtsession.E006", "jwtsession.E007"}


@pytest.mark.parametrize("max_token_bytes", [None, 7600, 8000])
def test_token_limit_within_header_limits_gives_no_warning(max_token_bytes: int | None) -> None:
    value = {} if max_token_bytes is None else {"MAX_TOKEN_BYTES": max_token_bytes}
    with jwtsession_settings(**value):
        assert our_ids() == set()


def test_token_limit_warning_explains_header_limits() -> None:
    with jwtsession_settings(MAX_TOKEN_BYTES=16384):
        (message,) = our_messages()
    assert "16384" in message.msg
    assert "8 KB" in message.msg
    assert "8000" in message.hint


# -- every problem, each with its id ------------------------------------------------------------


def test_every_invalid_key_is_reported_with_its_own_id() -> None:
    with jwtsession_settings(CLAIMS_TTL=-1, ENCRYPT="yes", STRATEG="db", CACHE_ALIAS=3):
        found = [(message.id, message.msg) for message in our_messages()]
        with pytest.raises(ImproperlyConfigured) as raised:
            conf.get_settings()
    assert [check_id for check_id, _ in found] == [
        "jwtsession.E001",
        "jwtsession.E002",
        "jwtsession.E002",
        "jwtsession.E002",
    ]
    for (_, text), key in zip(
        found, ["STRATEG", "ENCRYPT", "CLAIMS_TTL", "CACHE_ALIAS"], strict=True
    ):
        assert repr(key) in text
    assert "4 problems" in str(raised.value)
    for key in ("STRATEG", "ENCRYPT", "CLAIMS_TTL", "CACHE_ALIAS"):
        assert repr(key) in str(raised.value)


def test_an_unknown_key_gets_the_closest_setting_as_a_hint() -> None:
    with jwtsession_settings(CLAIM_TTL=60):
        (message,) = our_messages()
    assert message.hint.startswith("Did you mean 'CLAIMS_TTL'?")


@pytest.mark.needs_groups  # without JWTSESSION, the default ROLES_SOURCE ("groups") applies
def test_a_misspelled_setting_name_says_encryption_is_off() -> None:
    with override_settings(JWTSESSION=None, JWT_SESSION={"ENCRYPT": True}):
        (message,) = our_messages()
    assert message.id == "jwtsession.E015"
    assert "JWT_SESSION" in message.msg
    assert "did you mean JWTSESSION?" in message.msg
    assert "not encrypted" in message.msg


def test_settings_unrelated_to_ours_are_not_near_misses() -> None:
    with override_settings(JWT_AUTH={}, SESSION={}, SIMPLE_JWT={}, SESSION_JWT_SECRET="x"):
        assert our_ids() == set()


def test_a_claim_source_typo_names_the_model_and_the_close_name() -> None:
    with jwtsession_settings(TIER_SOURCE="plam.tier"):
        (message,) = our_messages()
    user_model = settings.AUTH_USER_MODEL.rsplit(".", 1)[-1]
    assert (
        message.msg == f"JWTSESSION['TIER_SOURCE'] = 'plam.tier': {user_model} has no field, "
        "relation or attribute 'plam'."
    )
    assert message.hint.startswith("Did you mean 'plan'?")


@pytest.mark.parametrize(
    "source", ["plan.tier", "plan.flags", "plan", "email", "get_username", "plan.user.email"]
)
def test_claim_sources_the_models_have_pass(source: str) -> None:
    with jwtsession_settings(TIER_SOURCE=source):
        assert "jwtsession.E016" not in our_ids()


def test_django_middleware_in_place_of_ours_is_one_message_that_says_so() -> None:
    middleware = [
        checks.DJANGO_SESSION_MIDDLEWARE if path == OUR_SESSION else path
        for path in BASE_MIDDLEWARE
    ]
    with override_settings(MIDDLEWARE=middleware):
        (message,) = our_messages()
    assert message.id == "jwtsession.E006"
    assert message.msg == (
        f"{checks.DJANGO_SESSION_MIDDLEWARE!r} is in MIDDLEWARE in place of {OUR_SESSION!r}."
    )
    assert "alongside" not in message.msg
    with override_settings(MIDDLEWARE=[*BASE_MIDDLEWARE, checks.DJANGO_SESSION_MIDDLEWARE]):
        (message,) = our_messages()
    assert message.id == "jwtsession.E010"
    assert "alongside" in message.msg


def test_an_unreachable_cache_names_it_and_what_happens_meanwhile() -> None:
    with override_settings(CACHES={**settings.CACHES, "down": DEAD_REDIS}):
        with jwtsession_settings(CACHE_ALIAS="down"):
            (message,) = our_messages()
        assert message.id == "jwtsession.W011"
        assert "'down'" in message.msg
        assert "ConnectionError" in message.msg
        assert "reads the database instead" in message.msg
        with jwtsession_settings(CACHE_ALIAS="down", ON_CACHE_OUTAGE="refuse"):
            (message,) = our_messages()
        assert "is refused" in message.msg


def test_the_browsable_api_check_is_silent_without_the_browsable_renderer() -> None:
    without_drf = [app for app in settings.INSTALLED_APPS if app != "rest_framework"]
    json_only = {"DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]}
    with override_settings(INSTALLED_APPS=without_drf, REST_FRAMEWORK=json_only):
        assert our_ids() == set()
    with override_settings(INSTALLED_APPS=without_drf):
        (message,) = our_messages()
    assert message.id == "jwtsession.E018"
    assert "'rest_framework'" in message.hint
