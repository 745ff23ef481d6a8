"""Redis Cluster (``contrib.cluster``) against a real three-primary cluster (tests/cluster.py).

The cache is django-redis with the package's ``ClusterClient``. Signed-in requests of both
strategies are served from it: the state check is ONE command (an ``MGET``) on the node of the
user's hash slot, counted by the nodes themselves (``INFO commandstats``); revocations and marks
of every scope are honoured on the next request, whichever node holds the user; a node killed
is an outage for the sessions whose keys it holds (the outage policy applies, no 500), and for
those only when the cluster serves partial coverage.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from redis.connection import SSLConnection

from django_jwtsession import (
    keyspace,
    listener,
    metrics,
    redis_link,
    revocation as revocation_module,
)
from django_jwtsession.backends.table_storage import entry_key
from django_jwtsession.contrib import cluster
from django_jwtsession.models import SessionRecord, StateEntry
from django_jwtsession.revocation import mark_for_refresh, revoke_all, revoke_session, revoke_user
from tests.cluster import (
    RedisClusterNodes,
    client,
    cluster_cache,
    commands_between,
    forget_clients,
    shared,
)
from tests.helpers import (
    PASSWORD,
    Configure,
    make_user,
    session_token,
    state_cache_key,
    token_session_id,
    token_user_id,
)
from tests.testapp.models import Plan

pytestmark = pytest.mark.django_db(transaction=True)
COOKIE = django_settings.SESSION_COOKIE_NAME


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """One cluster for the module's tests that leave it whole (each starts it flushed):
    ``.ci/run``'s when it names one (``tests.cluster.shared``)."""
    started = shared(tmp_path_factory.mktemp("cluster"))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def on_cluster(settings: Any, nodes: RedisClusterNodes) -> RedisClusterNodes:
    settings.CACHES = {**settings.CACHES, "default": cluster_cache(nodes)}
    caches["default"].clear()  # FLUSHDB on every primary
    return nodes


@pytest.fixture
def own_cluster(settings: Any, tmp_path: Path) -> Iterator[RedisClusterNodes]:
    """A cluster of this test's own (it kills a node), serving partial coverage."""
    started = RedisClusterNodes(tmp_path)
    try:
        started.start()
        settings.CACHES = {**settings.CACHES, "default": cluster_cache(started)}
        yield started
    finally:
        forget_clients()
        started.stop()


def login(username: str) -> str:
    browser = Client()
    assert browser.login(username=username, password=PASSWORD)
    return session_token(browser)


def whoami(token: str) -> dict[str, Any]:
    browser = Client(raise_request_exception=True)
    browser.cookies[COOKIE] = token
    response = browser.get("/whoami/")
    assert response.status_code == 200, response.content[:300]
    answer: dict[str, Any] = response.json()
    return answer


def username(token: str) -> str | None:
    answer = whoami(token)
    return answer["username"] if answer["authenticated"] else None


def redis_key(name: str) -> str:
    """The Redis key of a cache key (the cache's KEY_PREFIX and VERSION)."""
    return str(caches["default"].make_key(name))


def node_port(nodes: RedisClusterNodes, user_id: object) -> int:
    """The node that holds the user's state entries."""
    _, names = keyspace.state_entries(str(user_id), None)
    return nodes.node_of(redis_key(names[0])).port


def users_on_every_node(nodes: RedisClusterNodes) -> dict[int, Any]:
    """One user per node (by the node of the user's tag): ``{port: user}``."""
    found: dict[int, Any] = {}
    for index in range(60):
        user = make_user(f"user{index}", tier="free")
        found.setdefault(node_port(nodes, user.pk), user)
        if len(found) == len(nodes.nodes):
            return found
    raise AssertionError("no user landed on some node")


# -- one command per state check -----------------------------------------------------------------


def test_a_state_check_is_one_mget_on_the_node_of_the_user(
    on_cluster: RedisClusterNodes, strategy: str, cache_calls: list[str]
) -> None:
    bob = make_user("bob")
    token = login("bob")
    assert username(token) == "bob"  # the first request may refill entries
    user_id, session_id = token_user_id(token), token_session_id(token)
    assert user_id == str(bob.pk)
    _, names = keyspace.state_entries(user_id, session_id)
    if strategy == "db":  # the session's own entry, read in the same MGET
        names.append(entry_key(session_id, "db", user_id))
        assert isinstance(caches["default"].get(names[-1]), dict)
    with client(on_cluster.nodes[0].port) as node:
        slots = {node.execute_command("CLUSTER", "KEYSLOT", redis_key(name)) for name in names}
    assert len(slots) == 1, names

    before = on_cluster.commands()
    cache_calls.clear()
    with CaptureQueriesContext(connection) as queries:
        assert username(token) == "bob"
    ran = commands_between(before, on_cluster.commands())
    assert len(queries) == 0
    assert cache_calls == ["get_many"]
    assert ran == {(node_port(on_cluster, bob.pk), "mget"): 1}  # one command, one node


def test_a_slot_moved_to_another_node_is_followed(
    on_cluster: RedisClusterNodes, strategy: str
) -> None:
    """Resharding moves the user's slot: the first read after it is redirected (MOVED, followed
    by redis-py, which patches its slot map), the next is one MGET on the new node."""
    bob = make_user("bob")
    token = login("bob")
    assert username(token) == "bob"
    assert username(token) == "bob"  # cached on the node of bob's slot
    _, names = keyspace.state_entries(str(bob.pk), None)
    old = on_cluster.node_of(redis_key(names[0]))
    new = next(node for node in on_cluster.nodes if node is not old)
    on_cluster.move_slot(redis_key(names[0]), new)
    with CaptureQueriesContext(connection) as queries:
        assert username(token) == "bob"  # redirected
    assert len(queries) == 0  # the entries moved with the slot
    before = on_cluster.commands()
    assert username(token) == "bob"
    assert commands_between(before, on_cluster.commands()) == {(new.port, "mget"): 1}


def test_the_pushed_mirror_does_not_run_on_a_cluster(
    on_cluster: RedisClusterNodes, configure: Configure
) -> None:
    """The mirror is off (no link, no listener), and W012 says so until MIRROR is False."""
    from django.core.checks import run_checks

    def ours() -> set[str]:
        return {m.id or "" for m in run_checks() if (m.id or "").startswith("jwtsession.")}

    configure(MIRROR=True)
    make_user("bob")
    assert username(login("bob")) == "bob"
    assert redis_link.link() is None
    assert listener.status()["running"] is False
    assert ours() == {"jwtsession.W012"}
    configure(MIRROR=False)
    assert ours() == set()


def test_braces_in_the_key_prefix_are_reported(
    settings: Any, on_cluster: RedisClusterNodes
) -> None:
    """A KEY_PREFIX with a brace moves the part Redis hashes: W013 counts the slots."""
    from django.core.checks import run_checks

    settings.CACHES = {
        **settings.CACHES,
        "default": {**cluster_cache(on_cluster), "KEY_PREFIX": "a{b"},
    }
    ids = {m.id for m in run_checks() if (m.id or "").startswith("jwtsession.W013")}
    assert ids == {"jwtsession.W013"}


# -- revocations and marks ------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["session", "user", "mark", "all"])
def test_revocations_and_marks_are_honoured_on_the_next_request(
    on_cluster: RedisClusterNodes, strategy: str, scope: str
) -> None:
    """Users on every node: the one acted on (on each node in turn) and the others."""
    users = users_on_every_node(on_cluster)
    tokens = {port: login(user.username) for port, user in users.items()}
    for port, token in tokens.items():
        assert username(token) == users[port].username
        assert username(token) == users[port].username  # now from the cache
    for target in users:
        user, token = users[target], tokens[target]
        if scope == "session":
            public_id = keyspace.session_hash(token_session_id(token))
            assert revoke_session(public_id) is True
            # its user found in its record: the revocation is cached in the user's slot
            name = state_cache_key(keyspace.revoked_key(public_id), user.pk)
            assert caches["default"].get(name) == 1
        elif scope == "user":
            revoke_user(user)
        elif scope == "mark":
            Plan.objects.filter(user=user).update(tier="enterprise")  # no signal: marked below
            mark_for_refresh(user)
        else:
            revoke_all()
        for port, other in tokens.items():
            answer = whoami(other)
            if scope == "all" or (scope != "mark" and port == target):
                assert answer == {"authenticated": False}, (scope, port)
            elif scope == "mark" and port == target:
                assert answer["tier"] == "enterprise"
            else:
                assert answer["authenticated"] is True, (scope, port)
        if scope == "all":
            return
        if scope != "mark":  # sign the user in again for the next round
            tokens[target] = login(user.username)


def test_revoke_all_writes_the_global_epoch_in_every_slot(on_cluster: RedisClusterNodes) -> None:
    revoke_all()
    copies = keyspace.every_tag(keyspace.GLOBAL_EPOCH)
    assert len(copies) == keyspace.TAGS
    found = caches["default"].get_many(copies)
    assert len(found) == keyspace.TAGS
    assert set(found.values()) == {1}


def test_a_session_with_no_record_is_revoked_under_every_tag(
    on_cluster: RedisClusterNodes, strategy: str
) -> None:
    """Its user is unknown to the writer: its cached "not revoked" is deleted under every tag,
    so the next request reads the database, which has the revocation."""
    make_user("bob")
    token = login("bob")
    assert username(token) == "bob"
    assert username(token) == "bob"  # from the cache: "not revoked" is cached
    public_id = keyspace.session_hash(token_session_id(token))
    if strategy == "jwt":  # a db session's record is the session itself
        SessionRecord.objects.filter(session_hash=public_id).delete()
    else:
        SessionRecord.objects.filter(session_hash=public_id).update(user=None)
    revoke_session(public_id)
    assert StateEntry.objects.get(key=f"s:{public_id}").version == 1
    assert username(token) is None


# -- the cluster as a cache ----------------------------------------------------------------------


def test_the_client_serves_the_cache_api_across_slots(on_cluster: RedisClusterNodes) -> None:
    cache = caches["default"]
    values = {f"key-{n}": n for n in range(50)}  # spread over the three nodes
    cache.set_many(values, 60)
    assert cache.get_many([*values, "missing"]) == values
    assert cache.add("key-0", "other") is False
    assert cache.get("key-0") == 0
    assert cache.incr("key-1", 5) == 6
    cache.delete_many(list(values)[:25])
    assert len(cache.get_many(list(values))) == 25
    metrics.count("decode.ok", 3, strategy="jwt")  # flushed with incr, read with get_many
    metrics.flush()
    assert metrics.running_totals()[("decode.ok", "jwt")] >= 3
    cache.clear()
    assert on_cluster.keys() == 0


def test_configurations_that_would_read_replicas_are_refused() -> None:
    for refused in ({"read_from_replicas": True}, {"load_balancing_strategy": object()}):
        options = {"REDIS_CLIENT_KWARGS": refused}
        with pytest.raises(ImproperlyConfigured, match="primaries only"):
            cluster.cluster_kwargs(["redis://127.0.0.1:7000"], options)
    with pytest.raises(ImproperlyConfigured, match="only database 0"):
        cluster.cluster_kwargs(["redis://127.0.0.1:7000/3"], {})


def test_every_location_is_a_startup_node_with_the_first_ones_credentials(
    configure: Configure,
) -> None:
    configure(CACHE_SOCKET_TIMEOUT=0.3)
    kwargs = cluster.cluster_kwargs(
        ["rediss://app:secret@10.0.0.1:7000/0", "rediss://10.0.0.2:7001"], {"SOCKET_TIMEOUT": 2}
    )
    nodes = [(node.host, node.port) for node in kwargs.pop("startup_nodes")]
    assert nodes == [("10.0.0.1", 7000), ("10.0.0.2", 7001)]
    assert (kwargs["username"], kwargs["password"]) == ("app", "secret")
    assert issubclass(kwargs["connection_class"], SSLConnection)
    assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"]) == (2, 0.3)


def test_a_cluster_nobody_answers_is_an_outage(settings: Any, strategy: str) -> None:
    """No node answers the first connection: a ConnectionError (IGNORE_EXCEPTIONS: a miss),
    and signed-in requests take the outage policy (the default reads the database)."""
    dead = "redis://127.0.0.1:1"
    settings.CACHES = {
        **settings.CACHES,
        "default": {**cluster_cache_at(dead)},
        "ignoring": {
            **cluster_cache_at(dead),
            "OPTIONS": {**cluster_cache_at(dead)["OPTIONS"], "IGNORE_EXCEPTIONS": True},
        },
    }
    from redis.exceptions import ConnectionError as RedisConnectionError

    with pytest.raises(RedisConnectionError):
        caches["default"].get("anything")
    assert caches["ignoring"].get("anything") is None
    make_user("bob")
    assert username(login("bob")) == "bob"


def cluster_cache_at(location: str) -> dict[str, Any]:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": location,
        "OPTIONS": {"CLIENT_CLASS": cluster.__name__ + ".ClusterClient"},
    }


# -- a node killed -------------------------------------------------------------------------------


def test_a_killed_node_is_an_outage_for_its_users_only(
    own_cluster: RedisClusterNodes, strategy: str, configure: Configure
) -> None:
    users = users_on_every_node(own_cluster)
    victim_port, *others = list(users)
    victim = users[victim_port]
    kept, revoked_before, revoked_during = (login(victim.username) for _ in range(3))
    survivors = {port: login(users[port].username) for port in others}
    revoke_session(keyspace.session_hash(token_session_id(revoked_before)))
    for token in (kept, revoked_during, *survivors.values()):
        assert username(token) is not None
    assert username(revoked_before) is None

    next(node for node in own_cluster.nodes if node.port == victim_port).kill()
    # ON_CACHE_OUTAGE = "database" (the default): the victim's sessions read the database.
    assert username(kept) == victim.username
    assert username(revoked_before) is None
    revoke_session(keyspace.session_hash(token_session_id(revoked_during)))
    assert username(revoked_during) is None  # revoked while its node is down
    assert username(login(victim.username)) == victim.username  # signing in works
    revocation_module._unmirrored.clear()  # this process would retry its copy after each request
    for port, token in survivors.items():  # the other nodes still answer: no query
        with CaptureQueriesContext(connection) as queries:
            assert username(token) == users[port].username
        assert len(queries) == 0

    configure(ON_CACHE_OUTAGE="refuse")
    browser = Client(raise_request_exception=True)
    browser.cookies[COOKIE] = kept
    response = browser.get("/whoami/")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    assert COOKIE not in response.cookies  # refused for now, not ended: the cookie stays
    assert username(revoked_during) is None
    for port, token in survivors.items():
        assert username(token) == users[port].username


@pytest.mark.strategies("jwt")
def test_with_full_coverage_a_dead_node_takes_the_whole_cluster_down(
    settings: Any, tmp_path: Path, strategy: str
) -> None:
    """Redis's default, cluster-require-full-coverage yes: once the node is marked failed,
    every node refuses every key (CLUSTERDOWN), so every session takes the outage policy."""
    nodes = RedisClusterNodes(tmp_path, full_coverage=True)
    nodes.start()
    try:
        settings.CACHES = {**settings.CACHES, "default": cluster_cache(nodes)}
        users = users_on_every_node(nodes)
        tokens = {port: login(user.username) for port, user in users.items()}
        victim_port = next(iter(users))
        next(node for node in nodes.nodes if node.port == victim_port).kill()
        live = next(node for node in nodes.nodes if node.port != victim_port)
        deadline = time.monotonic() + 10
        while (
            "cluster_state:fail"
            not in client(live.port).execute_command("CLUSTER", "INFO").decode()
        ):
            assert time.monotonic() < deadline, "the cluster was not marked down"
            time.sleep(0.05)
        for port, token in tokens.items():
            with CaptureQueriesContext(connection) as queries:
                assert username(token) == users[port].username  # the database answers
            assert len(queries) >= 1
    finally:
        forget_clients()
        nodes.stop()
