"""The streamable HTTP front door under abuse, through real sockets on loopback.

Callers are told apart by address: the whole of 127.0.0.0/8 is loopback on Linux, so a client
bound to 127.0.0.2 is another caller than one on 127.0.0.1. The server runs with the options
``mcp-livecalls serve --transport http`` gives uvicorn (``uvicorn_options``), on a socket that
listens before the server thread starts: a test connects at once, no waiting for readiness.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

import mcp_livecalls
from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.config import Settings
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.logs import RateLimitedLog
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS
from mcp_livecalls.web.front import http_app
from mcp_livecalls.web.listen import connection_cap, listening_socket, uvicorn_options
from mcp_livecalls.web.sessions import CALLER_STATE_KEY

CALLER_A = "127.0.0.1"
CALLER_B = "127.0.0.2"
WAIT_S = 30.0
"""Every wait in this file is bounded by this (they take milliseconds)."""

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "front-door-test", "version": "0"},
    },
}
LIST_TOOLS = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@contextmanager
def serve_front(
    app: ASGIApp, settings: Settings, *, before_serving: Callable[[str], None] = lambda url: None
) -> Iterator[str]:
    """Serve ``app`` as ``mcp-livecalls serve --transport http`` does, in a thread; yields its URL.

    ``before_serving`` gets the URL once the socket listens and before the server runs: what it
    connects and sends waits in the kernel until the server accepts."""
    options = uvicorn_options(settings)
    config = uvicorn.Config(
        app, log_level="warning", log_config=None, access_log=False, timeout_graceful_shutdown=2, **options
    )
    server = uvicorn.Server(config)
    with listening_socket("127.0.0.1", 0, backlog=options["backlog"]) as sock:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        before_serving(url)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            yield url
        finally:
            server.should_exit = True
            thread.join(WAIT_S)
    assert not thread.is_alive(), "the front door did not stop"


def _http(caller: str) -> httpx2.AsyncClient:
    """An HTTP client whose connections come from ``caller``'s address."""
    return httpx2.AsyncClient(transport=httpx2.AsyncHTTPTransport(local_address=caller), timeout=WAIT_S)


async def _open_session(http: httpx2.AsyncClient, url: str) -> httpx2.Response:
    return await http.post(f"{url}/mcp", json=INITIALIZE, headers=MCP_HEADERS)


def _session_id(response: httpx2.Response) -> str:
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


def _in_session(session_id: str) -> dict[str, str]:
    return {**MCP_HEADERS, "mcp-session-id": session_id, "mcp-protocol-version": "2025-06-18"}


def _sse_payload(response: httpx2.Response) -> dict[str, Any]:
    data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
    payload = json.loads("".join(part for part in data if part))
    assert isinstance(payload, dict)
    return payload


@pytest.fixture
def front_settings() -> Settings:
    """No provider: opening sessions and listing tools never reach upstream."""
    return Settings(max_sessions=6, max_sessions_per_caller=3)


@pytest.fixture
def front_server(front_settings: Settings) -> MCPServer[object]:
    return create_server(front_settings)


@pytest.fixture
def front_url(front_server: MCPServer[object], front_settings: Settings) -> Iterator[str]:
    with serve_front(http_app(front_server, front_settings, host="127.0.0.1"), front_settings) as url:
        yield url


@asynccontextmanager
async def _mcp_client(url: str, caller: str) -> AsyncIterator[Client]:
    async with (
        _http(caller) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode="legacy") as client,
    ):
        yield client


@pytest.mark.anyio
async def test_a_caller_at_its_session_cap_is_refused_while_another_caller_still_connects(
    front_url: str,
) -> None:
    with anyio.fail_after(WAIT_S):
        async with _http(CALLER_A) as a:
            opened = [_session_id(await _open_session(a, front_url)) for _ in range(3)]
            refused = await _open_session(a, front_url)
        async with _mcp_client(front_url, CALLER_B) as b:
            tools = await b.list_tools()

    assert len(set(opened)) == 3
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    error = refused.json()["error"]
    assert "Too many open sessions for this caller" in error["message"]
    assert "DELETE" in error["message"]
    assert {tool.name for tool in tools.tools} >= {"list_active_calls", "get_live_call"}


@pytest.mark.anyio
async def test_a_session_its_caller_ends_frees_a_place_under_the_caller_cap(front_url: str) -> None:
    with anyio.fail_after(WAIT_S):
        async with _http(CALLER_A) as a:
            opened = [_session_id(await _open_session(a, front_url)) for _ in range(3)]
            ended = await a.delete(f"{front_url}/mcp", headers=_in_session(opened[0]))
            again = await _open_session(a, front_url)

    assert ended.status_code == 200
    assert again.status_code == 200
    assert again.headers["mcp-session-id"] not in opened


@pytest.mark.anyio
async def test_the_server_wide_session_cap_answers_503_with_retry_after(front_url: str) -> None:
    with anyio.fail_after(WAIT_S):
        async with _http(CALLER_A) as a, _http(CALLER_B) as b, _http("127.0.0.3") as c:
            for http in (a, a, a, b, b, b):
                _session_id(await _open_session(http, front_url))
            refused = await _open_session(c, front_url)

    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) > 0
    assert refused.json()["error"]["message"].startswith("The server holds as many sessions as it may (6)")


@pytest.mark.anyio
async def test_another_caller_cannot_delete_or_use_a_session(front_url: str) -> None:
    with anyio.fail_after(WAIT_S):
        async with _http(CALLER_A) as a, _http(CALLER_B) as b:
            session = _session_id(await _open_session(a, front_url))
            stolen_delete = await b.delete(f"{front_url}/mcp", headers=_in_session(session))
            stolen_use = await b.post(f"{front_url}/mcp", json=LIST_TOOLS, headers=_in_session(session))
            still_mine = await a.post(f"{front_url}/mcp", json=LIST_TOOLS, headers=_in_session(session))
            own_delete = await a.delete(f"{front_url}/mcp", headers=_in_session(session))

    assert stolen_delete.status_code == 404
    assert stolen_delete.json()["error"]["message"] == "Session not found"
    assert stolen_use.status_code == 404
    assert still_mine.status_code == 200
    assert "tools" in _sse_payload(still_mine)["result"]
    assert own_delete.status_code == 200


@pytest.mark.anyio
async def test_a_second_initialize_on_a_session_is_refused_and_the_session_lives_on(front_url: str) -> None:
    again = {**INITIALIZE, "id": "second"}
    with anyio.fail_after(WAIT_S):
        async with _http(CALLER_A) as a:
            session = _session_id(await _open_session(a, front_url))
            refused = await a.post(f"{front_url}/mcp", json=again, headers=_in_session(session))
            batched = await a.post(f"{front_url}/mcp", json=[again], headers=_in_session(session))
            after = await a.post(f"{front_url}/mcp", json=LIST_TOOLS, headers=_in_session(session))

    assert refused.status_code == 400
    assert refused.json()["id"] == "second"
    assert "already initialized" in refused.json()["error"]["message"]
    assert batched.status_code == 400
    assert after.status_code == 200
    assert "tools" in _sse_payload(after)["result"]


class _NamesCaller:
    """Stands in for an OAuth verifier: names the caller from a header, as the seam says."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            subject = dict(scope["headers"]).get(b"x-test-subject")
            if subject is not None:
                scope.setdefault("state", {})[CALLER_STATE_KEY] = subject.decode()
        await self.app(scope, receive, send)


@pytest.mark.anyio
async def test_the_subject_an_authenticator_names_is_the_caller_not_the_address(
    front_server: MCPServer[object], front_settings: Settings
) -> None:
    app = http_app(front_server, front_settings, host="127.0.0.1")
    app.add_middleware(_NamesCaller)
    alice = {**MCP_HEADERS, "x-test-subject": "alice"}
    bob = {**MCP_HEADERS, "x-test-subject": "bob"}
    with serve_front(app, front_settings) as url, anyio.fail_after(WAIT_S):
        async with _http(CALLER_A) as http:
            alices = [
                _session_id(await http.post(f"{url}/mcp", json=INITIALIZE, headers=alice)) for _ in range(3)
            ]
            alice_refused = await http.post(f"{url}/mcp", json=INITIALIZE, headers=alice)
            bobs = _session_id(await http.post(f"{url}/mcp", json=INITIALIZE, headers=bob))
            bob_deletes_alices = await http.delete(
                f"{url}/mcp", headers={**_in_session(alices[0]), "x-test-subject": "bob"}
            )
            alice_deletes_bobs = await http.delete(
                f"{url}/mcp", headers={**_in_session(bobs), "x-test-subject": "alice"}
            )

    assert alice_refused.status_code == 429
    assert bob_deletes_alices.status_code == 404
    assert alice_deletes_bobs.status_code == 404


@pytest.mark.anyio
async def test_stateless_http_is_not_held_to_the_session_caps(
    front_settings: Settings,
) -> None:
    server = create_server(front_settings)
    app = http_app(server, front_settings, host="127.0.0.1", stateless=True)
    with serve_front(app, front_settings) as url, anyio.fail_after(WAIT_S):
        async with _http(CALLER_A) as a:
            answers = [await _open_session(a, url) for _ in range(5)]

    assert [answer.status_code for answer in answers] == [200] * 5


def test_the_session_limits_come_from_the_environment_with_defaults_for_dozens_of_assistants() -> None:
    defaults = Settings.from_env({})
    tuned = Settings.from_env(
        {
            "LIVECALLS_MAX_SESSIONS": "50",
            "LIVECALLS_MAX_SESSIONS_PER_CALLER": "5",
            "LIVECALLS_SESSION_IDLE_S": "120",
            "LIVECALLS_HTTP_HEADER_TIMEOUT_S": "2.5",
            "LIVECALLS_HTTP_MAX_CONNECTIONS": "64",
            "LIVECALLS_HTTP_MAX_CONNECTIONS_PER_ADDRESS": "16",
        }
    )

    assert (defaults.max_sessions, defaults.max_sessions_per_caller) == (200, 20)
    assert defaults.session_idle_s == 300
    assert (defaults.http_header_timeout_s, defaults.http_max_connections) == (10.0, 512)
    assert (tuned.max_sessions, tuned.max_sessions_per_caller, tuned.session_idle_s) == (50, 5, 120)
    assert (tuned.http_header_timeout_s, tuned.http_max_connections) == (2.5, 64)
    assert (defaults.http_max_connections_per_address, tuned.http_max_connections_per_address) == (128, 16)


def test_the_sdk_session_manager_gets_the_configured_idle_time_and_session_cap() -> None:
    tuned = Settings(max_sessions=7, session_idle_s=42.0)
    server = create_server(tuned)
    http_app(server, tuned, host="127.0.0.1")

    assert server.session_manager.max_sessions == 7
    assert server.session_manager.session_idle_timeout == 42.0


# Connections: the request head must arrive in time; past the cap a connection is refused at once.


def _connect(url: str, caller: str = CALLER_A) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=WAIT_S, source_address=(caller, 0))
    sock.settimeout(WAIT_S)  # every recv below is bounded
    return sock


def _read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by the socket timeout)."""
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


@contextmanager
def slow_head(sent: bytes) -> Iterator[socket.socket]:
    """A connection to a front door with a 0.2 s header timeout, made and given ``sent`` before
    the server ran. The bytes are in the kernel when the server accepts, and asyncio runs ready
    reads before due timers: the server reads them before its timer can fire, however busy the
    machine. Only what ``sent`` lacks is left to the timeout."""
    slow = Settings(http_header_timeout_s=0.2, http_max_connections=4)
    opened: list[socket.socket] = []

    def connect(url: str) -> None:
        opened.append(_connect(url))
        opened[0].sendall(sent)

    app = http_app(create_server(slow), slow, host="127.0.0.1")
    with serve_front(app, slow, before_serving=connect), opened[0] as sock:  # closed before the server
        yield sock


def test_a_connection_that_sends_half_a_request_head_is_answered_408_and_closed() -> None:
    with slow_head(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n") as sock:  # and never the blank line
        answer = _read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_connection_that_sends_nothing_is_closed() -> None:
    with slow_head(b"") as sock:
        answer = _read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 408 ")


def test_a_connection_dribbling_a_second_request_head_is_closed_after_its_first_answer() -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with slow_head(head + b"GET /healthz HTTP/1.1\r\n") as sock:
        answer = _read_until_closed(sock)

    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 408 " in answer


def test_past_the_connection_cap_a_new_connection_gets_503_and_the_open_ones_are_still_served() -> None:
    capped = Settings(http_header_timeout_s=WAIT_S, http_max_connections=4)
    server = create_server(capped)
    with serve_front(http_app(server, capped, host="127.0.0.1"), capped) as url:
        held = [_connect(url) for _ in range(4)]
        try:
            with _connect(url) as extra:
                refused = _read_until_closed(extra)
            held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            served = _read_until_closed(held[0])
        finally:
            for sock in held:
                sock.close()

    assert refused.startswith(b"HTTP/1.1 503 ")
    assert b"retry-after: 1" in refused.lower()
    assert b"Too many open connections" in refused
    assert served.startswith(b"HTTP/1.1 200 ")


def test_one_address_cannot_take_every_connection_from_another() -> None:
    capped = Settings(
        http_header_timeout_s=WAIT_S, http_max_connections=8, http_max_connections_per_address=2
    )
    healthz = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with serve_front(http_app(create_server(capped), capped, host="127.0.0.1"), capped) as url:
        held = [_connect(url, CALLER_A) for _ in range(2)]
        try:
            with _connect(url, CALLER_A) as third:
                refused = _read_until_closed(third)
            with _connect(url, CALLER_B) as other:
                other.sendall(healthz)
                served = _read_until_closed(other)
        finally:
            for sock in held:
                sock.close()

    assert refused.startswith(b"HTTP/1.1 503 ")
    assert served.startswith(b"HTTP/1.1 200 ")


# Logs: a flood of one warning is one line per interval.


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _warning(message: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("asyncio", level, __file__, 1, message, args, None)


def test_identical_warnings_pass_once_per_interval_and_the_next_counts_the_rest() -> None:
    clock = _Clock()
    limit = RateLimitedLog(10.0, clock=clock)
    flood = [_warning("socket.accept() out of system resource: [Errno 24] fd %d", fd) for fd in range(50)]

    passed = [limit.filter(record) for record in flood]
    clock.now += 10.0
    later = _warning("socket.accept() out of system resource: [Errno 24] fd %d", 99)
    later_passed = limit.filter(later)

    assert passed.count(True) == 1
    assert later_passed
    assert later.getMessage().endswith("(and 49 more like it in 10 s)")


def test_different_warnings_and_info_lines_are_not_held_back() -> None:
    limit = RateLimitedLog(10.0, clock=_Clock())
    records = [
        _warning("Refusing an HTTP connection: %d are open", 4),
        _warning("Closed an HTTP connection that sent no complete request head within %g s", 0.2),
        _warning("Created new transport with session ID: %s", "a" * 32, level=logging.INFO),
        _warning("Created new transport with session ID: %s", "b" * 32, level=logging.INFO),
    ]

    assert all(limit.filter(record) for record in records)


@pytest.mark.anyio
async def test_the_real_server_closes_slow_heads_and_logs_them_once(sim_url: str) -> None:
    vobiz = simulator_settings(sim_url, DEMO_CREDENTIALS).provider(ProviderName("vobiz"))
    assert vobiz is not None
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(Path(mcp_livecalls.__file__).parents[1]),
        "LIVECALLS_LOG_LEVEL": "INFO",
        "LIVECALLS_HTTP_HEADER_TIMEOUT_S": "0.2",
        "VOBIZ_BASE_URL": sim_url,
        "VOBIZ_AUTH_ID": vobiz.auth_id.get_secret_value(),
        "VOBIZ_AUTH_TOKEN": vobiz.auth_token.get_secret_value(),
    }
    command = [sys.executable, "-m", "mcp_livecalls.cli", "serve", "--transport", "http", "--port", "0"]
    with anyio.fail_after(2 * WAIT_S):  # a server process starting on a busy machine
        async with await anyio.open_process(command, env=env, stderr=-1) as process:
            assert process.stderr is not None
            log = b""
            while b"/mcp" not in log:  # logged once the socket listens
                log += await process.stderr.receive()
            port = int(log.split(b"http://127.0.0.1:")[1].split(b"/")[0])
            # All five at once: their header timers run out together, well inside the log's
            # 10 s window of one line per kind, rather than one after another on a busy machine.
            with contextlib.ExitStack() as opened:
                socks = [opened.enter_context(_connect(f"http://127.0.0.1:{port}")) for _ in range(5)]
                for sock in socks:
                    sock.sendall(b"POST /mcp HTTP/1.1\r\n")
                answers = [await anyio.to_thread.run_sync(_read_until_closed, sock) for sock in socks]
            process.terminate()
            async for chunk in process.stderr:
                log += chunk

    assert all(answer.startswith(b"HTTP/1.1 408 ") for answer in answers)
    assert log.count(b"no complete request head") == 1


def test_the_connection_cap_stays_under_half_the_open_file_limit() -> None:
    assert connection_cap(512, open_file_limit=1024) == 512
    assert connection_cap(512, open_file_limit=256) == 128
    assert connection_cap(100, open_file_limit=resource.RLIM_INFINITY) == 100


FLOOD_OF_ACCEPT_ERRORS = """
import asyncio, errno, socket
from mcp_livecalls.cli import _configure_logging

_configure_logging("INFO")
loop = asyncio.new_event_loop()
for fd in range(1000):
    loop.call_exception_handler({
        "message": "socket.accept() out of system resource",
        "exception": OSError(errno.EMFILE, "Too many open files"),
        "socket": f"<socket fd={fd}, laddr=('127.0.0.1', {40000 + fd})>",
    })
"""


def test_the_cli_logs_a_flood_of_accept_errors_as_one_line() -> None:
    run = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", FLOOD_OF_ACCEPT_ERRORS],
        env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(Path(mcp_livecalls.__file__).parents[1])},
        capture_output=True,
        timeout=WAIT_S * 3,
        check=True,
    )

    assert run.stderr.count(b"out of system resource") == 1
    assert run.stderr.count(b"Too many open files") == 1
