"""Contract tests: the providers' documented answers, typed here, served to the real adapters.

A fixture is ``tests/providers/<provider>/fixtures/<name>.json``::

    {"source": "<the document, SDK fixture or OpenAPI example it stands for>",
     "status": 200,
     "headers": {"Content-Type": "application/json"},     # optional
     "body": { ... the provider's answer ... }}

The fixtures are written from the documents (facts, not copied files), so they check the
adapters against the providers, not against the simulator. ``Upstream`` answers an adapter's
requests from them through ``httpx2.MockTransport`` and records what the adapter asked, so a
test can pin both the normalized result (whole-object equality) and the requests made.
``serve`` puts an ``Upstream`` on a loopback port, for tests that go through the whole server.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2

from mcp_livecalls.core.models import LiveCall
from mcp_livecalls.providers.paging import ProviderSlice

__all__ = ["Answer", "Upstream", "asked", "calls_of", "fixture", "load", "serve"]

PROVIDER_TESTS = Path(__file__).parents[1] / "providers"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def response(self) -> httpx2.Response:
        if isinstance(self.body, str | bytes):
            content = self.body.encode() if isinstance(self.body, str) else self.body
            headers = {"Content-Type": "text/plain", **self.headers}
            return httpx2.Response(self.status, content=content, headers=headers)
        return httpx2.Response(self.status, json=self.body, headers=dict(self.headers))


def load(provider: str, name: str) -> dict[str, Any]:
    """The raw fixture document (``source``, ``status``, ``body``)."""
    path = PROVIDER_TESTS / provider / "fixtures" / f"{name}.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if not document.get("source"):
        raise AssertionError(f"{path} does not say which document it stands for")
    return document


def fixture(provider: str, name: str) -> Answer:
    """The fixture as an answer to serve."""
    document = load(provider, name)
    return Answer(
        status=int(document.get("status", 200)),
        body=document["body"],
        headers=document.get("headers", {}),
        source=document["source"],
    )


Matcher = Callable[[httpx2.Request], bool]


class Upstream:
    """A fake provider made of documented answers: the first matching route answers.

    Routes match on method, exact path and, optionally, a subset of the query parameters. A
    request no route matches is answered 599 (and recorded), so a test sees an unexpected
    request as a failure instead of a silent default.
    """

    def __init__(self) -> None:
        self._routes: list[tuple[Matcher, Callable[[httpx2.Request], Answer]]] = []
        self.requests: list[httpx2.Request] = []
        self.unmatched: list[httpx2.Request] = []

    def on(
        self,
        method: str,
        path: str,
        answer: Answer | Callable[[httpx2.Request], Answer],
        *,
        params: Mapping[str, str] | None = None,
        json_body: Callable[[Any], bool] | None = None,
    ) -> Upstream:
        wanted = dict(params or {})

        def matches(request: httpx2.Request) -> bool:
            if request.method != method or request.url.path != path:
                return False
            if any(request.url.params.get(key) != value for key, value in wanted.items()):
                return False
            return json_body is None or json_body(json.loads(request.content or b"null"))

        respond = answer if callable(answer) else (lambda _request, fixed=answer: fixed)
        self._routes.append((matches, respond))
        return self

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        for matches, respond in self._routes:
            if matches(request):
                return respond(request).response()
        self.unmatched.append(request)
        return httpx2.Response(599, json={"error": f"no contract route for {request.method} {request.url}"})

    def client(self) -> httpx2.AsyncClient:
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle), follow_redirects=False)

    def asked(self, path: str) -> list[httpx2.Request]:
        return [request for request in self.requests if request.url.path == path]


def asked(upstream: Upstream) -> list[tuple[str, dict[str, str]]]:
    """Path and query of every request made; none may have missed the documented routes."""
    assert upstream.unmatched == []
    return [(request.url.path, dict(request.url.params)) for request in upstream.requests]


def calls_of(found: ProviderSlice) -> list[LiveCall]:
    """The calls of a slice, in order."""
    return [item.call for item in found.items]


@contextmanager
def serve(answering: Callable[[], Upstream]) -> Iterator[str]:
    """Real HTTP on ``127.0.0.1``: each request is answered by the ``Upstream`` that ``answering``
    returns then (a test swaps it between examples). Yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = httpx2.Request(
                self.command,
                f"http://{self.headers.get('Host', '127.0.0.1')}{self.path}",
                headers=dict(self.headers.items()),
                content=self.rfile.read(length) if length else b"",
            )
            response = answering().handle(request)
            body = response.content
            self.send_response(response.status_code)
            self.send_header("Content-Type", response.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: a test reads ``Upstream.requests`` instead."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
