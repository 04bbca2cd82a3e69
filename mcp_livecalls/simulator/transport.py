"""What a transport fault answers with: an upstream proxy's HTML page, a body cut off mid-way
(the connection reset), a huge body; and the log filter that keeps an intentional reset quiet."""

from __future__ import annotations

import contextvars
import logging
from typing import Final

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

__all__ = ["HTML_PAGE", "HUGE_BODY_BYTES", "ResetResponse", "padded", "padding"]

HUGE_BODY_BYTES: Final = 10 * 1024 * 1024

HTML_PAGE: Final = (
    b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    b"<body><center><h1>502 Bad Gateway</h1></center>\n"
    b"<hr><center>simulated upstream proxy</center></body></html>\n"
)

_intentional_reset: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sim_intentional_reset", default=False
)


class _QuietIntentionalResets(logging.Filter):
    """Drops uvicorn's complaint about the response we cut short on purpose (``reset`` fault)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_intentional_reset.get() and "without completing response" in str(record.msg))


_reset_filter = _QuietIntentionalResets()
logging.getLogger("uvicorn.error").addFilter(_reset_filter)


class ResetResponse(Response):
    """Headers announcing the whole body, half of it, then the connection is dropped."""

    def __init__(self, body: bytes) -> None:
        super().__init__(status_code=200, media_type="application/json")
        self._full = body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        _intentional_reset.set(True)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self._full)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": self._full[: len(self._full) // 2], "more_body": True}
        )
        # Returning without the final body message makes the server close the connection.


_padding_cache: list[bytes] = []


def padding() -> bytes:
    if not _padding_cache:
        _padding_cache.append(b'"' + b"0123456789abcdef" * (HUGE_BODY_BYTES // 16) + b'"')
    return _padding_cache[0]


def padded(body: bytes) -> bytes:
    """``body`` (a JSON object or array) with about 10 MB of valid JSON padding inside it: a key
    ``x_sim_padding`` in an object, one more (string) item in an array."""
    empty = len(body) <= 2
    if body[:1] == b"[":
        return body[:-1] + (b"" if empty else b",") + padding() + b"]"
    return body[:-1] + (b'"x_sim_padding":' if empty else b',"x_sim_padding":') + padding() + b"}"
