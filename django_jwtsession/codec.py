"""Compact JWS (and JWE ``dir`` + ``A256GCM``) encode and decode, strict and fast.

The decode path is written for the hot path: a length gate, a cached header
parse, one signature check (HMAC: a keyed state prepared once per key and
copied per token; asymmetric: pyjwt's prepared algorithm objects), one JSON
parse, then our own strict claim checks. The algorithm is pinned by settings,
never taken from the token; only ``alg``, ``typ`` and ``kid`` (plus ``enc`` and
``cty`` for JWE) headers are accepted.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import os
import time
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import strict_json
from .conf import JWTSessionSettings, get_settings
from .derived import derived
from .exceptions import (
    BadSignature,
    DecryptionFailed,
    DisallowedHeader,
    ExpiredToken,
    InvalidClaims,
    MalformedToken,
    TokenTooLarge,
    UnknownKey,
)
from .keys import KeyRing, SigningKey, b64url_encode, get_key_ring

JWS_HEADERS = frozenset({"alg", "typ", "kid"})
JWE_HEADERS = frozenset({"alg", "enc", "kid", "cty"})
_IV_CHARS = 16  # 12 bytes
_TAG_CHARS = 22  # 16 bytes
_B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
# Last characters with zero unused bits: 2 chars carry 8 bits (4 unused), 3 carry 16 (2 unused).
_CANONICAL_LAST = {2: _B64URL[::16], 3: _B64URL[::4]}
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")  # bytes.translate: far faster than str.translate
_JSON_SEPARATORS = (",", ":")
_HMAC_DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


class Decoded(NamedTuple):
    payload: dict[str, Any]
    stale_key: bool
    """True when a rotated-out key verified the token: it should be re-issued."""


def b64url_decode(segment: str) -> bytes:
    """Strict, canonical base64url: no padding, no stray characters, no unused bits set.

    Only the encoding of the decoded bytes is accepted (``b64url_encode(result) ==
    segment``): the last character of a segment whose length is not a multiple of 4
    must leave its unused low bits zero, so one value has exactly one spelling.
    """
    if not segment.isascii() or "=" in segment or "+" in segment or "/" in segment:
        raise MalformedToken("bad base64url")
    spare = len(segment) % 4
    if spare and segment[-1] not in _CANONICAL_LAST.get(spare, ""):
        raise MalformedToken("bad base64url")
    try:
        padded = segment.encode("ascii").translate(_TO_STANDARD) + b"=" * (-len(segment) % 4)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedToken("bad base64url") from None


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = strict_json.loads(raw)  # JSON as we write it, and nothing else
    except ValueError:
        raise MalformedToken(f"{what} is not JSON this server writes") from None
    if type(value) is not dict:
        raise MalformedToken(f"{what} is not a JSON object")
    return value


@functools.lru_cache(maxsize=32)
def _parse_header(segment: str, allowed: frozenset[str]) -> tuple[str, str, str | None, str | None]:
    """Return ``(alg, kid, typ_or_cty, enc)`` of a protected header; cached per segment."""
    header = _json_object(b64url_decode(segment), "header")
    if not header.keys() <= allowed:
        raise DisallowedHeader(f"header parameters not allowed: {sorted(header.keys() - allowed)}")
    alg, kid = header.get("alg"), header.get("kid")
    kind = header.get("typ", header.get("cty"))
    enc = header.get("enc")
    if type(alg) is not str or type(kid) is not str:
        raise DisallowedHeader("alg and kid must be strings")
    if kind != "JWT":  # always written: a header without it is not ours
        raise DisallowedHeader("typ (cty for JWE) must be JWT")
    if enc is not None and type(enc) is not str:
        raise DisallowedHeader("enc must be a string")
    return alg, kid, kind, enc


def _header_segment(header: dict[str, str]) -> str:
    return b64url_encode(json.dumps(header, separators=_JSON_SEPARATORS).encode())


def encode(payload: dict[str, Any]) -> str:
    """Sign (and, when ``ENCRYPT`` is on, encrypt) ``payload`` with the current keys."""
    conf = get_settings()
    ring = get_key_ring()
    key = ring.current
    if conf.issuer is not None:
        payload = {**payload, "iss": conf.issuer}
    if conf.audience is not None:
        payload = {**payload, "aud": conf.audience}
    header = _header_segment({"alg": ring.algorithm, "typ": "JWT", "kid": key.kid})
    body = b64url_encode(strict_json.dumps(payload).encode())  # what decode() reads back
    signing_input = f"{header}.{body}"
    signature = key.algorithm.sign(signing_input.encode("ascii"), key.sign_key)
    token = f"{signing_input}.{b64url_encode(signature)}"
    if conf.encrypt:
        token = _encrypt(token, ring)
    return token


def _encrypt(jws: str, ring: KeyRing) -> str:
    key = ring.current_encryption
    header = _header_segment({"alg": "dir", "enc": "A256GCM", "kid": key.kid, "cty": "JWT"})
    iv = os.urandom(12)
    sealed = AESGCM(key.key).encrypt(iv, jws.encode("ascii"), header.encode("ascii"))
    ciphertext, tag = sealed[:-16], sealed[-16:]
    return f"{header}..{b64url_encode(iv)}.{b64url_encode(ciphertext)}.{b64url_encode(tag)}"


def _decrypt(jwe: str, ring: KeyRing) -> tuple[str, bool]:
    """Return the inner JWS and whether a rotated-out key decrypted it."""
    parts = jwe.split(".")
    if len(parts) != 5:
        raise MalformedToken("a JWE has five segments")
    header, encrypted_key, iv, ciphertext, tag = parts
    if encrypted_key or len(iv) != _IV_CHARS or len(tag) != _TAG_CHARS or not ciphertext:
        raise MalformedToken("JWE segment lengths")
    alg, kid, _, enc = _parse_header(header, JWE_HEADERS)
    if alg != "dir" or enc != "A256GCM":
        raise DisallowedHeader("only dir + A256GCM is accepted")
    key = ring.decrypters.get(kid)
    if key is None:
        raise UnknownKey("unknown encryption kid")
    try:
        plain = AESGCM(key.key).decrypt(
            b64url_decode(iv),
            b64url_decode(ciphertext) + b64url_decode(tag),
            header.encode("ascii"),
        )
        return plain.decode("ascii"), key is not ring.current_encryption
    except (InvalidTag, ValueError):
        raise DecryptionFailed("JWE did not decrypt") from None


def decode(token: str, *, now: int | None = None) -> Decoded:
    """Verify ``token`` and return its payload, or raise a ``TokenError``."""
    conf = get_settings()
    if type(token) is not str or len(token) > conf.max_token_bytes:
        raise TokenTooLarge("token over MAX_TOKEN_BYTES")
    ring = get_key_ring()
    stale = False
    if conf.encrypt:
        token, stale = _decrypt(token, ring)
    if not token.isascii():
        raise MalformedToken("a token is ASCII")
    parts = token.split(".")
    if len(parts) != 3:
        raise MalformedToken("a JWS has three segments")
    header, body, signature = parts
    alg, kid, _, enc = _parse_header(header, JWS_HEADERS)
    if alg != ring.algorithm or enc is not None:
        raise DisallowedHeader("algorithm not allowed")
    key = ring.verifiers.get(kid)
    if key is None:
        raise UnknownKey("unknown kid")
    signing_input = token[: len(header) + len(body) + 1].encode("ascii")
    if not _verify(kid, key, signing_input, signature):
        raise BadSignature("signature does not verify")
    payload = _json_object(b64url_decode(body), "payload")
    check_claims(payload, conf, int(time.time()) if now is None else now)
    return Decoded(payload, stale or key is not ring.current)


@derived
def _hmac_states() -> dict[str, hmac.HMAC]:
    """Per kid, an HMAC already keyed: copying it skips the key setup on every token."""
    ring = get_key_ring()
    digest = _HMAC_DIGESTS.get(ring.algorithm)
    if digest is None:
        return {}
    return {kid: hmac.new(key.verify_key, digestmod=digest) for kid, key in ring.verifiers.items()}


def _verify(kid: str, key: SigningKey, signing_input: bytes, signature: str) -> bool:
    """Check ``signature`` (its base64url segment) over ``signing_input``.

    HMAC signatures are compared in their canonical base64url form, so a segment
    that decodes to the same bytes through different padding bits is refused too.
    """
    state = _hmac_states().get(kid)
    if state is None:
        return bool(key.algorithm.verify(signing_input, key.verify_key, b64url_decode(signature)))
    mac = state.copy()
    mac.update(signing_input)
    return hmac.compare_digest(b64url_encode(mac.digest()), signature)


def _int_claim(payload: dict[str, Any], name: str) -> int:
    value = payload.get(name)
    if type(value) is not int:
        raise InvalidClaims(f"{name} must be an integer")
    return value


def check_claims(payload: dict[str, Any], conf: JWTSessionSettings, now: int) -> None:
    """Strict checks of the transport members, after the signature verifies.

    The identity members (``sid``, ``clm``, ``cat``, ``mv``, ``rev``, ``gre``) are
    checked by ``SessionIdentity.from_payload``, for every strategy.
    """
    issued_at = _int_claim(payload, "iat")
    expires = _int_claim(payload, "exp")
    started = _int_claim(payload, "sat")
    if type(payload.get("dat")) is not dict:
        raise InvalidClaims("dat must be an object")
    if "nbf" in payload and _int_claim(payload, "nbf") > now + conf.leeway:
        raise InvalidClaims("not yet valid")
    if issued_at > now + conf.leeway or started > issued_at:
        raise InvalidClaims("issued in the future")
    if expires - started > conf.max_lifetime or expires < issued_at:
        raise InvalidClaims("lifetime over MAX_LIFETIME")
    if expires <= now - conf.leeway:
        raise ExpiredToken("expired")
    if conf.issuer is not None and payload.get("iss") != conf.issuer:
        raise InvalidClaims("wrong issuer")
    if conf.audience is not None and payload.get("aud") != conf.audience:
        raise InvalidClaims("wrong audience")
