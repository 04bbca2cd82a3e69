"""Write docs/board.png: the call board over the simulator's calls, in headless Chromium.

Run from the repository root: ``python docs/board_screenshot.py [--theme dark] [--out PATH]``.
It uses the browser tests' host page (tests/browser/host.py) and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio
from mcp import Client
from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mcp_livecalls.cli import simulator_settings  # noqa: E402
from mcp_livecalls.server.build import create_server  # noqa: E402
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Simulator, serve_simulator  # noqa: E402
from tests.browser.host import start_board  # noqa: E402

PAINTED = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
"""Resolves once the frame has painted at its new size (two animation frames)."""


async def shoot(out: Path, theme: str, chromium: str) -> None:
    simulator = Simulator(seed=7)
    with serve_simulator(simulator) as url:
        server = create_server(simulator_settings(url, DEMO_CREDENTIALS), now=simulator.clock.now)
        async with Client(server) as client, async_playwright() as driver:
            browser = await driver.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = await browser.new_page(viewport={"width": 900, "height": 700})
            await start_board(page, client, theme=theme)
            frame = page.frame_locator("#app")
            # A call with legs to show (an agent's outbound call), opened as a person would.
            await frame.locator("tr.call", has_text="agent").first.click()
            await frame.locator("#legs ul.legs li").first.wait_for(timeout=30_000)
            # The whole board, not the host's fixed-height frame: the frame grows to its content.
            height = await frame.locator("html").evaluate("(html) => html.scrollHeight")
            await page.evaluate("(h) => { document.getElementById('app').style.height = h + 'px'; }", height)
            # A viewport as tall as the board (a full-page shot would leave the sandboxed frame's
            # content clipped to the first viewport).
            await page.set_viewport_size({"width": 900, "height": height})
            await frame.locator("html").evaluate("() => window.scrollTo(0, 0)")  # the click scrolled it
            await frame.locator("html").evaluate(PAINTED)
            await page.screenshot(path=str(out))
            await browser.close()
    sys.stderr.write(f"wrote {out}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "board.png")
    parser.add_argument("--theme", choices=["light", "dark"], default="light")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    anyio.run(shoot, args.out, args.theme, args.chromium)


if __name__ == "__main__":
    main()
