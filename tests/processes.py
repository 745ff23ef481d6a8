"""Servers the tests start in their own processes, on 127.0.0.1: a free port, a clean stop;
the sandbox served by ``run_sandbox``, a small cookie-keeping HTTP client for it, and a
``redis-server`` of the tests' own (stopped, paused, restarted empty at will)."""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

STOP_TIMEOUT = 10.0
START_TIMEOUT = 30.0
START_SECONDS = 30
"""How long a server may take to start (migrate, seed) and answer."""
ROOT = Path(__file__).resolve().parent.parent
MANAGE = ROOT / "sandbox_project" / "manage.py"
SANDBOX_PASSWORD = "sandbox-password"  # seed_demo's default (shared/SANDBOX.md)
# The sandbox's settings, with a file cache of its own: the default one
# (sandbox_project/.cache/) is shared with any sandbox run on this machine.
SANDBOX_SETTINGS = """\
from sandbox.settings import *  # noqa: F403

CACHES = {{
    "default": {{
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": {cache!r},
    }}
}}
# Counters reach the cache after every request, so the metrics page shows them all.
JWTSESSION = {{**JWTSESSION, "METRICS_FLUSH_SECONDS": 0}}  # noqa: F405
"""


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def stop_process(process: subprocess.Popen[Any]) -> None:
    """Terminate, and kill when that is not enough; bounded either way."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)


def clean_env(**changes: str) -> dict[str, str]:
    """This environment without the tests' own settings (database, cache, settings module)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH"}
        and not name.startswith("JWTSESSION_")
    }
    env.update(PYTHONUNBUFFERED="1", **changes)
    return env


def sandbox_env(directory: Path, strategy: str) -> dict[str, str]:
    """The sandbox's environment: its own database and cache in ``directory`` (kept across
    restarts), none of the tests' settings."""
    (directory / "e2e_settings.py").write_text(
        SANDBOX_SETTINGS.format(cache=str(directory / "cache")), encoding="utf-8"
    )
    return clean_env(
        DATABASE_URL=f"sqlite:///{directory / 'db.sqlite3'}",
        DJANGO_SETTINGS_MODULE="e2e_settings",
        PYTHONPATH=str(directory),
        JWTSESSION_STRATEGY=strategy,
    )


def wait_until_serving(
    url: str, process: subprocess.Popen[bytes], log: Path, path: str = "/whoami/"
) -> None:
    """Return once ``path`` answers; fail (with the server's log) after START_SECONDS."""
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        connection = http.client.HTTPConnection(host, int(port), timeout=2)
        try:
            connection.request("GET", path)
            if connection.getresponse().status < 500:
                return
        except (OSError, http.client.HTTPException):
            pass  # not listening yet
        finally:
            connection.close()
        time.sleep(0.1)
    pytest.fail(f"the server did not answer within {START_SECONDS} s:\n{log.read_text()[-3000:]}")


@contextmanager
def serving(
    command: list[str], cwd: Path, env: dict[str, str], log: Path, ready_path: str = "/"
) -> Iterator[str]:
    """Run ``command`` + ``127.0.0.1:<free port>`` until the block ends; yield its URL."""
    address = f"127.0.0.1:{free_port()}"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*command, address],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_serving(f"http://{address}", process, log, ready_path)
        yield f"http://{address}"
    finally:
        stop_process(process)


@contextmanager
def running_sandbox(directory: Path, strategy: str) -> Iterator[str]:
    """``manage.py run_sandbox`` (migrate, seed, serve) on ``directory``'s database."""
    command = [sys.executable, str(MANAGE), "run_sandbox"]
    env = sandbox_env(directory, strategy)
    with serving(command, directory, env, directory / "server.log", "/whoami/") as url:
        yield url


class Browser:
    """A plain HTTP client with its own cookie jar (one person's browser), following
    redirects; it sends the CSRF token a form needs."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        # What a browser asks for (a request's own Accept header wins).
        self.opener.addheaders = [("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")]

    def request(
        self, path: str, data: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, str, str]:
        """(status, final URL, body) of a GET, or a form POST when ``data`` is given."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        assert self.base_url.startswith("http://127.0.0.1:"), self.base_url  # a local server
        request = urllib.request.Request(self.base_url + path, body, headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=START_SECONDS) as response:
                return response.status, response.url, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.read().decode()

    def get(self, path: str, **headers: str) -> tuple[int, str, str]:
        return self.request(path, headers=headers)

    def submit(self, path: str, fields: dict[str, str]) -> tuple[int, str, str]:
        """Load the form at ``path`` and post ``fields`` to it with its CSRF token."""
        status, _, page = self.get(path)
        assert status == 200, page[:500]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert token is not None, page[:500]
        return self.request(path, {**fields, "csrfmiddlewaretoken": token.group(1)})

    def json(self, path: str) -> Any:
        status, _, body = self.get(path, Accept="application/json")
        assert status == 200, body[:500]
        return json.loads(body)

    def set_base_url(self, base_url: str) -> None:
        """The same browser (cookies kept: they do not depend on the port) on another server."""
        self.base_url = base_url


def require(condition: bool, reason: str, required_by: str) -> None:
    """Skip when ``condition`` is false, unless the environment variable ``required_by`` is set."""
    if condition:
        return
    if os.environ.get(required_by):
        pytest.fail(f"{reason} ({required_by} is set)")
    pytest.skip(reason)


def redis_binary() -> str:
    binary = shutil.which("redis-server")
    require(binary is not None, "redis-server is not installed", "REQUIRE_REDIS_URL")
    assert binary is not None
    return binary


class RedisServer:
    """A ``redis-server`` of our own on 127.0.0.1: started, stopped, paused, restarted (empty)."""

    def __init__(self, binary: str, directory: Path, *options: str) -> None:
        self.binary = binary
        self.directory = directory
        self.options = options
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                *self.options,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._pong():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None:
            self.resume()  # a stopped process would not see SIGTERM
            stop_process(self.process)
            self.process = None

    def kill(self) -> None:
        """SIGKILL: no shutdown, as a crashed machine."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=STOP_TIMEOUT)

    def pause(self) -> None:
        """SIGSTOP: connections stay open, nothing is answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)

    def _pong(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


class HTTPServerProcess:
    """A server in its own process, answering HTTP on 127.0.0.1:``port`` once started."""

    def __init__(self, argv: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.log = log
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=output
            )

    def wait_until_serving(self, deadline: float) -> None:
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"a server did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.process)
