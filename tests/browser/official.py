"""The official MCP Apps host for the browser tests: ``@modelcontextprotocol/ext-apps``'s AppBridge
(with the TypeScript client 2.x, bundled by esbuild from ``official_host.mjs``), installed and cached
as the compatibility clients are (``compat.install.ext_apps_host``), in a page served at the origin
of a real ``mcp-livecalls serve --transport http`` (so the page's MCP requests are same-origin).

Without npm or network the test skips with the reason; under ``CI=true`` that is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from compat.harness import TOKEN, http_server, server_env, unavailable
from compat.install import ClientUnavailable, ext_apps_host

__all__ = ["HOST_PATH", "official_host_js", "served_mcp", "start_official_board"]

HOST_PATH = "/__official_host__"
"""Where the page is served (by the browser's router: the server never sees this path)."""

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>official host</title>
<style>body{margin:0} iframe{border:0;width:100%;height:900px}</style></head><body>
<iframe id="app" sandbox="allow-scripts" title="Live call board"></iframe>
<script>__HOST_JS__</script></body></html>"""


@pytest.fixture(scope="module")
def official_host_js() -> str:
    """The bundled host script (installed and built once, then cached)."""
    try:
        return ext_apps_host().read_text(encoding="utf-8")
    except ClientUnavailable as exc:
        unavailable(str(exc))


@pytest.fixture
def served_mcp(sim_url: str) -> Iterator[str]:
    """The MCP URL of ``mcp-livecalls serve --transport http`` reading the simulator."""
    with http_server(server_env(sim_url)) as url:
        yield url


async def start_official_board(page: Any, host_js: str, mcp_url: str, *, theme: str = "light") -> Any:
    """Open the official host page at the server's origin and let it render the bound App;
    returns what the host found (the tool's name and the App's URI)."""
    parts = urlsplit(mcp_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    html = PAGE.replace("__HOST_JS__", host_js.replace("</script", "<\\/script"))

    async def serve(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    await page.route(origin + HOST_PATH, serve)
    await page.goto(origin + HOST_PATH)
    return await page.evaluate(
        "(options) => window.startOfficialHost(options)", {"mcpUrl": mcp_url, "token": TOKEN, "theme": theme}
    )
