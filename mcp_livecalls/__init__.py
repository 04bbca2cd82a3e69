"""mcp-livecalls: an MCP server that lets AI assistants see phone calls while they happen.

The public API is small: build a server with ``create_server(Settings.from_env())``, or run
``mcp-livecalls`` from the command line. Everything else is reachable from the submodules.
"""

from __future__ import annotations

__version__ = "0.1.0"

from mcp_livecalls.config import Settings
from mcp_livecalls.errors import LiveCallsError
from mcp_livecalls.server import create_server

__all__ = ["LiveCallsError", "Settings", "__version__", "create_server"]
