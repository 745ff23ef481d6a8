"""The suite's structure (CONTRIBUTING.md, "How the suite is laid out"): helpers come from
``tests/helpers.py``, only the sandbox's own tests touch the sandbox, ``conftest.py`` holds
fixtures and hooks, and every settings variant has its tox env, its migrations check and its
CI step."""

from __future__ import annotations

import ast
import configparser
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
MODULES = sorted(TESTS.rglob("*.py"))
SANDBOX_TESTS = {TESTS / "test_sandbox.py"}
"""The sandbox's contract, tested in-process: it needs the sandbox's ``demo`` app."""
VARIANTS = sorted(path.parent.name for path in (TESTS / "variants").glob("*/settings.py"))


def imported(path: Path) -> set[str]:
    """The absolute module names ``path`` imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(TESTS)))
def test_nothing_imports_conftest(path: Path) -> None:
    assert "tests.conftest" not in imported(path), "import helpers from tests.helpers"


@pytest.mark.parametrize(
    "path",
    [path for path in MODULES if path not in SANDBOX_TESTS],
    ids=lambda path: str(path.relative_to(TESTS)),
)
def test_only_the_sandbox_tests_import_the_sandbox(path: Path) -> None:
    roots = {name.split(".")[0] for name in imported(path)}
    assert not roots & {"demo", "sandbox"}, "the suite has its own app: tests/testapp"


def test_conftest_holds_only_fixtures_and_hooks() -> None:
    tree = ast.parse((TESTS / "conftest.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith(("pytest_", "_")):
            continue
        decorators = [ast.unparse(decorator) for decorator in node.decorator_list]
        assert any(d.startswith("pytest.fixture") for d in decorators), (
            f"conftest.{node.name} is neither a fixture nor a hook: move it to tests/helpers.py"
        )


# -- the settings variants: tox env, migrations check, CI -----------------------------------------


def tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return parser


def test_the_variants_are_found() -> None:
    assert {"no_tz", "uuid_user", "no_groups"} <= set(VARIANTS)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_is_a_tox_env(variant: str) -> None:
    env = variant.replace("_", "-")
    config = tox()
    assert env in config["tox"]["envlist"].split()
    section = config[f"testenv:{env}"]
    assert (
        section["setenv"].strip() == f"DJANGO_SETTINGS_MODULE = tests.variants.{variant}.settings"
    )
    assert section["commands"].strip() == "{[variant]commands}"


@pytest.mark.parametrize(
    "variant", [name for name in VARIANTS if (TESTS / "variants" / name / "models.py").exists()]
)
def test_a_variant_with_models_has_its_migrations_checked(variant: str) -> None:
    command = f"makemigrations --check --dry-run --settings tests.variants.{variant}.settings"
    assert command in tox()["testenv:migrations"]["commands"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_ci_runs_every_variant_or_says_why_not(variant: str) -> None:
    env = variant.replace("_", "-")
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    run = {name for envs in re.findall(r"tox run -e ([\w,-]+)", script) for name in envs.split(",")}
    assert env in run or f"# TODO({env}):" in script
