"""Models and migrations agree: ``makemigrations --check`` finds nothing to write."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_no_missing_migrations() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit:  # pragma: no cover - the failure path
        pytest.fail(
            f"makemigrations --check found model changes without migrations:\n{out.getvalue()}"
        )
    assert "No changes detected" in out.getvalue()
