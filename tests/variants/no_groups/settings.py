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
KNOWN_FAILURES = {
    "tests/test_state.py::test_a_many_to_many_change_elsewhere_marks_nobody": (
        AttributeError,
        "receivers.groups_changed() reads get_user_model().groups.through on every m2m_changed "
        "signal: it fails for a user model without groups, whatever relation changed",
    ),
    "tests/test_signals.py::test_marking_or_revoking_nobody_announces_nothing": (
        AttributeError,
        "receivers.group_changed() reads group.user_set on every Group save and delete: "
        "it fails when the user model has no groups",
    ),
}
