"""List every live call, page by page, as an assistant would.

mcp-livecalls simulator --port 8765 &
python examples/list_calls.py --simulator http://127.0.0.1:8765
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import anyio
from common import PROVIDER_NAMES, add_connection_options, connect


async def list_all(args: argparse.Namespace) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    async with connect(args) as client:
        cursor: str | None = None
        page_number = 0
        while True:
            arguments: dict[str, Any] = {"limit": args.limit}
            if args.provider:
                arguments["provider"] = args.provider
            if cursor:
                arguments["cursor"] = cursor
            result = await client.call_tool("list_active_calls", arguments)
            if result.is_error:
                raise SystemExit(getattr(result.content[0], "text", "list_active_calls failed"))
            page_number += 1
            print(f"-- page {page_number}")
            print(getattr(result.content[0], "text", ""))
            page = result.structured_content or {}
            calls.extend(page.get("calls", []))
            cursor = page.get("next_cursor")
            if not cursor:
                break
    print(f"-- {len(calls)} live calls in {page_number} pages")
    return calls


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_connection_options(parser)
    parser.add_argument("--provider", choices=PROVIDER_NAMES)
    parser.add_argument("--limit", type=int, default=5, help="calls per page")
    anyio.run(list_all, parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
