"""A db session's stored entry (its record's ``meta`` and ``data``) parsed, once per
entry and process (:mod:`~django_jwtsession.parse_memo`)."""

from __future__ import annotations

from typing import Any, NamedTuple

from .. import strict_json
from ..exceptions import MalformedToken
from ..identity import SessionIdentity
from ..parse_memo import Memo, flat

_PARSED: Memo[Entry] = Memo(4096)


class Entry(NamedTuple):
    """What a stored entry says; ``data`` is the memo's own (see :meth:`fresh_data`)."""

    data: dict[str, Any]
    identity: SessionIdentity
    issued_at: int
    expires: int
    flat: bool
    raw_data: str

    def fresh_data(self) -> dict[str, Any]:
        """The session data, as a dict nobody else holds."""
        if self.flat:
            return dict(self.data)
        data: dict[str, Any] = strict_json.loads(self.raw_data)
        return data


def parse(session_id: str, stored: Any) -> Entry:
    """The entry ``stored`` of session ``session_id``; ``MalformedToken`` when it is not
    of the shape this app writes."""
    try:
        key = (session_id, stored["meta"], stored["data"])
        found = _PARSED.get(key)
    except (TypeError, KeyError):
        raise MalformedToken("a stored session of the wrong shape") from None
    if found is not None:
        return found
    try:
        payload = strict_json.loads(stored["meta"])
        data = strict_json.loads(stored["data"])
    except (ValueError, TypeError):
        raise MalformedToken("a stored session of the wrong shape") from None
    if type(payload) is not dict:
        raise MalformedToken("a stored session of the wrong shape")
    issued_at, expires = payload.get("iat"), payload.get("exp")
    if type(data) is not dict or type(issued_at) is not int or type(expires) is not int:
        raise MalformedToken("a stored session without data, iat or exp")
    payload["sid"] = session_id  # derived from the secret, never stored
    identity = SessionIdentity.from_payload(payload)
    entry = Entry(data, identity, issued_at, expires, flat(data), stored["data"])
    if identity.claims is None or not identity.claims.extra:  # see parse_memo
        _PARSED.put(key, entry)
    return entry
