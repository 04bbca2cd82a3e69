"""A ``SubscriptionBus`` over Redis pub/sub: an update found on any replica reaches every replica.

``publish`` delivers to this replica's listeners at once (the SDK's ``InMemorySubscriptionBus``)
and publishes the event on the fleet's channel; each replica's reader (``run``, one per app)
delivers events from *other* replicas to its local listeners — modern ``subscriptions/listen``
streams — and hands their URI to ``on_remote`` for legacy ``resources/subscribe`` sessions.
Only ``ResourceUpdated`` events travel (all this server publishes). Delivery is fire-and-forget,
as the SDK's bus: while Redis is unreachable each replica delivers only its own events, and its
reader reconnects when Redis returns.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp.server.subscriptions import InMemorySubscriptionBus, ResourceUpdated, ServerEvent
from redis.exceptions import RedisError

from mcp_livecalls.fleet.core import Fleet, FleetUnavailable

__all__ = ["RedisSubscriptionBus"]

logger = logging.getLogger("mcp_livecalls.fleet")

OnRemote = Callable[[str], Awaitable[None]]


class RedisSubscriptionBus:
    def __init__(self, fleet: Fleet, on_remote: OnRemote | None = None) -> None:
        self.fleet = fleet
        self.on_remote = on_remote
        self.channel = fleet.key("bus")
        self._local = InMemorySubscriptionBus()
        self._reader = anyio.Lock()
        self.connected = False
        self._connected = anyio.Event()
        self.received = 0
        """Events received from other replicas."""

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

    async def run(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Read the channel until cancelled, reconnecting after failures; one reader per bus."""
        task_status.started()
        async with self._reader:
            while True:
                try:
                    await self._read()
                except (RedisError, OSError) as exc:
                    self.fleet.mark_down(exc)
                finally:
                    if self.connected:
                        self.connected, self._connected = False, anyio.Event()
                await anyio.sleep(self.fleet.retry_after_s)

    async def wait_connected(self) -> None:
        """Return once this replica's reader is subscribed to the fleet's channel."""
        await self._connected.wait()

    async def _read(self) -> None:
        client = self.fleet.client(blocking=True)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            with anyio.fail_after(self.fleet.op_deadline_s * 2):
                await pubsub.subscribe(self.channel)
            self.connected = True
            self._connected.set()
            while True:
                message = await pubsub.get_message(timeout=5.0)
                if message is not None:
                    await self._deliver(message)
        finally:
            with anyio.CancelScope(shield=True), anyio.move_on_after(self.fleet.op_deadline_s):
                await pubsub.aclose()
                await client.aclose()

    async def _deliver(self, message: dict[str, Any]) -> None:
        try:
            data = json.loads(message["data"])
            sender, uri = data["from"], data["uri"]
        except (ValueError, KeyError, TypeError):
            return
        if sender == self.fleet.replica_id or not isinstance(uri, str):
            return
        self.received += 1
        await self._local.publish(ResourceUpdated(uri=uri))
        if self.on_remote is not None:
            try:
                await self.on_remote(uri)
            except Exception:  # a legacy session going away must not stop the reader
                logger.exception("delivering a fleet update failed; reading on")
