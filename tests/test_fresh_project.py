"""The guides paste into a fresh project: ``django-admin startproject``, then the code blocks of
docs/installation.md (and docs/rest-framework.md) applied as they say — read from the Markdown,
not copied here — then migrate, a real server on 127.0.0.1, and a sign-in through the login
form to a guarded page. Also the slip the checks must catch outside any project of ours:
``django_jwtsession`` left out of ``INSTALLED_APPS`` (``jwtsession.E014``).

Each project is built in its own temporary directory with the installed package; nothing is
fetched from the network.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.processes import Browser, clean_env, serving

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
COMMAND_SECONDS = 60
PASSWORD = "fresh-project-password"
BLOCK = re.compile(r'^```(\w+) title="([^"]+)"\n(.*?)^```$', re.M | re.S)
TITLE = re.compile(r"(?P<path>[\w./-]+)(?P<append> \(add at the end\))?")


@dataclass(frozen=True)
class Block:
    language: str
    title: str
    code: str


def blocks(page: str) -> list[Block]:
    """The titled code blocks of ``docs/<page>``, in order: what the guide says to apply."""
    text = (DOCS / page).read_text(encoding="utf-8")
    found = [Block(*match.groups()) for match in BLOCK.finditer(text)]
    assert found, f"docs/{page} has no titled code blocks"
    return found


class Project:
    """A project made by ``django-admin startproject``, in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.parent = directory
        self.root = directory  # moved by `cd` in the guide's shell block
        self.env = clean_env(PYTHONDONTWRITEBYTECODE="1")

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``python <args>`` in the project; its output is in the failure message."""
        result = subprocess.run(
            [sys.executable, *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
            check=False,
        )
        assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
        return result

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("manage.py", *args)

    def shell(self, line: str) -> None:
        """One line of a guide's shell block; ``pip`` and the interactive or serving commands
        are the test's to do (the package is installed; the test starts the server)."""
        words = shlex.split(line)
        if words[:1] == ["cd"]:
            self.root = self.root / words[1]
        elif words[:2] == ["django-admin", "startproject"]:
            self.run("-m", "django", *words[1:])
        elif words[:2] == ["python", "manage.py"] and words[2] not in (
            "createsuperuser",
            "runserver",
        ):
            self.manage(*words[2:])
        else:
            assert words[0] == "python" or "pip" in words[0], f"unexpected command: {line}"

    def apply(self, block: Block) -> None:
        if block.title == "shell":
            for line in block.code.splitlines():
                if line.strip():
                    self.shell(line)
            return
        title = TITLE.fullmatch(block.title)
        assert title is not None, f"a block titled {block.title!r}: which file, and how?"
        path = self.root / title["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        if title["append"]:
            assert path.exists(), f"{path} to add to does not exist"
            with path.open("a", encoding="utf-8") as file:
                file.write("\n\n" + block.code)
        else:
            path.write_text(block.code, encoding="utf-8")

    def add_user(self, username: str, *, group: str | None = None, tier: str | None = None) -> None:
        code = (
            "from django.contrib.auth.models import Group, User\n"
            f"user = User.objects.create_user({username!r}, password={PASSWORD!r})\n"
        )
        if group:
            code += f"user.groups.add(Group.objects.get_or_create(name={group!r})[0])\n"
        if tier:
            code += (
                "from billing.models import Subscription\n"
                f"Subscription.objects.create(user=user, tier={tier!r})\n"
            )
        self.manage("shell", "-c", code)


def built(tmp_path: Path, *pages: str) -> Project:
    """A fresh project with the blocks of ``pages`` applied (migrated: the guide says so)."""
    project = Project(tmp_path)
    for page in pages:
        for block in blocks(page):
            project.apply(block)
    return project


def sign_in(browser: Browser, path: str, username: str) -> tuple[int, str, str]:
    """Open ``path`` (which sends an anonymous visitor to the login form), sign in with the
    form, and come back: the page it lands on."""
    status, url, _ = browser.get(path)
    assert (status, url) == (200, f"{browser.base_url}/accounts/login/?next={path}")
    return browser.submit(
        f"/accounts/login/?next={path}", {"username": username, "password": PASSWORD, "next": path}
    )


def test_the_installation_guide_builds_a_project_you_sign_in_to(tmp_path: Path) -> None:
    project = built(tmp_path, "installation.md")
    check = project.manage("check")
    assert "System check identified no issues" in check.stdout, check.stdout + check.stderr
    project.add_user("eddie", group="editor", tier="pro")
    project.add_user("carol")  # no group, no subscription: the DEFAULT_TIER
    command = [sys.executable, "manage.py", "runserver", "--noreload"]
    with serving(command, project.root, project.env, tmp_path / "server.log") as url:
        eddie = Browser(url)
        status, landed, page = sign_in(eddie, "/editors/", "eddie")
        assert (status, landed) == (200, f"{url}/editors/")
        assert page == "Editors only. Welcome, eddie."
        assert eddie.get("/") == (200, f"{url}/", "Hello, eddie.")
        assert eddie.get("/reports/")[2] == "Reports for eddie, on pro."

        carol = Browser(url)
        status, landed, page = sign_in(carol, "/reports/", "carol")  # no subscription: free
        assert status == 403
        assert carol.get("/editors/")[0] == 403
        project.manage(  # a subscription saved by another process shows on her next request
            "shell",
            "-c",
            "from billing.models import Subscription; from django.contrib.auth.models import "
            "User; Subscription.objects.create(user=User.objects.get(username='carol'), "
            "tier='enterprise')",
        )
        assert carol.get("/reports/") == (
            200,
            f"{url}/reports/",
            "Reports for carol, on enterprise.",
        )


def test_the_rest_guide_adds_the_browsable_api(tmp_path: Path) -> None:
    project = built(tmp_path, "installation.md", "rest-framework.md")
    check = project.manage("check")
    assert "System check identified no issues" in check.stdout, check.stdout + check.stderr
    project.add_user("eddie", group="editor", tier="pro")
    command = [sys.executable, "manage.py", "runserver", "--noreload"]
    with serving(command, project.root, project.env, tmp_path / "server.log") as url:
        eddie = Browser(url)
        status, _, page = eddie.get("/api/session/", Accept="text/html")
        assert status == 200
        assert "Django REST framework" in page  # the browsable API, its templates found
        status, landed, page = eddie.submit(
            "/api-auth/login/?next=/api/reports/",
            {"username": "eddie", "password": PASSWORD, "next": "/api/reports/"},
        )
        assert (status, landed) == (200, f"{url}/api/reports/")
        assert "<title>Report \u2013 Django REST framework</title>" in page
        assert "&quot;for&quot;: &quot;eddie&quot;" in page
        me = eddie.json("/api/session/")
        assert me["claims"]["username"] == "eddie"
        assert re.fullmatch(r"[0-9a-f]{64}", me["session"]["id"])
        assert [row["id"] for row in eddie.json("/api/sessions/")] == [me["session"]["id"]]
        assert eddie.json("/api/reports/") == {"report": "ok", "for": "eddie"}


def test_forgetting_the_app_in_installed_apps_is_a_check_error_not_a_traceback(
    tmp_path: Path,
) -> None:
    project = Project(tmp_path)
    for block in blocks("installation.md")[:2]:  # startproject, then the settings
        if block.title.endswith("(add at the end)"):
            block = Block(
                block.language,
                block.title,
                block.code.replace('INSTALLED_APPS += ["django_jwtsession"]', "# (forgotten)"),
            )
        project.apply(block)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "(jwtsession.E014) 'django_jwtsession' is not in INSTALLED_APPS" in result.stderr
    assert "HINT: Add 'django_jwtsession' to INSTALLED_APPS" in result.stderr
