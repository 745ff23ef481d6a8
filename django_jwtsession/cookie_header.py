"""The raw ``Cookie`` header, before Django parses it: ambiguity and a bounded parser.

- **Ambiguity**: two cookies with the session cookie's name (one tossed in by a sibling
  subdomain with ``Domain=.example.com``, say) make Django's parser keep the last, so
  the request would run as whichever the browser sent last. Here, when exactly one of
  them is a valid session, that one is used; when several are, the request is refused:
  it is anonymous and no cookie is written or deleted (deleting ours would leave only
  the tossed one). The ``__Host-`` prefix stops the tossing at the browser.
- **A bounded parser**: CPython before 3.13.0 / 3.12.6 / 3.11.10 / 3.10.15 unquotes
  cookie values in quadratic time in their backslashes (CVE-2024-7592: an 8 KB header
  costs a tenth of a second or more of CPU). On such an interpreter, a header with a
  backslash is parsed here in linear time, and ``request.COOKIES`` is set before
  anything else reads it.
"""

from __future__ import annotations

import http.cookies
import re
from typing import Any

VULNERABLE_UNQUOTE = not hasattr(http.cookies, "_unquote_sub")
"""True on an interpreter whose cookie unquoting is quadratic (CVE-2024-7592)."""

_ESCAPE = re.compile(r"\\(?:([0-3][0-7][0-7])|(.))")


def _unescape(match: re.Match[str]) -> str:
    octal, char = match.groups()
    return chr(int(octal, 8)) if octal else char


def _unquote(value: str) -> str:
    """``http.cookies._unquote`` as fixed for CVE-2024-7592: linear time."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    return _ESCAPE.sub(_unescape, value[1:-1])


def parse(header: str) -> dict[str, str]:
    """Django's ``parse_cookie``, with a linear-time unquote."""
    found: dict[str, str] = {}
    for chunk in header.split(";"):
        key, _, value = chunk.partition("=") if "=" in chunk else ("", "", chunk)
        key, value = key.strip(), value.strip()
        if key or value:
            found[key] = _unquote(value)
    return found


MAX_CANDIDATES = 4
"""More session cookies than this in one request are refused without trying any."""


def _pairs(header: str) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs as Django's parser sees them (a chunk without ``=`` is a
    value with an empty name), values not unquoted."""
    pairs = []
    for chunk in header.split(";"):
        key, _, value = chunk.partition("=") if "=" in chunk else ("", "", chunk)
        pairs.append((key.strip(), value.strip()))
    return pairs


def candidates(header: str, name: str) -> list[str] | None:
    """The values sent for the session cookie ``name`` when it was sent more than once;
    ``[]`` when it was not (the usual case: nothing to decide); None when the request
    cannot be read without guessing (a chunk sent twice beside it, or too many)."""
    if header.count(name) < 2:  # the usual case, without parsing
        return []
    pairs = [
        (key, value) for key, value in _pairs(header) if key == name or key.startswith(name + ".")
    ]
    values = [_unquote(value) for key, value in pairs if key == name]
    if len(values) < 2:
        chunks = [key for key, _ in pairs]
        return [] if len(chunks) == len(set(chunks)) else None
    if len(values) > MAX_CANDIDATES or len(pairs) != len(values):
        return None  # with chunks too, no value can be joined to its own chunks
    return values


def bounded_cookies(request: Any) -> None:
    """On a vulnerable interpreter, parse a ``Cookie`` header with a backslash here,
    in linear time, before Django's quadratic parser can see it."""
    header = request.META.get("HTTP_COOKIE", "")
    if VULNERABLE_UNQUOTE and "\\" in header and "COOKIES" not in request.__dict__:
        request.COOKIES = parse(header)
