"""The key ring: HKDF-derived HMAC keys, rotation, asymmetric keys, kids and JWKS."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import get_default_algorithms

from django_jwtsession import codec
from django_jwtsession.derived import clear_derived
from django_jwtsession.exceptions import BadSignature, DisallowedHeader, UnknownKey
from django_jwtsession.keys import get_key_ring, jwk_thumbprint
from tests.helpers import Configure, b64, unb64
from tests.keyfiles import private_key, private_pem, public_pem

OLD_SECRET = "old-secret-key-0b9e3c1d7a4f8e2b6c5d0a9f3e7b1c4d"
NEW_SECRET = "new-secret-key-7d2a9c4e1f6b3a8d0e5c2b7f4a9d1e6c"
OTHER_SECRET = "other-secret-key-3c8f1a6d9b2e7c4a0f5d8b3e6a1c9f2d"


ASYMMETRIC = [
    pytest.param("ES256", "p256", id="ES256"),
    pytest.param("ES384", "p384", id="ES384"),
    pytest.param("EdDSA", "ed25519", id="EdDSA-Ed25519"),
    pytest.param("EdDSA", "ed448", id="EdDSA-Ed448"),
    pytest.param("RS256", "rsa2048", id="RS256"),
]


def payload(**overrides: Any) -> dict[str, Any]:
    """A valid payload at the real current time (pyjwt checks exp/iat against the clock)."""
    now = int(time.time())
    return {"sid": "s" * 32, "iat": now, "exp": now + 3600, "sat": now, "dat": {}, **overrides}


def token_header(token: str) -> dict[str, Any]:
    return json.loads(unb64(token.split(".")[0]))  # type: ignore[no-any-return]


def hkdf(secret: str, info: bytes, length: int) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=b"django-jwtsession", info=info
    ).derive(secret.encode())


# -- HMAC keys ----------------------------------------------------------------------
def test_hmac_keys_differ_per_purpose_and_algorithm(configure: Configure) -> None:
    keys: dict[str, bytes] = {}
    for algorithm, length in (("HS256", 32), ("HS384", 48), ("HS512", 64)):
        configure(ALGORITHM=algorithm)
        ring = get_key_ring()
        assert ring.algorithm == algorithm
        assert len(ring.current.sign_key) == length
        keys[algorithm] = ring.current.sign_key
        keys[f"encryption-under-{algorithm}"] = ring.current_encryption.key
    signing = [keys["HS256"], keys["HS384"], keys["HS512"]]
    encryption = keys["encryption-under-HS256"]
    assert len(encryption) == 32
    assert len(set(signing)) == 3
    assert not any(longer.startswith(keys["HS256"]) for longer in signing[1:])
    assert encryption not in signing
    # The encryption key does not depend on the signing algorithm.
    assert keys["encryption-under-HS384"] == keys["encryption-under-HS512"] == encryption


def test_keys_are_not_the_secret() -> None:
    from django.conf import settings

    ring = get_key_ring()
    secret = settings.SECRET_KEY.encode()
    for key in (ring.current.sign_key, ring.current_encryption.key):
        assert key != secret
        assert key not in secret
        assert secret[:16] not in key


def test_tokens_verify_with_plain_pyjwt_under_the_hkdf_key() -> None:
    """The derivation is standard HKDF-SHA256: another service sharing SECRET_KEY can verify."""
    from django.conf import settings

    token = codec.encode(payload())
    key = hkdf(settings.SECRET_KEY, b"jws:HS256", 32)
    assert jwt.decode(token, key, algorithms=["HS256"])["sid"] == "s" * 32


def test_kid_is_stable_and_not_the_key(configure: Configure) -> None:
    ring = get_key_ring()
    kid, encryption_kid = ring.current.kid, ring.current_encryption.kid
    clear_derived()
    assert get_key_ring() is not ring
    assert get_key_ring().current.kid == kid
    assert get_key_ring().current_encryption.kid == encryption_kid
    assert kid != encryption_kid
    for key in (ring.current.sign_key, ring.current_encryption.key):
        assert kid not in (b64(key), key.hex())
        assert b64(key)[:8] not in kid
        assert key.hex()[:8] not in kid
    assert token_header(codec.encode(payload()))["kid"] == kid
    configure(SECRET_KEYS=[OTHER_SECRET])
    assert get_key_ring().current.kid != kid


def test_kid_differs_per_algorithm(configure: Configure) -> None:
    kids = set()
    for algorithm in ("HS256", "HS384", "HS512"):
        configure(ALGORITHM=algorithm)
        kids.add(get_key_ring().current.kid)
    assert len(kids) == 3


# -- rotation ---------------------------------------------------------------------------
def test_secret_key_fallback_verifies_and_marks_stale(settings: Any) -> None:
    settings.SECRET_KEY = OLD_SECRET
    settings.SECRET_KEY_FALLBACKS = []
    old_token = codec.encode(payload())
    settings.SECRET_KEY = NEW_SECRET
    settings.SECRET_KEY_FALLBACKS = [OLD_SECRET]
    decoded = codec.decode(old_token)
    assert decoded.payload["sid"] == "s" * 32
    assert decoded.stale_key is True
    new_token = codec.encode(payload())
    assert token_header(new_token)["kid"] != token_header(old_token)["kid"]
    assert codec.decode(new_token).stale_key is False


def test_secret_key_fallback_verifies_encrypted_tokens(settings: Any, configure: Configure) -> None:
    configure(ENCRYPT=True)
    settings.SECRET_KEY = OLD_SECRET
    old_token = codec.encode(payload())
    settings.SECRET_KEY = NEW_SECRET
    settings.SECRET_KEY_FALLBACKS = [OLD_SECRET]
    assert codec.decode(old_token).stale_key is True
    assert codec.decode(codec.encode(payload())).stale_key is False


def test_token_signed_with_key_outside_the_ring_refused(settings: Any) -> None:
    settings.SECRET_KEY = OTHER_SECRET
    foreign = codec.encode(payload())
    settings.SECRET_KEY = NEW_SECRET
    settings.SECRET_KEY_FALLBACKS = [OLD_SECRET]
    with pytest.raises(UnknownKey):
        codec.decode(foreign)


def test_dropped_fallback_no_longer_verifies(settings: Any) -> None:
    settings.SECRET_KEY = OLD_SECRET
    old_token = codec.encode(payload())
    settings.SECRET_KEY = NEW_SECRET
    settings.SECRET_KEY_FALLBACKS = [OLD_SECRET]
    assert codec.decode(old_token).stale_key is True
    settings.SECRET_KEY_FALLBACKS = []
    with pytest.raises(UnknownKey):
        codec.decode(old_token)


def test_forged_token_with_a_ring_kid_refused(settings: Any) -> None:
    settings.SECRET_KEY = OTHER_SECRET
    foreign = codec.encode(payload())
    settings.SECRET_KEY = NEW_SECRET
    header = b64(
        json.dumps({"alg": "HS256", "typ": "JWT", "kid": get_key_ring().current.kid}).encode()
    )
    body, signature = foreign.split(".")[1:]
    # Re-sign the new header with the foreign key: right kid, wrong key.
    foreign_key = hkdf(OTHER_SECRET, b"jws:HS256", 32)
    signature = b64(hmac.new(foreign_key, f"{header}.{body}".encode(), hashlib.sha256).digest())
    with pytest.raises(BadSignature):
        codec.decode(f"{header}.{body}.{signature}")


def test_secret_keys_setting_overrides_secret_key(settings: Any, configure: Configure) -> None:
    django_token = codec.encode(payload())
    configure(SECRET_KEYS=[NEW_SECRET, OLD_SECRET])
    with pytest.raises(UnknownKey):
        codec.decode(django_token)
    token = codec.encode(payload())
    settings.SECRET_KEY = OTHER_SECRET
    settings.SECRET_KEY_FALLBACKS = [OTHER_SECRET]
    assert codec.decode(token).stale_key is False
    configure(SECRET_KEYS=[OLD_SECRET])
    old_token = codec.encode(payload())
    configure(SECRET_KEYS=[NEW_SECRET, OLD_SECRET])
    assert codec.decode(old_token).stale_key is True


def test_secret_keys_accept_bytes(configure: Configure) -> None:
    configure(SECRET_KEYS=[NEW_SECRET])
    token = codec.encode(payload())
    configure(SECRET_KEYS=[NEW_SECRET.encode()])
    assert codec.decode(token).stale_key is False


# -- asymmetric keys -----------------------------------------------------------------------
@pytest.mark.parametrize(("algorithm", "kind"), ASYMMETRIC)
def test_asymmetric_round_trip(configure: Configure, algorithm: str, kind: str) -> None:
    configure(ALGORITHM=algorithm, PRIVATE_KEY=private_pem(kind))
    claims = payload(dat={"k": "v"})
    token = codec.encode(claims)
    decoded = codec.decode(token)
    assert decoded.payload == claims
    assert decoded.stale_key is False
    header = token_header(token)
    assert header["alg"] == algorithm
    assert header["kid"] == get_key_ring().current.kid
    # Verifiable from outside with nothing but the public key.
    assert jwt.decode(token, public_pem(kind), algorithms=[algorithm]) == claims


@pytest.mark.parametrize(("algorithm", "kind"), ASYMMETRIC)
def test_old_public_key_verifies_and_marks_stale(
    configure: Configure, algorithm: str, kind: str
) -> None:
    configure(ALGORITHM=algorithm, PRIVATE_KEY=private_pem(kind, 0))
    old_token = codec.encode(payload())
    configure(PRIVATE_KEY=private_pem(kind, 1), PUBLIC_KEYS=[])
    with pytest.raises(UnknownKey):
        codec.decode(old_token)
    configure(PUBLIC_KEYS=[public_pem(kind, 0)])
    assert codec.decode(old_token).stale_key is True
    new_token = codec.encode(payload())
    assert token_header(new_token)["kid"] != token_header(old_token)["kid"]
    assert codec.decode(new_token).stale_key is False


def test_public_keys_may_be_given_as_private_pem(configure: Configure) -> None:
    configure(ALGORITHM="ES256", PRIVATE_KEY=private_pem("p256", 0))
    old_token = codec.encode(payload())
    configure(PRIVATE_KEY=private_pem("p256", 1), PUBLIC_KEYS=[private_pem("p256", 0)])
    assert codec.decode(old_token).stale_key is True
    # ... but a verify-only key never signs.
    assert token_header(codec.encode(payload()))["kid"] != token_header(old_token)["kid"]


def test_asymmetric_kid_is_rfc7638_thumbprint() -> None:
    """RFC 7638 §3.1 example key and thumbprint."""
    n = (
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
        "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI"
        "4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    )
    public = rsa.RSAPublicNumbers(65537, int.from_bytes(unb64(n), "big")).public_key()
    thumbprint = jwk_thumbprint(get_default_algorithms()["RS256"], public)
    assert thumbprint == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


@pytest.mark.parametrize(("algorithm", "kind"), ASYMMETRIC)
def test_asymmetric_kid_is_thumbprint_of_the_public_key(
    configure: Configure, algorithm: str, kind: str
) -> None:
    configure(ALGORITHM=algorithm, PRIVATE_KEY=private_pem(kind))
    public = private_key(kind).public_key()
    assert get_key_ring().current.kid == jwk_thumbprint(get_default_algorithms()[algorithm], public)


def test_rsa_under_2048_bits_refused(configure: Configure) -> None:
    configure(ALGORITHM="RS256", PRIVATE_KEY=private_pem("rsa1024"))
    with pytest.raises(ImproperlyConfigured, match=r"PRIVATE_KEY.*2048"):
        get_key_ring()
    configure(PRIVATE_KEY=private_pem("rsa2048"), PUBLIC_KEYS=[public_pem("rsa1024")])
    with pytest.raises(ImproperlyConfigured, match=r"PUBLIC_KEYS.*2048"):
        get_key_ring()


@pytest.mark.parametrize(
    ("algorithm", "kind"),
    [
        ("ES256", "p384"),
        ("ES256", "ed25519"),
        ("ES256", "rsa2048"),
        ("ES384", "p256"),
        ("EdDSA", "p256"),
        ("EdDSA", "rsa2048"),
        ("RS256", "p256"),
        ("RS256", "ed25519"),
    ],
)
def test_wrong_key_type_for_algorithm_refused(
    configure: Configure, algorithm: str, kind: str
) -> None:
    right = {"ES256": "p256", "ES384": "p384", "EdDSA": "ed25519", "RS256": "rsa2048"}[algorithm]
    configure(ALGORITHM=algorithm, PRIVATE_KEY=private_pem(kind))
    with pytest.raises(ImproperlyConfigured, match=r"PRIVATE_KEY") as info:
        get_key_ring()
    assert private_pem(kind).splitlines()[1] not in str(info.value)
    configure(PRIVATE_KEY=private_pem(right), PUBLIC_KEYS=[public_pem(kind)])
    with pytest.raises(ImproperlyConfigured, match=r"PUBLIC_KEYS") as info:
        get_key_ring()
    assert public_pem(kind).splitlines()[1] not in str(info.value)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(None, id="missing"),
        pytest.param("not a pem", id="garbage"),
        pytest.param(NEW_SECRET, id="hmac-secret"),
        pytest.param(
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", id="bad-pem"
        ),
        pytest.param(12345, id="not-a-string"),
    ],
)
def test_unusable_private_key_refused(configure: Configure, value: Any) -> None:
    configure(ALGORITHM="ES256", PRIVATE_KEY=value)
    with pytest.raises(ImproperlyConfigured, match=r"PRIVATE_KEY"):
        get_key_ring()


def test_public_key_as_private_key_refused(configure: Configure) -> None:
    configure(ALGORITHM="ES256", PRIVATE_KEY=public_pem("p256"))
    with pytest.raises(ImproperlyConfigured, match=r"PRIVATE_KEY.*private"):
        get_key_ring()


# -- algorithm confusion --------------------------------------------------------------------
@pytest.mark.parametrize("header_alg", ["HS256", "ES256"])
def test_hmac_with_public_key_as_secret_refused(configure: Configure, header_alg: str) -> None:
    """The classic key-confusion attack: HMAC keyed with the (public) verification key."""
    configure(ALGORITHM="ES256", PRIVATE_KEY=private_pem("p256"))
    kid = get_key_ring().current.kid
    body = b64(json.dumps(payload()).encode())
    for secret in (public_pem("p256").encode(), public_pem("p256").strip().encode()):
        header = b64(json.dumps({"alg": header_alg, "typ": "JWT", "kid": kid}).encode())
        mac = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        with pytest.raises(DisallowedHeader if header_alg == "HS256" else BadSignature):
            codec.decode(f"{header}.{body}.{b64(mac)}")


def test_asymmetric_token_refused_by_hmac_ring(configure: Configure) -> None:
    configure(ALGORITHM="ES256", PRIVATE_KEY=private_pem("p256"))
    token = codec.encode(payload())
    configure(ALGORITHM="HS256", PRIVATE_KEY=None)
    with pytest.raises((DisallowedHeader, UnknownKey)):
        codec.decode(token)


def test_token_of_other_asymmetric_algorithm_refused(configure: Configure) -> None:
    configure(ALGORITHM="EdDSA", PRIVATE_KEY=private_pem("ed25519"))
    token = codec.encode(payload())
    configure(ALGORITHM="ES256", PRIVATE_KEY=private_pem("p256"), PUBLIC_KEYS=[])
    with pytest.raises((DisallowedHeader, UnknownKey)):
        codec.decode(token)


# -- JWKS -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("algorithm", "kind"), ASYMMETRIC)
def test_public_jwks_verify_our_tokens_with_plain_pyjwt(
    configure: Configure, algorithm: str, kind: str
) -> None:
    configure(ALGORITHM=algorithm, PRIVATE_KEY=private_pem(kind, 0))
    old_token = codec.encode(payload(dat={"v": "old"}))
    configure(PRIVATE_KEY=private_pem(kind, 1), PUBLIC_KEYS=[public_pem(kind, 0)])
    token = codec.encode(payload(dat={"v": "new"}))
    jwks = json.loads(json.dumps(get_key_ring().public_jwks()))  # what an endpoint would serve
    assert len(jwks) == 2
    for jwk in jwks:
        assert jwk["alg"] == algorithm
        assert jwk["use"] == "sig"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & jwk.keys()
    by_kid = {jwk["kid"]: jwk for jwk in jwks}
    for issued, expected in ((token, "new"), (old_token, "old")):
        jwk = by_kid[jwt.get_unverified_header(issued)["kid"]]
        key = jwt.PyJWK(jwk).key
        assert jwt.decode(issued, key, algorithms=[algorithm])["dat"] == {"v": expected}
    key_set = jwt.PyJWKSet.from_dict({"keys": jwks})
    assert {key.key_id for key in key_set.keys} == set(by_kid)


def test_public_jwks_empty_for_hmac() -> None:
    assert get_key_ring().public_jwks() == []
