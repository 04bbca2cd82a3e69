"""The session rules of the stateful HTTP transport (``SessionGuard``): sessions per caller and in
all, owner-only use and ``DELETE``, one ``initialize`` per session."""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from mcp.server import MCPServer
from mcp.server.streamable_http import MCP_SESSION_ID_HEADER
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE
from mcp.shared.inbound import MCP_PROTOCOL_VERSION_HEADER
from mcp_types import INTERNAL_ERROR, INVALID_REQUEST
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_livecalls.config import Settings
from mcp_livecalls.web.guards import jsonrpc_error

__all__ = ["CALLER_STATE_KEY", "SessionGuard", "caller_of", "live_sessions"]

CALLER_STATE_KEY = "livecalls_caller"
"""Whoever authenticates a request (an OAuth verifier) names its caller here, as a string subject,
in ``scope["state"]``; without it the caller is the client's address (shared token, loopback)."""

logger = logging.getLogger(__name__)


def caller_of(scope: Scope) -> str:
    """Who is asking: the subject an authenticator named (``scope["state"]["livecalls_caller"]``),
    else the client's address. A subject never collides with an address (different prefixes)."""
    state = scope.get("state")
    if isinstance(state, dict):
        subject = state.get(CALLER_STATE_KEY)
        if isinstance(subject, str) and subject:
            return f"subject:{subject}"
    client = scope.get("client")
    return f"address:{client[0]}" if client else "address:unknown"


def live_sessions(server: MCPServer[Any]) -> Callable[[], Collection[str]]:
    """The ids of the sessions the SDK's session manager holds open right now (it alone knows when
    one expires, crashes or is deleted)."""
    manager = server.session_manager
    return lambda: manager._server_instances.keys()


class SessionGuard:
    """The session rules the SDK leaves to the deployment, in front of its session manager.

    * One caller (:func:`caller_of`) holds at most ``max_sessions_per_caller`` open sessions
      (429); the server at most ``max_sessions`` (503). Both refusals carry a JSON-RPC error body
      and ``Retry-After``: one caller cannot take every session from the others.
    * A session is used, and ended with ``DELETE``, only by the caller that opened it; anyone
      else is answered as if it did not exist (404), as the SDK does for another OAuth credential
      (with one shared token the SDK sees every caller as the same one).
    * ``initialize`` on a session that exists is refused (400): a live session is not renegotiated.

    The SDK's session manager stays the judge of which sessions are alive (``live``); this guard
    only remembers who opened each one. Stateless and 2026-07-28 requests have no session and pass
    through. It must run inside whatever authenticates (which names the caller).
    """

    def __init__(self, app: ASGIApp, *, live: Callable[[], Collection[str]], settings: Settings) -> None:
        self.app = app
        self._live = live
        self._max_sessions = settings.max_sessions
        self._max_per_caller = settings.max_sessions_per_caller
        self._idle_s = settings.session_idle_s
        self._retry_after = str(max(1, math.ceil(min(settings.session_idle_s, 60.0))))
        self._owners: dict[str, str] = {}
        self._opening: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/mcp"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        version = headers.get(MCP_PROTOCOL_VERSION_HEADER)
        if version is not None and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            await self.app(scope, receive, send)  # 2026-07-28: one exchange, no session
            return
        session_id = headers.get(MCP_SESSION_ID_HEADER)
        if session_id is None:
            await self._open(caller_of(scope), scope, receive, send)
        else:
            await self._use(caller_of(scope), session_id, scope, receive, send)

    def sessions_of(self, caller: str) -> int:
        """Open sessions ``caller`` holds (those it is opening right now included)."""
        self._forget_ended()
        return sum(1 for owner in self._owners.values() if owner == caller) + self._opening[caller]

    async def _open(self, caller: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A request without a session id: the SDK opens a session for it (kept if it succeeds)."""
        held = self.sessions_of(caller)
        if held >= self._max_per_caller:
            logger.warning(
                "Refusing a new HTTP session: caller %s already holds %d (LIVECALLS_MAX_SESSIONS_PER_CALLER)",
                caller[:80],
                held,
            )
            await self._refuse(
                429,
                f"Too many open sessions for this caller ({held}, the most one caller may hold). "
                f"End one (DELETE /mcp with its mcp-session-id) or let one go idle for "
                f"{self._idle_s:g} s, then retry.",
                scope,
                receive,
                send,
            )
            return
        total = max(len(self._live()), len(self._owners) + sum(self._opening.values()))
        if total >= self._max_sessions:
            logger.warning("Refusing a new HTTP session: %d are open (LIVECALLS_MAX_SESSIONS)", total)
            await self._refuse(
                503,
                f"The server holds as many sessions as it may ({self._max_sessions}); retry when some end.",
                scope,
                receive,
                send,
            )
            return

        opening = True  # counted in _opening until it owns a session (or fails)

        def done_opening() -> None:
            nonlocal opening
            if opening:
                opening = False
                self._opening[caller] -= 1
                if self._opening[caller] <= 0:
                    del self._opening[caller]

        async def record_owner(message: Message) -> None:
            if message["type"] == "http.response.start":
                opened = Headers(raw=message.get("headers", [])).get(MCP_SESSION_ID_HEADER)
                if message["status"] < 400 and opened is not None:
                    self._owners[opened] = caller
                done_opening()  # the SSE answer may stream on long after the session is counted
            await send(message)

        self._opening[caller] += 1
        try:
            await self.app(scope, receive, record_owner)
        finally:
            done_opening()

    async def _use(self, caller: str, session_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        owner = self._owners.get(session_id)
        if owner is not None and owner != caller:
            logger.warning(
                "Refusing %s for HTTP session %s: %s opened it, not %s",
                scope.get("method"),
                session_id[:64],
                owner[:80],
                caller[:80],
            )
            response = jsonrpc_error(404, INVALID_REQUEST, "Session not found")
            await response(scope, receive, send)
            return
        if scope.get("method") == "POST":
            messages, body = await _read_body(receive, DEFAULT_MAX_REQUEST_BODY_SIZE)
            receive = _replaying(messages, receive)
            initialize = _initialize_request(body)
            if initialize is not None and session_id in self._live():
                response = jsonrpc_error(
                    400,
                    INVALID_REQUEST,
                    "This session is already initialized; to start over, open a new session "
                    "(initialize without an mcp-session-id).",
                    request_id=initialize.get("id"),
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _forget_ended(self) -> None:
        live = self._live()
        for session_id in [sid for sid in self._owners if sid not in live]:
            del self._owners[session_id]

    async def _refuse(self, status: int, message: str, scope: Scope, receive: Receive, send: Send) -> None:
        code = INVALID_REQUEST if status == 429 else INTERNAL_ERROR
        response = jsonrpc_error(status, code, message, headers={"Retry-After": self._retry_after})
        await response(scope, receive, send)


async def _read_body(receive: Receive, limit: int) -> tuple[list[Message], bytes | None]:
    """Read a request body (the messages, to replay) and its bytes; ``None`` past ``limit`` bytes
    or on disconnect (the SDK then answers as it would have: 413, or nothing)."""
    messages: list[Message] = []
    body = bytearray()
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        body += message.get("body", b"")
        if len(body) > limit:
            return messages, None
        if not message.get("more_body", False):
            return messages, bytes(body)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that hands out ``messages`` first, then whatever comes next."""
    queued = list(messages)

    async def replay() -> Message:
        if queued:
            return queued.pop(0)
        return await receive()

    return replay


def _initialize_request(body: bytes | None) -> dict[str, Any] | None:
    """The ``initialize`` request in a JSON-RPC body (a batch included), if there is one."""
    if not body or b"initialize" not in body:
        return None
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    for message in payload if isinstance(payload, list) else [payload]:
        if isinstance(message, dict) and message.get("method") == "initialize" and "id" in message:
            return message
    return None
