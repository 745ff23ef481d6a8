"""Hostile input (issue 13): nothing the server did not issue is honoured, and no 500.

A validly signed token (or a stored db session) is still hostile input: a leaked key, a
bug, an old deployment. Each case below writes such a session — correctly signed
(and encrypted), or stored — and drives the public surface with it: the request is
anonymous and the cookie goes, under the jwt strategy, the jwt strategy with
``ENCRYPT`` and the db strategy.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import HASH_SESSION_KEY, get_user_model
from django.contrib.auth.models import User
from django.core.cache import caches
from django.test import Client, TestCase

from django_jwtsession import codec
from django_jwtsession.backends.table_storage import entry_key
from django_jwtsession.conf import get_settings
from django_jwtsession.keys import b64url_encode, get_key_ring
from django_jwtsession.models import SessionRecord
from django_jwtsession.revocation import mark_for_refresh, revoke_all, revoke_user
from tests.helpers import (
    PASSWORD,
    Configure,
    client_session_id,
    session_token,
    state_cache_key,
    token_payload,
    token_user_id,
)

pytestmark = pytest.mark.django_db
COOKIE = settings.SESSION_COOKIE_NAME
VARIANTS = ("jwt", "jwt-encrypted", "db")
Edit = Callable[[dict[str, Any]], str]
"""Turns a session's payload into the JSON text to store (identity and transport members)."""


@pytest.fixture(params=VARIANTS)
def variant(request: pytest.FixtureRequest, configure: Configure) -> str:
    name: str = request.param
    configure(STRATEGY="db" if name == "db" else "jwt", ENCRYPT=name == "jwt-encrypted")
    return name


@pytest.fixture
def signed_in(bob: User, variant: str) -> Client:
    client = Client()
    assert client.login(username="bob", password=PASSWORD)
    assert whoami(client)["username"] == "bob"
    return client


def whoami(client: Client) -> dict[str, Any]:
    response = client.get("/whoami/")
    assert response.status_code == 200, response.content[:300]
    data: dict[str, Any] = response.json()
    return data


def store(client: Client, edit: Edit, data: dict[str, Any] | None = None) -> None:
    """Store the client's session as ``edit`` writes it: a signed (and, with ENCRYPT,
    encrypted) token, or the db strategy's stored row and cache entry."""
    token = session_token(client)
    payload = token_payload(token)
    if data is not None:
        payload["dat"] = data
    if get_settings().strategy == "db":
        session_id = payload.pop("sid")
        stored = {"data": json.dumps(payload.pop("dat")), "meta": edit(payload)}
        SessionRecord.objects.filter(user__username="bob").update(**stored)
        entry = entry_key(session_id, "db", token_user_id(token))
        caches[get_settings().cache_alias].set(entry, stored)
        return
    ring = get_key_ring()
    header = {"alg": ring.algorithm, "typ": "JWT", "kid": ring.current.kid}
    client.cookies[COOKIE] = sign(json.dumps(header), edit(payload))


def sign(header_text: str, payload_text: str) -> str:
    ring = get_key_ring()
    segments = [b64url_encode(text.encode("utf-8", "surrogatepass")) for text in (header_text,)]
    segments.append(b64url_encode(payload_text.encode("utf-8", "surrogatepass")))
    signing_input = ".".join(segments)
    signature = ring.current.algorithm.sign(signing_input.encode("ascii"), ring.current.sign_key)
    token = f"{signing_input}.{b64url_encode(signature)}"
    if get_settings().encrypt:
        token = codec._encrypt(token, ring)
    return token


def assert_refused(client: Client) -> None:
    """The session endpoint and a view both answer anonymously, and the cookie goes."""
    api = Client()
    api.cookies[COOKIE] = client.cookies[COOKIE].value
    response = api.get("/api/session/")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["claims"] is None
    response = client.get("/whoami/")
    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    assert response.cookies[COOKIE]["max-age"] == 0


def replaced(**members: Any) -> Edit:
    return lambda payload: json.dumps({**payload, **members})


def raw(text: str) -> Edit:
    """Append raw members (``"name": value`` text) to the payload's JSON object."""
    return lambda payload: json.dumps(payload)[:-1] + "," + text + "}"


# -- claims and counters within what the server issues -------------------------------------------

ESCALATED = {
    "uid": "1",
    "un": "bob",
    "act": True,
    "stf": True,
    "su": True,
    "rol": ["admin"],
    "tir": "enterprise",
    "flg": [],
}
CASES: dict[str, Edit] = {
    "a duplicate clm (the last escalates)": raw('"clm": ' + json.dumps(ESCALATED)),
    "NaN in the claims": lambda p: (
        json.dumps(p).replace('"ext"', '"x"').replace('"tir":', '"ext": {"score": NaN}, "tir":')
    ),
    "Infinity in a counter": lambda p: json.dumps({**p, "mv": 0}).replace(
        '"mv": 0', '"mv": Infinity'
    ),
    "a lone surrogate in the username": lambda p: json.dumps(p).replace(
        '"un": "bob"', '"un": "bob\\ud800"'
    ),
    "cat = 2**64": replaced(cat=2**64),
    "cat = 1e12 (a float)": replaced(cat=1e12),
    "cat after iat": lambda p: json.dumps({**p, "cat": p["iat"] + 60}),
    "cat before sat": lambda p: json.dumps({**p, "cat": p["sat"] - 60}),
    "aat after iat": lambda p: json.dumps({**p, "aat": p["iat"] + 60}),
    "aat before sat": lambda p: json.dumps({**p, "aat": p["sat"] - 60}),
    "aat = 2**64": replaced(aat=2**64),
    "aat a float": lambda p: json.dumps({**p, "aat": float(p["iat"])}),
    "aat a string": lambda p: json.dumps({**p, "aat": str(p["iat"])}),
    "aat null": replaced(aat=None),
    "a counter over 64 bits": replaced(mv=2**64),
    "no tier member": lambda p: json.dumps({**p, "clm": {**p["clm"], "tir": None}}).replace(
        '"tir": null, ', ""
    ),
    "no mark version": lambda p: json.dumps({k: v for k, v in p.items() if k != "mv"}),
    "claim members without claims": lambda p: json.dumps(
        {k: v for k, v in p.items() if k != "clm"}
    ),
}


# -- the actor of an impersonated session (``act``): as strict as every identity member ------------


def act(p: dict[str, Any], **members: Any) -> dict[str, Any]:
    """A well-formed ``act`` for the session ``p``, with ``members`` changed."""
    valid = {
        "sub": "999999",
        "un": "root",
        "sat": p["sat"],
        "aat": p["sat"],
        "rev": 0,
        "bk": "django.contrib.auth.backends.ModelBackend",
        "hsh": "0" * 64,
    }
    return {**valid, **members}


def with_act(**members: Any) -> Edit:
    return lambda p: json.dumps({**p, "act": act(p, **members)})


ACT_CASES: dict[str, Edit] = {
    "act null": replaced(act=None),
    "act a list": replaced(act=[]),
    "act a string": replaced(act="999999"),
    "act without sub": lambda p: json.dumps(
        {**p, "act": {k: v for k, v in act(p).items() if k != "sub"}}
    ),
    "act with an extra member": lambda p: json.dumps({**p, "act": {**act(p), "dat": {}}}),
    "act.sub the session's own user": lambda p: json.dumps(
        {**p, "act": act(p, sub=p["clm"]["uid"])}
    ),
    "act.sub an integer": with_act(sub=999999),
    "act.sub empty": with_act(sub=""),
    "act.sub too long": with_act(sub="9" * 256),
    "act.sub with a control character": with_act(sub="99\n9"),
    "act.un not a string": with_act(un=None),
    "act.sat after the session's start": lambda p: json.dumps(
        {**p, "act": act(p, sat=p["sat"] + 60, aat=p["sat"] + 60)}
    ),
    "act.aat before act.sat": lambda p: json.dumps(
        {**p, "act": act(p, sat=p["sat"] - 60, aat=p["sat"] - 120)}
    ),
    "act.aat after the session's start": lambda p: json.dumps(
        {**p, "act": act(p, aat=p["sat"] + 1)}
    ),
    "act.sat negative": with_act(sat=-1),
    "act.sat a float": lambda p: json.dumps({**p, "act": act(p, sat=float(p["sat"]))}),
    "act.rev a boolean": with_act(rev=True),
    "act.rev over 64 bits": with_act(rev=2**64),
    "act.bk empty": with_act(bk=""),
    "act.hsh too long": with_act(hsh="0" * 129),
    "act.hsh not a string": with_act(hsh=0),
    "act without claims": lambda p: json.dumps(
        {**{k: v for k, v in p.items() if k not in ("clm",)}, "act": act(p)}
    ),
    "a duplicate act (the last one counts)": lambda p: (
        json.dumps({**p, "act": act(p)})[:-1] + ', "act": ' + json.dumps(act(p, sub="1")) + "}"
    ),
}
CASES.update(ACT_CASES)


def test_a_well_formed_act_is_read(signed_in: Client) -> None:
    """The control for the ``act`` cases: the same member, well formed, is honoured."""
    store(signed_in, lambda p: json.dumps({**p, "act": act(p)}))
    answer = whoami(signed_in)
    assert answer["username"] == "bob"
    assert answer["impersonator"] == "999999"


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_session_the_server_could_not_have_issued_is_refused(
    signed_in: Client, case: str
) -> None:
    store(signed_in, CASES[case])
    assert_refused(signed_in)


def test_session_data_without_the_auth_hash_is_refused(signed_in: Client) -> None:
    data = {k: v for k, v in signed_in.session.items() if k != HASH_SESSION_KEY}
    store(signed_in, json.dumps, data)
    assert_refused(signed_in)


def test_a_session_without_a_hash_key_has_its_auth_hash_checked_now(
    signed_in: Client, bob: User
) -> None:
    """Sessions issued before ``hk`` existed keep working: their auth hash is verified on
    their next request (a refresh), and a session whose hash no longer verifies ends."""
    store(signed_in, lambda p: json.dumps({k: v for k, v in p.items() if k != "hk"}))
    assert whoami(signed_in)["username"] == "bob"
    assert token_payload(session_token(signed_in))["hk"]  # re-issued with one
    store(signed_in, lambda p: json.dumps({k: v for k, v in p.items() if k != "hk"}))
    get_user_model().objects.filter(pk=bob.pk).update(password="!changed-behind-the-signals")
    assert_refused(signed_in)


@pytest.mark.parametrize("counter", ["rev", "gre", "mv"])
def test_counters_above_the_servers_are_refused(signed_in: Client, counter: str) -> None:
    store(signed_in, replaced(**{counter: 10**9}))
    assert_refused(signed_in)


@pytest.mark.parametrize("revoke", ["user", "all"])
def test_a_high_epoch_does_not_survive_a_revocation(
    signed_in: Client, bob: User, revoke: str
) -> None:
    """Epochs far ahead of the server's would once have outlived revoke_user()/revoke_all()."""
    store(signed_in, replaced(rev=10**9, gre=10**9))
    with TestCase.captureOnCommitCallbacks(execute=True):
        revoke_user(bob) if revoke == "user" else revoke_all()
    assert_refused(signed_in)


def test_a_legitimately_newer_epoch_is_not_refused_by_a_stale_cache(
    signed_in: Client, bob: User
) -> None:
    """A session started after a revocation carries the new epoch; a cache that still has
    the old one is asked again at the database, not believed."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        revoke_user(bob)
    client = Client()
    assert client.login(username="bob", password=PASSWORD)  # started under the new epoch
    caches[get_settings().cache_alias].clear()
    from django_jwtsession.keyspace import epoch_key

    caches[get_settings().cache_alias].set(state_cache_key(epoch_key(bob.pk)), 0)  # stale
    assert whoami(client)["username"] == "bob"


def test_marks_apply_to_a_session_with_a_high_mark_version(signed_in: Client, bob: User) -> None:
    store(signed_in, replaced(mv=10**9))
    with TestCase.captureOnCommitCallbacks(execute=True):
        mark_for_refresh(bob)
    assert_refused(signed_in)


@pytest.mark.parametrize("variant", ["jwt", "jwt-encrypted"], indirect=True)
def test_a_lone_surrogate_in_the_session_id_is_refused(signed_in: Client) -> None:
    lone = '"sid": "\\ud800' + "s" * 31 + '"'
    store(signed_in, lambda p: json.dumps(p).replace(f'"sid": "{p["sid"]}"', lone))
    assert_refused(signed_in)


@pytest.mark.parametrize("variant", ["jwt", "jwt-encrypted"], indirect=True)
def test_a_duplicate_session_id_is_refused(signed_in: Client) -> None:
    store(signed_in, raw('"sid": "' + "t" * 32 + '"'))
    assert_refused(signed_in)


@pytest.mark.parametrize("variant", ["jwt", "jwt-encrypted"], indirect=True)
@pytest.mark.parametrize(
    "header",
    [
        '{"alg": "HS256", "kid": "%(kid)s"}',
        '{"alg": "HS256", "typ": "JWT", "kid": "%(kid)s", "alg": "none"}',
        '{"alg": "none", "typ": "JWT", "kid": "%(kid)s", "alg": "HS256"}',
        '{"alg": "HS256", "typ": "JWT", "typ": "JWT", "kid": "%(kid)s"}',
    ],
    ids=["no typ", "duplicate alg", "duplicate alg (ours last)", "duplicate typ"],
)
def test_a_header_the_server_does_not_write_is_refused(signed_in: Client, header: str) -> None:
    payload = token_payload(session_token(signed_in))
    header_text = header % {"kid": get_key_ring().current.kid}
    signed_in.cookies[COOKIE] = sign(header_text, json.dumps(payload))
    assert_refused(signed_in)


def test_the_session_still_works_untouched(signed_in: Client) -> None:
    """The edits above are what is refused: the same session re-stored as is is not."""
    before = client_session_id(signed_in)
    store(signed_in, json.dumps)
    assert whoami(signed_in)["username"] == "bob"
    assert client_session_id(signed_in) == before


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), "\ud800"], ids=["nan", "inf", "lone"]
)
@pytest.mark.django_db
def test_session_data_json_cannot_carry_back_is_refused_at_save(value: Any, strategy: str) -> None:
    """A session is never written that could not be read back: the save fails, loudly."""
    from django_jwtsession.backends.session import SessionStore

    store = SessionStore()
    store["x"] = value
    with pytest.raises(ValueError, match="session data holds"):
        store.save()
