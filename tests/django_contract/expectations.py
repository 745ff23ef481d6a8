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
JWT_SKIPS: dict[str, str] = {
    "test_save": _NO_EXISTS,
    "test_save_async": _NO_EXISTS,
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
# Each fails today for the cause given. The contract test fails when one of them passes:
# then delete its entry. A failure not listed here, or failing otherwise than `match`
# says, fails the contract test.
CYCLE = (
    "cycle_key() keeps session_key until save(): backends/base.py:448 makes a new identity "
    "only; the key is written by save() (backends/jwt.py:61, backends/db.py:251)"
)
NO_UPDATE_ERROR_JWT = (
    "a session deleted elsewhere is re-saved: delete() of an unloaded store revokes nothing "
    "(backends/base.py:491, _sid is None until decoded), save() never checks revocation "
    "(backends/jwt.py:57) and load() skips the state check when anonymous (base.py:306)"
)
NO_UPDATE_ERROR_DB = (
    "a session deleted elsewhere is re-saved: save() upserts over the revoked row "
    "(backends/db.py:233 -> records.py:103 bulk_create(update_conflicts=True)), no UpdateError"
)
DELETE_EMPTIES = (
    "delete() also drops the key and data (backends/base.py:493-494; Django's delete() keeps "
    "them, flush() drops them), so the middleware sees an empty session and never saves"
)
EAGER_USER = (
    "AuthenticationMiddleware builds request.user eagerly (middleware.py:62), reading "
    "session.claims (users.py:265), which loads the session: accessed is True"
)
NO_EXISTS = "exists()/aexists() always return False: backends/base.py:476-480 (db.py keeps them)"
PRUNE = (
    "clearsessions keeps an expired row: records.py:154 prunes only rows expired over "
    "UPDATE_AGE ago, and backends/base.py:414 stores exp=max(expiry, now) (never in the past)"
)
AWARE = (
    "records.py:62 _aware() gives SessionRecord.expires an aware datetime under USE_TZ=False "
    "(records.py:94); SQLite refuses it"
)
SELECT_RELATED = (
    "refresh.py:38 calls select_related() with no arguments when no claim source names a "
    "relation (the default settings): deprecated in Django 6.1 (RemovedInDjango2028Warning)"
)
_AWARE_MATCH = "does not support timezone-aware datetimes when USE_TZ is False"
_NOT_EQUAL_KEY = "self.assertNotEqual(self.session.session_key, prev_key)"
_NOT_EQUAL_REQUEST_KEY = "self.assertNotEqual(request.session.session_key, prev_session_key)"

KNOWN_FAILURES: list[KnownFailure] = [
    # -- jwt store ----------------------------------------------------------------------
    KnownFailure("jwt", "JwtSessionTests.test_cycle", _NOT_EQUAL_KEY, CYCLE),
    KnownFailure("jwt", "JwtSessionTests.test_cycle_async", _NOT_EQUAL_KEY, CYCLE),
    KnownFailure(
        "jwt",
        "JwtSessionTests.test_session_save_does_not_resurrect_session_logged_out_in_other_context",
        "UpdateError not raised",
        NO_UPDATE_ERROR_JWT,
    ),
    KnownFailure(
        "jwt",
        "JwtSessionTests.test_session_asave_does_not_resurrect_session_logged_out_in_other_context",
        "UpdateError not raised",
        NO_UPDATE_ERROR_JWT,
    ),
    KnownFailure(
        "jwt",
        "JwtSessionMiddlewareTests.test_session_update_error_redirect",
        "SessionInterrupted not raised",
        f"{DELETE_EMPTIES}; and {NO_UPDATE_ERROR_JWT}",
    ),
    KnownFailure(
        "jwt",
        "JwtAuthContextProcessorTests.test_session_not_accessed",
        "Session accessed",
        EAGER_USER,
    ),
    KnownFailure(
        "jwt", "JwtGetUserTests.test_get_user_fallback_secret", _NOT_EQUAL_REQUEST_KEY, CYCLE
    ),
    KnownFailure(
        "jwt",
        "JwtAuthContextProcessorTests.test_perms_attrs",
        "select_related() with no arguments is deprecated",
        SELECT_RELATED,
        django=(6, 1),
    ),
    KnownFailure(  # the warning, raised in the template's {% if perms.auth %}, reads as False
        "jwt",
        "JwtAuthContextProcessorTests.test_perm_in_perms_attrs",
        "Couldn't find 'Has auth permissions'",
        SELECT_RELATED,
        django=(6, 1),
    ),
    KnownFailure(
        "jwt", "JwtGetUserTests.test_aget_user_fallback_secret", _NOT_EQUAL_REQUEST_KEY, CYCLE
    ),
    *(
        KnownFailure("jwt", test, _AWARE_MATCH, AWARE, use_tz=False, vendor="sqlite")
        for test in (
            "JwtAuthContextProcessorTests.test_message_attrs",
            "JwtAuthContextProcessorTests.test_perm_in_perms_attrs",
            "JwtAuthContextProcessorTests.test_perms_attrs",
            "JwtAuthContextProcessorTests.test_user_attrs",
            "JwtGetUserTests.test_get_user",
            "JwtGetUserTests.test_get_user_fallback_secret",
            "JwtGetUserTests.test_aget_user_fallback_secret",
        )
    ),
    # -- db store -----------------------------------------------------------------------
    KnownFailure(
        "db", "DbSessionTests.test_save", "exists(self.session.session_key), True", NO_EXISTS
    ),
    KnownFailure(
        "db",
        "DbSessionTests.test_save_async",
        "aexists(self.session.session_key), True",
        NO_EXISTS,
    ),
    KnownFailure("db", "DbSessionTests.test_cycle", _NOT_EQUAL_KEY, CYCLE),
    KnownFailure("db", "DbSessionTests.test_cycle_async", _NOT_EQUAL_KEY, CYCLE),
    KnownFailure(
        "db",
        "DbSessionTests.test_clearsessions_command",
        "self.assertEqual(1, self.model.objects.count())",
        PRUNE,
    ),
    KnownFailure(
        "db",
        "DbSessionTests.test_aclear_expired",
        "self.assertEqual(await self.model.objects.acount(), 1)",
        PRUNE,
    ),
    KnownFailure(
        "db",
        "DbSessionTests.test_session_save_does_not_resurrect_session_logged_out_in_other_context",
        "UpdateError not raised",
        NO_UPDATE_ERROR_DB,
    ),
    KnownFailure(
        "db",
        "DbSessionTests.test_session_asave_does_not_resurrect_session_logged_out_in_other_context",
        "UpdateError not raised",
        NO_UPDATE_ERROR_DB,
    ),
    KnownFailure(
        "db",
        "DbSessionMiddlewareTests.test_session_update_error_redirect",
        "SessionInterrupted not raised",
        f"{DELETE_EMPTIES}; and {NO_UPDATE_ERROR_DB}",
    ),
    KnownFailure(
        "db",
        "DbAuthContextProcessorTests.test_session_not_accessed",
        "Session accessed",
        EAGER_USER,
    ),
    KnownFailure(
        "db", "DbGetUserTests.test_get_user_fallback_secret", _NOT_EQUAL_REQUEST_KEY, CYCLE
    ),
    KnownFailure(
        "db",
        "DbAuthContextProcessorTests.test_perms_attrs",
        "select_related() with no arguments is deprecated",
        SELECT_RELATED,
        django=(6, 1),
    ),
    KnownFailure(  # the warning, raised in the template's {% if perms.auth %}, reads as False
        "db",
        "DbAuthContextProcessorTests.test_perm_in_perms_attrs",
        "Couldn't find 'Has auth permissions'",
        SELECT_RELATED,
        django=(6, 1),
    ),
    KnownFailure(
        "db", "DbGetUserTests.test_aget_user_fallback_secret", _NOT_EQUAL_REQUEST_KEY, CYCLE
    ),
    *(
        KnownFailure("db", test, _AWARE_MATCH, AWARE, use_tz=False, vendor="sqlite")
        for test in (
            "DbSessionTests.test_aclear_expired",
            "DbSessionTests.test_actual_expiry",
            "DbSessionTests.test_actual_expiry_async",
            "DbSessionTests.test_clearsessions_command",
            "DbSessionTests.test_cycle",
            "DbSessionTests.test_cycle_async",
            "DbSessionTests.test_cycle_with_no_session_cache",
            "DbSessionTests.test_cycle_with_no_session_cache_async",
            "DbSessionTests.test_delete",
            "DbSessionTests.test_delete_async",
            "DbSessionTests.test_flush",
            "DbSessionTests.test_flush_async",
            "DbSessionTests.test_invalid_key",
            "DbSessionTests.test_invalid_key_async",
            "DbSessionTests.test_save",
            "DbSessionTests.test_save_async",
            "DbSessionTests.test_save_doesnt_clear_data",
            "DbSessionTests.test_save_doesnt_clear_data_async",
            "DbSessionTests.test_session_get_decoded",
            "DbSessionTests.test_session_str",
            "DbSessionTests.test_sessionmanager_save",
            "DbSessionTests.test_session_save_does_not_resurrect_session_logged_out_in_other_context",
            "DbSessionTests.test_session_asave_does_not_resurrect_session_logged_out_in_other_context",
            "DbSessionMiddlewareTests.test_empty_session_saved",
            "DbSessionMiddlewareTests.test_httponly_session_cookie",
            "DbSessionMiddlewareTests.test_no_httponly_session_cookie",
            "DbSessionMiddlewareTests.test_samesite_session_cookie",
            "DbSessionMiddlewareTests.test_save_every_request_with_non_empty_session_renews_session_cookie",
            "DbSessionMiddlewareTests.test_secure_session_cookie",
            "DbSessionMiddlewareTests.test_session_update_error_redirect",
            "DbAuthContextProcessorTests.test_message_attrs",
            "DbAuthContextProcessorTests.test_perm_in_perms_attrs",
            "DbAuthContextProcessorTests.test_perms_attrs",
            "DbAuthContextProcessorTests.test_user_attrs",
            "DbGetUserTests.test_get_user",
            "DbGetUserTests.test_get_user_anonymous",
            "DbGetUserTests.test_aget_user_anonymous",
            "DbGetUserTests.test_get_user_fallback_secret",
            "DbGetUserTests.test_aget_user_fallback_secret",
        )
    ),
]
