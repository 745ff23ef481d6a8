"""ASGI: the site over HTTP, and a websocket at ``/ws/whoami/`` (Django Channels).

Serve it with an ASGI server, e.g. ``cd sandbox_project && uvicorn sandbox.asgi:application``
(``pip install "uvicorn[standard]"``) or ``daphne sandbox.asgi:application``.
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
