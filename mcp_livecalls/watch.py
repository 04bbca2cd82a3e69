"""Live updates: subscribed resources are polled upstream and announced only when they change.

One poller per watched URI, however many subscribers (modern ``subscriptions/listen`` streams
and legacy ``resources/subscribe`` sessions alike). A poller compares a fingerprint of the
normalized state — status, hold/mute, legs, agent; not the ever-growing duration — and emits
``notifications/resources/updated`` only when it differs. It stops when its last subscriber
leaves, or when the call ends, after one final update that says so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import anyio
from anyio.abc import TaskGroup

from mcp_livecalls.errors import CallNotFound, InvalidArgument, LiveCallsError
from mcp_livecalls.models import ActiveCallsPage, CallStatus, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.providers.base import ListQuery
from mcp_livecalls.service import MAX_LIMIT, LiveCallsService

__all__ = ["ACTIVE_URI", "Watcher", "parse_call_uri"]

logger = logging.getLogger(__name__)

ACTIVE_URI = "livecalls://calls/active"
_CALL_URI = re.compile(
    r"livecalls://calls/(?P<provider>[a-z]+)/(?P<call_id>[A-Za-z0-9_-]{1,128})(?P<stream>/stream)?"
)
_FINAL = {CallStatus.ENDED, CallStatus.FAILED}


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


@dataclass
class _Poller:
    subscribers: int = 0
    running: bool = False
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)


class Watcher:
    def __init__(
        self,
        service: Callable[[], LiveCallsService],
        publish: Publish,
        *,
        interval_s: float,
    ) -> None:
        self._service = service
        self._publish = publish
        self.interval_s = interval_s
        self._pollers: dict[str, _Poller] = {}
        self._groups: list[TaskGroup] = []
        self.upstream_polls = 0

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
            poller.scope = anyio.CancelScope()
            self._groups[-1].start_soon(self._poll, uri, poller)

    def release(self, uri: str) -> None:
        poller = self._pollers.get(uri)
        if poller is None:
            return
        poller.subscribers -= 1
        if poller.subscribers <= 0:
            poller.scope.cancel()
            del self._pollers[uri]

    def subscribers(self, uri: str) -> int:
        poller = self._pollers.get(uri)
        return poller.subscribers if poller else 0

    async def _poll(self, uri: str, poller: _Poller) -> None:
        previous: Hashable | None = None
        first = True
        try:
            with poller.scope:
                while True:
                    try:
                        state = await self._read(uri)
                    except CallNotFound:
                        await self._publish(uri)  # the final update: reading it now says not live
                        logger.debug("watch %s: call ended, poller stops", uri)
                        return
                    except LiveCallsError as exc:
                        logger.debug("watch %s: upstream failed (%s); polling on", uri, type(exc).__name__)
                    except Exception:
                        # A poller runs in the server's task group: a bug here must not end the server.
                        logger.exception("watch %s: unexpected failure; polling on", uri)
                    else:
                        current = fingerprint(state)
                        if not first and current != previous:
                            await self._publish(uri)
                        previous, first = current, False
                        if not isinstance(state, ActiveCallsPage) and state.status in _FINAL:
                            return  # the change to ended was the final update
                    await anyio.sleep(self.interval_s)
        finally:
            poller.running = False
            if self._pollers.get(uri) is poller and poller.subscribers <= 0:
                del self._pollers[uri]

    async def _read(self, uri: str) -> LiveCall | StreamDetails | ActiveCallsPage:
        self.upstream_polls += 1
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
