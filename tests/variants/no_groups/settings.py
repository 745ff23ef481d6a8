"""The test settings with a user model without ``groups`` (see ``tests/variants/__init__.py``)."""

from tests.settings import *  # noqa: F403
from tests.settings import CORE_APPS, JWTSESSION

# Before django_jwtsession: its admin adds the sessions to the user admin registered here.
INSTALLED_APPS = ["tests.variants.no_groups", *CORE_APPS]
AUTH_USER_MODEL = "no_groups.User"
# Roles are Role rows (one query, as the groups are); a change to one marks its user.
JWTSESSION = {
    **JWTSESSION,
    "ROLES_SOURCE": "role_names",
    "MARK_MODELS": {"no_groups.Role": "user"},
}

# Known bugs of the package under this variant (strict xfails here; see tests/variants/).
KNOWN_FAILURES: dict[str, tuple[type[BaseException], str]] = {}
