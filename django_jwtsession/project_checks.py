"""System checks of the project around the app (documented in ``docs/checks.md``).

``jwtsession.E015`` / ``W010`` a misspelled ``JWTSESSION`` setting name; ``E016`` a claim
source, ``E017`` a ``MARK_MODELS`` entry the models do not have; ``W011`` the cache does
not answer. (``E014``, the app not installed, is raised by :mod:`.installed`.)
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Sequence
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.checks import CheckMessage, Error, Warning
from django.core.exceptions import ImproperlyConfigured

from . import conf
from .model_paths import missing_name

CACHE_ANSWER_SECONDS = 3.0
"""How long ``check`` waits for the cache (a host that drops packets never refuses)."""


def _normalized(name: str) -> str:
    return "".join(character for character in name.upper() if character.isalnum())


def check_setting_names(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """A setting whose name is close to ``JWTSESSION`` (``JWT_SESSION``, ``JWTSESSIONS``) is
    almost certainly meant for us, and ignored: its ``ENCRYPT`` would be silently off."""
    target = conf.SETTING_NAME
    near = [
        name
        for name in dir(settings)
        if name.isupper()
        and name != target
        and difflib.SequenceMatcher(None, _normalized(name), target).ratio() >= 0.85
    ]
    if getattr(settings, target, None) is not None:
        return [
            Warning(
                f"The setting {name} looks like {target}, which is set too: {name} is ignored.",
                hint=f"Merge what {name} holds into {target}, and remove {name}.",
                id="jwtsession.W010",
            )
            for name in sorted(near)
        ]
    return [
        Error(
            f"The setting {name} is not read by django_jwtsession: did you mean {target}? "
            f"None of its values apply (with ENCRYPT in it, tokens are not encrypted).",
            hint=f"Rename {name} to {target}.",
            id="jwtsession.E015",
        )
        for name in sorted(near)
    ]


def check_sources(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Claim sources and ``MARK_MODELS`` paths against the models, at check time: a path the
    user model does not have would otherwise fail (or be skipped) at every sign-in."""
    try:
        jwt_settings = conf.get_settings()
    except ImproperlyConfigured:
        return []  # reported by check_settings
    user_model = get_user_model()
    errors: list[CheckMessage] = []
    for key, source in (
        ("ROLES_SOURCE", jwt_settings.roles_source),
        ("TIER_SOURCE", jwt_settings.tier_source),
        ("FLAGS_SOURCE", jwt_settings.flags_source),
    ):
        if not isinstance(source, str):
            continue  # None, or a callable: nothing to check
        found = missing_name(user_model, source)
        if found is not None:
            errors.append(
                _path_error(f"JWTSESSION[{key!r}] = {source!r}", found, "jwtsession.E016")
            )
    for label, path in jwt_settings.mark_models.items():
        where = f"JWTSESSION['MARK_MODELS'][{label!r}] = {path!r}"
        try:
            missing: tuple[str, Any, list[str]] | None = missing_name(apps.get_model(label), path)
        except (LookupError, ValueError):
            missing = (label, None, [])
        if missing is not None:
            errors.append(_path_error(where, missing, "jwtsession.E017"))
    return errors


def _path_error(where: str, found: tuple[str, Any, list[str]], check_id: str) -> Error:
    """A path (or, with no model, an ``app_label.Model``) that names nothing."""
    name, model, close = found
    if model is None:
        return Error(
            f"{where}: {name!r} is not an installed model.",
            hint="Name it 'app_label.ModelName', as in INSTALLED_APPS' models.",
            id=check_id,
        )
    hint = f"Did you mean {' or '.join(map(repr, close))}? " if close else ""
    return Error(
        f"{where}: {model.__name__} has no field, relation or attribute {name!r}.",
        hint=hint + "Fix the path, or remove the setting (a callable works too); "
        "a related object that is missing for some users is fine (DEFAULT_TIER applies).",
        id=check_id,
    )


def check_cache_answers(
    app_configs: Sequence[Any] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """The cache named by ``CACHE_ALIAS`` answers one read within a few seconds."""
    try:
        alias = conf.get_settings().cache_alias
    except ImproperlyConfigured:
        return []  # reported by check_settings
    if alias not in settings.CACHES:
        return []  # jwtsession.E012
    outcome: list[BaseException | None] = []

    def probe() -> None:
        from django.core.cache import caches
        from django.db import connections

        try:
            caches[alias].get("jwtsession:check")
        except Exception as exc:
            outcome.append(exc)
        else:
            outcome.append(None)
        finally:
            connections.close_all()  # this thread's own (a DatabaseCache opens one)

    thread = threading.Thread(target=probe, name="jwtsession-cache-check", daemon=True)
    thread.start()
    thread.join(CACHE_ANSWER_SECONDS)
    if outcome and outcome[0] is None:
        return []
    problem = (
        f"{type(outcome[0]).__name__}: {outcome[0]}"
        if outcome
        else f"no answer within {CACHE_ANSWER_SECONDS:g} s"
    )
    policy = conf.get_settings().on_cache_outage
    consequence = (
        "every signed-in request is refused (ON_CACHE_OUTAGE = 'refuse')"
        if policy == "refuse"
        else "every signed-in request reads the database instead (ON_CACHE_OUTAGE = 'database')"
    )
    return [
        Warning(
            f"The cache {alias!r} (JWTSESSION['CACHE_ALIAS']) did not answer ({problem}): "
            f"while it is down, {consequence}.",
            hint="Start the cache server or fix its LOCATION; the sessions come back by "
            "themselves once it answers.",
            id="jwtsession.W011",
        )
    ]
