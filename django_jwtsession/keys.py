"""The key ring: signing keys with ``kid``s, and encryption keys, all derived lazily.

HMAC keys are derived per purpose with HKDF from ``SECRET_KEY`` (and
``SECRET_KEY_FALLBACKS``, which verify but never sign), or from
``JWTSESSION["SECRET_KEYS"]``. Asymmetric keys come from ``PRIVATE_KEY`` (signs
and verifies) and ``PUBLIC_KEYS`` (verify only, for rotation). Encryption keys are
always derived from the secrets, with a purpose of their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.core.exceptions import ImproperlyConfigured
from jwt.algorithms import Algorithm, get_default_algorithms
from jwt.exceptions import InvalidKeyError

from .conf import HMAC_ALGORITHMS, get_settings
from .derived import derived

HKDF_SALT = b"django-jwtsession"
_HMAC_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
_CURVES: dict[str, tuple[type[Any], ...]] = {
    "ES256": (ec.SECP256R1,),
    "ES384": (ec.SECP384R1,),
}


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hkdf(secret: bytes, purpose: str, length: int = 32) -> bytes:
    """Derive a key for one ``purpose`` from a secret (RFC 5869, SHA-256)."""
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=HKDF_SALT, info=purpose.encode()
    ).derive(secret)


def _kid_for_secret(key: bytes) -> str:
    return b64url_encode(hmac.new(key, b"django-jwtsession kid", hashlib.sha256).digest()[:9])


@dataclass(frozen=True)
class SigningKey:
    """One entry of the ring: verifies, and signs when ``sign_key`` is set."""

    kid: str
    algorithm: Algorithm
    verify_key: Any
    sign_key: Any = None


@dataclass(frozen=True)
class EncryptionKey:
    kid: str
    key: bytes


@dataclass(frozen=True)
class KeyRing:
    algorithm: str
    current: SigningKey
    verifiers: dict[str, SigningKey]
    current_encryption: EncryptionKey
    decrypters: dict[str, EncryptionKey]

    def public_jwks(self) -> list[dict[str, Any]]:
        """Public keys as JWKs (empty for HMAC): what a JWKS endpoint publishes."""
        if self.algorithm in HMAC_ALGORITHMS:
            return []
        keys = []
        for key in self.verifiers.values():
            jwk = key.algorithm.to_jwk(key.verify_key, as_dict=True)
            jwk.pop("key_ops", None)  # pyjwt's RSA JWKs: not with "use" (RFC 7517 4.3)
            keys.append({**jwk, "kid": key.kid, "alg": self.algorithm, "use": "sig"})
        return keys


def _hmac_keys(algorithm_name: str, secrets: tuple[bytes, ...]) -> list[SigningKey]:
    algorithm = get_default_algorithms()[algorithm_name]
    keys = []
    for secret in secrets:
        derived_key = hkdf(secret, f"jws:{algorithm_name}", _HMAC_KEY_BYTES[algorithm_name])
        keys.append(SigningKey(_kid_for_secret(derived_key), algorithm, derived_key, derived_key))
    return keys


def _check_key_type(algorithm_name: str, key: Any, setting: str) -> None:
    if algorithm_name in _CURVES:
        ok = isinstance(key, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)) and (
            isinstance(key.curve, _CURVES[algorithm_name])
        )
    elif algorithm_name == "EdDSA":
        ok = isinstance(
            key,
            (
                ed25519.Ed25519PrivateKey,
                ed25519.Ed25519PublicKey,
                ed448.Ed448PrivateKey,
                ed448.Ed448PublicKey,
            ),
        )
    else:
        ok = isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)) and key.key_size >= 2048
    if not ok:
        raise ImproperlyConfigured(
            f"JWTSESSION[{setting!r}] is not a valid key for {algorithm_name}"
            + (" (RSA keys need at least 2048 bits)." if algorithm_name == "RS256" else ".")
        )


def _load_asymmetric(
    algorithm: Algorithm, pem: str | bytes, algorithm_name: str, setting: str
) -> Any:
    try:
        key = algorithm.prepare_key(pem)
    except (InvalidKeyError, ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"JWTSESSION[{setting!r}] could not be loaded as a PEM key for {algorithm_name}: "
            f"{type(exc).__name__}."
        ) from None
    _check_key_type(algorithm_name, key, setting)
    return key


def jwk_thumbprint(algorithm: Algorithm, public_key: Any) -> str:
    """RFC 7638 JWK thumbprint (SHA-256), used as the ``kid`` of an asymmetric key."""
    jwk = algorithm.to_jwk(public_key, as_dict=True)
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return b64url_encode(hashlib.sha256(canonical).digest())


def _asymmetric_keys(algorithm_name: str) -> list[SigningKey]:
    conf = get_settings()
    algorithm = get_default_algorithms()[algorithm_name]
    if not conf.private_key:
        raise ImproperlyConfigured(
            f"JWTSESSION['ALGORITHM'] = {algorithm_name!r} needs JWTSESSION['PRIVATE_KEY']."
        )
    private = _load_asymmetric(algorithm, conf.private_key, algorithm_name, "PRIVATE_KEY")
    if not hasattr(private, "sign"):
        raise ImproperlyConfigured(
            "JWTSESSION['PRIVATE_KEY'] must be a private key, not a public one."
        )
    public = private.public_key()
    keys = [SigningKey(jwk_thumbprint(algorithm, public), algorithm, public, private)]
    for pem in conf.public_keys:
        verify_key = _load_asymmetric(algorithm, pem, algorithm_name, "PUBLIC_KEYS")
        if hasattr(verify_key, "public_key"):
            verify_key = verify_key.public_key()
        keys.append(SigningKey(jwk_thumbprint(algorithm, verify_key), algorithm, verify_key))
    return keys


@derived
def get_key_ring() -> KeyRing:
    """Build the ring from settings once; cleared when settings change."""
    conf = get_settings()
    if conf.is_hmac:
        signing = _hmac_keys(conf.algorithm, conf.secret_keys)
    else:
        signing = _asymmetric_keys(conf.algorithm)
    encryption = []
    for secret in conf.secret_keys:
        key = hkdf(secret, "jwe:dir+A256GCM")
        encryption.append(EncryptionKey(_kid_for_secret(key), key))
    return KeyRing(
        algorithm=conf.algorithm,
        current=signing[0],
        verifiers={key.kid: key for key in reversed(signing)},
        current_encryption=encryption[0],
        decrypters={key.kid: key for key in reversed(encryption)},
    )
