"""What the fleet tests share: a real Redis, replicas, fake time, and a proxy to cut them off.

A real Redis: the developer's (``LIVECALLS_TEST_REDIS_URL``) or our own process.

``LIVECALLS_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``) is used when it answers
``PING``; otherwise a ``redis-server`` binary is started on a free port. Without either, the
tests skip with the reason — except under ``CI=true``, where a missing Redis fails them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from types import TracebackType
from typing import Any

import anyio
import anyio.abc
import pytest
import redis
from mcp import Client
from pydantic import SecretStr

from mcp_livecalls.config import Settings
from mcp_livecalls.fleet.bus import RedisSubscriptionBus
from mcp_livecalls.fleet.core import Fleet
from mcp_livecalls.server.app import LiveCallsApp
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import SimCall, Simulator

DEFAULT_TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
_READY_WITHIN_S = 60.0


def answers(url: str) -> bool:
    client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=30)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def flush(url: str) -> None:
    client = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=30)
    try:
        client.flushdb()
    finally:
        client.close()


def missing_redis(reason: str) -> None:
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{reason} (under CI=true a missing Redis is a failure)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisProcess:
    """Our own ``redis-server`` (no persistence) that a test can stop and start again."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
            [*self._command()],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + _READY_WITHIN_S
        while not answers(self.url):  # startup takes a few milliseconds; bounded
            if time.monotonic() > deadline or self._process.poll() is not None:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.01)

    def _command(self) -> list[str]:
        persistence = ["--save", "", "--appendonly", "no"]
        return [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", *persistence]

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    def __enter__(self) -> RedisProcess:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def own_redis_process() -> Iterator[RedisProcess]:
    """A ``redis-server`` of the test's own (the body of an ``own_redis`` fixture)."""
    binary = redis_binary()
    if binary is None:
        missing_redis("no redis-server binary is installed")
    assert binary is not None
    with RedisProcess(binary) as process:
        yield process


def redis_binary() -> str | None:
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )


# -- time that moves only when the test says so -------------------------------------------------


class FakeTime:
    """A clock and a sleep shared by every replica: sleepers wake only on ``tick``."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps = 0
        self._sleepers: list[anyio.Event] = []
        self._changed = anyio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = anyio.Event()
        self._sleepers.append(wake)
        self.sleeps += 1
        self.changed()
        try:
            await wake.wait()
        finally:
            self._sleepers.remove(wake)
            self.changed()

    @property
    def sleeping(self) -> int:
        return len(self._sleepers)

    async def until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            changed = self._changed
            await changed.wait()

    def nudge(self, seconds: float) -> None:
        """Move time on and wake every sleeper."""
        self.now += seconds
        for wake in self._sleepers:
            wake.set()

    async def tick(self, seconds: float) -> None:
        """``nudge``, then wait until every sleeper is asleep again (pollers that go on)."""
        target = self.sleeps + self.sleeping
        self.nudge(seconds)
        await self.until(lambda: self.sleeps >= target)

    def changed(self) -> None:
        """Wake every ``until`` to look at its condition again (for conditions sleeps do not change)."""
        self._changed.set()
        self._changed = anyio.Event()


# -- replicas -----------------------------------------------------------------------------------


def with_redis(settings: Settings, redis_url: str, **changes: Any) -> Settings:
    return settings.with_changes(redis_url=SecretStr(redis_url), **changes)


def patient(fleet: Fleet) -> Fleet:
    """``fleet`` waiting up to 30 s on a healthy Redis and a minute for a heartbeat, so that only a
    test's own cut makes a replica fall back (the 0.5 s socket timeout that detects a dead Redis
    in production also fires on a machine busy enough; see test_fleet_faults for the real cut)."""
    fleet.socket_timeout_s = fleet.op_deadline_s = 30.0
    fleet.heard_within_s = 60.0
    return fleet


@asynccontextmanager
async def start_replicas(
    count: int,
    settings: Settings | list[Settings],
    simulator: Simulator,
    *,
    time: FakeTime | None = None,
    fleets: list[Fleet] | None = None,
) -> AsyncIterator[list[tuple[LiveCallsApp, Client]]]:
    """``count`` separate servers (one app each, with ``settings`` or its own of a list) with a
    client each, all on one Redis; each returns once its update channel is confirmed.

    Fleets the apps build themselves are ``patient``: a busy machine must not make a replica
    poll or fetch alone where a test counts who polls or fetches."""
    async with AsyncExitStack() as stack:
        replicas: list[tuple[LiveCallsApp, Client]] = []
        for index in range(count):
            extra: dict[str, Any] = {}
            if time is not None:
                extra = {"sleep": time.sleep, "clock": time.clock, "lease_clock": time.clock}
            app = LiveCallsApp(
                settings[index] if isinstance(settings, list) else settings,
                now=simulator.clock.now,
                fleet=fleets[index] if fleets else None,
                **extra,
            )
            if not fleets and app.fleet is not None:
                patient(app.fleet)
            client = await stack.enter_async_context(Client(create_server(app=app)))
            assert isinstance(app.bus, RedisSubscriptionBus)
            with anyio.fail_after(30):
                await app.bus.wait_confirmed()
            replicas.append((app, client))
        yield replicas


def zudu_call(simulator: Simulator) -> SimCall:
    return simulator.population.live("zudu")[0]


def ringing_call(simulator: Simulator) -> SimCall:
    now = simulator.clock.now()
    return next(
        call
        for provider in ("exotel", "vobiz", "zudu")
        for call in simulator.population.live(provider)
        if call.state_at(now) in ("ringing", "early_media")
    )


class Heard:
    """What one listen stream heard: a count, and a way to wait for more."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = anyio.Event()

    async def collect(self, stream: AsyncIterable[object]) -> None:
        async for _ in stream:
            self.count += 1
            self._changed.set()
            self._changed = anyio.Event()

    async def beyond(self, count: int) -> None:
        while self.count <= count:
            await self._changed.wait()


# -- a half-open partition ----------------------------------------------------------------------


class _Flow:
    def __init__(self, silent: bool) -> None:
        self.silent = silent


class CutProxy:
    """A TCP proxy in front of Redis that a test cuts off without closing anything.

    ``cut()`` silences every connection open now for good — bytes either way are read and
    dropped, nothing is closed or reset, as when a NAT or a load balancer forgets a flow — and
    every connection made until ``heal()``; connections made after it are forwarded again.
    """

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = _free_port()
        self._cut = False
        self._flows: list[_Flow] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cut(self) -> None:
        self._cut = True
        for flow in self._flows:
            flow.silent = True

    def heal(self) -> None:
        self._cut = False

    async def serve(self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=self.port)
        task_status.started()
        await listener.serve(self._handle)

    async def _handle(self, client: anyio.abc.SocketStream) -> None:
        flow = _Flow(self._cut)
        self._flows.append(flow)
        upstream = await anyio.connect_tcp("127.0.0.1", self.target)
        async with client, upstream, anyio.create_task_group() as pumps:
            pumps.start_soon(self._pump, client, upstream, flow, pumps.cancel_scope)
            pumps.start_soon(self._pump, upstream, client, flow, pumps.cancel_scope)

    @staticmethod
    async def _pump(
        source: anyio.abc.SocketStream, sink: anyio.abc.SocketStream, flow: _Flow, both: anyio.CancelScope
    ) -> None:
        try:
            while True:
                data = await source.receive()
                if not flow.silent:
                    await sink.send(data)
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            both.cancel()  # one side closed: close the other (a silent flow never tells anyone)
