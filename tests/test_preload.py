"""``gunicorn --preload`` (docs/deployment.md): loading the application opens no connection.

A preloading server imports the project and builds the WSGI/ASGI application once in its
master process, then forks the workers: a database or Redis socket opened by then would be
shared by every worker. A process with this suite's settings, its database and cache on
ports nobody listens on, imports every module of the package, the URLconf and both
applications; Python's audit hook records any socket it tries to connect (redis-py's), and
Django says whether a database connection was opened (libpq connects in C); no thread runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRELOAD = """
import importlib, json, pkgutil, sys

connects = []


def audit(event, args):
    if event == "socket.connect":
        connects.append(repr(args))


sys.addaudithook(audit)

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

get_wsgi_application()  # django.setup(): settings, apps, checks' registration, signals
get_asgi_application()
import django_jwtsession
from django.conf import settings

modules = [django_jwtsession.__name__]
for info in pkgutil.walk_packages(django_jwtsession.__path__, "django_jwtsession."):
    if ".migrations." not in info.name:
        modules.append(info.name)
for name in modules:
    importlib.import_module(name)
importlib.import_module(settings.ROOT_URLCONF)
from django.db import connections  # libpq connects in C: ask Django instead

import threading

opened = [alias for alias in connections if connections[alias].connection is not None]
threads = [thread.name for thread in threading.enumerate() if thread is not threading.main_thread()]
found = {"modules": len(modules), "connects": connects, "databases": opened, "threads": threads}
print(json.dumps(found))
"""


def test_loading_the_application_opens_no_connection(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tests.settings"),
        "DATABASE_URL": "postgres://nobody:nothing@127.0.0.1:1/nothing",  # nobody listens
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'sandbox_project'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", PRELOAD],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded["modules"] > 40  # every module of the package, contrib included
    assert loaded["connects"] == []  # no Redis (or other Python) socket
    assert loaded["databases"] == []
    assert loaded["threads"] == []  # a thread started before the fork would not survive it
