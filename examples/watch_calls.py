"""A supervisor console: subscribe to the active-calls list and print each change as it happens.

mcp-livecalls simulator --port 8765 &
python examples/watch_calls.py --simulator http://127.0.0.1:8765
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import anyio
from common import add_connection_options, connect
from mcp import Client

ACTIVE = "livecalls://calls/active"


async def snapshot(client: Client) -> dict[tuple[str, str], dict[str, Any]]:
    result = await client.read_resource(ACTIVE)
    page = json.loads(getattr(result.contents[0], "text", "{}"))
    return {(c["provider"], c["call_id"]): c for c in page.get("calls", [])}


def changes(
    before: dict[tuple[str, str], dict[str, Any]], after: dict[tuple[str, str], dict[str, Any]]
) -> list[str]:
    lines = []
    for key in after.keys() - before.keys():
        lines.append(f"+ [{key[0]}] {key[1]} {after[key]['status']}")
    for key in before.keys() - after.keys():
        lines.append(f"- [{key[0]}] {key[1]} gone")
    for key in after.keys() & before.keys():
        if after[key]["status"] != before[key]["status"]:
            lines.append(f"~ [{key[0]}] {key[1]} {before[key]['status']} → {after[key]['status']}")
    return sorted(lines)


async def watch(args: argparse.Namespace) -> int:
    updates = 0
    async with connect(args) as client:
        known = await snapshot(client)
        print(f"{len(known)} live calls; watching for changes (Ctrl-C to stop)")
        with anyio.move_on_after(args.seconds if args.seconds else float("inf")):
            async with client.listen(resource_subscriptions=[ACTIVE]) as subscription:
                async for _event in subscription:
                    current = await snapshot(client)
                    for line in changes(known, current):
                        print(line)
                    known = current
                    updates += 1
                    if args.max_updates and updates >= args.max_updates:
                        break
    return updates


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_connection_options(parser)
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long (0: run until Ctrl-C)")
    parser.add_argument("--max-updates", type=int, default=0, help="stop after this many updates")
    anyio.run(watch, parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
