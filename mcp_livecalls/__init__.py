"""mcp-livecalls: an MCP server that lets AI assistants see phone calls while they happen.

The public API is small: build a server with ``create_server(Settings.from_env())``, or run
``mcp-livecalls`` from the command line. Everything else is reachable from the submodules.

The names below are imported on first use, so ``mcp-livecalls --version`` or a configuration
error answers without loading the MCP SDK's server (about 0.6 s of CPU).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from mcp_livecalls.config import Settings
    from mcp_livecalls.errors import LiveCallsError
    from mcp_livecalls.server.build import create_server

__all__ = ["LiveCallsError", "Settings", "__version__", "create_server"]

_HOMES = {
    "Settings": "mcp_livecalls.config",
    "LiveCallsError": "mcp_livecalls.errors",
    "create_server": "mcp_livecalls.server.build",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mcp_livecalls' has no attribute {name!r}")
    return getattr(import_module(home), name)
