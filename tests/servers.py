"""The test project as servers in other OS processes (tests/test_mirror_processes.py).

``application`` (WSGI) and ``asgi_application`` (ASGI) for gunicorn and uvicorn. With
``JWTSESSION_TEST_PRIME_MIRROR`` set, importing this module starts the pushed mirror's
listener and waits until it serves, as a project whose import touches sessions would, so a
server that forks after importing it (gunicorn ``--preload``) forks a process with a
running listener. ``python -m tests.servers PORT`` serves WSGI on 127.0.0.1:PORT, one request
at a time (wsgiref).
"""

from __future__ import annotations

import os
import sys

from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
asgi_application = get_asgi_application()

if os.environ.get("JWTSESSION_TEST_PRIME_MIRROR"):
    from django_jwtsession import listener

    if not listener.wait_serving(10):
        raise SystemExit("the mirror did not serve in the importing process")
    print(f"primed: the mirror serves in pid {os.getpid()}", file=sys.stderr, flush=True)

if __name__ == "__main__":
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    make_server(
        "127.0.0.1", int(sys.argv[1]), application, handler_class=QuietHandler
    ).serve_forever()
