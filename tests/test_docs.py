"""The docs, the packaging metadata and CI must not drift from the code."""

from __future__ import annotations

import configparser
import re
import subprocess
from pathlib import Path

import pytest

import django_jwtsession
from django_jwtsession import conf

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CHECK_ID = re.compile(r"jwtsession\.[EW]\d{3}")


def read(relative: str) -> str:
    return (ROOT / relative).read_text(encoding="utf-8")


def sections(markdown: str) -> dict[str, str]:
    """``### `KEY` `` or ``### id`` headings mapped to the text up to the next heading."""
    found: dict[str, str] = {}
    for match in re.finditer(r"^### `?([^`\n]+?)`?\n(.*?)(?=^#{1,3} |\Z)", markdown, re.M | re.S):
        found[match.group(1)] = match.group(2)
    return found


def code_check_ids() -> set[str]:
    ids: set[str] = set()
    # The package imported, which is not the checkout's when CI tests the installed wheel.
    for path in Path(django_jwtsession.__file__).parent.rglob("*.py"):
        ids.update(CHECK_ID.findall(path.read_text(encoding="utf-8")))
    return ids


# -- settings -----------------------------------------------------------------
def test_every_setting_is_documented_with_its_default() -> None:
    documented = sections(read("docs/settings.md"))
    missing = sorted(set(conf.DEFAULTS) - set(documented))
    assert not missing, f"settings missing from docs/settings.md: {missing}"
    for key, default in conf.DEFAULTS.items():
        literal = repr(default).replace("'", '"')
        assert f"Default: `{literal}`" in documented[key], f"{key}: default {literal} not stated"


def test_docs_document_no_setting_that_does_not_exist() -> None:
    documented = {name for name in sections(read("docs/settings.md")) if name.isupper()}
    assert documented - set(conf.DEFAULTS) == set()


# -- checks -------------------------------------------------------------------
def test_every_check_id_is_documented_with_cause_and_fix() -> None:
    documented = sections(read("docs/checks.md"))
    ids = code_check_ids()
    assert ids, "no check ids found in django_jwtsession/"
    missing = sorted(ids - set(documented))
    assert not missing, f"check ids missing from docs/checks.md: {missing}"
    for check_id in ids:
        assert "**Cause**" in documented[check_id], check_id
        assert "**Fix**" in documented[check_id], check_id


def test_docs_document_no_check_that_does_not_exist() -> None:
    documented = set(CHECK_ID.findall(read("docs/checks.md")))
    assert documented - code_check_ids() == set()


# -- supported versions -----------------------------------------------------------
def tox_envlist() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "tox.ini")
    return parser["tox"]["envlist"].split()


def test_classifiers_tox_and_docs_name_the_same_django_versions() -> None:
    pyproject = read("pyproject.toml")
    classifiers = set(re.findall(r'"Framework :: Django :: (\d+\.\d+)"', pyproject))
    tox = {
        f"{m.group(1)}.{m.group(2)}"
        for env in tox_envlist()
        if (m := re.search(r"django(\d)(\d+)", env))
    }
    docs = set(re.findall(r"^\| Django (\d+\.\d+) \|", read("docs/installation.md"), re.M))
    assert classifiers == tox == docs, (classifiers, tox, docs)


def test_classifiers_cover_tox_pythons_and_requires_python() -> None:
    pyproject = read("pyproject.toml")
    classifiers = set(re.findall(r'"Programming Language :: Python :: (3\.\d+)"', pyproject))
    tox = {f"3.{m.group(1)}" for env in tox_envlist() if (m := re.match(r"py3(\d+)-", env))}
    assert tox <= classifiers
    minimum = re.search(r'requires-python = ">=(3\.\d+)"', pyproject)
    assert minimum is not None
    assert min(classifiers, key=lambda v: int(v.split(".")[1])) == minimum.group(1)


def test_tox_has_the_lint_mypy_and_migrations_envs() -> None:
    assert {"lint", "mypy", "migrations"} <= set(tox_envlist())


# -- README and CI ------------------------------------------------------------------
def readme_command(marker: str) -> str:
    match = re.search(rf"<!-- ci:{marker} -->\n```sh\n([^\n]+)\n```", read("README.md"))
    assert match, f"README.md has no <!-- ci:{marker} --> block"
    return match.group(1)


def test_readme_opens_with_the_sandbox_and_test_commands() -> None:
    readme = read("README.md")
    sandbox, tests = readme_command("sandbox-command"), readme_command("test-command")
    assert readme.index(sandbox) < readme.index(tests) < readme.index("\n## ")
    assert sandbox.startswith("python3 -m venv .venv && ")
    assert sandbox.endswith("sandbox_project/manage.py run_sandbox")
    assert tests.startswith("python3 -m venv .venv && ")
    assert tests.endswith(".venv/bin/pytest")


def test_ci_runs_the_readme_test_command() -> None:
    result = subprocess.run(
        ["bash", str(ROOT / ".ci" / "run"), "--print-test-command"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.stdout.strip() == readme_command("test-command")
    script = read(".ci/run")
    assert 'bash -c "$TEST_COMMAND"' in script
    assert 'bash -c "$SANDBOX_COMMAND"' in script


# -- links --------------------------------------------------------------------------
LINKED_FILES = [
    "README.md",
    "CONTRIBUTING.md",
    "SECURITY.md",
    *sorted(str(path.relative_to(ROOT)) for path in DOCS.glob("*.md")),
]


@pytest.mark.parametrize("relative", LINKED_FILES)
def test_relative_links_resolve(relative: str) -> None:
    source = ROOT / relative
    text = source.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (source.parent / path).resolve() if path else source
        assert resolved.exists(), f"{relative}: broken link {target}"
        if anchor and resolved.suffix == ".md":
            assert anchor in anchors(resolved.read_text(encoding="utf-8")), (
                f"{relative}: no heading for #{anchor} in {path}"
            )


def test_docs_links_stay_inside_docs() -> None:
    """The site is built from docs/ alone: a link out of it would break there."""
    for source in DOCS.glob("*.md"):
        for target in re.findall(r"\]\(([^)\s]+)\)", source.read_text(encoding="utf-8")):
            path = target.partition("#")[0]
            if re.match(r"[a-z]+:", target) or not path:
                continue
            resolved = (source.parent / path).resolve()
            assert resolved.is_relative_to(DOCS), f"docs/{source.name}: {target} leaves docs/"


# -- the documentation site (mkdocs.yml) --------------------------------------------------------
def mkdocs_nav_pages() -> list[str]:
    """The pages named in mkdocs.yml's ``nav`` (read with a regex: tests run without PyYAML)."""
    config = read("mkdocs.yml")
    block = re.search(r"^nav:\n((?:[ \t]+.*\n|\n)+)", config, re.M)
    assert block, "mkdocs.yml has no nav"
    return re.findall(r"^\s*-\s*(?:[^:\n]+:\s*)?([\w./-]+\.md)\s*$", block.group(1), re.M)


def test_every_docs_page_is_in_the_site_nav_once() -> None:
    pages = mkdocs_nav_pages()
    assert len(pages) == len(set(pages)), f"pages listed twice in mkdocs.yml: {pages}"
    on_disk = {path.name for path in DOCS.glob("*.md")}
    missing_files = sorted(set(pages) - on_disk)
    orphaned = sorted(on_disk - set(pages))
    assert not missing_files, f"mkdocs.yml's nav names pages that do not exist: {missing_files}"
    assert not orphaned, f"pages missing from mkdocs.yml's nav: {orphaned}"
    assert pages[0] == "index.md"


def test_the_site_is_strict_and_built_by_ci() -> None:
    config = read("mkdocs.yml")
    assert re.search(r"^strict: true$", config, re.M)
    assert re.search(r"^\s+anchors: warn$", config, re.M)
    assert "mkdocs build --strict" in read(".ci/run")


def test_included_snippets_exist() -> None:
    """``--8<-- "FILE"`` lines (pymdownx.snippets) name files relative to the repository root."""
    included = [
        (page.name, name)
        for page in DOCS.glob("*.md")
        for name in re.findall(r'^--8<-- "([^"]+)"$', page.read_text(encoding="utf-8"), re.M)
    ]
    assert ("changelog.md", "CHANGELOG.md") in included
    for page, name in included:
        assert (ROOT / name).is_file(), f"docs/{page} includes {name}, which does not exist"


def anchors(markdown: str) -> set[str]:
    """GitHub-style heading anchors."""
    result = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        result.add(slug)
    return result


# -- metrics ------------------------------------------------------------------------------
def test_every_counter_is_documented() -> None:
    from django_jwtsession import metrics

    families = "decode|state|refresh|revoke|store|mirror"
    documented = set(re.findall(rf"`((?:{families})\.\w+)`", read("docs/metrics.md")))
    assert set(metrics.NAMES) - documented == set()
    assert documented - set(metrics.NAMES) == set()
