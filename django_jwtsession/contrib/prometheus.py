"""The counters of :mod:`django_jwtsession.metrics` for Prometheus (the ``prometheus`` extra).

Serve them (``urls.py``)::

    from django_jwtsession.contrib.prometheus import MetricsView

    path("metrics", MetricsView.as_view(token=os.environ["JWTSESSION_METRICS_TOKEN"])),

or add them to a ``prometheus_client`` registry you already expose::

    prometheus_client.REGISTRY.register(JWTSessionCollector())

The values are the running totals in the cache (``CACHE_ALIAS``): the sum over every
process that shares it, the same whichever process answers (docs/deployment.md says why).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.views import View

from .. import metrics

try:
    from prometheus_client.exposition import choose_encoder
    from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
except ImportError as exc:  # tests/test_prometheus.py runs this in a process without it
    raise ImproperlyConfigured(
        "django_jwtsession.contrib.prometheus needs prometheus_client: "
        'pip install "django-jwtsession[prometheus]"'
    ) from exc

logger = logging.getLogger("django_jwtsession")


@dataclass(frozen=True)
class Family:
    """One Prometheus counter (``<name>_total``) over some of ``metrics.NAMES``: the part
    of each counter's name after the dot is the value of ``label``."""

    name: str
    documentation: str
    label: str | None
    counters: tuple[str, ...]

    @property
    def per_strategy(self) -> bool:
        return self.counters[0] in metrics.PER_STRATEGY_NAMES


FAMILIES = (
    Family(
        "jwtsession_sessions_decoded",
        "Incoming sessions verified: a token's signature (jwt) or a key found (db).",
        None,
        ("decode.ok",),
    ),
    Family(
        "jwtsession_sessions_refused",
        "Incoming sessions refused, by TokenError reason, or revoked.",
        "reason",
        (*(name for name in metrics.DECODE_NAMES if name != "decode.ok"), "state.revoked"),
    ),
    Family(
        "jwtsession_state_checks",
        "State checks (marks, revocations), by how they were answered.",
        "result",
        tuple(name for name in metrics.STATE_NAMES if name != "state.revoked"),
    ),
    Family(
        "jwtsession_claims_refreshes",
        "Claims rebuilt from the database, by reason.",
        "reason",
        metrics.REFRESH_NAMES,
    ),
    Family(
        "jwtsession_revocations",
        "Revocations, by scope (user: users whose sessions were all revoked).",
        "scope",
        metrics.REVOKE_NAMES,
    ),
    Family(
        "jwtsession_sessions_spilled",
        "jwt sessions too large for a token (MAX_TOKEN_BYTES), stored in their record.",
        None,
        metrics.STORE_NAMES,
    ),
    Family(
        "jwtsession_mirror_events",
        "The pushed mirror: state checks it answered (hits) or not (misses), invalidations and "
        "flushes received from Redis, listener reconnects.",
        "event",
        tuple(name for name in metrics.MIRROR_NAMES if name != "mirror.degraded_ms"),
    ),
    Family(
        "jwtsession_mirror_degraded_milliseconds",
        "Time the mirror's listeners spent without a current mirror (connecting, Redis lost).",
        None,
        ("mirror.degraded_ms",),
    ),
)
UP = "jwtsession_metrics_up"
UP_DOCUMENTATION = "1 when the counters could be read from the cache (CACHE_ALIAS), else 0."


class JWTSessionCollector:
    """A ``prometheus_client`` collector of the running totals: one cache ``get_many``
    per collection. When the cache cannot be read it logs a warning and yields only
    ``jwtsession_metrics_up 0``, so a registry shared with other metrics still answers."""

    def describe(self) -> Iterator[Metric]:
        """The families without samples: registering the collector reads no cache."""
        yield GaugeMetricFamily(UP, UP_DOCUMENTATION)
        for family in FAMILIES:
            yield CounterMetricFamily(family.name, family.documentation, labels=_labels(family))

    def collect(self) -> Iterator[Metric]:
        try:
            totals = metrics.running_totals()
        except Exception as exc:
            logger.warning("jwtsession: counters not read from the cache (%s)", exc)
            yield GaugeMetricFamily(UP, UP_DOCUMENTATION, value=0)
            return
        yield GaugeMetricFamily(UP, UP_DOCUMENTATION, value=1)
        for family in FAMILIES:
            counter = CounterMetricFamily(family.name, family.documentation, labels=_labels(family))
            strategies = metrics.STRATEGIES if family.per_strategy else (None,)
            for name in family.counters:
                value = name.partition(".")[2]
                for strategy in strategies:
                    labels = [] if strategy is None else [strategy]
                    if family.label is not None:
                        labels.append(value)
                    counter.add_metric(labels, totals[name, strategy])
            yield counter


def _labels(family: Family) -> list[str]:
    names = ["strategy"] if family.per_strategy else []
    return names if family.label is None else [*names, family.label]


class MetricsView(View):
    """``GET``: the counters in Prometheus's text format (OpenMetrics when asked for).

    The counts show how busy the site is, so the view answers only:

    - a request with ``Authorization: Bearer <token>``, when ``token`` is given;
    - a signed-in staff user (from the claims: no query);
    - anyone, with ``public=True`` (only where the network already restricts it).

    Others get 401 (with ``token``: the scraper's credentials are missing or wrong) or 403.
    """

    http_method_names = ["get", "head"]
    token: str | None = None
    public = False

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        token = initkwargs.get("token", cls.token)
        if token is not None and (not isinstance(token, str) or not token.strip()):
            raise ImproperlyConfigured(
                f"MetricsView token must be a non-empty string or None, got {token!r}."
            )
        return super().as_view(**initkwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        if not self.allowed(request):
            if self.token is None:
                return HttpResponse("Forbidden.\n", status=403, content_type="text/plain")
            response = HttpResponse("Unauthorized.\n", status=401, content_type="text/plain")
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
        metrics.flush()  # this process's counts first, as jwtsession_stats does
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        response = HttpResponse(encode(JWTSessionCollector()), content_type=content_type)
        response["Cache-Control"] = "no-store"
        return response

    def allowed(self, request: HttpRequest) -> bool:
        if self.public:
            return True
        if self.token is not None:
            scheme, _, given = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(
                given.strip().encode(), self.token.encode()
            ):
                return True
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_authenticated and user.is_staff)
