"""``USE_TZ = False``: naive datetimes everywhere."""
