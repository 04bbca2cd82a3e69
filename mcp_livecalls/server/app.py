"""The running state one server shares across its sessions: ``LiveCallsApp``.

The shared HTTP client, the provider adapters, the service, the watcher and, in a fleet, the
Redis parts live here; the server's lifespan opens and closes it (``LiveCallsApp.running``), and
every tool, resource and prompt reads it.
"""

from __future__ import annotations

import functools
import logging
import ssl
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import anyio
import httpx2
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp_livecalls import __version__
from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import ActiveCallsPage, LiveCall, StreamDetails
from mcp_livecalls.core.safety import LONG_TEXT_CAP, clean_text
from mcp_livecalls.core.views import CallerView
from mcp_livecalls.errors import (
    CallNotFound,
    InvalidArgument,
    LiveCallsError,
    ProviderError,
)
from mcp_livecalls.providers.registry import build_providers
from mcp_livecalls.server.policy import Detail, prepare_call, prepare_page, prepare_stream
from mcp_livecalls.service.calls import LiveCallsService
from mcp_livecalls.service.paging import CursorCodec
from mcp_livecalls.service.pushed import PushedEvents
from mcp_livecalls.service.watch import Subscriptions, Watcher
from mcp_livecalls.upstream.pacing import SharePacer
from mcp_livecalls.upstream.redact import LOG_FILTER, Redactor

if TYPE_CHECKING:  # the fleet parts (and redis) load only when LIVECALLS_REDIS_URL is set
    from mcp_livecalls.fleet.bus import RedisSubscriptionBus
    from mcp_livecalls.fleet.core import Fleet
    from mcp_livecalls.fleet.leases import PollLeases

__all__ = ["RESOURCE_NOT_FOUND", "LiveCallsApp"]

logger = logging.getLogger(__name__)

RESOURCE_NOT_FOUND = -32002
""""Resource not found" before protocol 2026-07-28. That version retired the code (never to be
reused), so ``mcp_types`` no longer defines it; 2026-07-28 answers ``INVALID_PARAMS`` instead."""


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process (httpx2's default): loading the CA bundle costs tens
    of milliseconds of CPU, which every server start would otherwise pay again."""
    return httpx2.create_ssl_context()


class LiveCallsApp:
    """What the server needs while it runs: settings, one HTTP client, the service.

    ``running()`` is re-entrant: the first session opens the client, the last one closes it.
    ``sleep`` and ``clock`` (monotonic seconds) pace the pollers and ``wait_for_call_state``;
    tests pass fakes so that time moves only when they say so.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = anyio.current_time,
        fleet: Fleet | None = None,
        lease_clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.now = now or (lambda: datetime.now(UTC))
        self.sleep = sleep
        self.clock = clock
        self.redact = Redactor(
            settings.secrets(), pairs=settings.redaction_pairs()
        )  # every output passes it (redacting())
        LOG_FILTER.register(self.redact)
        # -- fleet: with LIVECALLS_REDIS_URL, replicas share cache, pacing, memo, bus and pollers.
        # Their modules (and redis) are imported only then: a lone server starts without them.
        if fleet is None and settings.redis_url is not None:
            from mcp_livecalls.fleet.core import Fleet

            url = settings.redis_url.get_secret_value()
            fleet = Fleet(url, prefix=settings.redis_prefix, secrets=settings.fleet_secrets())
        self.fleet = fleet
        self.bus: InMemorySubscriptionBus | RedisSubscriptionBus = InMemorySubscriptionBus()
        leases: PollLeases | None = None
        shared: RedisSubscriptionBus | None = None
        if fleet is not None:
            shared, leases = self._fleet_bus(fleet, lease_clock)
            self.bus = shared
        self.watcher = Watcher(
            lambda: self.service,
            self._publish,
            interval_s=settings.poll_interval_s,
            sleep=sleep,
            leases=leases,
            reconcile_s=settings.reconcile_s,
        )
        self.pushed = PushedEvents(
            self.watcher,
            self.now,
            reconcile_s=settings.reconcile_s,
            caches=lambda: self._service.cache if self._service else None,
        )
        """Verified webhook events in (``web`` receives them); they wake the watcher's pollers."""
        if shared is not None:  # in a fleet: each event once for every replica, heard by all
            self.pushed.claim, self.pushed.share = shared.claim, shared.share
            shared.on_event = self.pushed.heard
        self.subscriptions = Subscriptions(
            self.watcher, max_per_session=settings.max_watches_per_session, max_total=settings.max_watches
        )
        self._service: LiveCallsService | None = None
        self._client: httpx2.AsyncClient | None = None
        self._users = 0

    def shape_call(self, call: LiveCall, detail: Detail, view: CallerView | None = None) -> LiveCall:
        """``call`` as every output shows it: numbers masked if set (or if ``view``, the caller's,
        lacks ``livecalls:pii``), transcript cut for ``brief``."""
        settings = self.settings
        return prepare_call(
            call, detail=detail, mask=settings.mask_numbers, turns=settings.transcript_turns, view=view
        )

    def shape_stream(
        self, details: StreamDetails, detail: Detail, view: CallerView | None = None
    ) -> StreamDetails:
        settings = self.settings
        return prepare_stream(
            details, detail=detail, mask=settings.mask_numbers, turns=settings.transcript_turns, view=view
        )

    def shape_page(self, page: ActiveCallsPage, view: CallerView | None = None) -> ActiveCallsPage:
        return prepare_page(page, mask=self.settings.mask_numbers, view=view)

    @property
    def service(self) -> LiveCallsService:
        if self._service is None:
            raise RuntimeError("the server is not running")
        return self._service

    @asynccontextmanager
    async def running(self) -> AsyncIterator[LiveCallsApp]:
        if self._users == 0:
            policy = self.settings.http
            self._client = httpx2.AsyncClient(
                timeout=policy.timeout(),
                limits=httpx2.Limits(
                    max_connections=policy.max_concurrency * 3, max_keepalive_connections=20
                ),
                follow_redirects=False,
                headers={"User-Agent": f"mcp-livecalls/{__version__}", "Accept": "application/json"},
                verify=_tls_context(),
            )
            providers = build_providers(
                self.settings.providers,
                self.settings.http,
                self._client,
                self.now,
                share_pacer=self._share_pacer(),
            )
            self._service = LiveCallsService(
                providers,
                tool_budget_s=policy.tool_budget_s,
                cache_ttl_s=self.settings.cache_ttl_s,
                cursors=CursorCodec.from_secrets(self.settings.fleet_secrets()),
                default_region=self.settings.default_region,
                held=self.pushed.held,
                **self._fleet_parts(),
            )
        self._users += 1
        try:
            async with anyio.create_task_group() as pollers:
                if not isinstance(self.bus, InMemorySubscriptionBus):
                    pollers.start_soon(self.bus.run)  # one reader per app, whichever group runs it
                self.watcher.bind(pollers)
                try:
                    yield self
                finally:
                    self.watcher.unbind(pollers)
                    pollers.cancel_scope.cancel()
        finally:
            self._users -= 1
            if self._users == 0:
                client, self._client, self._service = self._client, None, None
                if client is not None:
                    await client.aclose()
                if self.fleet is not None:
                    await self.fleet.aclose()

    def _fleet_bus(
        self, fleet: Fleet, lease_clock: Callable[[], float] | None
    ) -> tuple[RedisSubscriptionBus, PollLeases]:
        """With a fleet: the Redis subscription bus and the pollers' leases."""
        from mcp_livecalls.fleet.bus import RedisSubscriptionBus
        from mcp_livecalls.fleet.leases import PollLeases

        bus = RedisSubscriptionBus(fleet, self._deliver_legacy)
        leases = PollLeases(
            fleet,
            interval_s=self.settings.poll_interval_s,
            clock=lease_clock,
            listening=lambda: bus.confirmed,  # a deaf replica polls for its own subscribers
        )
        return bus, leases

    def _share_pacer(self) -> SharePacer | None:
        """With a fleet: each provider's pacer becomes one bucket in Redis per account."""
        fleet = self.fleet
        if fleet is None:
            return None
        from mcp_livecalls.fleet.pacer import SharedPacer

        return lambda local, account: SharedPacer(local, fleet, account=account)

    def _fleet_parts(self) -> dict[str, Any]:
        """With a fleet: the shared cache and memo for the service."""
        fleet = self.fleet
        if fleet is None:
            return {}
        from mcp_livecalls.fleet.cache import SharedFreshnessCache
        from mcp_livecalls.fleet.memo import SharedHomes

        return {
            # A leader's lock lives as long as the leader can still take (at most the tool budget).
            "cache": SharedFreshnessCache(
                self.settings.cache_ttl_s, fleet, lock_ttl_s=self.settings.http.tool_budget_s
            ),
            "homes": SharedHomes(fleet),
        }

    async def _deliver_legacy(self, uri: str) -> None:
        """An update another replica found: send it to this replica's legacy subscribers."""
        for deliver in self.subscriptions.deliverers(uri):
            await deliver(uri)

    async def _publish(self, uri: str) -> None:
        """Announce a change to modern listen streams (the bus) and legacy subscribers alike.

        A legacy send never raises, even to a client that has gone (the SDK drops it): sessions
        are forgotten when their connection ends (``Subscriptions.close``), not here.
        """
        await self.bus.publish(ResourceUpdated(uri=uri))
        for deliver in self.subscriptions.deliverers(uri):
            await deliver(uri)

    @contextmanager
    def tool_errors(self, tool: str) -> Iterator[None]:
        """Turn every failure into an MCP tool error (``isError``) whose text says what happened."""
        try:
            yield
        except LiveCallsError as exc:
            message = clean_text(self.redact(str(exc)), limit=LONG_TEXT_CAP)
            provider = exc.provider if isinstance(exc, ProviderError) else "-"
            logger.debug("%s failed (%s, %s): %s", tool, type(exc).__name__, provider, message)
            raise ToolError(message) from None
        except Exception as exc:  # noqa: BLE001 - the tool boundary: a bug still gets a clear answer
            raise ToolError(self._internal_error(tool, exc)) from None

    @contextmanager
    def resource_errors(self, uri: str, protocol_version: str | None = None) -> Iterator[None]:
        """Resource failures as the negotiated protocol spells them: a call that is not live is
        "resource not found" (-32002 before 2026-07-28, where that code is retired and
        ``INVALID_PARAMS`` is used), a bad id is ``INVALID_PARAMS``, the rest an error text."""
        try:
            yield
        except CallNotFound as exc:
            code = INVALID_PARAMS if protocol_version in MODERN_PROTOCOL_VERSIONS else RESOURCE_NOT_FOUND
            raise MCPError(code, self.redact(str(exc)), data={"uri": uri}) from None
        except InvalidArgument as exc:
            raise MCPError(INVALID_PARAMS, self.redact(str(exc)), data={"uri": uri}) from None
        except LiveCallsError as exc:
            raise ResourceError(clean_text(self.redact(str(exc)), limit=LONG_TEXT_CAP)) from None
        except Exception as exc:  # noqa: BLE001 - the resource boundary, as for tools
            raise ResourceError(self._internal_error(uri, exc)) from None

    async def redacting(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Server middleware: every result and error leaving the server, scrubbed in one place.

        Tool text and structured content, resource bodies, completions, prompts, error messages:
        whatever a handler answers passes ``self.redact`` before it reaches the transport.
        """
        try:
            result = await call_next(ctx)
        except MCPError as exc:
            raise MCPError(exc.code, self.redact(exc.message), self.redact.scrub(exc.data)) from None
        return cast(HandlerResult, self.redact.scrub(result)) if isinstance(result, dict) else result

    def _internal_error(self, where: str, exc: Exception) -> str:
        """Log the traceback (redacted) to stderr; tell the caller only the kind of failure."""
        trace = "".join(traceback.format_exception(exc))
        logger.error("%s hit an internal error:\n%s", where, self.redact(trace))
        return (
            f"mcp-livecalls hit an internal error ({type(exc).__name__}); try again, "
            "and report it if it persists."
        )
