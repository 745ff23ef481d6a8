"""Settings: read lazily, every key has an effect, invalid values name the key."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jwt
import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from django_jwtsession import checks, codec, conf
from django_jwtsession.claims import (
    Claims,
    build_claims,
    default_provider,
    get_provider,
    related_paths,
)
from django_jwtsession.exceptions import (
    DisallowedHeader,
    InvalidClaims,
    TokenTooLarge,
    UnknownKey,
)
from django_jwtsession.keys import get_key_ring
from tests.helpers import (
    PASSWORD,
    Configure,
    add_dead_cache,
    disconnect,
    jwtsession_settings,
    make_user,
    resign_session,
    use_cache,
    wait_until,
)
from tests.keyfiles import private_pem, public_pem
from tests.testapp.models import Plan

User = get_user_model()

ROOT = Path(__file__).resolve().parent.parent
NOW = 1_800_000_000


def payload(now: int = NOW, **overrides: Any) -> dict[str, Any]:
    return {"sid": "s" * 32, "iat": now, "exp": now + 3600, "sat": now, "dat": {}, **overrides}


def header_of(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))  # type: ignore[no-any-return]


def custom_provider(user: Any) -> Claims:
    return Claims(user_id="custom", username="from-provider", roles=frozenset({"custom"}))


def a_user() -> User:
    """An unsaved user: callable claim sources need no database."""
    return User(pk=7, username="unsaved", is_staff=True)


# -- nothing is read at import ----------------------------------------------------------
IMPORT_EVERYTHING = """
import importlib, pkgutil
from collections.abc import Mapping

import django
from django.conf import settings


class Tripwire(Mapping):
    def _read(self, *args):
        raise RuntimeError("JWTSESSION was read")

    __getitem__ = __iter__ = __len__ = _read


settings.configure(
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django_jwtsession",
    ],
    JWTSESSION=Tripwire(),
    SESSION_ENGINE="django_jwtsession.backends.jwt",
)
django.setup()
import django_jwtsession

prefix = "django_jwtsession."
names = [info.name for info in pkgutil.walk_packages(django_jwtsession.__path__, prefix)]
for name in names:
    importlib.import_module(name)
from django_jwtsession.conf import get_settings

try:
    get_settings()
except RuntimeError as exc:
    print("imported", len(names), "modules;", exc)
"""


def test_nothing_is_read_at_import_or_ready() -> None:
    """Importing every module (and ``ready()``) never touches ``JWTSESSION``."""
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "JWTSESSION was read" in result.stdout
    assert int(result.stdout.split()[1]) >= 10


# -- overrides take effect at once -------------------------------------------------------
def test_override_settings_changes_everything_derived() -> None:
    ring = get_key_ring()
    assert conf.get_settings().algorithm == "HS256"
    with override_settings(JWTSESSION={"ALGORITHM": "HS512", "CLAIMS_PROVIDER": custom_provider}):
        assert conf.get_settings().algorithm == "HS512"
        assert get_key_ring().algorithm == "HS512"
        assert get_key_ring().current.kid != ring.current.kid
        assert get_provider() is custom_provider
        assert build_claims(a_user()).username == "from-provider"
        assert related_paths() == ()
    assert conf.get_settings().algorithm == "HS256"
    assert get_key_ring().current.kid == ring.current.kid
    assert get_provider() is default_provider
    assert related_paths() == ("plan",)


def test_setting_secret_key_changes_the_ring(settings: Any) -> None:
    kid = get_key_ring().current.kid
    settings.SECRET_KEY = "a-completely-different-secret-key-for-this-test"
    assert get_key_ring().current.kid != kid


def test_unset_setting_uses_defaults(settings: Any) -> None:
    del settings.JWTSESSION
    resolved = conf.get_settings()
    for name, default in conf.DEFAULTS.items():
        if name == "SECRET_KEYS":
            secrets = (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)
            assert resolved.secret_keys == tuple(s.encode() for s in secrets)
        else:
            value = getattr(resolved, name.lower())
            assert value == (tuple(default) if isinstance(default, tuple) else default), name


def test_none_setting_uses_defaults(settings: Any) -> None:
    settings.JWTSESSION = None
    assert conf.get_settings().algorithm == conf.DEFAULTS["ALGORITHM"]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        pytest.param(
            lambda: jwtsession_settings(ALGORITHM="HS384"), DisallowedHeader, id="algorithm"
        ),
        pytest.param(
            lambda: override_settings(SECRET_KEY="another-secret-key-0123456789abcdef"),
            UnknownKey,
            id="key",
        ),
        pytest.param(
            lambda: jwtsession_settings(SECRET_KEYS=["another-secret-key-0123456789abcdef"]),
            UnknownKey,
            id="secret-keys",
        ),
    ],
)
def test_flipped_setting_makes_earlier_tokens_unverifiable(
    change: Callable[[], override_settings], error: type[Exception]
) -> None:
    token = codec.encode(payload())
    with change(), pytest.raises(error):
        codec.decode(token, now=NOW)
    assert codec.decode(token, now=NOW).payload["sid"] == "s" * 32


# -- every setting has an effect ----------------------------------------------------------
def _strategy(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession.backends.session import SessionStore

    request.getfixturevalue("settings").SESSION_ENGINE = "django_jwtsession.backends.session"
    configure(STRATEGY="jwt")
    assert conf.get_settings().strategy == "jwt"
    store = SessionStore()
    assert isinstance(store, SessionStore)  # a plain class: Django's tooling can rely on it
    assert store.strategy == "jwt"
    configure(STRATEGY="db")
    assert SessionStore().strategy == "db"
    configure(STRATEGY="cookie")
    with pytest.raises(ImproperlyConfigured, match="STRATEGY"):
        conf.get_settings()


def _accept_from(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django.test import Client

    configure(STRATEGY="jwt")
    client = Client()
    client.force_login(User.objects.create_user("switcher"))
    token = client.cookies["sessionid"].value
    configure(STRATEGY="db")
    assert Client(headers={"Cookie": f"sessionid={token}"}).get("/whoami/").json() == {
        "authenticated": False
    }
    configure(ACCEPT_FROM=["jwt"])
    assert conf.get_settings().accept_from == ("jwt",)
    response = Client(headers={"Cookie": f"sessionid={token}"}).get("/whoami/")
    assert response.json()["username"] == "switcher"
    assert response.cookies["sessionid"].value.startswith("d1.")


def _algorithm(configure: Configure, request: pytest.FixtureRequest) -> None:
    configure(ALGORITHM="HS384")
    token = codec.encode(payload())
    assert header_of(token)["alg"] == "HS384"
    assert codec.decode(token, now=NOW).stale_key is False


def _secret_keys(configure: Configure, request: pytest.FixtureRequest) -> None:
    default_kid = get_key_ring().current.kid
    configure(SECRET_KEYS=["jwtsession-only-secret-0123456789abcdef"])
    assert header_of(codec.encode(payload()))["kid"] != default_kid


def _private_key(configure: Configure, request: pytest.FixtureRequest) -> None:
    configure(ALGORITHM="ES256", PRIVATE_KEY=private_pem("p256"))
    now = int(time.time())
    token = codec.encode(payload(now))
    assert jwt.decode(token, public_pem("p256"), algorithms=["ES256"])["sid"] == "s" * 32


def _public_keys(configure: Configure, request: pytest.FixtureRequest) -> None:
    configure(ALGORITHM="ES256", PRIVATE_KEY=private_pem("p256", 0))
    token = codec.encode(payload())
    configure(PRIVATE_KEY=private_pem("p256", 1))
    with pytest.raises(UnknownKey):
        codec.decode(token, now=NOW)
    configure(PUBLIC_KEYS=[public_pem("p256", 0)])
    assert codec.decode(token, now=NOW).stale_key is True


def _encrypt(configure: Configure, request: pytest.FixtureRequest) -> None:
    assert codec.encode(payload()).count(".") == 2
    configure(ENCRYPT=True)
    token = codec.encode(payload())
    assert token.count(".") == 4
    assert codec.decode(token, now=NOW).payload == payload()


def _claims_provider(configure: Configure, request: pytest.FixtureRequest) -> None:
    configure(CLAIMS_PROVIDER=custom_provider)
    assert build_claims(a_user()).roles == {"custom"}
    configure(CLAIMS_PROVIDER="tests.test_conf.custom_provider")
    assert build_claims(a_user()).username == "from-provider"


def _roles_source(configure: Configure, request: pytest.FixtureRequest) -> None:
    configure(ROLES_SOURCE=lambda user: ["b", "a"])
    assert default_provider(a_user()).roles == {"a", "b"}
    configure(ROLES_SOURCE="username")
    assert default_provider(a_user()).roles == set("unsaved")


def _tier_source(configure: Configure, request: pytest.FixtureRequest) -> None:
    configure(TIER_SOURCE=lambda user: "gold", FLAGS_SOURCE=None)
    assert default_provider(a_user()).tier == "gold"
    assert related_paths() == ()
    configure(TIER_SOURCE="plan.tier")
    assert related_paths() == ("plan",)


def _default_tier(configure: Configure, request: pytest.FixtureRequest) -> None:
    configure(TIER_SOURCE=lambda user: None, DEFAULT_TIER="basic")
    assert default_provider(a_user()).tier == "basic"
    configure(DEFAULT_TIER=None)
    assert default_provider(a_user()).tier is None


def _flags_source(configure: Configure, request: pytest.FixtureRequest) -> None:
    configure(FLAGS_SOURCE=lambda user: ("beta", "dark"), TIER_SOURCE=None)
    assert default_provider(a_user()).flags == {"beta", "dark"}
    assert related_paths() == ()


def _claims_ttl(configure: Configure, request: pytest.FixtureRequest) -> None:
    client = request.getfixturevalue("bob_client")
    with CaptureQueriesContext(connection) as fresh:
        client.get("/whoami/")
    assert len(fresh) == 0
    configure(CLAIMS_TTL=0)
    with CaptureQueriesContext(connection) as refreshed:
        response = client.get("/whoami/")
    assert len(refreshed) > 0
    assert response.json()["roles"] == ["editor"]


def _update_age(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django.conf import settings

    client = request.getfixturevalue("bob_client")
    assert settings.SESSION_COOKIE_NAME not in client.get("/whoami/").cookies
    configure(UPDATE_AGE=0)
    assert settings.SESSION_COOKIE_NAME in client.get("/whoami/").cookies


def _max_lifetime(configure: Configure, request: pytest.FixtureRequest) -> None:
    token = codec.encode(payload(exp=NOW + 7200))
    assert codec.decode(token, now=NOW).payload["exp"] == NOW + 7200
    configure(MAX_LIFETIME=3600)
    with pytest.raises(InvalidClaims):
        codec.decode(token, now=NOW)


def _idle_timeout(configure: Configure, request: pytest.FixtureRequest) -> None:
    client = request.getfixturevalue("bob_client")
    resign_session(client, iat=int(time.time()) - 120)
    assert client.get("/whoami/").json()["authenticated"]
    configure(IDLE_TIMEOUT=120)
    assert client.get("/whoami/").json() == {"authenticated": False}


def _impersonate_superusers(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django.test import Client

    from tests.helpers import PASSWORD, make_user

    make_user("root", is_staff=True, is_superuser=True)
    boss = make_user("boss", is_staff=True, is_superuser=True)
    client = Client()
    assert client.login(username="root", password=PASSWORD)
    url = f"/impersonation/{boss.pk}/start/"
    assert client.post(url).status_code == 403
    configure(IMPERSONATE_SUPERUSERS=True)
    assert client.post(url).status_code == 302


def _leeway(configure: Configure, request: pytest.FixtureRequest) -> None:
    token = codec.encode(payload(NOW + 20))
    with pytest.raises(InvalidClaims):
        codec.decode(token, now=NOW)
    configure(LEEWAY=30)
    assert codec.decode(token, now=NOW).payload["iat"] == NOW + 20


def _claim_setting(name: str, claim: str) -> Callable[[Configure, pytest.FixtureRequest], None]:
    def exercise(configure: Configure, request: pytest.FixtureRequest) -> None:
        plain = codec.encode(payload())
        configure(**{name: "https://sessions.example"})
        token = codec.encode(payload())
        assert codec.decode(token, now=NOW).payload[claim] == "https://sessions.example"
        with pytest.raises(InvalidClaims):
            codec.decode(plain, now=NOW)

    return exercise


def _max_token_bytes(configure: Configure, request: pytest.FixtureRequest) -> None:
    token = codec.encode(payload(dat={"x": "y" * 600}))
    assert codec.decode(token, now=NOW).payload["dat"] == {"x": "y" * 600}
    configure(MAX_TOKEN_BYTES=512)
    with pytest.raises(TokenTooLarge):
        codec.decode(token, now=NOW)


def _cache_alias(configure: Configure, request: pytest.FixtureRequest) -> None:
    assert checks.check_cache() == []
    configure(CACHE_ALIAS="missing")
    assert conf.get_settings().cache_alias == "missing"
    assert [message.id for message in checks.check_cache()] == ["jwtsession.E012"]


def _state_cache_timeout(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession.keyspace import CACHE_PREFIX, GLOBAL_EPOCH
    from django_jwtsession.state import read_state

    configure(STATE_CACHE_TIMEOUT=1)
    assert conf.get_settings().state_cache_timeout == 1
    read_state("1", None)  # a miss refills the mirror with this timeout
    cache = caches[conf.get_settings().cache_alias]
    assert cache.get(CACHE_PREFIX + GLOBAL_EPOCH) == 0
    time.sleep(1.1)
    assert cache.get(CACHE_PREFIX + GLOBAL_EPOCH) is None


def _state_memo_seconds(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession.state import read_state

    configure(STATE_MEMO_SECONDS=60)
    assert conf.get_settings().state_memo_seconds == 60
    first = read_state("1", None)
    cache = caches[conf.get_settings().cache_alias]
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        assert read_state("1", None) is first  # remembered: no cache, no database
    assert len(queries) == 0


def _mark_models(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession.state import read_state

    bob = make_user("markbob")
    plan = Plan.objects.create(user=bob, tier="free")
    before = read_state(str(bob.pk), None).mark
    plan.save()
    assert read_state(str(bob.pk), None).mark == before  # not configured: no mark
    configure(MARK_MODELS={"testapp.Plan": "user"})
    plan.save()
    assert read_state(str(bob.pk), None).mark == before + 1


def _on_cache_outage(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django.test import Client

    from django_jwtsession.state import StateUnavailable, read_state

    settings = request.getfixturevalue("settings")
    add_dead_cache(settings)
    configure(CACHE_ALIAS="down")
    assert conf.get_settings().on_cache_outage == "database"
    assert read_state("1", None, hot_path=True).mark == 0  # read from the database
    configure(ON_CACHE_OUTAGE="refuse")
    assert conf.get_settings().on_cache_outage == "refuse"
    with pytest.raises(StateUnavailable):
        read_state("1", None, hot_path=True)
    assert read_state("1", None).mark == 0  # a login may still read the database
    assert Client().get("/whoami/").status_code == 200


def _client_ip_header(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession.records import client_ip

    meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 203.0.113.9"}
    assert client_ip(meta) == "10.0.0.1"
    configure(CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR")
    assert conf.get_settings().client_ip_header == "HTTP_X_FORWARDED_FOR"
    assert client_ip(meta) == "203.0.113.9"  # the rightmost: the one the proxy appended


def _metrics_flush_seconds(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django.test import Client

    from django_jwtsession import metrics

    metrics.reset()  # no counts from earlier tests; the flush clock starts now
    metrics.count("revoke.all")
    configure(METRICS_FLUSH_SECONDS=3600)
    Client().get("/whoami/")
    assert metrics.totals()["revoke.all"] == 0  # still buffered in this process
    configure(METRICS_FLUSH_SECONDS=0)
    Client().get("/whoami/")  # flushed at the end of every request
    assert metrics.totals()["revoke.all"] == 1


def _claims(**values: Any) -> Any:
    from types import SimpleNamespace

    from django_jwtsession.claims import Claims

    return SimpleNamespace(
        is_authenticated=True, claims=Claims(user_id="1", username="u", **values)
    )


def _role_hierarchy(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession.access import has_role

    admin = _claims(roles=frozenset({"admin"}))
    assert not has_role(admin, "viewer")
    configure(ROLE_HIERARCHY={"admin": ["editor"], "editor": ["viewer"]})
    assert has_role(admin, ["editor", "viewer"])  # transitively


def _tier_order(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession.access import has_tier

    enterprise = _claims(tier="enterprise")
    assert not has_tier(enterprise, "pro")  # no order: only that very tier
    configure(TIER_ORDER=["free", "pro", "enterprise"])
    assert has_tier(enterprise, "pro")
    assert not has_tier(_claims(tier="free"), "pro")


def _superuser_has_all_roles(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession.access import has_role

    root = _claims(is_superuser=True)
    assert has_role(root, "anything")
    configure(SUPERUSER_HAS_ALL_ROLES=False)
    assert not has_role(root, "anything")


DJANGO_REDIS = {"BACKEND": "django_redis.cache.RedisCache"}


def _own_redis(request: pytest.FixtureRequest, **options: Any) -> Any:
    """The default cache becomes a redis-server of this test's own (tests/processes.py)."""
    server = request.getfixturevalue("redis_server")
    use_cache(request.getfixturevalue("settings"), server.url, **options)
    request.addfinalizer(lambda: disconnect(server.url))
    return server


def _mirror(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession import listener
    from django_jwtsession.state import read_state

    _own_redis(request)
    configure(MIRROR=True)
    assert listener.wait_serving(5)
    read_state("1", None)  # refills the cache; the refill's invalidations arrive:
    assert listener.sync()
    read_state("1", None)  # a round trip whose answers the mirror keeps
    calls = request.getfixturevalue("cache_calls")
    assert read_state("1", None).mark == 0
    assert calls == []  # answered in-process
    configure(MIRROR=False)
    read_state("1", None)
    assert calls == ["get_many"]
    assert not listener.status()["running"]


def _mirror_health_seconds(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession import listener
    from django_jwtsession.mirror import DOWN, MIRROR

    server = _own_redis(request)
    configure(MIRROR=True, MIRROR_HEALTH_SECONDS=0.2)
    assert listener.wait_serving(5)
    assert MIRROR.health == 0.2
    server.pause()  # no PONG: the mirror stops answering once the bound passes
    try:
        assert wait_until(lambda: MIRROR.mode() == DOWN, 5)
    finally:
        server.resume()
    assert listener.wait_serving(5)


def _mirror_max_entries(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession import listener
    from django_jwtsession.mirror import MIRROR
    from django_jwtsession.state import read_state

    _own_redis(request)
    configure(MIRROR=True, MIRROR_MAX_ENTRIES=2)
    assert listener.wait_serving(5)
    for user_id in ("1", "2", "3"):
        read_state(user_id, None)
    assert listener.sync()
    for user_id in ("1", "2", "3"):
        read_state(user_id, None)  # three entries each, kept
    assert len(MIRROR) == 2


def _cache_socket_timeout(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession.redis_link import link
    from django_jwtsession.state import read_state

    server = request.getfixturevalue("redis_server")
    settings = request.getfixturevalue("settings")  # no SOCKET_TIMEOUT: django-redis would wait
    settings.CACHES = {"default": {**DJANGO_REDIS, "LOCATION": server.url}}
    request.addfinalizer(lambda: disconnect(server.url))
    configure(CACHE_SOCKET_TIMEOUT=0.2)
    read_state("1", None)
    redis = link()
    assert redis is not None
    assert redis.bounded.connection_pool.connection_kwargs["socket_timeout"] == 0.2
    answers: list[Any] = []

    def check() -> None:
        try:
            answers.append(read_state("1", None))
        finally:
            connection.close()  # this thread's own

    server.pause()
    try:
        worker = threading.Thread(target=check)
        worker.start()
        worker.join(10)  # the database answers once the bounded call times out
        assert [state.mark for state in answers] == [0]
    finally:
        server.resume()


def _replay_seconds(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession import listener, pending

    replays: list[int] = []
    real = pending.replay
    request.getfixturevalue("monkeypatch").setattr(
        pending, "replay", lambda: replays.append(1) or real()
    )
    _own_redis(request)
    configure(MIRROR=True, REPLAY_SECONDS=0.05)
    assert listener.wait_serving(5)
    assert wait_until(lambda: len(replays) >= 3, 5)  # every 0.05 s, in the listener's thread


def _history_retention(configure: Configure, request: pytest.FixtureRequest) -> None:
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from django_jwtsession.models import SessionRecord
    from django_jwtsession.revocation import revoke_user

    client = request.getfixturevalue("bob_client")
    revoke_user(request.getfixturevalue("bob"))
    SessionRecord.objects.update(revoked_at=timezone.now() - timedelta(hours=2))
    call_command("clearsessions", stdout=io.StringIO())
    assert SessionRecord.objects.count() == 1  # kept: 30 days by default
    configure(HISTORY_RETENTION=3600)
    call_command("clearsessions", stdout=io.StringIO())
    assert not SessionRecord.objects.exists()
    assert client.get("/whoami/").json() == {"authenticated": False}


def _session_limit(configure: Configure, request: pytest.FixtureRequest) -> None:
    request.getfixturevalue("bob")
    first = Client()
    assert first.login(username="bob", password=PASSWORD)
    configure(SESSION_LIMIT=1)
    assert Client().login(username="bob", password=PASSWORD)
    assert first.get("/whoami/").json() == {"authenticated": False}  # the oldest: ended


def _session_limit_policy(configure: Configure, request: pytest.FixtureRequest) -> None:
    from django_jwtsession import SignInRefused

    request.getfixturevalue("bob")
    configure(SESSION_LIMIT=1)
    first = Client()
    assert first.login(username="bob", password=PASSWORD)
    configure(SESSION_LIMIT_POLICY="deny")
    with pytest.raises(SignInRefused):
        Client().login(username="bob", password=PASSWORD)
    assert first.get("/whoami/").json()["authenticated"] is True


EXERCISES: dict[str, Callable[[Configure, pytest.FixtureRequest], None]] = {
    "STRATEGY": _strategy,
    "ALGORITHM": _algorithm,
    "SECRET_KEYS": _secret_keys,
    "PRIVATE_KEY": _private_key,
    "PUBLIC_KEYS": _public_keys,
    "ENCRYPT": _encrypt,
    "CLAIMS_PROVIDER": _claims_provider,
    "ROLES_SOURCE": _roles_source,
    "TIER_SOURCE": _tier_source,
    "DEFAULT_TIER": _default_tier,
    "FLAGS_SOURCE": _flags_source,
    "CLAIMS_TTL": _claims_ttl,
    "UPDATE_AGE": _update_age,
    "MAX_LIFETIME": _max_lifetime,
    "IDLE_TIMEOUT": _idle_timeout,
    "IMPERSONATE_SUPERUSERS": _impersonate_superusers,
    "LEEWAY": _leeway,
    "ISSUER": _claim_setting("ISSUER", "iss"),
    "AUDIENCE": _claim_setting("AUDIENCE", "aud"),
    "MAX_TOKEN_BYTES": _max_token_bytes,
    "CACHE_ALIAS": _cache_alias,
    "STATE_CACHE_TIMEOUT": _state_cache_timeout,
    "MARK_MODELS": _mark_models,
    "STATE_MEMO_SECONDS": _state_memo_seconds,
    "ON_CACHE_OUTAGE": _on_cache_outage,
    "CLIENT_IP_HEADER": _client_ip_header,
    "METRICS_FLUSH_SECONDS": _metrics_flush_seconds,
    "ACCEPT_FROM": _accept_from,
    "ROLE_HIERARCHY": _role_hierarchy,
    "TIER_ORDER": _tier_order,
    "SUPERUSER_HAS_ALL_ROLES": _superuser_has_all_roles,
    "MIRROR": _mirror,
    "MIRROR_HEALTH_SECONDS": _mirror_health_seconds,
    "MIRROR_MAX_ENTRIES": _mirror_max_entries,
    "CACHE_SOCKET_TIMEOUT": _cache_socket_timeout,
    "REPLAY_SECONDS": _replay_seconds,
    "HISTORY_RETENTION": _history_retention,
    "SESSION_LIMIT": _session_limit,
    "SESSION_LIMIT_POLICY": _session_limit_policy,
}


def test_every_setting_has_an_exercise() -> None:
    assert sorted(EXERCISES) == sorted(conf.DEFAULTS)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(conf.DEFAULTS))
def test_setting_takes_effect(
    name: str, configure: Configure, request: pytest.FixtureRequest
) -> None:
    EXERCISES[name](configure, request)


# -- invalid values name the key ------------------------------------------------------------
def _resolve_everything() -> None:
    conf.get_settings()
    get_key_ring()
    get_provider()


INVALID = [
    ("STRATEGY", "cookie"),
    ("STRATEGY", None),
    ("ALGORITHM", "none"),
    ("ALGORITHM", "hs256"),
    ("ALGORITHM", "RS512"),
    ("ALGORITHM", None),
    ("SECRET_KEYS", "a-single-string"),
    ("SECRET_KEYS", b"a-single-bytes"),
    ("SECRET_KEYS", ["ok-secret-0123456789abcdef0123456789", 3]),
    ("SECRET_KEYS", []),
    ("SECRET_KEYS", [""]),
    ("SECRET_KEYS", 123),
    ("SECRET_KEYS", {"a-secret-0123456789abcdef0123456789"}),
    ("PRIVATE_KEY", 12345),
    ("PUBLIC_KEYS", "-----BEGIN PUBLIC KEY-----"),
    ("PUBLIC_KEYS", [12345]),
    ("PUBLIC_KEYS", None),
    ("PUBLIC_KEYS", 12345),
    ("ENCRYPT", "false"),
    ("ENCRYPT", 1),
    ("CLAIMS_PROVIDER", "no.such.module.provider"),
    ("CLAIMS_PROVIDER", 5),
    ("ROLES_SOURCE", 5),
    ("TIER_SOURCE", 5),
    ("FLAGS_SOURCE", ["plan.flags"]),
    ("DEFAULT_TIER", 3),
    ("CLAIMS_TTL", -1),
    ("CLAIMS_TTL", "300"),
    ("CLAIMS_TTL", 1.5),
    ("CLAIMS_TTL", True),
    ("UPDATE_AGE", -1),
    ("UPDATE_AGE", None),
    ("MAX_LIFETIME", 59),
    ("IDLE_TIMEOUT", 59),
    ("IDLE_TIMEOUT", "1800"),
    ("IDLE_TIMEOUT", 1800.0),
    ("IDLE_TIMEOUT", True),
    ("IMPERSONATE_SUPERUSERS", "yes"),
    ("IMPERSONATE_SUPERUSERS", 1),
    ("LEEWAY", -1),
    ("ISSUER", 1),
    ("AUDIENCE", ["https://sessions.example"]),
    ("MAX_TOKEN_BYTES", 511),
    ("CACHE_ALIAS", None),
    ("STATE_CACHE_TIMEOUT", 0),
    ("STATE_MEMO_SECONDS", -1),
    ("MARK_MODELS", {"Plan": "user"}),
    ("MARK_MODELS", ["testapp.Plan"]),
    ("ON_CACHE_OUTAGE", "fail"),
    ("ON_CACHE_OUTAGE", None),
    ("CLIENT_IP_HEADER", "X-Forwarded-For"),
    ("CLIENT_IP_HEADER", ["HTTP_X_FORWARDED_FOR"]),
    ("METRICS_FLUSH_SECONDS", -1),
    ("ACCEPT_FROM", "jwt"),
    ("ACCEPT_FROM", ["no.such.engine"]),
    ("ACCEPT_FROM", ["django_jwtsession.backends.jwt"]),
    ("ACCEPT_FROM", ["django.contrib.sessions"]),
    ("ACCEPT_FROM", [3]),
    ("ROLE_HIERARCHY", {"admin": "editor"}),
    ("ROLE_HIERARCHY", ["admin"]),
    ("TIER_ORDER", "free,pro"),
    ("TIER_ORDER", ["free", "free"]),
    ("SUPERUSER_HAS_ALL_ROLES", "yes"),
    ("MIRROR", "yes"),
    ("MIRROR_HEALTH_SECONDS", 0),
    ("MIRROR_HEALTH_SECONDS", "1"),
    ("MIRROR_HEALTH_SECONDS", float("nan")),
    ("MIRROR_MAX_ENTRIES", 0),
    ("MIRROR_MAX_ENTRIES", 1.5),
    ("CACHE_SOCKET_TIMEOUT", -1),
    ("CACHE_SOCKET_TIMEOUT", True),
    ("REPLAY_SECONDS", None),
    ("HISTORY_RETENTION", -1),
    ("HISTORY_RETENTION", "30d"),
    ("SESSION_LIMIT", 0),
    ("SESSION_LIMIT", "2"),
    ("SESSION_LIMIT", True),
    ("SESSION_LIMIT", {"default": 0}),
    ("SESSION_LIMIT", {"roles": {"admin": -1}}),
    ("SESSION_LIMIT", {"roles": ["admin"]}),
    ("SESSION_LIMIT", {"tiers": {"pro": "10"}}),
    ("SESSION_LIMIT", {"role": {"admin": 1}}),
    ("SESSION_LIMIT_POLICY", "evict"),
    ("SESSION_LIMIT_POLICY", None),
]


def test_invalid_values_cover_every_setting() -> None:
    assert {name for name, _ in INVALID} == set(conf.DEFAULTS)


@pytest.mark.parametrize(("name", "value"), INVALID, ids=repr)
def test_invalid_value_names_the_key(configure: Configure, name: str, value: Any) -> None:
    asymmetric = {"ALGORITHM": "ES256", "PRIVATE_KEY": private_pem("p256")}
    if name == "PRIVATE_KEY" or (name == "PUBLIC_KEYS" and not isinstance(value, str)):
        configure(**asymmetric)
    configure(**{name: value})
    with pytest.raises(ImproperlyConfigured, match=rf"JWTSESSION\['{name}'\]"):
        _resolve_everything()


def test_unknown_key_is_named(configure: Configure) -> None:
    configure(ALGORITHMS=["HS256"])
    with pytest.raises(ImproperlyConfigured, match="ALGORITHMS"):
        conf.get_settings()


@pytest.mark.parametrize("value", ["HS256", ["ALGORITHM"], 1])
def test_setting_not_a_dict_is_named(settings: Any, value: Any) -> None:
    settings.JWTSESSION = value
    with pytest.raises(ImproperlyConfigured, match="JWTSESSION must be a dict"):
        conf.get_settings()


def test_missing_secret_key_is_named(settings: Any) -> None:
    settings.SECRET_KEY = ""
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        conf.get_settings()


def test_invalid_value_recovers_after_fix(configure: Configure) -> None:
    configure(CLAIMS_TTL=-1)
    with pytest.raises(ImproperlyConfigured):
        conf.get_settings()
    configure(CLAIMS_TTL=10)
    assert conf.get_settings().claims_ttl == 10


def test_secret_key_fallbacks_none_means_no_fallbacks(settings: Any) -> None:
    settings.SECRET_KEY_FALLBACKS = None  # override_settings skips Django's own validation
    assert conf.get_settings().secret_keys == (settings.SECRET_KEY.encode(),)
