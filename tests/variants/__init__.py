"""Settings variants: the suite (less the sandbox's and the browser tests) under settings a
project may have and ours must support. Each is ``tests.variants.<name>.settings``, a tox env of
the same name (``tox.ini``) and a CI step (``.ci/run``); CONTRIBUTING.md says how to run them.

- ``no_tz``: ``USE_TZ = False``.
- ``uuid_user``: a custom user model (``AbstractUser``) keyed by a UUID.
- ``no_groups``: a custom user model (``AbstractBaseUser``) without ``groups`` or
  ``user_permissions``; roles come from its ``roles`` field (``ROLES_SOURCE = "roles"``), and
  the tests marked ``needs_groups`` are deselected.

A variant installs ``CORE_APPS`` (tests/settings.py), never the sandbox's ``demo``. Tests that
fail under a variant because of a known bug in the package are listed, with the cause, in its
settings module's ``KNOWN_FAILURES``: they run as strict xfails there (an unexpected pass fails
the run, so the entry goes when the fix lands).
"""
