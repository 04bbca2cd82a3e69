"""Serve a :class:`~mcp_livecalls.simulator.app.Simulator` over HTTP with uvicorn.

* :func:`serve_simulator` — in a background thread on a free loopback port, for tests, benchmarks
  and the in-process demo. Logs go through :mod:`logging` (never stdout: the MCP stdio transport
  may share the process).
* :func:`run_simulator_forever` — in the foreground, for ``mcp-livecalls simulator --port 8765``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from mcp_livecalls.providers.registry import PROVIDERS
from mcp_livecalls.simulator.app import Simulator

__all__ = ["loopback_socket", "run_simulator_forever", "serve_asgi", "serve_simulator"]

logger = logging.getLogger(__name__)

_START_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 5.0


class _QuickStopServer(uvicorn.Server):
    """uvicorn notices ``should_exit`` on a 0.1 s tick; this one looks every 10 ms in between
    (the tick itself, which refreshes the Date header, keeps its 0.1 s cadence), and does not
    sleep a fixed 0.1 s on shutdown, so a test's simulator stops in about 10 ms, not 0.2 s."""

    async def main_loop(self) -> None:
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            for _ in range(10):
                await asyncio.sleep(0.01)
                if self.should_exit:
                    return
            counter = (counter + 1) % 864000
            should_exit = await self.on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown, except that after asking open connections to close it waits only
        until they have (looking every 5 ms, at most the 0.1 s uvicorn always sleeps there): an
        idle server stops at once."""
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        for _ in range(20):
            if not self.server_state.connections:
                break
            await asyncio.sleep(0.005)
        try:
            await asyncio.wait_for(
                self._wait_tasks_to_complete(), timeout=self.config.timeout_graceful_shutdown
            )
        except TimeoutError:
            for task in self.server_state.tasks:
                task.cancel(msg="Task cancelled, timeout graceful shutdown exceeded")
        if not self.force_exit:
            await self.lifespan.shutdown()


def _config(app: Any, **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        # None: leave logging configuration alone (uvicorn's default config would send access
        # logs to stdout). Records reach the root logger, whose last resort handler is stderr.
        log_config=None,
        lifespan="on",
        http="h11",
        ws="none",
        timeout_graceful_shutdown=3,
        **extra,
    )


@contextlib.contextmanager
def serve_simulator(sim: Simulator) -> Iterator[str]:
    """Serve ``sim`` on ``127.0.0.1`` (a free port) in a daemon thread; yields the base URL.

    On exit the server stops, requests held by a ``hang`` fault are released, and the thread is
    joined (bounded wait).
    """
    with serve_asgi(sim.app, on_stop=sim.release_hangs, name="simulator") as url:
        yield url


def loopback_socket() -> socket.socket:
    """A socket listening on ``127.0.0.1`` (a free port), for ``serve_asgi``: a test that must
    know its server's URL before it builds the app (a public URL signatures cover) opens it first."""
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


@contextlib.contextmanager
def serve_asgi(
    app: Any,
    *,
    on_stop: Callable[[], None] = lambda: None,
    name: str = "asgi",
    sock: socket.socket | None = None,
) -> Iterator[str]:
    """Serve any ASGI ``app`` on ``127.0.0.1`` (a free port, or ``sock``: ``loopback_socket``) in a
    daemon thread; yields its base URL.

    Tests serve the MCP server's streamable HTTP app this way too. ``on_stop`` runs when the
    server is told to stop (the simulator releases held requests there).
    """
    sock = sock if sock is not None else loopback_socket()
    try:
        port = sock.getsockname()[1]
        server = _QuickStopServer(_config(app))
        failure: list[BaseException] = []

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # noqa: BLE001 - reported to the waiting thread
                failure.append(exc)

        thread = threading.Thread(target=run, name=f"mcp-livecalls-{name}-{port}", daemon=True)
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not server.started:
            if failure or not thread.is_alive():
                raise RuntimeError(
                    f"the {name} failed to start: {failure[0] if failure else 'thread exited'}"
                )
            if time.monotonic() > deadline:
                server.should_exit = True
                raise RuntimeError(f"the {name} did not start within {_START_TIMEOUT_S:g} s")
            time.sleep(0.005)
        url = f"http://127.0.0.1:{port}"
        logger.debug("%s serving on %s", name, url)
        try:
            yield url
        finally:
            server.should_exit = True
            on_stop()
            thread.join(_STOP_TIMEOUT_S)
            if thread.is_alive():
                server.force_exit = True
                on_stop()
                thread.join(_STOP_TIMEOUT_S)
                if thread.is_alive():
                    logger.warning("the %s thread did not stop within %s s", name, 2 * _STOP_TIMEOUT_S)
    finally:
        sock.close()


def run_simulator_forever(sim: Simulator, host: str = "127.0.0.1", port: int = 8765) -> None:
    """Serve ``sim`` in the foreground until interrupted (Ctrl-C)."""
    # Each provider's account, by its first (identifying) setting: never a token.
    accounts = ", ".join(
        f"{cls.title()} {field} {value}"
        for cls in PROVIDERS
        for field, value in list(sim.credentials.settings_for(cls.name.value).items())[:1]
    )
    logger.info("mcp-livecalls simulator on http://%s:%d (%s)", host, port, accounts)
    server = uvicorn.Server(_config(sim.app, host=host, port=port))
    try:
        server.run()
    finally:
        sim.release_hangs()
