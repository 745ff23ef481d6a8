"""Django's own session contract tests, run against our stores.

``SessionTestsMixin`` and ``SessionMiddlewareTests`` (and two ``auth_tests``) come from
the source distribution of the installed Django (``upstream.py``); ``contract.py``
subclasses them once per store; ``runner.py`` runs them with Django's test runner in a
subprocess (``settings.py``) and classifies the outcomes against ``expectations.py``.
``tests/test_django_contract.py`` runs it all under pytest; see docs/django-contract.md.
"""

ENGINES = {
    "jwt": "django_jwtsession.backends.jwt",
    "db": "django_jwtsession.backends.db",
}
"""The stores under contract: name -> ``SESSION_ENGINE``."""
