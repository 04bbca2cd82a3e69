"""Gates in front of ``/mcp``: the shared bearer token (401s that say how to sign in) and the
silencing of answers to cancelled requests."""

from __future__ import annotations

import hmac
import json

from mcp.server.streamable_http import REQUEST_CANCELLED
from pydantic import SecretStr
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BearerGate", "SilenceCancelledAnswers", "jsonrpc_error"]


class SilenceCancelledAnswers:
    """A request the client cancelled gets no answer, as the protocol says.

    On the 2025-era streamable HTTP wire the SDK ends a cancelled request's SSE stream with a
    ``-32800 Request cancelled`` error for its id; the TypeScript SDK (after its own timeout
    cancelled the request) reports that as "Received a response for an unknown message ID".
    This drops that one event: the stream still ends, with nothing for the cancelled id.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return

        async def filtered(message: Message) -> None:
            if message["type"] == "http.response.body" and _is_cancelled_answer(message.get("body", b"")):
                message = {**message, "body": b""}
            await send(message)

        await self.app(scope, receive, filtered)


def _is_cancelled_answer(chunk: bytes) -> bool:
    """Whether an SSE chunk is exactly one event carrying a ``REQUEST_CANCELLED`` error."""
    if b"-32800" not in chunk:
        return False
    data = [
        line[5:].strip() for line in chunk.decode("utf-8", "replace").splitlines() if line.startswith("data:")
    ]
    try:
        payload = json.loads("".join(data)) if data else None
    except ValueError:
        return False
    if not isinstance(payload, dict):
        return False
    error = payload.get("error")
    return isinstance(error, dict) and error.get("code") == REQUEST_CANCELLED


class BearerGate:
    """Refuses ``/mcp`` requests without the shared bearer token: 401 with ``WWW-Authenticate``.

    RFC 6750: a request without credentials learns the scheme and realm; one with a wrong token
    also gets ``error="invalid_token"``. Nothing else (``/healthz``, lifespan) is gated. Once
    OAuth exists, ``resource_metadata`` (RFC 9728) is the one more parameter to pass.
    """

    REALM = "mcp-livecalls"

    def __init__(self, app: ASGIApp, *, token: SecretStr, resource_metadata: str | None = None) -> None:
        self.app = app
        self._token = token.get_secret_value().encode()
        self._resource_metadata = resource_metadata

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not str(scope.get("path", "")).startswith("/mcp"):
            await self.app(scope, receive, send)
            return
        sent = Headers(scope=scope).get("authorization")
        scheme, _, credential = (sent or "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), self._token):
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # policy violation
        else:
            await self._refuse(scope, receive, send, token_sent=sent is not None)

    def challenge(self, *, token_sent: bool) -> str:
        params = [f'realm="{self.REALM}"']
        if token_sent:
            params += ['error="invalid_token"', 'error_description="The bearer token is not valid."']
        if self._resource_metadata is not None:
            params.append(f'resource_metadata="{self._resource_metadata}"')
        return "Bearer " + ", ".join(params)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, *, token_sent: bool) -> None:
        body = {
            "error": "invalid_token" if token_sent else "unauthorized",
            "error_description": "Send the server's LIVECALLS_HTTP_TOKEN as 'Authorization: Bearer <token>'.",
        }
        response = JSONResponse(
            body, status_code=401, headers={"WWW-Authenticate": self.challenge(token_sent=token_sent)}
        )
        await response(scope, receive, send)


def jsonrpc_error(
    status: int,
    code: int,
    message: str,
    *,
    request_id: str | int | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An HTTP error whose body is a JSON-RPC error, as the SDK answers its own refusals."""
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)
