"""The bench project under one stack's settings, as a WSGI application (for gunicorn).

``BENCH_STACK`` names the stack (``bench/stacks.py``), ``BENCH_DB`` the services
(``postgres`` for these servers: they share the database and Redis with the driver).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from bench.stacks import STACKS  # noqa: E402

_stack = {stack.key: stack for stack in STACKS}[os.environ["BENCH_STACK"]]
override_settings(**_stack.overrides).enable()
application = get_wsgi_application()
