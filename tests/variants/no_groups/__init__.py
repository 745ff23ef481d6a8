"""A custom user model without ``groups`` (``AUTH_USER_MODEL = "no_groups.User"``)."""
