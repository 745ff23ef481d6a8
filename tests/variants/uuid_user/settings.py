"""The test settings with a UUID-keyed user model (see ``tests/variants/__init__.py``)."""

from tests.settings import *  # noqa: F403
from tests.settings import CORE_APPS

# Before django_jwtsession: its admin adds the sessions to the user admin registered here.
INSTALLED_APPS = ["tests.variants.uuid_user", *CORE_APPS]
AUTH_USER_MODEL = "uuid_user.User"

# Known bugs of the package under this variant (strict xfails here; see tests/variants/).
USER_IDS = (
    TypeError,
    "state.user_ids() takes only int and str primary keys: a UUID is iterated as if it were "
    "a list of users, so marking a user by its primary key fails",
)
KNOWN_FAILURES = {
    "tests/test_conf.py::test_setting_takes_effect[MARK_MODELS]": USER_IDS,
    "tests/test_state.py::test_marked_model_change_shows_on_the_next_request": USER_IDS,
    "tests/test_state.py::test_group_changes_show_on_the_next_request[*-group_side_add-*]": (
        USER_IDS
    ),
    "tests/test_state.py::test_group_changes_show_on_the_next_request[*-group_side_remove-*]": (
        USER_IDS
    ),
}
