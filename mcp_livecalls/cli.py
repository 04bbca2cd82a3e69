"""The ``mcp-livecalls`` command: serve (stdio or streamable HTTP), demo, simulator, webhooks.

Credentials are read only from the environment, never from arguments (``ps`` shows those).
stdout belongs to the MCP protocol under stdio, so everything else goes to stderr; only
``demo`` writes to stdout, because a person reads it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import Any

import anyio

from mcp_livecalls import __version__
from mcp_livecalls.config import Settings, provider_env
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.logs import install_log_rate_limit
from mcp_livecalls.providers.registry import PROVIDERS, build_readers, titles
from mcp_livecalls.upstream.redact import install_log_redaction

logger = logging.getLogger("mcp_livecalls")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    _configure_logging(os.environ.get("LIVECALLS_LOG_LEVEL", "INFO"))
    command = args.command or "serve"
    try:
        if command == "serve":
            return _serve(args)
        if command == "demo":
            return anyio.run(_demo, args.seed)
        if command == "webhooks":
            return _webhooks()
        return _simulator(args)
    except ConfigError as exc:
        sys.stderr.write(f"mcp-livecalls: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mcp-livecalls",
        description=f"An MCP server that shows AI assistants the phone calls live at {titles()}.",
        epilog="Credentials come from environment variables only; see the README.",
    )
    parser.add_argument("--version", action="version", version=f"mcp-livecalls {__version__}")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the MCP server (the default command)")
    _serve_options(serve)
    # `mcp-livecalls` with no command is `serve` with its defaults.
    parser.set_defaults(transport="stdio", host="127.0.0.1", port=8000, demo=False, stateless=False, seed=7)

    demo = sub.add_parser("demo", help="show what an assistant sees, against the built-in simulator")
    demo.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")

    sub.add_parser("webhooks", help="print each configured provider's webhook URL and how to set it")

    sim = sub.add_parser("simulator", help=f"run the provider simulator alone ({titles()} APIs)")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument("--seed", type=int, default=7)
    sim.add_argument(
        "--live-calls", type=int, default=None, help="calls live at any moment (default 4 per provider)"
    )
    sim.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    return parser


def _serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--transport", choices=["stdio", "http"], default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    parser.add_argument("--stateless", action="store_true", help="stateless streamable HTTP, for replicas")
    parser.add_argument(
        "--demo", action="store_true", help="serve the built-in simulator's calls (no credentials needed)"
    )
    parser.add_argument("--seed", type=int, default=7, help="simulator seed with --demo")


def _webhooks() -> int:
    """Per configured provider that pushes: its URL under ``LIVECALLS_PUBLIC_URL`` and the console
    setting or API parameter that points the provider at it (tokens named, never shown)."""
    settings = Settings.from_env(os.environ)
    if settings.public_url is None:
        raise ConfigError("set LIVECALLS_PUBLIC_URL (the https URL providers reach this server at) first.")
    readers = build_readers(settings.providers)
    if not readers:
        sys.stdout.write("No configured provider has a webhook secret; every provider is polled.\n")
    for reader in readers.values():
        url = settings.public_url + reader.shown_path()
        sys.stdout.write(f"{reader.provider.value}: {url}\n    {reader.setup(url)}\n")
    return 0


def _configure_logging(level: str) -> None:
    root = logging.getLogger()
    before = set(root.handlers)
    logging.basicConfig(
        level=level.upper() if level.upper() in logging.getLevelNamesMapping() else "INFO",
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The filters below go on the handler made here, never on one a host process installed
    # (a test runner's capture handler outlives this call and must see every record).
    ours = [handler for handler in root.handlers if handler not in before]
    # httpx2 logs every request URL at INFO (URLs carry account ids); httpcore2 logs raw response
    # headers at DEBUG. Both stay quiet, and every record of every logger is redacted anyway.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    logging.getLogger("httpcore2").setLevel(logging.WARNING)
    install_log_redaction(ours)
    # An attacker can make the same warning happen thousands of times a second ("Too many open
    # files", refused sessions): one line of a kind per 10 s, with a count of the rest.
    install_log_rate_limit(ours)
    quiet_sdk_noise()


def quiet_sdk_noise() -> None:
    """Drop SDK log lines that say nothing: stateless HTTP ends a session-less transport after
    every request, and the SDK logs "Terminating session: None" at INFO each time."""
    sdk_http = logging.getLogger("mcp.server.streamable_http")
    if _no_sessionless_termination not in sdk_http.filters:
        sdk_http.addFilter(_no_sessionless_termination)


def _no_sessionless_termination(record: logging.LogRecord) -> bool:
    return record.getMessage() != "Terminating session: None"


@contextmanager
def demo_settings(
    seed: int, *, wall_clock: bool, base: Settings | None = None, pushing: bool = False
) -> Iterator[tuple[Settings, Any]]:
    """Start the simulator in this process and yield settings pointing every provider at it;
    ``pushing``: with the secrets that verify its callbacks too (generated by the simulator), so
    that once told where (``push_demo``) its signed callbacks are taken."""
    from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, WallClock, serve_simulator

    clock = WallClock() if wall_clock else ManualClock()
    simulator = Simulator(seed=seed, clock=clock)
    credentials = simulator.pusher.credentials(DEMO_CREDENTIALS) if pushing else DEMO_CREDENTIALS
    with serve_simulator(simulator) as base_url:
        yield simulator_settings(base_url, credentials, base), simulator


def push_demo(settings: Settings, simulator: Any, host: str, port: int) -> Settings:
    """The demo served over HTTP at ``host:port`` shows pushed updates with no configuration: the
    simulator posts its signed callbacks to this server's own ``/webhooks/*``, whose public URL
    (what the signatures cover) is that loopback address."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - compared, not bound
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    simulator.pusher.push_to(url)
    logger.info("demo mode: the simulator pushes signed webhooks to %s/webhooks/<provider>", url)
    return settings.with_changes(public_url=url)


def simulator_env(base_url: str, credentials: Any) -> dict[str, str]:
    """The environment that points the server at a simulator at ``base_url``, every provider."""
    env: dict[str, str] = {}
    for cls in PROVIDERS:
        env.update(provider_env(cls, base_url, credentials.settings_for(cls.name.value)))
    return env


def simulator_settings(base_url: str, credentials: Any, base: Settings | None = None) -> Settings:
    """Settings for every provider pointed at a simulator at ``base_url``."""
    base = base or Settings()
    return base.with_changes(providers=Settings.from_env(simulator_env(base_url, credentials)).providers)


def _no_provider_message() -> str:
    ways = [" or ".join(" and ".join(way) for way in cls.env.ways) for cls in PROVIDERS]
    return (
        f"no provider is configured: set {', '.join(ways[:-1])}, or {ways[-1]}; "
        "or try `mcp-livecalls serve --demo`."
    )


def _serve(args: argparse.Namespace) -> int:
    with ExitStack() as stack:
        simulator: Any = None
        if args.demo:
            settings, simulator = stack.enter_context(
                demo_settings(
                    args.seed, wall_clock=True, base=Settings.from_env(), pushing=args.transport == "http"
                )
            )
            logger.info("demo mode: serving the built-in simulator's calls")
        else:
            settings = Settings.from_env()
            if not settings.configured:
                raise ConfigError(_no_provider_message())
        logger.info("providers: %s", ", ".join(settings.configured))
        # Loaded once the settings hold: a configuration error answers without the MCP server SDK,
        # and stdio never loads the HTTP front (uvicorn, sign-in, metrics, redis).
        from mcp_livecalls.server.build import create_server

        if args.transport == "stdio":
            create_server(settings).run("stdio")
            return 0
        import uvicorn

        from mcp_livecalls.web.front import http_app
        from mcp_livecalls.web.listen import listening_socket, uvicorn_options

        # Guarded protocol (header-read timeout, connection cap), short keep-alive, no spoofable
        # X-Forwarded-For: see uvicorn_options. The socket listens before the line below is
        # logged, so the line means "connect now", with the real port when --port is 0.
        options = uvicorn_options(settings)
        sock = stack.enter_context(listening_socket(args.host, args.port, backlog=options["backlog"]))
        port = sock.getsockname()[1]
        if simulator is not None:
            settings = push_demo(settings, simulator, args.host, port)
        app = http_app(create_server(settings), settings, host=args.host, stateless=args.stateless)
        config = uvicorn.Config(app, log_level="warning", log_config=None, access_log=False, **options)
        logger.info(
            "MCP over streamable HTTP at http://%s:%d/mcp%s%s",
            f"[{args.host}]" if ":" in args.host else args.host,
            port,
            " (stateless)" if args.stateless else "",
            "; bearer token required" if settings.http_token else "",
        )
        http_server = uvicorn.Server(config)
        http_server.run(sockets=[sock])
        if not http_server.started:
            return 1  # uvicorn logged why (the app's lifespan failed to start)
    return 0


def _simulator(args: argparse.Namespace) -> int:
    from mcp_livecalls.simulator import Simulator, WallClock, run_simulator_forever

    simulator = Simulator(seed=args.seed, clock=WallClock(speed=args.speed), live_calls=args.live_calls)
    url = f"http://{args.host}:{args.port}"
    lines = [
        " ".join(f"{var}={value}" for var, value in provider_env(cls, url, settings).items())
        for cls in PROVIDERS
        if (settings := simulator.credentials.settings_for(cls.name.value))
    ]
    sys.stderr.write(
        f"Simulator on {url} ({titles()} APIs).\nPoint the server at it with:\n"
        + "".join(f"  {line}\n" for line in lines)
    )
    run_simulator_forever(simulator, host=args.host, port=args.port)
    return 0


async def _demo(seed: int) -> int:
    from mcp import Client

    from mcp_livecalls.server.build import create_server

    out = sys.stdout
    with demo_settings(seed, wall_clock=False) as (settings, simulator):
        # The demo moves simulated time in jumps, faster than any freshness window: no cache.
        server = create_server(settings.with_changes(cache_ttl_s=0), now=simulator.clock.now)
        async with Client(server) as client:
            tools = await client.list_tools()
            out.write(f"mcp-livecalls {__version__} demo: the built-in simulator plays {titles()}.\n")
            out.write(f"Tools: {', '.join(tool.name for tool in tools.tools)}\n")

            async def show(tool: str, arguments: dict[str, Any]) -> Any:
                result = await client.call_tool(tool, arguments)
                shown = " ".join(f"{key}={value}" for key, value in arguments.items())
                out.write(f"\n> {tool} {shown}\n")
                for block in result.content:
                    out.write(getattr(block, "text", "") + "\n")
                return result.structured_content or {}

            page = await show("list_active_calls", {"limit": 12})
            calls = page.get("calls", [])
            # One call per provider, preferring one that is talking: it has the most to show.
            by_provider: dict[str, dict[str, Any]] = {}
            for call in sorted(calls, key=lambda c: c["status"] not in ("in_progress", "on_hold")):
                by_provider.setdefault(call["provider"], call)
            for cls in PROVIDERS:  # a provider whose calls are all older than the page's
                if cls.name.value not in by_provider:
                    alone = await client.call_tool(
                        "list_active_calls", {"provider": cls.name.value, "limit": 1}
                    )
                    for call in (alone.structured_content or {}).get("calls", []):
                        by_provider[call["provider"]] = call
            for provider, call in by_provider.items():
                await show("get_live_call", {"call_id": call["call_id"], "provider": provider})
            for provider, call in by_provider.items():
                await show("get_stream_details", {"call_id": call["call_id"], "provider": provider})
            waiting = [c for c in calls if c["status"] in ("queued", "ringing", "early_media")]
            if waiting:
                simulator.clock.advance(60)
                out.write("\n(60 simulated seconds later: did the ringing call get answered?)\n")
                await show("get_live_call", {"call_id": waiting[0]["call_id"]})
            await show("get_live_call", {"call_id": "no-such-call"})
            out.write(
                "\nTry it in Claude Desktop with `mcp-livecalls serve --demo`; "
                "for your own accounts see README.md.\n"
            )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
