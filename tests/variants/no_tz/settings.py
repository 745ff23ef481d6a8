"""The test settings with ``USE_TZ = False`` (see ``tests/variants/__init__.py``)."""

from tests.settings import *  # noqa: F403
from tests.settings import CORE_APPS

INSTALLED_APPS = CORE_APPS
USE_TZ = False

KNOWN_FAILURES: dict[str, tuple[type[BaseException], str]] = {}
