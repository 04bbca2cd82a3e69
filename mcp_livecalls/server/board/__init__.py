"""The live call board: an MCP App (``io.modelcontextprotocol/ui``) shown by hosts that render Apps.

``ui://livecalls/board`` is one self-contained HTML file (``board.html``: no external scripts,
fonts or requests; the CSP allow-lists it declares are empty) bound to ``list_active_calls``
through ``_meta.ui.resourceUri`` (the MCP Apps extension as shipped in ``mcp.server.apps``, 2.3).
Hosts without Apps see the tool and its text answer exactly as before. The board refreshes by
calling ``list_active_calls`` and ``get_stream_details`` over the host's app bridge, no faster
than the server's freshness window (``LIVECALLS_CACHE_TTL_S``, floored at 5 s); the server masks
numbers in those answers as in every other (``LIVECALLS_MASK_NUMBERS``, the ``livecalls:pii`` scope).
Facts: shared/provider-docs/webhooks-and-next-providers.md section 4 and the SDK's ``apps.py``.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps, ResourceCsp

__all__ = ["BOARD_URI", "REFRESH_FLOOR_S", "board_apps", "board_html", "board_meta"]

BOARD_URI = "ui://livecalls/board"
REFRESH_FLOOR_S = 5.0
"""The board never asks more often than this, nor more often than the freshness window."""


def board_html(freshness_s: float) -> str:
    """The board's HTML, told how often it may refresh (milliseconds, in a ``<meta>``)."""
    refresh_ms = round(max(freshness_s, REFRESH_FLOOR_S) * 1000)
    text = files(__package__).joinpath("board.html").read_text(encoding="utf-8")
    return text.replace("__REFRESH_MS__", str(refresh_ms))


def board_meta() -> dict[str, Any]:
    """The ``_meta`` binding a tool to the board (what ``Apps.tool(resource_uri=…)`` stamps)."""
    return {"ui": {"resourceUri": BOARD_URI}}


def board_apps(freshness_s: float) -> Apps:
    """The Apps extension carrying the board resource, for ``MCPServer(extensions=[…])``."""
    apps = Apps()
    apps.add_html_resource(
        BOARD_URI,
        board_html(freshness_s),
        name="call-board",
        title="Live call board",
        description="Live calls across providers by status, provider health, legs on click.",
        csp=ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[], base_uri_domains=[]),
        prefers_border=True,
    )
    return apps
