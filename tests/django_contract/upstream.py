"""The test suite of the installed Django, from its source distribution (``pip download``).

The sdist is downloaded once into a git-ignored cache (``.cache/django-contract/`` at
the repository root, or ``JWTSESSION_CONTRACT_CACHE``) and the test packages the
contract needs are extracted next to it; both are reused while present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

import django

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("sessions_tests", "auth_tests", "templates")
"""What is extracted from the sdist's ``tests/``: the two suites, and runtests.py's templates."""


class UpstreamUnavailable(Exception):
    """The source distribution could not be downloaded or read."""


def cache_dir() -> Path:
    return Path(os.environ.get("JWTSESSION_CONTRACT_CACHE") or ROOT / ".cache" / "django-contract")


def installed_version() -> str:
    return django.__version__


def download_command(version: str) -> list[str]:
    """``pip download --no-deps --no-binary :all: "django==<version>"``, exactly (run in
    the directory that receives the file)."""
    pip = [sys.executable, "-m", "pip"]
    return [*pip, "download", "--no-deps", "--no-binary", ":all:", f"django=={version}"]


def sdist(version: str) -> Path:
    """The cached sdist of Django ``version``, downloaded when missing."""
    target = cache_dir() / f"django-{version}.tar.gz"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        try:
            result = subprocess.run(
                download_command(version),
                cwd=scratch,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UpstreamUnavailable(f"pip download of django=={version} failed: {exc}") from exc
        found = sorted(Path(scratch).glob("[Dd]jango-*.tar.gz"))
        if result.returncode != 0 or not found:
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise UpstreamUnavailable(
                f"pip download of the django=={version} sdist failed "
                f"(exit {result.returncode}): " + " | ".join(tail)
            )
        os.replace(found[0], target)  # atomic: a concurrent run sees all of it or nothing
    return target


def suites_dir(version: str | None = None) -> Path:
    """A directory holding the upstream test packages (``sessions_tests``, ``auth_tests``)
    of Django ``version`` (default: the installed one), ready to put on ``sys.path``."""
    version = version or installed_version()
    target = cache_dir() / version
    if all((target / name).is_dir() for name in PACKAGES):
        return target
    archive = sdist(version)
    staging = Path(tempfile.mkdtemp(dir=archive.parent, prefix=f".{version}-"))
    try:
        _extract(archive, staging)
        try:
            staging.rename(target)
        except OSError:  # a concurrent run extracted it first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _extract(archive: Path, destination: Path) -> None:
    """Extract ``<sdist root>/tests/<PACKAGES>/...`` into ``destination`` (regular files only)."""
    try:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                parts = PurePosixPath(member.name).parts
                if len(parts) < 4 or parts[1] != "tests" or parts[2] not in PACKAGES:
                    continue
                if not member.isfile() or ".." in parts:
                    continue
                source = tar.extractfile(member)
                if source is None:
                    continue
                path = destination.joinpath(*parts[2:])
                path.parent.mkdir(parents=True, exist_ok=True)
                with source, path.open("wb") as out:
                    shutil.copyfileobj(source, out)
    except (OSError, tarfile.TarError) as exc:
        raise UpstreamUnavailable(f"cannot read {archive}: {exc}") from exc
    missing = [name for name in PACKAGES if not (destination / name).is_dir()]
    if missing:
        raise UpstreamUnavailable(f"{archive} has no tests/{', tests/'.join(missing)}")
