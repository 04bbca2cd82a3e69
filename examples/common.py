"""How the examples reach the server: over stdio (a `mcp-livecalls serve` subprocess) or HTTP."""

from __future__ import annotations

import argparse
import os
import sys

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_livecalls.cli import simulator_env
from mcp_livecalls.providers.registry import PROVIDERS
from mcp_livecalls.simulator import DEMO_CREDENTIALS

PROVIDER_NAMES = [cls.name.value for cls in PROVIDERS]
"""What ``--provider`` accepts: every registered provider."""


def add_connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--simulator",
        metavar="URL",
        help="point every provider at a running `mcp-livecalls simulator` (e.g. http://127.0.0.1:8765)",
    )
    parser.add_argument("--server-url", metavar="URL", help="use a streamable HTTP server instead of stdio")


def connect(args: argparse.Namespace) -> Client:
    """A client for the server the options name; credentials come from the environment."""
    if args.server_url:
        return Client(args.server_url)
    env = dict(os.environ)
    if args.simulator:
        env.update(simulator_env(args.simulator, DEMO_CREDENTIALS))
    env.setdefault("LIVECALLS_LOG_LEVEL", "WARNING")
    return Client(
        StdioServerParameters(command=sys.executable, args=["-m", "mcp_livecalls.cli", "serve"], env=env)
    )
