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
KNOWN_FAILURES: dict[str, tuple[type[BaseException], str]] = {}
