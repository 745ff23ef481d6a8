"""Error reports never show a piece of the session token."""

from __future__ import annotations

from django.test import RequestFactory

from django_jwtsession.debug import SafeExceptionReporterFilter


def test_every_chunk_of_the_session_cookie_is_hidden() -> None:
    request = RequestFactory().get("/")
    request.COOKIES = {
        "sessionid": "eyJhbGciOi.first-part",
        "sessionid.1": "second-part-of-the-token",
        "sessionid.12": "another-part",
        "sessionidx.1": "not ours",
        "theme": "dark",
    }
    safe = SafeExceptionReporterFilter().get_safe_cookies(request)
    hidden = SafeExceptionReporterFilter.cleansed_substitute
    assert safe["sessionid"] == safe["sessionid.1"] == safe["sessionid.12"] == hidden
    assert (safe["sessionidx.1"], safe["theme"]) == ("not ours", "dark")
    assert "second-part" not in repr(safe)
