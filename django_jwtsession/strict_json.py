"""JSON as this app writes it, and nothing else: the parser for tokens and stored sessions.

The server writes JSON with ``json.dumps`` (ASCII, finite numbers, one member per
name), so anything else did not come from it: a duplicate member (``{"sid": a,
"sid": b}`` — which one would another parser believe?), ``NaN`` / ``Infinity``,
and a lone UTF-16 surrogate (``"\\ud800"``: not a Unicode scalar value, so no UTF-8
encoder downstream can write it) are refused, as is input that is not UTF-8.
"""

from __future__ import annotations

import json
from typing import Any

_LONE_SURROGATE_HINTS = (b"\\ud", b"\\uD")


class StrictJSONError(ValueError):
    """The input is not JSON this app could have written."""


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value = dict(pairs)
    if len(value) != len(pairs):
        raise StrictJSONError("a member name appears twice")
    return value


def _no_constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not a JSON number this app writes")


def loads(raw: bytes | str) -> Any:
    """Parse ``raw``; raise :class:`StrictJSONError` (a ``ValueError``) when it is not JSON
    this app could have written."""
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    try:
        value = json.loads(
            data.decode("utf-8"), object_pairs_hook=_object, parse_constant=_no_constant
        )
    except RecursionError:
        raise StrictJSONError("nested too deeply") from None
    except UnicodeDecodeError:
        raise StrictJSONError("not UTF-8") from None
    if any(hint in data for hint in _LONE_SURROGATE_HINTS):  # an escaped surrogate: paired?
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise StrictJSONError("a lone surrogate in a string") from None
    return value


def dumps(value: Any) -> str:
    """Compact JSON of ``value``; a ``ValueError`` naming the problem when :func:`loads`
    would refuse it back (``NaN`` / ``Infinity``, a lone surrogate), so a session is never
    written that could not be read."""
    try:
        text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise StrictJSONError(
            "session data holds NaN or Infinity, which JSON cannot carry: store a string"
        ) from None
    if "\\ud" in text or "\\uD" in text:  # an escaped surrogate: paired?
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise StrictJSONError(
                "session data holds a lone UTF-16 surrogate (e.g. '\\ud800'), not text"
            ) from None
    return text
