"""The listening side of ``serve --transport http``: the socket, uvicorn's options, and the h11
protocol with the connection guards uvicorn lacks (a request-head deadline, connection caps)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import resource
import socket
from collections import Counter
from typing import Any, ClassVar

import h11
from mcp_types import INTERNAL_ERROR
from uvicorn.protocols.http.h11_impl import H11Protocol

from mcp_livecalls.config import Settings
from mcp_livecalls.errors import ConfigError

__all__ = [
    "GuardedH11Protocol",
    "connection_cap",
    "guarded_http_protocol",
    "listening_socket",
    "uvicorn_options",
]

logger = logging.getLogger(__name__)

_BUSY_BODY = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": INTERNAL_ERROR,
            "message": "Too many open connections; retry shortly.",
        },
    }
).encode()
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\n"
    b"connection: close\r\ncontent-length: " + str(len(_BUSY_BODY)).encode() + b"\r\n\r\n" + _BUSY_BODY
)
_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n"
_connections_log = logging.getLogger("mcp_livecalls.web.listen.connections")


def connection_cap(requested: int, open_file_limit: int | None = None) -> int:
    """``requested``, but never more than half the process's file-descriptor limit: the rest is
    for upstream connections, the log and the listening socket, so the cap bites before accept()
    fails with "Too many open files"."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0] if open_file_limit is None else open_file_limit
    if soft == resource.RLIM_INFINITY or soft <= 0 or requested <= soft // 2:
        return requested
    logger.info(
        "at most %d HTTP connections (LIVECALLS_HTTP_MAX_CONNECTIONS is %d): half the open-file limit %d",
        max(1, soft // 2),
        requested,
        soft,
    )
    return max(1, soft // 2)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the guards it lacks (see ``guarded_http_protocol``); the limits
    and the count of open connections per address are class attributes of each subclass made."""

    header_timeout_s: ClassVar[float]
    max_connections: ClassVar[int]
    per_address: ClassVar[int]
    open_from: ClassVar[Counter[str]]
    _head_timer: asyncio.TimerHandle | None = None
    _address: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else "unknown"
        open_from = self.open_from
        if len(self.connections) > self.max_connections or open_from[address] >= self.per_address:
            _connections_log.warning(
                "Refusing an HTTP connection: %d are open, %d from its address "
                "(LIVECALLS_HTTP_MAX_CONNECTIONS, _PER_ADDRESS)",
                len(self.connections) - 1,
                open_from[address],
            )
            self.transport.write(_BUSY)
            self.transport.close()
            return
        self._address = address
        open_from[address] += 1
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_timer is not None and self.conn.their_state is not h11.IDLE:
            self._head_timer.cancel()  # the request head is in
            self._head_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        if self._address is not None:
            self.open_from[self._address] -= 1
            if self.open_from[self._address] <= 0:
                del self.open_from[self._address]
            self._address = None
        super().connection_lost(exc)

    def _await_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_too_slow)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        _connections_log.warning(
            "Closed an HTTP connection that sent no complete request head within %g s "
            "(LIVECALLS_HTTP_HEADER_TIMEOUT_S)",
            self.header_timeout_s,
        )
        self.transport.write(_TOO_SLOW)
        self.transport.close()


def guarded_http_protocol(
    *, header_timeout_s: float, max_connections: int, max_per_address: int | None = None
) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the guards it lacks, for one server (its own connection counts).

    * A connection must deliver a complete request head within ``header_timeout_s`` of opening,
      or of its previous answer; otherwise it gets a 408 and is closed. (uvicorn has no
      header-read timeout: its keep-alive timer starts only after a first response and stops at
      the first byte, so a client that sends one byte at a time, or nothing, holds its socket for
      ever.)
    * Past ``max_connections`` open connections a new one is answered 503 (``Retry-After: 1``)
      and closed at once, before it costs more than a moment's descriptor. (uvicorn's
      ``limit_concurrency`` only answers 503 once a request head has arrived, so it keeps every
      slow socket open.)
    * One client address holds at most ``max_per_address`` of them (the same 503 past that), so
      one peer cannot take every connection from the others. Behind a reverse proxy every client
      has the proxy's address: the proxy then limits its clients.
    """
    limits: dict[str, Any] = {
        "header_timeout_s": header_timeout_s,
        "max_connections": max_connections,
        "per_address": max_connections if max_per_address is None else max_per_address,
        "open_from": Counter(),
    }
    return type("GuardedH11Protocol", (GuardedH11Protocol,), limits)


def listening_socket(host: str, port: int, *, backlog: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``0``: a free port) and listening, for uvicorn.

    ``IPPROTO_TCP`` matters: asyncio sets ``TCP_NODELAY`` only on accepted sockets whose protocol
    says TCP (without it keep-alive answers wait ~40 ms for a delayed ACK).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``mcp-livecalls serve --transport http`` runs uvicorn: the guarded protocol, a short
    keep-alive, a bounded request head, and proxy headers only from proxies named in
    ``FORWARDED_ALLOW_IPS`` (uvicorn otherwise trusts ``X-Forwarded-For`` from 127.0.0.1, and a
    local caller could pose as any number of callers)."""
    return {
        "http": guarded_http_protocol(
            header_timeout_s=settings.http_header_timeout_s,
            max_connections=connection_cap(settings.http_max_connections),
            max_per_address=settings.http_max_connections_per_address,
        ),
        "timeout_keep_alive": 5,
        "h11_max_incomplete_event_size": 16 * 1024,
        "backlog": 256,
        "proxy_headers": bool(os.environ.get("FORWARDED_ALLOW_IPS", "").strip()),
        "lifespan": "on",
    }
