"""Session cookies over 4 KB: split into ``<name>``, ``<name>.1``, ``<name>.2`` …

Browsers drop cookies over about 4096 bytes. Rather than lose data, a token
longer than ``CHUNK_SIZE`` is written in chunks that carry the attributes
Django chose for the session cookie, and joined again on the way in. The total
is bounded by ``JWTSESSION["MAX_TOKEN_BYTES"]``; a larger session raises
``SessionTooLarge`` when saved.
"""

from __future__ import annotations

from collections.abc import Mapping

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


def read_session_cookie(cookies: Mapping[str, str]) -> str | None:
    """The session cookie's value, joined from its chunks."""
    name = settings.SESSION_COOKIE_NAME
    first = cookies.get(name)
    if first is None or f"{name}.1" not in cookies:
        return first  # the usual case: one cookie, no chunks
    parts = [first]
    for index in range(1, _max_chunks()):
        part = cookies.get(chunk_name(index))
        if part is None:
            break
        parts.append(part)
    return "".join(parts)


def _chunks_sent(cookies: Mapping[str, str]) -> int:
    count = 0
    while chunk_name(count) in cookies and count < _max_chunks():
        count += 1
    return count


def _delete(response: HttpResponseBase, name: str) -> None:
    response.delete_cookie(
        name,
        path=settings.SESSION_COOKIE_PATH,
        domain=settings.SESSION_COOKIE_DOMAIN,
        samesite=settings.SESSION_COOKIE_SAMESITE,
    )


def split_session_cookie(cookies: Mapping[str, str], response: HttpResponseBase) -> None:
    """Split a long session cookie set on ``response``; delete chunks no longer used."""
    name = settings.SESSION_COOKIE_NAME
    morsel = response.cookies.get(name)
    if morsel is None:
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
    for index in range(used, _chunks_sent(cookies)):
        _delete(response, chunk_name(index))
