"""PEM keys generated at test time (no key files are ever committed)."""

from __future__ import annotations

import functools
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

KINDS = ("p256", "p384", "ed25519", "ed448", "rsa1024", "rsa2048")
"""Key kinds :func:`private_key` can make."""


def _generate(kind: str) -> Any:
    if kind == "p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "p384":
        return ec.generate_private_key(ec.SECP384R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "ed448":
        return ed448.Ed448PrivateKey.generate()
    if kind.startswith("rsa"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    raise ValueError(kind)


@functools.cache
def _cached(kind: str, index: int) -> Any:
    return _generate(kind)


def private_key(kind: str, index: int = 0) -> Any:
    """A private key of ``kind``; the same ``(kind, index)`` gives the same key in one run."""
    return _cached(kind, index)


def private_pem(kind: str, index: int = 0) -> str:
    return (
        private_key(kind, index)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode("ascii")
    )


def public_pem(kind: str, index: int = 0) -> str:
    return (
        private_key(kind, index)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )
