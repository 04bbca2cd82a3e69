"""The SDK's floor for a tool call: a bare ``MCPServer`` that answers with a result made beforehand.

``benchmarks.latency`` takes one real result of each measured operation from this server (its
text, its structured content) and the output schema this server publishes for the tool, and
serves them from a plain ``mcp`` SDK server: one tool per name, the same arguments, a handler
that returns the result it was given (no upstream request, no shaping, no rendering) with that
output schema published as is, so the client checks the same content against the same schema.
What a call to it costs is what any server built on the SDK pays for a result of that size and
shape (transport, the SDK's dispatch and argument validation, serialization, the client's
session and its schema check): the floor under this server's own overhead.

``python -m benchmarks.floor ANSWERS.json`` serves it over stdio (the file is written by
``write_answers``); ``floor_server(answers)`` builds it for an in-memory client.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.tools.base import Tool as SDKTool
from mcp_types import CallToolResult

__all__ = ["Answers", "floor_server", "main", "read_answers", "write_answers"]


@dataclass(frozen=True)
class Answers:
    """What the floor server answers: a result per (tool, provider; ``""`` for every provider),
    an output schema per tool."""

    results: dict[tuple[str, str], CallToolResult]
    output_schemas: dict[str, dict[str, Any]]


def floor_server(answers: Answers) -> MCPServer[Any]:
    """A bare ``MCPServer`` with one tool per name in ``answers``, each returning its result."""
    server: MCPServer[Any] = MCPServer("sdk-floor")
    for name, schema in answers.output_schemas.items():
        tool = SDKTool.from_function(_answering(name, answers.results), name=name, description=name)
        # Published as given and not validated server-side (the SDK's hand-built metadata), as this
        # server publishes its own schemas and does not validate the content it built.
        tool.fn_metadata.output_schema = schema
        server._tool_manager._tools[name] = tool
    return server


def _answering(name: str, results: dict[tuple[str, str], CallToolResult]) -> Any:
    async def answer(
        provider: str | None = None,
        call_id: str | None = None,
        limit: int | None = None,
    ) -> CallToolResult:
        return results[(name, provider or "")]

    return answer


def write_answers(answers: Answers, path: Path) -> None:
    document = {
        "results": [
            {"tool": tool, "provider": provider, "result": result.model_dump(mode="json", by_alias=True)}
            for (tool, provider), result in answers.results.items()
        ],
        "output_schemas": answers.output_schemas,
    }
    path.write_text(json.dumps(document), encoding="utf-8")


def read_answers(path: Path) -> Answers:
    document = json.loads(path.read_text(encoding="utf-8"))
    return Answers(
        results={
            (entry["tool"], entry["provider"]): CallToolResult.model_validate(entry["result"])
            for entry in document["results"]
        },
        output_schemas=document["output_schemas"],
    )


def main() -> None:
    floor_server(read_answers(Path(sys.argv[1]))).run("stdio")


if __name__ == "__main__":
    main()
