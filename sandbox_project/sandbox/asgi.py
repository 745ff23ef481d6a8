"""ASGI: the site over HTTP, and a websocket at ``/ws/whoami/`` (Django Channels).

Serve it with an ASGI server (``run_sandbox`` serves WSGI, without the websocket)::

    .venv/bin/pip install daphne
    cd sandbox_project && ../.venv/bin/daphne -b 127.0.0.1 -p 8000 sandbox.asgi:application
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")
django_application = get_asgi_application()  # sets Django up before the imports below

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import path  # noqa: E402

from demo.consumers import WhoAmIConsumer  # noqa: E402
from django_jwtsession.contrib.channels import JWTSessionAuthMiddlewareStack  # noqa: E402

RECHECK_SECONDS = 5
"""Short for the demo, so a revocation closes the socket soon (the default is 30)."""

websocket_urlpatterns = [path("ws/whoami/", WhoAmIConsumer.as_asgi())]

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(
            JWTSessionAuthMiddlewareStack(
                URLRouter(websocket_urlpatterns), recheck_seconds=RECHECK_SECONDS
            )
        ),
    }
)
