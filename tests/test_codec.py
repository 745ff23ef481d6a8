"""The codec: compact JWS (and JWE ``dir`` + ``A256GCM``) encode and strict decode."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import hypothesis
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import strategies as st
from jwt.algorithms import get_default_algorithms

from django_jwtsession import codec
from django_jwtsession.exceptions import (
    BadSignature,
    DecryptionFailed,
    DisallowedHeader,
    ExpiredToken,
    InvalidClaims,
    MalformedToken,
    TokenError,
    TokenTooLarge,
    UnknownKey,
)
from django_jwtsession.identity import SessionIdentity
from django_jwtsession.keys import SigningKey, get_key_ring
from tests.helpers import Configure, b64, jwtsession_settings, unb64
from tests.keyfiles import private_pem

NOW = 1_800_000_000


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
B64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


# -- building tokens by hand ------------------------------------------------


def seg(value: Any) -> str:
    return b64(json.dumps(value, separators=(",", ":")).encode())


def claims(**overrides: Any) -> dict[str, Any]:
    """A valid payload at ``NOW``; pass ``MISSING`` to drop a claim."""
    payload: dict[str, Any] = {
        "sid": "s" * 32,
        "iat": NOW,
        "exp": NOW + 3600,
        "sat": NOW,
        "dat": {"k": "v"},
    }
    return _apply(payload, overrides)


def header(**overrides: Any) -> dict[str, Any]:
    """Our own JWS header for the current key; ``MISSING`` drops a member."""
    ring = get_key_ring()
    return _apply({"alg": ring.algorithm, "typ": "JWT", "kid": ring.current.kid}, overrides)


def _apply(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` set; a ``MISSING`` value drops that member."""
    for name, value in overrides.items():
        if value is MISSING:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def sign_segments(header_segment: str, body_segment: str, key: SigningKey | None = None) -> str:
    """A JWS over raw segments, correctly signed with ``key`` (default: current key)."""
    key = key or get_key_ring().current
    signing_input = f"{header_segment}.{body_segment}"
    signature = key.algorithm.sign(signing_input.encode("utf-8", "surrogatepass"), key.sign_key)
    return f"{signing_input}.{b64(signature)}"


def forge(payload: dict[str, Any] | None = None, **header_overrides: Any) -> str:
    """A correctly signed JWS with a chosen header and payload."""
    return sign_segments(
        seg(header(**header_overrides)), seg(claims() if payload is None else payload)
    )


VALID_CLAIMS = {
    "uid": "1",
    "un": "bob",
    "act": True,
    "stf": False,
    "su": False,
    "rol": [],
    "tir": None,
    "flg": [],
}


def decode(token: Any) -> dict[str, Any]:
    """A session token read as the jwt store reads it: transport, then identity members."""
    payload = codec.decode(token, now=NOW).payload
    SessionIdentity.from_payload(payload)
    return payload


def replace_segment(token: str, index: int, value: str) -> str:
    parts = token.split(".")
    parts[index] = value
    return ".".join(parts)


def flip_bit(segment: str, byte: int = 0) -> str:
    raw = bytearray(unb64(segment))
    raw[byte] ^= 1
    return b64(bytes(raw))


# -- JWS round trip -----------------------------------------------------------
def test_hs256_round_trip() -> None:
    payload = claims(dat={"cart": [1, 2], "name": "Zoë"}, clm={"uid": "1"}, cat=NOW)
    token = codec.encode(payload)
    decoded = codec.decode(token, now=NOW)
    assert decoded.payload == payload
    assert decoded.stale_key is False
    assert token.count(".") == 2
    assert json.loads(unb64(token.split(".")[0])) == {
        "alg": "HS256",
        "typ": "JWT",
        "kid": get_key_ring().current.kid,
    }


def test_hand_built_token_decodes() -> None:
    """The helpers above build exactly what the codec accepts (so refusals below mean something)."""
    assert decode(forge()) == claims()


def test_token_is_ascii_base64url() -> None:
    token = codec.encode(claims(dat={"emoji": "🙂", "quote": '"'}))
    assert set(token) <= set(B64URL_ALPHABET + ".")


# -- tampering ------------------------------------------------------------------
def _tamper_header(token: str) -> str:
    # Same members, other order: a different signing input.
    ring = get_key_ring()
    return replace_segment(token, 0, seg({"kid": ring.current.kid, "typ": "JWT", "alg": "HS256"}))


def _tamper_payload(token: str) -> str:
    return replace_segment(token, 1, seg(claims(dat={"k": "admin"})))


def _tamper_payload_claim(token: str) -> str:
    return replace_segment(token, 1, seg(claims(exp=NOW + 7200)))


def _tamper_signature(token: str) -> str:
    return replace_segment(token, 2, flip_bit(token.split(".")[2], 5))


def _truncate_signature(token: str) -> str:
    return replace_segment(token, 2, b64(unb64(token.split(".")[2])[:-1]))


def _empty_signature(token: str) -> str:
    return replace_segment(token, 2, "")


def _other_tokens_signature(token: str) -> str:
    other = codec.encode(claims(dat={"k": "other"}))
    return replace_segment(token, 2, other.split(".")[2])


@pytest.mark.parametrize(
    "tamper",
    [
        _tamper_header,
        _tamper_payload,
        _tamper_payload_claim,
        _tamper_signature,
        _truncate_signature,
        _empty_signature,
        _other_tokens_signature,
    ],
)
def test_tampered_segment_is_bad_signature(tamper: Callable[[str], str]) -> None:
    token = codec.encode(claims())
    with pytest.raises(BadSignature) as info:
        decode(tamper(token))
    assert info.value.reason == "signature"


@pytest.mark.parametrize("part", [0, 1])
def test_any_character_change_in_signed_part_is_refused(part: int) -> None:
    token = codec.encode(claims())
    segment = token.split(".")[part]
    for index, char in enumerate(segment):
        replacement = "A" if char != "A" else "B"
        changed = segment[:index] + replacement + segment[index + 1 :]
        with pytest.raises(TokenError):
            decode(replace_segment(token, part, changed))


def test_any_change_to_signature_bytes_is_refused() -> None:
    token = codec.encode(claims())
    signature = unb64(token.split(".")[2])
    for index in range(len(signature)):
        changed = bytearray(signature)
        changed[index] ^= 0x80
        with pytest.raises(BadSignature):
            decode(replace_segment(token, 2, b64(bytes(changed))))


def test_signature_by_key_with_our_kid_is_refused() -> None:
    ring = get_key_ring()
    impostor = SigningKey(ring.current.kid, ring.current.algorithm, b"k" * 32, b"k" * 32)
    with pytest.raises(BadSignature):
        decode(sign_segments(seg(header()), seg(claims()), impostor))


# -- the algorithm is pinned by settings --------------------------------------
def test_alg_none_refused() -> None:
    token = f"{seg(header(alg='none'))}.{seg(claims())}."
    with pytest.raises(DisallowedHeader) as info:
        decode(token)
    assert info.value.reason == "header"


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "", "hs256", "HS256 ", "ES256", "RS256"])
def test_other_alg_names_refused_even_with_valid_hs256_signature(alg: str) -> None:
    with pytest.raises(DisallowedHeader):
        decode(forge(alg=alg))


@pytest.mark.parametrize("alg", ["HS384", "HS512"])
def test_hmac_alg_swap_refused_even_when_signed_with_our_key(alg: str) -> None:
    algorithm = get_default_algorithms()[alg]
    current = get_key_ring().current
    swapped = SigningKey(current.kid, algorithm, current.verify_key, current.sign_key)
    with pytest.raises(DisallowedHeader):
        decode(sign_segments(seg(header(alg=alg)), seg(claims()), swapped))


@pytest.mark.parametrize("alg", [MISSING, None, 256, ["HS256"], {"name": "HS256"}])
def test_alg_must_be_a_string(alg: Any) -> None:
    with pytest.raises(DisallowedHeader):
        decode(forge(alg=alg))


# -- header allowlist ----------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("jku", "https://attacker.example/jwks.json"),
        ("jwk", {"kty": "oct", "k": "AAAA"}),
        ("x5u", "https://attacker.example/cert.pem"),
        ("x5c", ["MIIB"]),
        ("x5t", "AAAA"),
        ("x5t#S256", "AAAA"),
        ("crit", ["exp"]),
        ("b64", False),
        ("zip", "DEF"),
        ("enc", "A256GCM"),
        ("cty", "JWT"),
        ("foo", "bar"),
        ("", ""),
    ],
)
def test_disallowed_header_refused(name: str, value: Any) -> None:
    with pytest.raises(DisallowedHeader):
        decode(forge(**{name: value}))


def test_unknown_kid_refused() -> None:
    with pytest.raises(UnknownKey) as info:
        decode(forge(kid="not-a-kid-of-ours"))
    assert info.value.reason == "unknown_key"


@pytest.mark.parametrize("kid", [MISSING, None, 1, ["kid"]])
def test_kid_must_be_a_string(kid: Any) -> None:
    with pytest.raises(DisallowedHeader):
        decode(forge(kid=kid))


@pytest.mark.parametrize("typ", ["at+jwt", "JWS", "JOSE", "JWE", "", 1, ["JWT"]])
def test_typ_other_than_jwt_refused(typ: Any) -> None:
    with pytest.raises(DisallowedHeader):
        decode(forge(typ=typ))


@pytest.mark.parametrize(
    "raw_header",
    [b"not json", b"[]", b'"JWT"', b"1", b"null", b"{", b"[" * 10_000, b"\xff\xfe"],
)
def test_header_not_a_json_object_is_malformed(configure: Configure, raw_header: bytes) -> None:
    configure(MAX_TOKEN_BYTES=16384)  # the parser, not the length gate, refuses these
    with pytest.raises(MalformedToken):
        decode(sign_segments(b64(raw_header), seg(claims())))


# -- claims ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(claims(iat=NOW - 60, sat=NOW - 60, exp=NOW - 5), id="exp-at-leeway-edge"),
        pytest.param(claims(iat=NOW - 7200, sat=NOW - 7200, exp=NOW - 3600), id="exp-past"),
    ],
)
def test_expired_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ExpiredToken) as info:
        decode(forge(payload))
    assert info.value.reason == "expired"


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(claims(iat=NOW - 60, sat=NOW - 60, exp=NOW - 4), id="exp-within-leeway"),
        pytest.param(claims(nbf=NOW + 5), id="nbf-within-leeway"),
        pytest.param(claims(iat=NOW + 5, sat=NOW + 5), id="iat-within-leeway"),
        pytest.param(claims(exp=NOW - 3600 + 30 * 24 * 3600, sat=NOW - 3600), id="max-lifetime"),
        pytest.param(
            claims(clm=VALID_CLAIMS, cat=NOW, mv=0, rev=0, gre=0, hk=""), id="with-claims"
        ),
        pytest.param(claims(sid="s" * 16), id="sid-16"),
        pytest.param(claims(sid="s" * 64), id="sid-64"),
        pytest.param(claims(dat={}), id="empty-data"),
    ],
)
def test_valid_edges_accepted(payload: dict[str, Any]) -> None:
    assert decode(forge(payload)) == payload


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(claims(nbf=NOW + 6), id="nbf-future"),
        pytest.param(claims(iat=NOW + 6, sat=NOW + 6), id="iat-future"),
        pytest.param(claims(sat=NOW + 1), id="sat-after-iat"),
        pytest.param(claims(exp=NOW - 1, iat=NOW, sat=NOW - 10), id="exp-before-iat"),
        pytest.param(claims(sat=NOW - 60, exp=NOW - 60 + 30 * 24 * 3600 + 1), id="over-lifetime"),
        pytest.param(claims(exp=2**70), id="huge-exp"),
    ],
)
def test_time_claims_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(InvalidClaims) as info:
        decode(forge(payload))
    assert info.value.reason == "claims"


def test_lifetime_bounded_by_max_lifetime_setting(configure: Configure) -> None:
    token = forge(claims(exp=NOW + 3600))
    configure(MAX_LIFETIME=3599)
    with pytest.raises(InvalidClaims):
        decode(token)
    configure(MAX_LIFETIME=3600)
    assert decode(token)["exp"] == NOW + 3600


@pytest.mark.parametrize("name", ["iat", "exp", "sat", "nbf"])
@pytest.mark.parametrize(
    "value", [float(NOW), True, False, str(NOW), None, [NOW], {"t": NOW}], ids=repr
)
def test_time_claim_wrong_type_refused(name: str, value: Any) -> None:
    with pytest.raises(InvalidClaims):
        decode(forge(claims(**{name: value})))


@pytest.mark.parametrize("name", ["iat", "exp", "sat", "sid", "dat"])
def test_required_claim_missing_refused(name: str) -> None:
    with pytest.raises(InvalidClaims):
        decode(forge(claims(**{name: MISSING})))


@pytest.mark.parametrize(
    "sid", ["s" * 15, "s" * 65, "", 12345678901234567890, None, ["s" * 32], True], ids=repr
)
def test_sid_wrong_shape_refused(sid: Any) -> None:
    with pytest.raises(InvalidClaims):
        decode(forge(claims(sid=sid)))


@pytest.mark.parametrize("dat", [[], "data", None, 1, True], ids=repr)
def test_dat_not_object_refused(dat: Any) -> None:
    with pytest.raises(InvalidClaims):
        decode(forge(claims(dat=dat)))


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param({"clm": {"uid": "1"}}, id="clm-without-cat"),
        pytest.param({"clm": {"uid": "1"}, "cat": float(NOW)}, id="cat-float"),
        pytest.param({"clm": {"uid": "1"}, "cat": str(NOW)}, id="cat-str"),
        pytest.param({"clm": {"uid": "1"}, "cat": True}, id="cat-bool"),
        pytest.param({"clm": ["uid"], "cat": NOW}, id="clm-list"),
        pytest.param({"clm": None, "cat": NOW}, id="clm-null"),
    ],
)
def test_claims_block_wrong_shape_refused(extra: dict[str, Any]) -> None:
    with pytest.raises(InvalidClaims):
        decode(forge(claims(**extra)))


@pytest.mark.parametrize("digits", [4301, 10_000])
def test_oversized_integer_literal_is_malformed(configure: Configure, digits: int) -> None:
    configure(MAX_TOKEN_BYTES=16384)  # the parser, not the length gate, refuses these
    body = b64(json.dumps(claims()).replace(str(NOW + 3600), "9" * digits).encode())
    with pytest.raises(MalformedToken):
        decode(sign_segments(seg(header()), body))


@pytest.mark.parametrize(
    "raw_payload", [b"[]", b"1", b'"x"', b"null", b"{", b"NaN", b"[" * 10_000, b"\xff"]
)
def test_payload_not_a_json_object_is_malformed(configure: Configure, raw_payload: bytes) -> None:
    configure(MAX_TOKEN_BYTES=16384)  # the parser, not the length gate, refuses these
    with pytest.raises(MalformedToken):
        decode(sign_segments(seg(header()), b64(raw_payload)))


# -- issuer and audience ----------------------------------------------------------
@pytest.mark.parametrize(("setting", "claim"), [("ISSUER", "iss"), ("AUDIENCE", "aud")])
def test_issuer_and_audience_added_and_required(
    configure: Configure, setting: str, claim: str
) -> None:
    untagged = forge(claims())
    configure(**{setting: "https://sessions.example"})
    token = codec.encode(claims())
    assert decode(token)[claim] == "https://sessions.example"
    with pytest.raises(InvalidClaims):
        decode(untagged)
    for wrong in ("https://other.example", ["https://sessions.example"], None):
        with pytest.raises(InvalidClaims):
            decode(forge(claims(**{claim: wrong})))


def test_issuer_and_audience_ignored_when_unset() -> None:
    payload = claims(iss="anyone", aud="anything")
    assert decode(forge(payload)) == payload


# -- the length gate ------------------------------------------------------------------
def test_length_gate_refuses_valid_but_long_token(configure: Configure) -> None:
    token = codec.encode(claims(dat={"big": "x" * 600}))
    configure(MAX_TOKEN_BYTES=len(token))
    assert decode(token)["dat"]["big"] == "x" * 600
    configure(MAX_TOKEN_BYTES=len(token) - 1)
    with pytest.raises(TokenTooLarge) as info:
        decode(token)
    assert info.value.reason == "too_large"


def test_length_gate_runs_before_anything_else(configure: Configure) -> None:
    # An unusable key ring would raise ImproperlyConfigured if anything past the gate ran.
    configure(ALGORITHM="ES256", PRIVATE_KEY=None, MAX_TOKEN_BYTES=512)
    with pytest.raises(TokenTooLarge):
        decode("a" * 513)
    with pytest.raises(TokenTooLarge):
        decode("\x00" * 10_000)


@pytest.mark.parametrize("token", [None, 0, b"a.b.c", bytearray(b"a.b.c"), ["a", "b", "c"], 1.5])
def test_non_string_token_refused_by_the_gate(token: Any) -> None:
    with pytest.raises(TokenTooLarge):
        decode(token)


def test_bytes_of_a_valid_token_refused() -> None:
    with pytest.raises(TokenTooLarge):
        decode(codec.encode(claims()).encode())


def test_token_at_limit_passes_gate(configure: Configure) -> None:
    configure(MAX_TOKEN_BYTES=512)
    with pytest.raises(MalformedToken):
        decode("a" * 512)


# -- malformed base64 and structure ---------------------------------------------------
def _with(part: int, edit: Callable[[str], str]) -> Callable[[str], str]:
    def apply(token: str) -> str:
        return replace_segment(token, part, edit(token.split(".")[part]))

    return apply


MALFORMED_EDITS = {
    "padding": lambda s: s + "=",
    "double-padding": lambda s: s + "==",
    "plus": lambda s: "+" + s[1:],
    "slash": lambda s: s[:-1] + "/",
    "non-ascii": lambda s: s[:3] + "é" + s[3:],
    "non-ascii-digit": lambda s: s[:3] + "٣" + s[3:],
    "surrogate": lambda s: s + "\ud800",
    "space": lambda s: s[:4] + " " + s[4:],
    "newline": lambda s: s + "\n",
    "nul": lambda s: s + "\x00",
    "star": lambda s: "*" + s[1:],
    "length-1-mod-4": lambda s: s + "A" * ((1 - len(s)) % 4),
}


@pytest.mark.parametrize("part", [0, 1, 2], ids=["header", "payload", "signature"])
@pytest.mark.parametrize("edit", list(MALFORMED_EDITS.values()), ids=list(MALFORMED_EDITS))
def test_malformed_base64_is_malformed_token(part: int, edit: Callable[[str], str]) -> None:
    """Each segment is correctly signed, so only base64 strictness can refuse it."""
    header_segment, body_segment = seg(header()), seg(claims())
    if part == 2:
        token = _with(2, edit)(sign_segments(header_segment, body_segment))
    elif part == 0:
        token = sign_segments(edit(header_segment), body_segment)
    else:
        token = sign_segments(header_segment, edit(body_segment))
    if part == 2 and token.isascii():  # a non-ASCII token is malformed before anything
        # HMAC signatures are compared in canonical base64url form: a malformed
        # signature segment is simply not the signature.
        with pytest.raises(BadSignature):
            decode(token)
        return
    with pytest.raises(MalformedToken) as info:
        decode(token)
    assert info.value.reason == "malformed"


def test_signature_with_other_padding_bits_is_refused() -> None:
    """The last character of a 32-byte signature carries 2 unused bits: altering them is refused."""
    token = sign_segments(seg(header()), seg(claims()))
    head, body, signature = token.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    index = alphabet.index(signature[-1])
    twin = alphabet[index ^ 1]  # same 4 significant bits, other padding bits
    assert base64.urlsafe_b64decode(signature + "=") == base64.urlsafe_b64decode(
        signature[:-1] + twin + "="
    )
    decode(token)
    with pytest.raises(BadSignature):
        decode(f"{head}.{body}.{signature[:-1]}{twin}")


def test_signature_over_non_ascii_segment_is_malformed() -> None:
    """A non-ASCII character anywhere is malformed, not a crash while preparing the signature."""
    token = f"{seg(header())}.{seg(claims())}é.AAAA"
    with pytest.raises(MalformedToken):
        decode(token)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: t.replace(".", ""), id="one"),
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="two"),
        pytest.param(lambda t: t + ".", id="four-empty"),
        pytest.param(lambda t: t + ".AAAA", id="four"),
        pytest.param(lambda t: t + ".AAAA.AAAA", id="five"),
        pytest.param(lambda t: t + "." * 6, id="nine"),
        pytest.param(lambda t: "..", id="three-empty"),
        pytest.param(lambda t: ".", id="dot"),
    ],
)
def test_wrong_segment_count_is_malformed(make: Callable[[str], str]) -> None:
    with pytest.raises(MalformedToken):
        decode(make(codec.encode(claims())))


# -- fuzz: arbitrary input only ever raises TokenError --------------------------------
FUZZ = hypothesis.settings(max_examples=300, deadline=None, database=None)
b64url_text = st.text(alphabet=B64URL_ALPHABET, max_size=80)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)


@FUZZ
@hypothesis.given(st.text(max_size=300))
def test_fuzz_arbitrary_text(token: str) -> None:
    with pytest.raises(TokenError):
        decode(token)


@FUZZ
@hypothesis.given(st.lists(b64url_text, min_size=1, max_size=7))
def test_fuzz_base64url_segments(segments: list[str]) -> None:
    with pytest.raises(TokenError):
        decode(".".join(segments))


@FUZZ
@hypothesis.given(st.lists(b64url_text, min_size=1, max_size=7))
def test_fuzz_base64url_segments_encrypted(segments: list[str]) -> None:
    with jwtsession_settings(ENCRYPT=True), pytest.raises(TokenError):
        decode(".".join(segments))


@FUZZ
@hypothesis.given(st.dictionaries(st.sampled_from(["alg", "typ", "kid", "x5u", "zz"]), json_values))
def test_fuzz_signed_headers(extra: dict[str, Any]) -> None:
    """Any correctly signed header decodes only when it is exactly what we issue."""
    value = {**header(), **extra}
    token = sign_segments(seg(value), seg(claims()))
    try:
        decode(token)
    except TokenError:
        return
    assert value.keys() <= {"alg", "typ", "kid"}
    assert value["alg"] == "HS256"
    assert value["kid"] == get_key_ring().current.kid
    assert value.get("typ") in (None, "JWT")


@FUZZ
@hypothesis.given(
    st.dictionaries(
        st.sampled_from(["sid", "iat", "exp", "sat", "dat", "nbf", "clm", "cat", "zz"]),
        json_values | st.integers(min_value=NOW - 10, max_value=NOW + 10),
    )
)
def test_fuzz_signed_payloads(changes: dict[str, Any]) -> None:
    """Any correctly signed payload either decodes with well-typed claims or raises TokenError."""
    payload = {**claims(), **changes}
    try:
        decoded = decode(forge(payload))
    except TokenError:
        return
    assert all(type(decoded[name]) is int for name in ("iat", "exp", "sat"))
    assert type(decoded["sid"]) is str
    assert 16 <= len(decoded["sid"]) <= 64
    assert type(decoded["dat"]) is dict
    assert "clm" not in decoded or type(decoded["cat"]) is int


@FUZZ
@hypothesis.given(st.binary(max_size=200))
def test_fuzz_bytes_refused(token: bytes) -> None:
    with pytest.raises(TokenTooLarge):
        decode(token)


# -- JWE (ENCRYPT on) ----------------------------------------------------------------
@pytest.fixture
def encrypt(configure: Configure) -> None:
    configure(ENCRYPT=True)


def jwe_header(**overrides: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "alg": "dir",
        "enc": "A256GCM",
        "kid": get_key_ring().current_encryption.kid,
        "cty": "JWT",
    }
    for name, item in overrides.items():
        if item is MISSING:
            value.pop(name, None)
        else:
            value[name] = item
    return value


def seal(plaintext: str, protected: dict[str, Any] | None = None, key: bytes | None = None) -> str:
    """Compact JWE ``dir`` + ``A256GCM`` built by hand (RFC 7516 §7.1)."""
    header_segment = seg(jwe_header() if protected is None else protected)
    iv = b"\x01" * 12
    sealed = AESGCM(key or get_key_ring().current_encryption.key).encrypt(
        iv, plaintext.encode(), header_segment.encode("ascii")
    )
    return f"{header_segment}..{b64(iv)}.{b64(sealed[:-16])}.{b64(sealed[-16:])}"


def open_jwe(token: str) -> str:
    protected, _, iv, ciphertext, tag = token.split(".")
    key = get_key_ring().current_encryption.key
    plain = AESGCM(key).decrypt(unb64(iv), unb64(ciphertext) + unb64(tag), protected.encode())
    return plain.decode("ascii")


@pytest.mark.usefixtures("encrypt")
def test_jwe_round_trip_hides_payload() -> None:
    marker = "very-secret-marker-value"
    payload = claims(dat={"note": marker})
    token = codec.encode(payload)
    protected, encrypted_key, iv, _, tag = token.split(".")
    assert encrypted_key == ""
    assert json.loads(unb64(protected)) == jwe_header()
    assert len(unb64(iv)) == 12
    assert len(unb64(tag)) == 16
    assert marker not in token
    for part in token.split("."):
        assert marker.encode() not in unb64(part)
        assert b'"dat"' not in unb64(part)
    decoded = codec.decode(token, now=NOW)
    assert decoded == (payload, False)


@pytest.mark.usefixtures("encrypt")
def test_jwe_is_standard_and_wraps_our_jws(configure: Configure) -> None:
    payload = claims()
    inner = open_jwe(codec.encode(payload))
    configure(ENCRYPT=False)
    assert decode(inner) == payload


@pytest.mark.usefixtures("encrypt")
def test_jwe_uses_a_fresh_iv_each_time() -> None:
    tokens = [codec.encode(claims()) for _ in range(5)]
    assert len({token.split(".")[2] for token in tokens}) == 5


@pytest.mark.usefixtures("encrypt")
def test_hand_sealed_jwe_decodes() -> None:
    assert decode(seal(forge())) == claims()


def _reordered_jwe_header(token: str) -> str:
    value = json.loads(unb64(token.split(".")[0]))
    return replace_segment(token, 0, seg(dict(reversed(list(value.items())))))


@pytest.mark.usefixtures("encrypt")
@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_with(2, flip_bit), id="iv"),
        pytest.param(_with(3, flip_bit), id="ciphertext"),
        pytest.param(_with(3, lambda s: flip_bit(s, len(unb64(s)) - 1)), id="ciphertext-end"),
        pytest.param(_with(3, lambda s: b64(unb64(s)[:-1])), id="ciphertext-truncated"),
        pytest.param(_with(3, lambda s: b64(unb64(s) + b"\x00")), id="ciphertext-extended"),
        pytest.param(_with(4, flip_bit), id="tag"),
        pytest.param(_with(4, lambda s: flip_bit(s, 15)), id="tag-last-byte"),
        pytest.param(_reordered_jwe_header, id="header-aad"),
    ],
)
def test_jwe_tamper_fails_decryption(tamper: Callable[[str], str]) -> None:
    token = codec.encode(claims())
    with pytest.raises(DecryptionFailed) as info:
        decode(tamper(token))
    assert info.value.reason == "decryption"


@pytest.mark.usefixtures("encrypt")
def test_jwe_wrong_key_fails_decryption() -> None:
    token = seal(forge(), key=b"\x07" * 32)
    with pytest.raises(DecryptionFailed):
        decode(token)


@pytest.mark.usefixtures("encrypt")
@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(_with(2, lambda s: s[:-1]), id="iv-15-chars"),
        pytest.param(_with(2, lambda s: s + "A"), id="iv-17-chars"),
        pytest.param(_with(2, lambda s: b64(unb64(s) + b"\x00\x00\x00")), id="iv-15-bytes"),
        pytest.param(_with(4, lambda s: s[:-1]), id="tag-21-chars"),
        pytest.param(_with(4, lambda s: s + "A"), id="tag-23-chars"),
        pytest.param(_with(4, lambda s: b64(unb64(s)[:12])), id="tag-12-bytes"),
        pytest.param(_with(3, lambda s: ""), id="empty-ciphertext"),
        pytest.param(_with(1, lambda s: "AAAA"), id="encrypted-key"),
        pytest.param(_with(1, lambda s: b64(b"\x00" * 32)), id="encrypted-key-32"),
        pytest.param(_with(3, lambda s: s + "="), id="ciphertext-padding"),
        pytest.param(_with(3, lambda s: "+" + s[1:]), id="ciphertext-plus"),
        pytest.param(_with(0, lambda s: s + "="), id="header-padding"),
        pytest.param(lambda t: t.rsplit(".", 1)[0], id="four-segments"),
        pytest.param(lambda t: t + ".AAAA", id="six-segments"),
    ],
)
def test_jwe_wrong_shape_is_malformed(tamper: Callable[[str], str]) -> None:
    with pytest.raises(MalformedToken):
        decode(tamper(codec.encode(claims())))


@pytest.mark.usefixtures("encrypt")
@pytest.mark.parametrize(
    "overrides",
    [
        {"alg": "A256KW"},
        {"alg": "RSA-OAEP"},
        {"alg": "none"},
        {"alg": "HS256"},
        {"alg": MISSING},
        {"enc": "A128GCM"},
        {"enc": "A256CBC-HS512"},
        {"enc": "a256gcm"},
        {"enc": MISSING},
        {"enc": 256},
        {"zip": "DEF"},
        {"jku": "https://attacker.example/"},
        {"epk": {"kty": "EC"}},
        {"typ": "JWT"},
        {"cty": "JSON"},
        {"crit": ["zip"]},
    ],
    ids=repr,
)
def test_jwe_header_other_than_dir_a256gcm_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(DisallowedHeader):
        decode(seal(forge(), jwe_header(**overrides)))


@pytest.mark.usefixtures("encrypt")
def test_jwe_unknown_kid_refused() -> None:
    with pytest.raises(UnknownKey):
        decode(seal(forge(), jwe_header(kid="nope")))


@pytest.mark.usefixtures("encrypt")
@pytest.mark.parametrize(
    ("inner", "error"),
    [
        pytest.param(lambda: _tamper_payload(forge()), BadSignature, id="bad-inner-signature"),
        pytest.param(lambda: forge(alg="HS512"), DisallowedHeader, id="inner-alg"),
        pytest.param(lambda: forge(x5u="https://x.example"), DisallowedHeader, id="inner-header"),
        pytest.param(
            lambda: forge(claims(iat=NOW - 120, sat=NOW - 120, exp=NOW - 60)),
            ExpiredToken,
            id="inner-expired",
        ),
        pytest.param(lambda: "not a jws", MalformedToken, id="inner-not-jws"),
        pytest.param(lambda: seal(forge()), MalformedToken, id="nested-jwe"),
        pytest.param(lambda: "Zoë.a.b", (DecryptionFailed, MalformedToken), id="inner-non-ascii"),
    ],
)
def test_jwe_inner_token_is_checked(
    inner: Callable[[], str], error: type[TokenError] | tuple[type[TokenError], ...]
) -> None:
    with pytest.raises(error):
        decode(seal(inner()))


def test_jwe_refused_when_encryption_off(configure: Configure) -> None:
    configure(ENCRYPT=True)
    token = codec.encode(claims())
    configure(ENCRYPT=False)
    with pytest.raises(MalformedToken):
        decode(token)


def test_jws_refused_when_encryption_on(configure: Configure) -> None:
    token = codec.encode(claims())
    configure(ENCRYPT=True)
    with pytest.raises(MalformedToken):
        decode(token)


def test_jwe_length_gate(configure: Configure) -> None:
    configure(ENCRYPT=True, MAX_TOKEN_BYTES=512)
    token = codec.encode(claims(dat={"big": "x" * 600}))
    with pytest.raises(TokenTooLarge):
        decode(token)


# -- canonical base64url: one spelling per value ------------------------------------
def _other_spare_bits(segment: str) -> str:
    """``segment`` with its last character's unused low bits changed: same bytes, leniently."""
    assert len(segment) % 4 in (2, 3)
    twin = segment[:-1] + B64URL_ALPHABET[B64URL_ALPHABET.index(segment[-1]) ^ 1]
    assert unb64(twin) == unb64(segment)
    return twin


@pytest.mark.parametrize(("algorithm", "kind"), [("ES256", "p256"), ("EdDSA", "ed25519")])
def test_asymmetric_signature_with_other_padding_bits_is_refused(
    configure: Configure, algorithm: str, kind: str
) -> None:
    configure(ALGORITHM=algorithm, PRIVATE_KEY=private_pem(kind))
    token = codec.encode(claims())
    head, body, signature = token.split(".")
    decode(token)
    with pytest.raises(MalformedToken):
        decode(f"{head}.{body}.{_other_spare_bits(signature)}")


@pytest.mark.usefixtures("encrypt")
@pytest.mark.parametrize("index", [3, 4], ids=["ciphertext", "tag"])
def test_jwe_segment_with_other_padding_bits_is_refused(index: int) -> None:
    for pad in range(4):  # the ciphertext's length follows the payload's
        token = codec.encode(claims(dat={"pad": "x" * pad}))
        segment = token.split(".")[index]
        if len(segment) % 4 in (2, 3):
            break
    decode(token)
    with pytest.raises(MalformedToken):
        decode(replace_segment(token, index, _other_spare_bits(segment)))


@FUZZ
@hypothesis.given(b64url_text)
def test_b64url_decode_accepts_only_the_canonical_spelling(segment: str) -> None:
    try:
        value = codec.b64url_decode(segment)
    except MalformedToken:
        try:
            lenient = unb64(segment)
        except ValueError:
            return  # not base64 at all (one character over a multiple of 4)
        assert b64(lenient) != segment
    else:
        assert b64(value) == segment
