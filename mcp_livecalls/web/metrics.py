"""``GET /metrics`` in the Prometheus text format: what one replica (and its share of the fleet) does.

A collector reads the running app's own counters at scrape time (nothing is counted twice, and
nothing here runs on the request path): upstream requests by provider and outcome, freshness
cache hits and misses, shared-lock waits, pacer delays, pollers and watched URIs, open
sessions, Redis fallback state, whether the fleet's update channel is heard (its listener
confirmed). Labels are provider names, outcomes and fixed words only —
never a call id, a number, a URI or a credential.

``app_of(server)`` (``mcp_livecalls.server.build``) tells which app a server runs; ``http_app``
serves ``metrics_endpoint(server, settings)`` behind the same bearer token as ``/mcp`` unless
``LIVECALLS_METRICS_PUBLIC=1``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mcp.server import MCPServer
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_livecalls.fleet.bus import RedisSubscriptionBus
from mcp_livecalls.fleet.cache import SharedFreshnessCache
from mcp_livecalls.fleet.leases import PollLeases
from mcp_livecalls.fleet.pacer import SharedPacer
from mcp_livecalls.server.build import app_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from mcp_livecalls.config import Settings
    from mcp_livecalls.server.app import LiveCallsApp

__all__ = ["metrics_endpoint", "registry_for"]

_REALM = "mcp-livecalls"


def registry_for(app: LiveCallsApp) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_AppCollector(app))
    return registry


class _AppCollector(Collector):
    def __init__(self, app: LiveCallsApp) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        app = self.app
        upstream = CounterMetricFamily(
            "livecalls_upstream_requests",
            "Requests sent to providers, by outcome.",
            labels=["provider", "outcome"],
        )
        pacer_delays = CounterMetricFamily(
            "livecalls_pacer_delays", "Requests that waited for the fleet's rate budget.", labels=["provider"]
        )
        pacer_seconds = CounterMetricFamily(
            "livecalls_pacer_delay_seconds",
            "Time spent waiting for the fleet's rate budget.",
            labels=["provider"],
        )
        cache = CounterMetricFamily("livecalls_cache_lookups", "Freshness cache lookups.", labels=["result"])
        lock_waits = CounterMetricFamily(
            "livecalls_shared_lock_waits", "Lookups that waited for another replica's upstream request."
        )
        service = app._service
        if service is not None:
            for name, adapter in service.providers.items():
                http = adapter.http
                for outcome, count in sorted(http.outcomes.items()):
                    upstream.add_metric([name.value, outcome], count)
                if isinstance(http.pacer, SharedPacer):
                    pacer_delays.add_metric([name.value], http.pacer.delays)
                    pacer_seconds.add_metric([name.value], http.pacer.delay_s)
            cache.add_metric(["hit"], service.cache.hits)
            cache.add_metric(["miss"], service.cache.upstream_calls)
            shared = service.cache
            lock_waits.add_metric([], shared.lock_waits if isinstance(shared, SharedFreshnessCache) else 0)
        yield from (upstream, cache, lock_waits, pacer_delays, pacer_seconds)

        watcher = app.watcher
        yield _gauge("livecalls_pollers", "Pollers running in this replica.", watcher.polling)
        leading = len(watcher.leases.leading) if watcher.leases is not None else watcher.polling
        yield _gauge("livecalls_pollers_leading", "Pollers of this replica asking upstream.", leading)
        yield _gauge(
            "livecalls_watched_uris", "Resources with a subscriber on this replica.", len(watcher.watched)
        )
        yield _gauge(
            "livecalls_open_sessions", "Client sessions known to the subscriptions.", len(app.subscriptions)
        )

        fleet = app.fleet
        yield _gauge(
            "livecalls_redis_configured", "1 when LIVECALLS_REDIS_URL is set.", int(fleet is not None)
        )
        yield _gauge(
            "livecalls_redis_fallback",
            "1 while Redis is unreachable and this replica serves from local state.",
            int(fleet is not None and fleet.down),
        )
        yield _counter(
            "livecalls_redis_fallbacks",
            "Times this replica fell back to local state.",
            fleet.fallbacks if fleet is not None else 0,
        )
        yield from _listener(app)


def _listener(app: LiveCallsApp) -> Iterator[Metric]:
    """The fleet's update channel as this replica hears it (``fleet.bus``), and what it does about it."""
    bus = app.bus if isinstance(app.bus, RedisSubscriptionBus) else None
    yield _gauge(
        "livecalls_redis_listener_confirmed",
        "1 while this replica hears its own heartbeat on the fleet's update channel in time; 0 while "
        "it does not (it then polls for its own subscribers) or without Redis.",
        int(bus is not None and bus.confirmed),
    )
    yield _counter(
        "livecalls_redis_listener_losses",
        "Times the update channel went deaf and was reconnected.",
        bus.losses if bus is not None else 0,
    )
    leases = app.watcher.leases
    alone = len(leases.alone) if isinstance(leases, PollLeases) else 0
    yield _gauge(
        "livecalls_pollers_alone",
        "Pollers of this replica asking upstream for its own subscribers while its channel is deaf.",
        alone,
    )
    yield _gauge(
        "livecalls_redis_foreign_fleet",
        "1 when another fleet (a different LIVECALLS_FLEET_SECRET) marked this Redis and prefix.",
        int(app.fleet is not None and app.fleet.foreign),
    )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _counter(name: str, documentation: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, documentation, value=value)


def metrics_endpoint(server: MCPServer[Any], settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """The ``/metrics`` handler for ``server``: the bearer token of ``/mcp`` unless made public."""
    token = settings.http_token.get_secret_value().encode() if settings.http_token is not None else None
    gated = token is not None and not settings.metrics_public

    async def metrics(request: Request) -> Response:
        if gated and token is not None:
            scheme, _, credential = (request.headers.get("authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), token):
                return JSONResponse(
                    {"error": "unauthorized", "error_description": "Send the server's bearer token."},
                    status_code=401,
                    headers={"WWW-Authenticate": f'Bearer realm="{_REALM}"'},
                )
        app = app_of(server)
        body = generate_latest(registry_for(app)) if app is not None else b""
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics
