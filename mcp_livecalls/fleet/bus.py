"""A ``SubscriptionBus`` over Redis pub/sub: an update found on any replica reaches every replica.

``publish`` delivers to this replica's listeners at once (the SDK's ``InMemorySubscriptionBus``)
and publishes the event on the fleet's channel; each replica's reader (``run``, one per app)
delivers events from *other* replicas to its local listeners — modern ``subscriptions/listen``
streams — and hands their URI to ``on_remote`` for legacy ``resources/subscribe`` sessions.
Only ``ResourceUpdated`` events travel (all this server publishes). Delivery is fire-and-forget,
as the SDK's bus: while Redis is unreachable each replica delivers only its own events, and its
reader reconnects when Redis returns.

The reader's liveness is *confirmed*, never assumed: every ``heartbeat_s`` the replica publishes
a heartbeat (over its ordinary connection) on a channel of its own that the reader also
subscribes to. A connection left silent but never reset (a failover, a NAT or load-balancer
timeout) sends nothing and reports no error — TCP may take a quarter of an hour to notice — so
a reader that has heard no heartbeat for ``heard_within_s`` is *deaf*: ``confirmed`` turns false
(the poll leases then let this replica poll for its own subscribers, see ``leases``), it logs
once, and it reconnects on a new connection. Each heartbeat also renews the fleet's mark on its
Redis (``Fleet.check_mark``).

Pushed webhook events travel too (``share``; ``service.pushed``): the replica that received one
claims its dedupe key for the fleet (``claim``: ``SET NX``, so a provider's retry landing on
another replica changes nothing) and shares it; every other replica hands it to ``on_event``,
which updates and wakes what watches the call there. Whichever replica polls the call (its
lease holder) then publishes the one ``ResourceUpdated`` every subscriber hears.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated, ServerEvent
from redis.exceptions import RedisError

from mcp_livecalls.fleet.core import Fleet, FleetUnavailable, as_bytes

__all__ = ["RedisSubscriptionBus"]

logger = logging.getLogger("mcp_livecalls.fleet")

OnRemote = Callable[[str], Awaitable[None]]
OnEvent = Callable[[dict[str, Any]], Awaitable[object]]

CLAIM_S = 3600
"""How long a claimed webhook dedupe key is kept (``service.pushed.DEDUPE_WINDOW``)."""


class RedisSubscriptionBus:
    def __init__(
        self, fleet: Fleet, on_remote: OnRemote | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.fleet = fleet
        self.on_remote = on_remote
        self.on_event: OnEvent | None = None
        """Where a pushed event another replica shared goes (``PushedEvents.heard``)."""
        self.channel = fleet.key("bus")
        self._beats = fleet.key("beat", fleet.replica_id)
        self._local = InMemorySubscriptionBus()
        self._reader = anyio.Lock()
        self._clock = clock
        self.connected = False
        self._connected = anyio.Event()
        self._heard_at: float | None = None
        """When the reader last heard this replica's heartbeat (``None``: not on this connection)."""
        self._changed = anyio.Event()
        self.received = 0
        """Events received from other replicas."""
        self.losses = 0
        """Times the reader was found deaf (no heartbeat heard in time) and reconnected."""
        self._deaf = False

    @property
    def confirmed(self) -> bool:
        """Whether the reader is subscribed and heard a heartbeat within ``heard_within_s``."""
        heard = self._heard_at
        return self.connected and heard is not None and self._clock() - heard <= self.fleet.heard_within_s

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        return self._local.subscribe(listener)

    async def publish(self, event: ServerEvent) -> None:
        await self._local.publish(event)
        if not isinstance(event, ResourceUpdated):
            return
        message = json.dumps({"from": self.fleet.replica_id, "uri": event.uri})
        try:
            await self.fleet.run(lambda r: r.publish(self.channel, message))
        except FleetUnavailable:
            return  # other replicas miss this one; their own pollers take over (see leases)

    async def share(self, event: dict[str, Any]) -> None:
        """Send a pushed event (``service.pushed.event_data``) to the other replicas."""
        message = json.dumps({"from": self.fleet.replica_id, "event": event})
        with contextlib.suppress(FleetUnavailable):  # the others' reconcile polls catch up
            await self.fleet.run(lambda r: r.publish(self.channel, message))

    async def claim(self, dedupe_key: str) -> bool:
        """Whether ``dedupe_key`` is new to the fleet (claimed now); ``True`` without Redis (the
        replica's own dedupe still holds)."""
        key = self.fleet.key("hook", self.fleet.hashed(dedupe_key))
        try:
            return bool(await self.fleet.run(lambda r: r.set(key, b"1", nx=True, ex=CLAIM_S)))
        except FleetUnavailable:
            return True

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Read the channel until cancelled, reconnecting after failures; one reader per bus."""
        task_status.started()
        async with self._reader, anyio.create_task_group() as beating:
            beating.start_soon(self._beat)
            while True:
                deaf = False
                try:
                    deaf = await self._read()
                except (RedisError, OSError) as exc:
                    self.fleet.mark_down(exc)
                finally:
                    if self.connected:
                        self.connected, self._connected = False, anyio.Event()
                    self._heard_at = None
                    self._signal()
                if not deaf:  # a deaf reader reconnects at once: its wait was the deadline
                    await anyio.sleep(self.fleet.retry_after_s)

    async def wait_connected(self) -> None:
        """Return once this replica's reader is subscribed to the fleet's channel."""
        await self._connected.wait()

    async def wait_confirmed(self, confirmed: bool = True) -> None:
        """Return once this replica's reader has heard its own heartbeat (``confirmed=False``:
        once it has found itself deaf, or lost its connection)."""
        while self.confirmed != confirmed:
            await self._changed.wait()

    async def _read(self) -> bool:
        """Read one connection until it fails (raises) or goes deaf (returns ``True``)."""
        client = self.fleet.client(blocking=True)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            with anyio.fail_after(self.fleet.op_deadline_s * 2):
                await pubsub.subscribe(self.channel, self._beats)
            self.connected = True
            self._connected.set()
            await self._listen(pubsub)
            return True
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(self.fleet.op_deadline_s):
                await pubsub.aclose()
                await client.aclose()

    async def _listen(self, pubsub: Any) -> None:
        """Deliver messages until no heartbeat was heard for ``heard_within_s`` (then log once)."""
        fleet, beats = self.fleet, self._beats.encode()
        since = self._clock()
        while True:
            message = await pubsub.get_message(timeout=fleet.heartbeat_s)
            if message is not None and as_bytes(message.get("channel") or b"") == beats:
                if self._deaf:
                    self._deaf = False
                    logger.warning(
                        "The fleet's update channel is heard again: this replica shares its pollers."
                    )
                self._heard_at = self._clock()
                self._signal()
            elif message is not None:
                await self._deliver(message)
            heard = since if self._heard_at is None else self._heard_at
            if self._clock() - heard > fleet.heard_within_s:
                break
        self.losses += 1
        if not self._deaf:  # once per episode, however many reconnections it takes
            self._deaf = True
            logger.warning(
                "No heartbeat came back on the fleet's update channel within %gs: this replica polls "
                "for its own subscribers and reconnects the channel.",
                fleet.heard_within_s,
            )

    async def _beat(self) -> None:
        """Publish this replica's heartbeat (and renew the fleet's mark) every ``heartbeat_s``."""
        while True:
            with contextlib.suppress(FleetUnavailable):  # unheard, it makes the reader deaf
                await self.fleet.check_mark()  # first: a confirmed reader means a checked mark
                await self.fleet.run(lambda r: r.publish(self._beats, b"beat"))
            await anyio.sleep(self.fleet.heartbeat_s)

    def _signal(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def _deliver(self, message: dict[str, Any]) -> None:
        try:
            data = json.loads(message["data"])
            sender, uri = data["from"], data.get("uri")
        except (ValueError, KeyError, TypeError, AttributeError):
            return
        if sender == self.fleet.replica_id:
            return
        event = data.get("event")
        if isinstance(event, dict) and self.on_event is not None:
            try:
                await self.on_event(event)
            except Exception:  # a bad event must not stop the reader
                logger.exception("taking a pushed event from the fleet failed; reading on")
            return
        if not isinstance(uri, str):
            return
        self.received += 1
        await self._local.publish(ResourceUpdated(uri=uri))
        if self.on_remote is not None:
            try:
                await self.on_remote(uri)
            except Exception:  # a legacy session going away must not stop the reader
                logger.exception("delivering a fleet update failed; reading on")
