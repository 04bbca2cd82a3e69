"""Live updates: subscribed resources are polled upstream and announced only when they change.

One poller per watched URI, however many subscribers (modern ``subscriptions/listen`` streams
and legacy ``resources/subscribe`` sessions alike). Who watches what is kept in one place,
``Subscriptions``, keyed by a stable identity of the client's session (see ``SessionKey``): a
repeated subscribe is one subscription, and unsubscribing or the session ending releases the
session's watches at once, so a poller stops as soon as its last subscriber leaves.

A poller compares a fingerprint of the normalized state — status, hold/mute, legs, agent; not
the ever-growing duration — and emits ``notifications/resources/updated`` only when it differs.
It stops when its last subscriber leaves, or when the call ends, after one final update that
says so.

Fair shares: a session watches at most ``max_per_session`` URIs and the process at most
``max_total`` (``LIVECALLS_MAX_WATCHES_PER_SESSION``, ``LIVECALLS_MAX_WATCHES``); beyond them a
subscribe is refused with ``TooManyWatches``. Pollers' upstream requests are background work
(``http.background_requests``): they wait behind tool calls and use at most a share of each
provider's request rate and concurrent requests.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
from anyio.abc import TaskGroup

from mcp_livecalls.core.models import ActiveCallsPage, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import CallNotFound, InvalidArgument, LiveCallsError, TooManyWatches
from mcp_livecalls.providers.base import MAX_CALL_ID_LENGTH
from mcp_livecalls.providers.hooks import WebhookEvent
from mcp_livecalls.service.calls import LiveCallsService
from mcp_livecalls.service.paging import MAX_LIMIT
from mcp_livecalls.service.polling import poll_until_final
from mcp_livecalls.service.wakes import Wake, applied
from mcp_livecalls.upstream.pacing import background_requests

__all__ = ["ACTIVE_URI", "SessionKey", "Subscriptions", "Watcher", "parse_call_uri"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_WATCHES_PER_SESSION = 50
"""Resources one session may watch: enough for a supervisor's wall, not a scan of the account."""
DEFAULT_MAX_WATCHES = 500
"""Resources watched for every client together: each is a poller drawing on the providers."""


class Leases(Protocol):
    """Who polls a URI among the replicas of a fleet (``mcp_livecalls.fleet.leases.PollLeases``)."""

    follow_s: float
    """How long a replica that does not hold the lease waits before asking again."""
    leading: set[str]
    """The URIs this replica polls for the fleet."""

    async def lead(self, uri: str) -> bool:
        """Whether this replica holds (or has just taken) the lease for ``uri``."""
        ...

    async def resign(self, uri: str) -> None: ...


ACTIVE_URI = "livecalls://calls/active"
_CALL_URI = re.compile(
    rf"livecalls://calls/(?P<provider>[a-z]+)/(?P<call_id>[A-Za-z0-9_-]{{1,{MAX_CALL_ID_LENGTH}}})(?P<stream>/stream)?"
)


def parse_call_uri(uri: str) -> tuple[ProviderName, str, bool] | None:
    """``(provider, call_id, is_stream)`` for a call resource URI, else ``None``."""
    match = _CALL_URI.fullmatch(uri)
    if match is None:
        return None
    try:
        provider = ProviderName(match["provider"])
    except ValueError:
        return None
    return provider, match["call_id"], match["stream"] is not None


def fingerprint(state: LiveCall | StreamDetails | ActiveCallsPage) -> Hashable:
    """What counts as a change: status, hold/mute, legs and agent — never the ticking duration."""
    if isinstance(state, ActiveCallsPage):
        return frozenset((call.provider, call.call_id, call.status, _legs(call.legs)) for call in state.calls)
    agent = state.agent.id if isinstance(state, LiveCall) and state.agent else None
    return (state.status, agent, _legs(state.legs))


def _legs(legs: list[Any]) -> tuple[Hashable, ...]:
    return tuple((leg.leg_id, leg.role, leg.status, leg.muted, leg.on_hold) for leg in legs)


Publish = Callable[[str], Awaitable[None]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class _Poller:
    subscribers: int = 0
    running: bool = False
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    wake: Wake = field(default_factory=Wake)
    """Ended by ``Watcher.wake`` (a pushed event): the URI is read (or the event applied) at once."""


class Watcher:
    def __init__(
        self,
        service: Callable[[], LiveCallsService],
        publish: Publish,
        *,
        interval_s: float,
        sleep: Sleep = anyio.sleep,
        leases: Leases | None = None,
        reconcile_s: float | None = None,
    ) -> None:
        self._service = service
        self.reconcile_s = reconcile_s
        """With webhooks: how often a pushing provider's URIs are re-polled (``LIVECALLS_RECONCILE_S``)."""
        self.pushing: Callable[[ProviderName], bool] = lambda provider: False
        """Whether ``provider``'s webhooks are healthy now (``service.pushed.PushedEvents.healthy``)."""
        self.began: Callable[[ProviderName], None] = lambda provider: None
        """Told when a provider's first running poller starts (none ran before): from then on its
        webhooks are expected to tell of its calls (``PushedEvents.healthy``)."""
        self._running: Counter[ProviderName] = Counter()
        self.leases = leases
        """With a fleet: only the lease holder among the replicas polls a URI (``fleet.leases``)."""
        self._publish = publish
        self.interval_s = interval_s
        self._sleep = sleep
        self._pollers: dict[str, _Poller] = {}
        self._groups: list[TaskGroup] = []
        self.upstream_polls = 0
        self.applied = 0
        """Readings that were a pushed event applied to the last state (no upstream request)."""

    @staticmethod
    def watchable(uri: str) -> bool:
        return uri == ACTIVE_URI or parse_call_uri(uri) is not None

    def bind(self, group: TaskGroup) -> None:
        """Pollers start in the most recently bound task group (the running server's)."""
        self._groups.append(group)

    def unbind(self, group: TaskGroup) -> None:
        self._groups.remove(group)

    def acquire(self, uri: str) -> None:
        poller = self._pollers.setdefault(uri, _Poller())
        poller.subscribers += 1
        if not poller.running and self._groups:
            poller.running = True
            self._counted(uri, +1)
            poller.scope = anyio.CancelScope()
            self._groups[-1].start_soon(self._poll, uri, poller)

    def _counted(self, uri: str, step: int) -> None:
        parsed = parse_call_uri(uri)
        if parsed is None:
            return
        provider = parsed[0]
        self._running[provider] += step
        if step > 0 and self._running[provider] == 1:
            self.began(provider)
        elif self._running[provider] <= 0:
            del self._running[provider]

    def watching(self, provider: ProviderName) -> bool:
        """Whether a poller of one of ``provider``'s calls runs (a live call is watched)."""
        return self._running[provider] > 0

    def release(self, uri: str) -> None:
        poller = self._pollers.get(uri)
        if poller is None:
            return
        poller.subscribers -= 1
        if poller.subscribers <= 0:
            poller.scope.cancel()
            del self._pollers[uri]

    def wake(self, uri: str, event: WebhookEvent | None = None) -> bool:
        """Read ``uri`` now instead of at the end of its pause (or apply ``event``, when it is
        data: ``service.wakes``); ``False`` when nobody watches it."""
        poller = self._pollers.get(uri)
        if poller is None:
            return False
        poller.wake.wake(event)
        return True

    def interval_for(self, uri: str) -> float:
        """The pause between two readings of ``uri``: the reconcile interval while its provider
        pushes (the active list's while any does), the poll interval otherwise."""
        if self.reconcile_s is None:
            return self.interval_s
        parsed = parse_call_uri(uri)
        if parsed is None:
            return self.interval_s  # the list spans every provider, Zudu's polled ones too
        return max(self.reconcile_s, self.interval_s) if self.pushing(parsed[0]) else self.interval_s

    def subscribers(self, uri: str) -> int:
        poller = self._pollers.get(uri)
        return poller.subscribers if poller else 0

    @property
    def polling(self) -> int:
        """Pollers running in this replica (with a fleet, following ones included)."""
        return sum(1 for poller in self._pollers.values() if poller.running)

    @property
    def watched(self) -> set[str]:
        """The URIs that have at least one subscriber (a poller runs for each, until the call ends)."""
        return set(self._pollers)

    async def _poll(self, uri: str, poller: _Poller) -> None:
        previous: Hashable | None = None
        last: LiveCall | StreamDetails | ActiveCallsPage | None = None
        first = True
        took_over = False
        told_first = False  # an event came before the first reading: the state changed since
        # the watch began, so the first reading is announced (a spare update, never a missed one)

        async def read() -> LiveCall | StreamDetails | ActiveCallsPage:
            nonlocal first, took_over, told_first
            while self.leases is not None and not await self.leases.lead(uri):
                # Another replica polls. Taking over later, this one cannot know what the last
                # leader saw: it announces its first reading (a spare update, never a missed one).
                first, took_over = True, True
                poller.wake.take()  # what woke a follower is in the leader's reading
                await self._sleep(self.leases.follow_s)
            told_first = told_first or (first and poller.wake.pending)
            event = poller.wake.take()
            state = applied(last, event) if event is not None and last is not None and not took_over else None
            if state is not None:
                self.applied += 1  # the provider signed it: no upstream request
                return state
            return await self._read(uri)

        async def seen(state: LiveCall | StreamDetails | ActiveCallsPage) -> None:
            nonlocal previous, last, first, took_over, told_first
            current = fingerprint(state)
            # An event during the first reading (``woken``) or before it: the change may be in
            # this reading already, and nothing earlier was announced to compare it with.
            told = first and (told_first or poller.wake.woken)
            if took_over or told or (not first and current != previous):
                await self._publish(uri)
            previous, last, first, took_over, told_first = current, state, False, False, False

        async def ended(state: LiveCall | StreamDetails | ActiveCallsPage) -> bool:
            return True  # the change to ended was the final update

        async def gone(error: CallNotFound) -> bool:
            await self._publish(uri)  # the final update: reading it now says not live
            logger.debug("watch %s: call ended, poller stops", uri)
            return True

        async def pause() -> None:
            await poller.wake.pause(self._sleep, self.interval_for(uri))

        def failed(exc: Exception) -> None:
            if isinstance(exc, LiveCallsError):
                logger.debug("watch %s: upstream failed (%s); polling on", uri, type(exc).__name__)
            else:
                logger.exception("watch %s: unexpected failure; polling on", uri)

        try:
            with poller.scope:
                await poll_until_final(read, seen=seen, ended=ended, gone=gone, pause=pause, failed=failed)
        finally:
            poller.running = False
            self._counted(uri, -1)
            if self.leases is not None:
                await self.leases.resign(uri)
            if self._pollers.get(uri) is poller and poller.subscribers <= 0:
                del self._pollers[uri]

    async def _read(self, uri: str) -> LiveCall | StreamDetails | ActiveCallsPage:
        self.upstream_polls += 1
        with background_requests():  # a poller's requests yield to tool calls (see http.RequestPacer)
            return await self._read_now(uri)

    async def _read_now(self, uri: str) -> LiveCall | StreamDetails | ActiveCallsPage:
        service = self._service()
        if uri == ACTIVE_URI:
            return await service.list_active_calls(ListQuery(), limit=MAX_LIMIT)
        parsed = parse_call_uri(uri)
        if parsed is None:
            raise InvalidArgument(f"{uri!r} is not a live-calls resource.")
        provider, call_id, stream = parsed
        if stream:
            return await service.get_stream_details(call_id, provider)
        return await service.get_live_call(call_id, provider)


SessionKey = Hashable
"""A stable identity of one client session: the ``mcp-session-id`` on streamable HTTP, the
connection on stdio (and in memory), the stream itself for a 2026-07-28 ``subscriptions/listen``.
Never the per-request session object the SDK hands each handler (mcp 2.3 builds a new one for
every request, so it would match nothing later)."""

Deliver = Callable[[str], Awaitable[None]]


@dataclass(eq=False)
class _Session:
    deliver: Deliver | None
    uris: set[str] = field(default_factory=set)


class Subscriptions:
    """Who watches what, per client session; the ``Watcher`` polls what anyone watches.

    ``open`` registers a session (idempotent), ``subscribe``/``unsubscribe`` add and remove one
    URI (a repeated subscribe is one subscription), ``close`` ends the session and releases all
    its watches. Memory is bounded by the live sessions: the transport closes a session when the
    client disconnects, ends it (HTTP ``DELETE``) or it idles out, and that calls ``close``.
    Sessions with a ``deliver`` callable (legacy ``resources/subscribe``) are sent updates by
    ``deliver``; listen streams get theirs from the subscription bus.
    """

    def __init__(
        self,
        watcher: Watcher,
        *,
        max_per_session: int = DEFAULT_MAX_WATCHES_PER_SESSION,
        max_total: int = DEFAULT_MAX_WATCHES,
    ) -> None:
        self._watcher = watcher
        self._sessions: dict[SessionKey, _Session] = {}
        self.max_per_session = max_per_session
        self.max_total = max_total

    def open(self, key: SessionKey, deliver: Deliver | None = None) -> bool:
        """Register ``key``; ``False`` when it was already open."""
        if key in self._sessions:
            return False
        self._sessions[key] = _Session(deliver)
        return True

    def subscribe(self, key: SessionKey, uri: str) -> bool:
        """Watch ``uri`` for session ``key`` (opened first); ``False`` when it already did.

        ``TooManyWatches`` when that would exceed the session's or the process's limit.
        """
        return self.subscribe_all(key, [uri]) == 1

    def subscribe_all(self, key: SessionKey, uris: Iterable[str]) -> int:
        """Watch every one of ``uris`` for session ``key``, or none of them (``TooManyWatches``
        names the limit it would exceed); how many were new for the session."""
        session = self._sessions.get(key)
        if session is None:
            raise KeyError(key)
        new = [uri for uri in dict.fromkeys(uris) if uri not in session.uris]
        if len(session.uris) + len(new) > self.max_per_session:
            raise TooManyWatches(
                f"A session may watch at most {self.max_per_session} resources "
                f"(LIVECALLS_MAX_WATCHES_PER_SESSION); this one watches {len(session.uris)} and asked "
                f"for {len(new)} more. Watch fewer calls (livecalls://calls/active covers every live "
                f"call in one), or unsubscribe some first.",
                limit=self.max_per_session,
                setting="LIVECALLS_MAX_WATCHES_PER_SESSION",
            )
        watched = self._watcher.watched
        pollers = len(watched | set(new))
        if pollers > self.max_total and pollers > len(watched):
            raise TooManyWatches(
                f"This server watches at most {self.max_total} resources for all its clients together "
                f"(LIVECALLS_MAX_WATCHES); {len(watched)} are watched and this asks for "
                f"{pollers - len(watched)} more. Try again later, or watch livecalls://calls/active.",
                limit=self.max_total,
                setting="LIVECALLS_MAX_WATCHES",
            )
        for uri in new:
            session.uris.add(uri)
            self._watcher.acquire(uri)
        return len(new)

    def unsubscribe(self, key: SessionKey, uri: str) -> bool:
        session = self._sessions.get(key)
        if session is None or uri not in session.uris:
            return False
        session.uris.discard(uri)
        self._watcher.release(uri)
        return True

    def close(self, key: SessionKey) -> None:
        """The session ended: release every watch it held and forget it."""
        session = self._sessions.pop(key, None)
        if session is None:
            return
        for uri in session.uris:
            self._watcher.release(uri)
        session.uris.clear()
        logger.debug("session %s closed; its watches released", key)

    def deliverers(self, uri: str) -> list[Deliver]:
        return [s.deliver for s in self._sessions.values() if s.deliver is not None and uri in s.uris]

    def watches(self, key: SessionKey) -> set[str]:
        session = self._sessions.get(key)
        return set(session.uris) if session else set()

    def __len__(self) -> int:
        return len(self._sessions)

    def __contains__(self, key: object) -> bool:
        return key in self._sessions
