"""What the contract run must show: the documented skips, and (for now) known failures.

``JWT_SKIPS`` are the skips Django itself applies to its ``signed_cookies`` engine
(``CookieSessionTests``), applied to the jwt store where the same reason holds; each is
listed with its reason in docs/django-contract.md (``tests/test_django_contract.py``
fails when the two lists drift). The db store has none.
"""

from __future__ import annotations

from dataclasses import dataclass

_NO_EXISTS = (
    "This test tested exists() in the other session backends, but that doesn't make sense for us."
)
_IN_THE_CLIENT = "CookieSession is stored in the client and there is no way to query it."
JWT_SKIPS: dict[str, str] = {
    "test_save": _NO_EXISTS,
    "test_save_async": _NO_EXISTS,
    # An anonymous jwt session (the upstream test's) lives in its token only, as a
    # signed cookie does: deleting it elsewhere leaves nothing a later save could ask.
    # A signed-in one is revoked server-side (tests/test_session_contract.py).
    "test_session_save_does_not_resurrect_session_logged_out_in_other_context": _IN_THE_CLIENT,
    "test_session_asave_does_not_resurrect_session_logged_out_in_other_context": _IN_THE_CLIENT,
}
"""Upstream ``SessionTestsMixin`` test name -> the reason ``CookieSessionTests`` gives."""


@dataclass(frozen=True)
class KnownFailure:
    """An upstream test that fails today because of the core, not because of the test."""

    store: str  # "jwt" or "db"
    test: str  # "<our class>.<upstream test>"
    match: str  # found in the failure's traceback: it fails for the reason below
    cause: str  # the root cause, with file:line in django_jwtsession/
    use_tz: bool | None = None  # only under this USE_TZ (None: both)
    vendor: str | None = None  # only on this database (connection.vendor; None: all)
    django: tuple[int, int] | None = None  # only from this Django version on (None: all)

    def applies(self, store: str, use_tz: bool, vendor: str, django: tuple[int, int]) -> bool:
        return (
            store == self.store
            and self.use_tz in (None, use_tz)
            and self.vendor in (None, vendor)
            and (self.django is None or django >= self.django)
        )


# == KNOWN FAILURES ======================================================================
# Upstream tests that fail because of a bug in our stores, each with the text its failure
# shows and its root cause. The contract test fails when one of them passes (delete its
# entry then) and on any failure not listed here. Empty: every upstream test passes.
KNOWN_FAILURES: list[KnownFailure] = []
