"""Session engines: ``django_jwtsession.backends.jwt`` (the token is the session)."""
