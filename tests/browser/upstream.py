"""A hand-made hostile upstream: the simulator behind a tap that keeps every JSON answer it gives
and can plant a value in them (every JSON string equal to a target becomes the planted text).

The server under test talks to it over loopback HTTP exactly as to the simulator; only the
planted strings differ, so a hostile value reaches the board through the real adapters.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PlantingUpstream", "strings_in"]

Scope = dict[str, Any]


def strings_in(data: Any) -> Iterator[str]:
    """Every string value in a JSON document."""
    if isinstance(data, dict):
        for value in data.values():
            yield from strings_in(value)
    elif isinstance(data, list):
        for value in data:
            yield from strings_in(value)
    elif isinstance(data, str):
        yield data


def _replace(data: Any, target: str, planted: str) -> Any:
    if isinstance(data, dict):
        return {key: _replace(value, target, planted) for key, value in data.items()}
    if isinstance(data, list):
        return [_replace(value, target, planted) for value in data]
    return planted if data == target else data


@dataclass
class PlantingUpstream:
    """ASGI wrapper: ``tape`` holds ``(url, json)`` of every JSON answer (as the simulator gave it)."""

    app: Any
    tape: list[tuple[str, Any]] = field(default_factory=list)
    target: str | None = None
    planted: str = ""
    only_for: str | None = None
    """Plant only in answers to requests whose path or query contains this (one call's routes)."""

    def reset(self) -> None:
        """Forget every answer kept and plant nothing (a test sharing the tap starts clean)."""
        self.tape.clear()
        self.target, self.planted, self.only_for = None, "", None

    def plant(self, target: str, planted: str, only_for: str | None = None) -> None:
        self.target, self.planted, self.only_for = target, planted, only_for

    def _rewrite(self, url: str, body: bytes) -> bytes:
        try:
            data = json.loads(body)
        except ValueError:
            return body
        self.tape.append((url, data))
        if self.target is None or (self.only_for is not None and self.only_for not in url):
            return body
        return json.dumps(_replace(data, self.target, self.planted)).encode()

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        url = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def tapped(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = self._rewrite(url, b"".join(chunks))
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, tapped)
