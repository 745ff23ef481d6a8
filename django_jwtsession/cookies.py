"""Session cookies over 4 KB: split into ``<name>``, ``<name>.1``, ``<name>.2`` …

Browsers drop cookies over about 4096 bytes. Rather than lose data, a token
longer than ``CHUNK_SIZE`` is written in chunks that carry the attributes
Django chose for the session cookie, and joined again on the way in. The total
is bounded by ``JWTSESSION["MAX_TOKEN_BYTES"]``; a larger session is stored in its
record instead (see :mod:`~django_jwtsession.backends.token_storage`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.http import HttpResponseBase

from .conf import get_settings

CHUNK_SIZE = 3800
_MORSEL_ATTRIBUTES = ("expires", "max-age", "path", "domain", "secure", "httponly", "samesite")


def _max_chunks() -> int:
    return -(-get_settings().max_token_bytes // CHUNK_SIZE)


def chunk_name(index: int) -> str:
    name = settings.SESSION_COOKIE_NAME
    return name if index == 0 else f"{name}.{index}"


def _session_parts(cookies: Mapping[str, str]) -> list[str]:
    """The cookies that make up the session token, in order.

    A chunk is followed by the next only when it is full (``CHUNK_SIZE`` characters),
    so a stale ``<name>.1`` left next to a short token is never joined to it.
    """
    parts: list[str] = []
    part = cookies.get(settings.SESSION_COOKIE_NAME)
    limit = _max_chunks()
    while part is not None:
        parts.append(part)
        if len(part) != CHUNK_SIZE or len(parts) >= limit:
            break
        part = cookies.get(chunk_name(len(parts)))
    return parts


def read_session_cookie(cookies: Mapping[str, str]) -> str | None:
    """The session cookie's value, joined from its chunks."""
    first = cookies.get(settings.SESSION_COOKIE_NAME)
    if first is None or len(first) != CHUNK_SIZE:
        return first  # the usual case: one cookie, no chunks
    return "".join(_session_parts(cookies))


MAX_STALE_CHUNKS = 16
"""At most this many chunk cookies are deleted on one response (whatever a client sent)."""


def _chunk_index(suffix: str) -> int | None:
    """``n`` of a chunk name ``<name>.<n>`` as we write it (1, 2, … no leading zero)."""
    if suffix.isascii() and suffix.isdigit() and len(suffix) <= 3 and suffix[0] != "0":
        return int(suffix)
    return None


def _chunk_names_sent(cookies: Mapping[str, str]) -> set[str]:
    """The ``<name>.<n>`` cookies of the request we could have written, joined or not.

    Bounded: a client sending a thousand ``sessionid.N`` cookies gets at most
    :data:`MAX_STALE_CHUNKS` deletions back, not a thousand.
    """
    prefix = f"{settings.SESSION_COOKIE_NAME}."
    limit = max(_max_chunks(), MAX_STALE_CHUNKS)
    names: set[str] = set()
    for key in cookies:  # a plain loop: this runs on every response
        if key.startswith(prefix):
            suffix = key[len(prefix) :]
            if _chunk_index(suffix) is not None and int(suffix) <= limit:
                names.add(key)
    return names


def delete_session_cookie(response: HttpResponseBase) -> None:
    """Delete the session cookie on ``response`` (its chunks follow in ``split_session_cookie``)."""
    _delete(response, settings.SESSION_COOKIE_NAME)


def _delete(response: HttpResponseBase, name: str) -> None:
    response.delete_cookie(
        name,
        path=settings.SESSION_COOKIE_PATH,
        domain=settings.SESSION_COOKIE_DOMAIN,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )
    harden(response.cookies[name])


def harden(morsel: Any) -> None:
    """A session cookie deletion is ``Secure`` under ``SESSION_COOKIE_SECURE``, as the
    cookie was (a ``__Host-`` or ``__Secure-`` name needs it; Django's ``delete_cookie()``
    adds it only for those names or ``SameSite=None``)."""
    if settings.SESSION_COOKIE_SECURE:
        morsel["secure"] = True


def harden_session_cookie(response: HttpResponseBase) -> None:
    """Harden a deletion of the session cookie that Django's middleware wrote."""
    morsel = response.cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is not None and (morsel["max-age"] == 0 or not morsel.value):
        harden(morsel)


def split_session_cookie(cookies: Mapping[str, str], response: HttpResponseBase) -> None:
    """Split a long session cookie set on ``response``; delete chunks no longer used.

    Chunks the request sent but the token does not use (left over from an earlier,
    longer token, or without the main cookie at all) are deleted too.
    """
    name = settings.SESSION_COOKIE_NAME
    morsel = response.cookies.get(name)
    sent = _chunk_names_sent(cookies)
    if morsel is None:
        if sent:
            joined = len(_session_parts(cookies))  # 0 without the main cookie
            for stale in sent - {chunk_name(index) for index in range(1, joined)}:
                _delete(response, stale)
        return
    deleting = morsel["max-age"] == 0 or not morsel.value
    value = "" if deleting else morsel.value
    chunks = [value[i : i + CHUNK_SIZE] for i in range(0, len(value), CHUNK_SIZE)] or [""]
    if not deleting and len(chunks) > 1:
        morsel.set(name, chunks[0], chunks[0])
        for index, chunk in enumerate(chunks[1:], start=1):
            response.cookies[chunk_name(index)] = chunk
            extra = response.cookies[chunk_name(index)]
            for attribute in _MORSEL_ATTRIBUTES:
                extra[attribute] = morsel[attribute]
    used = 1 if deleting else len(chunks)
    for stale in sent - {chunk_name(index) for index in range(1, used)}:
        _delete(response, stale)
