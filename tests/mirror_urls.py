"""The pushed mirror seen from inside a worker process (tests/test_mirror_processes.py)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from django_jwtsession import listener, metrics


def status(request: HttpRequest) -> JsonResponse:
    """This process's listener (started if need be, as a state check would), and how many
    reads its mirror answered (not yet flushed)."""
    listener.ensure()
    hits = metrics._buffer["mirror.hits"]  # the test settings flush once an hour
    return JsonResponse({**listener.status(), "hits": hits})


def sync(request: HttpRequest) -> JsonResponse:
    """Wait until the invalidations Redis sent before this request have arrived."""
    return JsonResponse({"synced": listener.sync()})


urlpatterns = [
    path("status/", status),
    path("sync/", sync),
]
