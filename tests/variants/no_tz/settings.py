"""The test settings with ``USE_TZ = False`` (see ``tests/variants/__init__.py``)."""

from tests.settings import *  # noqa: F403
from tests.settings import CORE_APPS

INSTALLED_APPS = CORE_APPS
USE_TZ = False

# Every test that writes a session record fails today (about 620 of 1370): records.py builds
# aware datetimes, which SQLite refuses when USE_TZ is False ("SQLite backend does not support
# timezone-aware datetimes when USE_TZ is False"). Too many to list as xfails, so .ci/run does
# not run this variant yet (a TODO there); the tox env runs it.
KNOWN_FAILURES: dict[str, tuple[type[BaseException], str]] = {}
