"""Clients nobody here wrote, driving the real server: how they are installed and run.

Each foreign client is a script in this folder run by that client's own runtime (the Python SDK
1.x virtualenv, or Node with the TypeScript SDK), against ``mcp-livecalls serve`` as a subprocess
— spawned by the client over stdio, or started here over streamable HTTP on a free loopback port
with a bearer token. The server reads the provider simulator, served from this process with a
manual clock, so the client scripts can move time (``POST /_sim/advance``) and read the upstream
request counters (``GET /_sim/state``) to see polling start and stop.

Without npm or network the tests skip with the reason; under ``CI=true`` that is a failure.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, NoReturn

import httpx2
import pytest

from mcp_livecalls.cli import simulator_env
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_simulator

from .install import ClientUnavailable, python_v1_client, ts_client

HERE: Final = Path(__file__).resolve().parent
REPO: Final = HERE.parents[1]
TOKEN: Final = "compat-token-5e0c2a91"
CLIENT_TIMEOUT_S: Final = 300.0
SERVER_START_TIMEOUT_S: Final = 60.0


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> NoReturn:
    """A client that cannot be installed: a failure in CI, a skip on a developer machine."""
    if in_ci():
        pytest.fail(f"CI=true and a compatibility client is unavailable: {reason}")
    pytest.skip(f"compatibility client unavailable (no npm or network?): {reason}")


@dataclass(frozen=True)
class ForeignClient:
    name: str
    command: list[str]


def python_sdk_v1() -> ForeignClient:
    python = python_v1_client()
    return ForeignClient("python-sdk-1.x", [str(python), str(HERE / "client_python_v1.py")])


def typescript_sdk() -> ForeignClient:
    modules = ts_client()
    # The script imports the SDK from this folder by file URL (NODE_PATH does not apply to ESM).
    return ForeignClient(
        "typescript-sdk-1.x", ["node", str(HERE / "client_typescript.mjs"), str(modules / "node_modules")]
    )


def server_env(sim_url: str | None) -> dict[str, str]:
    """The environment of ``mcp-livecalls serve``, pointed at the simulator (as its CLI prints)."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "LIVECALLS_LOG_LEVEL": "WARNING",
        "LIVECALLS_POLL_INTERVAL_S": "0.5",
        "LIVECALLS_CACHE_TTL_S": "0",
    }
    if sim_url is None:
        return env
    return {**env, **simulator_env(sim_url, DEMO_CREDENTIALS)}


SERVE: Final = [sys.executable, "-m", "mcp_livecalls.cli", "serve"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End a process group we started: TERM, then KILL after a bounded wait."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


@contextlib.contextmanager
def http_server(
    env: dict[str, str], *, options: tuple[str, ...] = (), token: str | None = TOKEN, port: int | None = None
) -> Iterator[str]:
    """``mcp-livecalls serve --transport http`` on a (free) loopback port; yields its MCP URL.

    With ``token`` the server wants that shared bearer token; ``None`` leaves sign-in to ``env``.
    """
    port = port or free_port()
    args = [*SERVE, "--transport", "http", "--host", "127.0.0.1", "--port", str(port), *options]
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed below; a pipe nobody reads could fill
    process = subprocess.Popen(  # noqa: S603 - our own command line
        args,
        env={**env, "LIVECALLS_HTTP_TOKEN": token} if token else env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:  # poll readiness, bounded
            if process.poll() is not None:
                log.seek(0)
                stderr = log.read().decode(errors="replace")
                raise ClientRunFailed(f"the HTTP server exited ({process.returncode}): {stderr[-2000:]}")
            try:
                if httpx2.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise ClientRunFailed(f"the HTTP server did not answer within {SERVER_START_TIMEOUT_S:g} s")
            time.sleep(0.05)
        yield f"{base}/mcp"
    finally:
        _stop(process)
        log.close()


class ClientRunFailed(RuntimeError):
    """A client script or the server it talks to did not produce a report."""


def run_client(client: ForeignClient, config: dict[str, Any]) -> dict[str, Any]:
    """Run a client script to completion (bounded) and return its JSON report."""
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [*client.command, json.dumps(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=CLIENT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        _stop(process)
        _, stderr = process.communicate(timeout=5)
        raise ClientRunFailed(
            f"{client.name} did not finish within {CLIENT_TIMEOUT_S:g} s: {stderr.decode()[-2000:]}"
        ) from None
    finally:
        _stop(process)
    if process.returncode != 0 or not stdout.strip():
        raise ClientRunFailed(f"{client.name} exited {process.returncode}: {stderr.decode()[-3000:]}")
    report: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return report


@dataclass(frozen=True)
class Scenario:
    """How a client meets the server: transport, what it runs, and how the server is started."""

    transport: str  # "stdio" or "http"
    mode: str = "full"  # "full": every step; "initialize": each protocol version and each tool once
    versions: tuple[str, ...] | None = None  # protocol versions to initialize with; None: all offered
    server_options: tuple[str, ...] = ()  # e.g. ("--stateless",), ("--demo",)

    @property
    def demo(self) -> bool:
        return "--demo" in self.server_options


def client_run(client: ForeignClient, scenario: Scenario) -> dict[str, Any]:
    """One client's run against a fresh simulator and server (stdio: the client spawns it).

    The server reads a simulator served here with a manual clock, or with ``--demo`` its own.
    """
    with contextlib.ExitStack() as stack:
        config: dict[str, Any] = {
            "transport": scenario.transport,
            "mode": scenario.mode,
            "versions": scenario.versions,
        }
        if scenario.demo:
            env = server_env(None)
        else:
            sim_url = stack.enter_context(
                serve_simulator(Simulator(seed=7, clock=ManualClock.starting_now()))
            )
            env, config["sim_url"] = server_env(sim_url), sim_url
        if scenario.transport == "stdio":
            config["server"] = {
                "command": SERVE[0],
                "args": [*SERVE[1:], *scenario.server_options],
                "env": env,
            }
        else:
            url = stack.enter_context(http_server(env, options=scenario.server_options))
            config |= {"url": url, "token": TOKEN}
        return run_client(client, config)


CLIENTS: Final = {"python-sdk-1.x": python_sdk_v1, "typescript-sdk-1.x": typescript_sdk}
SCENARIOS: Final = {
    # Each stdio initialize is a server process: the oldest version here, the latest in the walkthrough.
    "stdio": Scenario("stdio", versions=("2024-11-05",)),
    "http": Scenario("http"),
    "stateless-demo": Scenario("http", mode="initialize", server_options=("--stateless", "--demo")),
}


@dataclass(frozen=True)
class Outcome:
    report: dict[str, Any] | None = None
    failure: str | None = None
    unavailable: str | None = None


def report_of(runs: dict[tuple[str, str], Outcome], client: str, scenario: str) -> dict[str, Any]:
    outcome = runs[client, scenario]
    if outcome.unavailable is not None:
        unavailable(outcome.unavailable)
    if outcome.failure is not None:
        pytest.fail(f"{client} over {scenario} gave no report: {outcome.failure}")
    assert outcome.report is not None
    return outcome.report


def run_all() -> dict[tuple[str, str], Outcome]:
    """Every client through every scenario, run concurrently (they mostly wait on the server)."""
    outcomes: dict[tuple[str, str], Outcome] = {}
    jobs: dict[tuple[str, str], concurrent.futures.Future[dict[str, Any]]] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(CLIENTS) * len(SCENARIOS)) as pool:
        for client_name, install in CLIENTS.items():
            try:
                client = install()
            except ClientUnavailable as exc:
                for scenario_name in SCENARIOS:
                    outcomes[client_name, scenario_name] = Outcome(unavailable=str(exc))
                continue
            for scenario_name, scenario in SCENARIOS.items():
                jobs[client_name, scenario_name] = pool.submit(client_run, client, scenario)
        for key, job in jobs.items():
            try:
                outcomes[key] = Outcome(report=job.result())
            except (RuntimeError, ValueError) as exc:  # no report (ClientRunFailed, bad JSON, no simulator)
                outcomes[key] = Outcome(failure=f"{type(exc).__name__}: {exc}")
    return outcomes
