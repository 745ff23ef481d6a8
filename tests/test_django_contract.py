"""Django's own session contract (``SessionTestsMixin``, ``SessionMiddlewareTests`` and two
``auth_tests``), from the installed Django's sdist, against both stores under both
``USE_TZ`` values: no failure but the known ones, exactly the documented skips.

See tests/django_contract/ and docs/django-contract.md.
"""

from __future__ import annotations

import ast
import functools
import os
import re
from pathlib import Path

import pytest

from tests.django_contract import ENGINES, upstream
from tests.django_contract.expectations import JWT_SKIPS, KNOWN_FAILURES
from tests.django_contract.runner import SUITES, Report, expected_skips, labels, run_contract

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "django-contract.md"
UPSTREAM_CLASSES = {  # our class (minus the store prefix) -> the upstream classes it runs
    "SessionTests": [("sessions_tests/tests.py", "SessionTestsMixin")],
    "SessionMiddlewareTests": [("sessions_tests/tests.py", "SessionMiddlewareTests")],
    "AuthContextProcessorTests": [
        ("auth_tests/test_context_processors.py", "AuthContextProcessorTests")
    ],
    "GetUserTests": [("auth_tests/test_basic.py", "TestGetUser")],
}
DB_EXTRA = ("sessions_tests/tests.py", "DatabaseSessionTests")  # the db store runs it too


@functools.cache
def fetch_upstream() -> Path | str:
    """The upstream test packages, or why they are unavailable (one attempt per run)."""
    try:
        return upstream.suites_dir()
    except upstream.UpstreamUnavailable as exc:
        return str(exc)


@pytest.fixture
def upstream_tests() -> Path:
    """The installed Django's test packages; without them, skip (fail in CI)."""
    found = fetch_upstream()
    if isinstance(found, Path):
        return found
    if os.environ.get("CI"):
        pytest.fail(f"Django's source distribution is required in CI: {found}")
    pytest.skip(f"Django's source distribution could not be downloaded: {found}")


def upstream_classes(upstream_tests: Path, path: str) -> dict[str, ast.ClassDef]:
    tree = ast.parse((upstream_tests / path).read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}


def defined_tests(upstream_tests: Path, path: str, cls: str) -> set[str]:
    """The ``test_*`` methods an upstream class defines itself."""
    return {
        node.name
        for node in upstream_classes(upstream_tests, path)[cls].body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith("test")
    }


def expected_tests(upstream_tests: Path, store: str) -> set[str]:
    """Every upstream test the contract run must report, as ``<our class>.<test>``."""
    expected = set()
    for ours, sources in UPSTREAM_CLASSES.items():
        if store == "db" and ours == "SessionTests":
            sources = [*sources, DB_EXTRA]
        for path, cls in sources:
            names = defined_tests(upstream_tests, path, cls)
            expected |= {f"{store.capitalize()}{ours}.{name}" for name in names}
    return expected


def describe(report: Report) -> str:
    lines = [report.summary()]
    for outcome in report.unexpected():
        lines.append(f"--- {outcome.status}: {outcome.test}\n{outcome.detail[-3000:]}")
    return "\n".join(lines)


@pytest.mark.parametrize("use_tz", [True, False], ids=["USE_TZ=True", "USE_TZ=False"])
@pytest.mark.parametrize("store", sorted(ENGINES))
def test_django_session_contract(store: str, use_tz: bool, upstream_tests: Path) -> None:
    report = run_contract(store, use_tz)
    missing = expected_tests(upstream_tests, store) - set(report.outcomes)
    assert not missing, f"upstream tests that did not run: {sorted(missing)}\n{report.output}"
    if report.unexpected():
        pytest.fail(describe(report), pytrace=False)
    assert report.skipped() == expected_skips(store)
    fixed = [known.test for known in report.fixed()]
    if fixed:
        pytest.fail(
            f"{report.label}: these known failures pass now; delete them from KNOWN_FAILURES "
            f"in tests/django_contract/expectations.py: {fixed}",
            pytrace=False,
        )


# -- the skips: Django's own, documented ----------------------------------------------------


def documented_skips() -> dict[str, str]:
    """The ``| `test` | reason |`` rows under the doc's "Skipped for the jwt store" heading."""
    text = DOC.read_text(encoding="utf-8")
    section = re.search(r"^## Skipped for the jwt store\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, "docs/django-contract.md has no '## Skipped for the jwt store' section"
    rows = re.findall(r"^\| `(test_\w+)` \| (.+?) \|$", section.group(1), re.M)
    return dict(rows)


def test_documented_skips_are_the_skips_in_the_code() -> None:
    assert documented_skips() == JWT_SKIPS


def test_jwt_skips_are_ones_django_applies_to_signed_cookies(upstream_tests: Path) -> None:
    """Each skip is one ``CookieSessionTests`` makes (a ``skip`` decorator or an emptied
    override), with the reason it gives there (its docstring, or its sync twin's)."""
    cookie = upstream_classes(upstream_tests, "sessions_tests/tests.py")["CookieSessionTests"]
    methods = {
        node.name: node
        for node in cookie.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }

    def emptied(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        body = [
            s
            for s in node.body
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        ]
        return all(isinstance(statement, ast.Pass) for statement in body)

    def reason(name: str) -> str:
        node = methods[name]
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "unittest.skip":
                return str(ast.literal_eval(decorator.args[0]))
        docstring = ast.get_docstring(node) or ""
        if not docstring and name.endswith("_async"):
            return reason(name.removesuffix("_async"))
        return " ".join(docstring.split())

    for name, given in JWT_SKIPS.items():
        assert name in methods, f"CookieSessionTests does not override {name}"
        node = methods[name]
        skipped = any("skip" in ast.unparse(d) for d in node.decorator_list)
        assert skipped or emptied(node), f"CookieSessionTests runs {name}: it is not a skip"
        assert given == reason(name), name


def test_known_failures_name_tests_of_the_contract() -> None:
    """An entry for a class the run does not have would never apply (nor be noticed)."""
    for known in KNOWN_FAILURES:
        classes = {label.rsplit(".", 1)[-1] for label in labels("contract", known.store)}
        assert known.test.split(".")[0] in classes, known
        assert known.store in ENGINES, known
        assert known.cause, known
        assert known.match, known
    assert "contract" in SUITES
