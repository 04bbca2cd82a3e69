"""A minimal MCP Apps host for the board's browser tests (and the README's screenshot).

It speaks the app side's bridge as the ext-apps spec words it (JSON-RPC 2.0 over ``postMessage``:
``ui/initialize`` answered with a ``hostContext`` theme, ``ui/notifications/initialized``,
``ui/notifications/tool-result`` with the bound tool's result, ``tools/call`` proxied to the
server). Tool calls go through ``window.livecallsCall``, which the test binds to a real MCP client
of the real server: in memory, so a test can serve them as a chosen caller or through a planted
upstream, and choose the host context. The official host (``official.py``, ext-apps's AppBridge)
renders the board over HTTP in ``test_board_official.py``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp_types import CallToolResult

HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>test host</title>
<style>body{margin:0} iframe{border:0;width:100%;height:900px}</style></head><body>
<iframe id="app" sandbox="allow-scripts" title="Live call board"></iframe>
<script>
const THEME = __THEME__;
const frame = document.getElementById("app");
let initial = null, ready = false;
window.addEventListener("message", async (event) => {
  if (event.source !== frame.contentWindow) return;
  const msg = event.data;
  const reply = (body) => frame.contentWindow.postMessage({jsonrpc: "2.0", id: msg.id, ...body}, "*");
  if (msg.method === "ui/initialize") {
    reply({result: {protocolVersion: "2026-01-26", hostInfo: {name: "test-host", version: "1"},
      hostCapabilities: {serverTools: {}}, hostContext: {theme: THEME, displayMode: "inline"}}});
  } else if (msg.method === "ui/notifications/initialized") {
    ready = true;
    const note = {jsonrpc: "2.0", method: "ui/notifications/tool-result", params: initial};
    if (initial) frame.contentWindow.postMessage(note, "*");
  } else if (msg.method === "tools/call") {
    const args = JSON.stringify(msg.params.arguments || {});
    try { reply({result: JSON.parse(await window.livecallsCall(msg.params.name, args))}); }
    catch (err) { reply({error: {code: -32603, message: String(err)}}); }
  }
});
window.startApp = (html, result) => { initial = result; frame.srcdoc = html; };
</script></body></html>"""


def host_page(theme: str = "light") -> str:
    return HOST_PAGE.replace("__THEME__", json.dumps(theme))


def tool_result_json(result: CallToolResult) -> str:
    """A tool result as the wire carries it (camelCase, no nulls)."""
    return json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True))


async def run_clock(page: Any, seconds: float) -> None:
    """Let ``seconds`` pass on the page's test clock, firing every timer due meanwhile (the
    board's refresh, its ticking times) in order."""
    await page.clock.run_for(round(seconds * 1000))


async def run_clock_until(page: Any, seconds: float, done: Callable[[], Awaitable[bool]]) -> None:
    """Run the page's clock ``seconds`` at a time until ``done()`` (bounded: 120 s of wall time,
    far above the second or two it takes: on a machine busy enough each step's refresh can wait on
    the server past several steps).

    One step can fall short: a refresh still waiting on the server when the step ends sets its
    next timer after it, past the step. The board shows what time brought a step or two later."""
    with anyio.fail_after(120):
        while not await done():
            await run_clock(page, seconds)


async def start_board(page: Any, client: Any, *, theme: str = "light") -> dict[str, Any]:
    """Open the host page, bind its tool calls to ``client``, and render the board in it with the
    first ``list_active_calls`` answer, as a host does after the model called the tool; returns
    that answer (as the wire carries it)."""

    async def call(name: str, arguments: str) -> str:
        return tool_result_json(await client.call_tool(name, json.loads(arguments)))

    await page.expose_function("livecallsCall", call)
    await page.set_content(host_page(theme))
    resource = await client.read_resource("ui://livecalls/board")
    html = resource.contents[0].text
    first: dict[str, Any] = json.loads(
        tool_result_json(await client.call_tool("list_active_calls", {"limit": 100}))
    )
    await page.evaluate("([html, result]) => window.startApp(html, result)", [html, first])
    return first
