"""A custom user model keyed by a UUID (``AUTH_USER_MODEL = "uuid_user.User"``)."""
