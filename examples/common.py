"""How the examples reach the server: over stdio (a `mcp-livecalls serve` subprocess) or HTTP."""

from __future__ import annotations

import argparse
import os
import sys

from mcp import Client
from mcp.client.stdio import StdioServerParameters

from mcp_livecalls.simulator import DEMO_CREDENTIALS


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
        creds = DEMO_CREDENTIALS
        env.update(
            VOBIZ_BASE_URL=args.simulator,
            VOBIZ_AUTH_ID=creds.vobiz_auth_id,
            VOBIZ_AUTH_TOKEN=creds.vobiz_auth_token,
            EXOTEL_BASE_URL=args.simulator,
            EXOTEL_ACCOUNT_SID=creds.exotel_account_sid,
            EXOTEL_API_KEY=creds.exotel_api_key,
            EXOTEL_API_TOKEN=creds.exotel_api_token,
            ZUDU_BASE_URL=args.simulator,
            ZUDU_API_KEY=creds.zudu_api_key,
            ZUDU_API_SECRET=creds.zudu_api_secret,
        )
    env.setdefault("LIVECALLS_LOG_LEVEL", "WARNING")
    return Client(
        StdioServerParameters(command=sys.executable, args=["-m", "mcp_livecalls.cli", "serve"], env=env)
    )
