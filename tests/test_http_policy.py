"""The one HTTP policy, checked against a scripted upstream (``httpx2.MockTransport``).

Timeouts (per request and across a tool's retries), which failures are retried and which never
are, ``Retry-After``, the per-provider retry budget, the response size cap, non-JSON bodies,
bounded concurrency per provider, cancellation, and redaction of secrets from errors and logs.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import anyio
import httpx2
import pytest
import stamina

from mcp_livecalls.errors import (
    AuthError,
    BadResponse,
    CallNotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.policy import HttpPolicy, RetryBudget
from mcp_livecalls.upstream.translate import EnvelopeError

pytestmark = pytest.mark.anyio

SECRET_KEY = "key-5e8c1d7f"
SECRET_TOKEN = "token-9a2b4c6d"

Handler = Callable[[httpx2.Request], Awaitable[httpx2.Response]]


class Upstream:
    """A scripted provider: answers from ``script`` in order (the last entry repeats), counting calls."""

    def __init__(self, *script: httpx2.Response | Exception | Handler) -> None:
        self.script = list(script)
        self.calls = 0

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        if isinstance(step, Exception):
            raise step
        if isinstance(step, httpx2.Response):
            return _fresh(step)
        return await step(request)


def _fresh(response: httpx2.Response) -> httpx2.Response:
    """A new response with the same status, headers and body (a response can be read once)."""
    return httpx2.Response(response.status_code, headers=response.headers, content=response.content)


def ok(payload: Any = None) -> httpx2.Response:
    return httpx2.Response(200, json=payload if payload is not None else {"ok": True})


def status(code: int, **headers: str) -> httpx2.Response:
    return httpx2.Response(code, headers=headers, json={"message": f"status {code}"})


def provider_http(
    client: httpx2.AsyncClient, provider: str = "zudu", *, auth: httpx2.Auth | None = None, **policy: Any
) -> ProviderHTTP:
    return ProviderHTTP(
        provider=provider,
        title=provider.capitalize(),
        client=client,
        base_url=f"http://{provider}.test",
        policy=HttpPolicy(**policy),
        headers={"X-API-KEY": SECRET_KEY, "X-API-SECRET": SECRET_TOKEN},
        credential_vars=("ZUDU_API_KEY", "ZUDU_API_SECRET"),
        base_url_var="ZUDU_BASE_URL",
        secrets=[SECRET_KEY, SECRET_TOKEN],
        auth=auth,
    )


def client_for(
    upstream: Callable[[httpx2.Request], Coroutine[Any, Any, httpx2.Response]],
) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.MockTransport(upstream))


async def fetch(http: ProviderHTTP, *, call_id: str | None = None, post: bool = False) -> Any:
    with anyio.fail_after(30):
        if post:
            return await http.post_json("/api/calls", {"page": 0})
        return await http.get_json("/api/calls/abc", call_id=call_id)


# -- retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [502, 503, 504])
@pytest.mark.parametrize("post", [False, True], ids=["get", "post-query"])
async def test_a_gateway_error_is_retried_until_the_read_succeeds(code: int, post: bool) -> None:
    upstream = Upstream(status(code), status(code), ok({"n": 1}))
    async with client_for(upstream) as client:
        answer = await fetch(provider_http(client, retry_attempts=3), post=post)

    assert answer == {"n": 1}
    assert upstream.calls == 3


@pytest.mark.parametrize(
    "failure",
    [
        httpx2.ConnectError("refused"),
        httpx2.ConnectTimeout("slow connect"),
        httpx2.ReadTimeout("slow read"),
        httpx2.ReadError("reset by peer"),
        httpx2.RemoteProtocolError("peer closed connection without sending complete message body"),
    ],
    ids=lambda exc: type(exc).__name__,
)
async def test_connection_errors_and_timeouts_are_retried(failure: Exception) -> None:
    upstream = Upstream(failure, ok())
    async with client_for(upstream) as client:
        answer = await fetch(provider_http(client))

    assert answer == {"ok": True}
    assert upstream.calls == 2


async def test_persistent_gateway_errors_stop_after_the_configured_attempts() -> None:
    upstream = Upstream(status(503))
    async with client_for(upstream) as client:
        with pytest.raises(ProviderUnavailable, match=r"Zudu is unavailable right now \(503\)") as caught:
            await fetch(provider_http(client, retry_attempts=4))

    assert upstream.calls == 4
    assert caught.value.provider == "zudu"
    assert "try again" in str(caught.value)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (400, BadResponse),
        (401, AuthError),
        (403, AuthError),
        (404, CallNotFound),
        (405, BadResponse),
        (409, BadResponse),
        (422, BadResponse),
        (500, ProviderUnavailable),
        (501, ProviderUnavailable),
    ],
)
async def test_client_errors_and_internal_errors_are_never_retried(
    code: int, error: type[ProviderError]
) -> None:
    upstream = Upstream(status(code), ok())
    async with client_for(upstream) as client:
        with pytest.raises(error) as caught:
            await fetch(provider_http(client, retry_attempts=5), call_id="abc")

    assert upstream.calls == 1
    assert caught.value.provider == "zudu"
    assert f"({code})" in str(caught.value) or code == 404


async def test_a_404_without_a_call_id_points_at_the_base_url_setting() -> None:
    upstream = Upstream(status(404))
    async with client_for(upstream) as client:
        with pytest.raises(ProviderUnavailable, match="check ZUDU_BASE_URL"):
            await fetch(provider_http(client))
    assert upstream.calls == 1


async def test_a_429_with_a_short_retry_after_is_waited_out_and_retried() -> None:
    upstream = Upstream(status(429, **{"Retry-After": "0.01"}), ok())
    async with client_for(upstream) as client:
        assert await fetch(provider_http(client)) == {"ok": True}
    assert upstream.calls == 2


async def test_a_429_without_retry_after_is_retried_with_backoff() -> None:
    upstream = Upstream(status(429), status(429), ok())
    async with client_for(upstream) as client:
        assert await fetch(provider_http(client, retry_attempts=3)) == {"ok": True}
    assert upstream.calls == 3


@pytest.mark.parametrize(
    "retry_after",
    ["60", format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)],
    ids=["seconds", "http-date"],
)
async def test_a_429_whose_retry_after_exceeds_the_cap_goes_to_the_caller_at_once(retry_after: str) -> None:
    upstream = Upstream(status(429, **{"Retry-After": retry_after}), ok())
    async with client_for(upstream) as client:
        with pytest.raises(RateLimited) as caught:
            await fetch(provider_http(client, retry_after_cap_s=5))

    assert upstream.calls == 1
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 59
    assert str(caught.value).startswith("Zudu is rate limiting requests (429). Retry after ")


async def test_retry_after_is_really_waited_out_when_backoff_is_on() -> None:
    upstream = Upstream(status(429, **{"Retry-After": "0.25"}), ok())
    async with client_for(upstream) as client:
        http = provider_http(client, retry_after_cap_s=5)
        with stamina.set_testing(False):
            started = time.monotonic()
            assert await fetch(http) == {"ok": True}
            waited = time.monotonic() - started

    assert upstream.calls == 2
    assert 0.25 <= waited < 30  # really waited out; the upper bound only catches a hang


async def test_gateway_retries_back_off_exponentially_with_jitter_when_backoff_is_on() -> None:
    upstream = Upstream(status(503), status(503), ok())
    async with client_for(upstream) as client:
        http = provider_http(client, retry_wait_initial_s=0.05, retry_wait_max_s=0.5)
        with stamina.set_testing(False):
            started = time.monotonic()
            assert await fetch(http) == {"ok": True}
            waited = time.monotonic() - started

    # 0.05 s + 0.1 s at least, each plus up to 0.05 s of jitter.
    assert 0.15 <= waited < 30  # backed off; the upper bound only catches a hang


# -- the retry budget --------------------------------------------------------------------------


def test_the_retry_budget_starts_full_is_spent_by_retries_and_earned_back_by_requests() -> None:
    budget = RetryBudget(capacity=10, per_request=0.2)

    assert [budget.withdraw() for _ in range(11)] == [True] * 10 + [False]
    for _ in range(4):
        budget.deposit()
    assert budget.withdraw() is False  # 0.8 of a retry earned
    budget.deposit()
    assert budget.withdraw() is True
    for _ in range(1000):
        budget.deposit()
    assert budget.tokens == 10  # capped


async def test_a_provider_that_keeps_failing_is_not_retried_once_its_budget_is_spent() -> None:
    upstream = Upstream(status(503))
    attempts: list[int] = []
    async with client_for(upstream) as client:
        http = provider_http(client, retry_attempts=3, retry_budget=10, retry_budget_per_request=0.2)
        for _ in range(30):
            before = upstream.calls
            with pytest.raises(ProviderUnavailable):
                await fetch(http)
            attempts.append(upstream.calls - before)

    # Five requests spend the ten retries in hand (two each), the sixth its last one; then a
    # request is retried only when five requests have earned a retry between them.
    assert attempts[:7] == [3, 3, 3, 3, 3, 2, 1]
    retries = sum(attempts) - len(attempts)
    assert retries <= 10 + 0.2 * len(attempts)
    assert max(attempts[7:]) <= 2


async def test_successful_requests_refill_the_retry_budget() -> None:
    failing = True

    async def flaky(request: httpx2.Request) -> httpx2.Response:
        return status(503) if failing else ok()

    upstream = Upstream(flaky)
    async with client_for(upstream) as client:
        http = provider_http(client, retry_attempts=2, retry_budget=2, retry_budget_per_request=0.5)
        for _ in range(4):
            with pytest.raises(ProviderUnavailable):
                await fetch(http)
        assert http.retry_budget.tokens < 1
        failing = False
        for _ in range(4):
            await fetch(http)
        failing = True
        before = upstream.calls
        with pytest.raises(ProviderUnavailable):
            await fetch(http)

    assert upstream.calls - before == 2  # retried again


async def test_each_provider_has_its_own_retry_budget() -> None:
    upstream = Upstream(status(503))
    async with client_for(upstream) as client:
        exhausted = provider_http(client, "vobiz", retry_attempts=2, retry_budget=1)
        fresh = provider_http(client, "exotel", retry_attempts=2, retry_budget=1)
        for _ in range(3):
            with pytest.raises(ProviderUnavailable):
                await fetch(exhausted)
        before = upstream.calls
        with pytest.raises(ProviderUnavailable, match="Exotel"):
            await fetch(fresh)

    assert upstream.calls - before == 2


# -- timeouts ----------------------------------------------------------------------------------


def test_the_policy_sets_connect_read_write_and_pool_timeouts() -> None:
    timeout = HttpPolicy(connect_timeout_s=1.5, read_timeout_s=4).timeout()

    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (1.5, 4, 4, 4)


async def _trickle() -> AsyncIterator[bytes]:
    yield b'{"calls": ['
    while True:
        await anyio.sleep(0.02)  # a byte now and then: the read timeout never fires
        yield b" "


async def test_a_trickling_body_is_cut_off_by_the_whole_request_timeout() -> None:
    async def trickling(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=_trickle())

    upstream = Upstream(trickling)
    async with client_for(upstream) as client:
        http = provider_http(client, request_timeout_s=0.2, retry_attempts=2)
        # The body trickles forever: only the whole-request timeout can end it (bounded far above).
        with (
            anyio.fail_after(30),
            pytest.raises(ProviderUnavailable, match=r"Zudu did not answer in time .*0\.2s"),
        ):
            await fetch(http)

    assert upstream.calls == 2  # a timeout is worth another attempt


async def test_headers_slower_than_the_whole_request_timeout_are_a_provider_error() -> None:
    async def slow(request: httpx2.Request) -> httpx2.Response:
        await anyio.sleep_forever()  # headers never come: the verdict cannot depend on speed
        raise AssertionError("unreachable")

    async with client_for(Upstream(slow)) as client:
        with anyio.fail_after(30), pytest.raises(ProviderUnavailable, match="did not answer in time"):
            await fetch(provider_http(client, request_timeout_s=0.1, retry_attempts=1))


# -- what the body may be ----------------------------------------------------------------------


async def test_a_declared_content_length_over_the_cap_is_refused_before_reading() -> None:
    read: list[bytes] = []

    async def body() -> AsyncIterator[bytes]:
        for _ in range(100):
            read.append(b"x")
            yield b"[" + b"0," * 50_000 + b"0]"

    async def huge(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-length": "5000000"}, content=body())

    upstream = Upstream(huge)
    async with client_for(upstream) as client:
        with pytest.raises(BadResponse, match="over 1 MB; refused"):
            await fetch(provider_http(client, max_response_bytes=1_000_000))

    assert read == []
    assert upstream.calls == 1  # not retried


async def test_a_streamed_body_is_cut_off_at_the_cap() -> None:
    chunks: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for index in range(50):
            chunks.append(index)
            yield b" " * 100_000

    async def endless(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, content=body())

    async with client_for(Upstream(endless)) as client:
        with pytest.raises(BadResponse, match="over 1 MB"):
            await fetch(provider_http(client, max_response_bytes=1_000_000))

    assert len(chunks) <= 12


async def test_a_body_exactly_at_the_cap_is_read() -> None:
    payload = json.dumps({"pad": "x" * 1000}).encode()
    upstream = Upstream(httpx2.Response(200, content=payload))
    async with client_for(upstream) as client:
        answer = await fetch(provider_http(client, max_response_bytes=len(payload)))
    assert answer == {"pad": "x" * 1000}


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/html; charset=utf-8", b"<html><body>502 Bad Gateway</body></html>", "HTML page"),
        ("application/json", b"  <!DOCTYPE html><html></html>", "HTML page"),
        ("application/json", b"", "empty body"),
        ("application/json", b"  \n ", "empty body"),
        ("application/json", b'{"calls": [{"id": "abc", "sta', "not valid JSON (application/json)"),
        ("text/plain", b"Service Unavailable", "not valid JSON (text/plain)"),
        ("", b"OK", "not valid JSON (no content type)"),
        ("application/json", b"\xff\xfe\x00garbage", "not valid JSON"),
        ("application/json", b"[" * 200_000, "nested too deeply"),
        ("application/json", b'{"latency": NaN}', "not valid JSON"),
        ("application/json", b'{"cost": -Infinity}', "not valid JSON"),
        ("application/json", b'{"duration": 1e999}', "not valid JSON"),
    ],
    ids=[
        "html",
        "html-as-json",
        "empty",
        "blank",
        "truncated",
        "text",
        "no-type",
        "bad-utf8",
        "deep",
        "nan",
        "infinity",
        "overflow",
    ],
)
async def test_a_body_that_is_not_json_is_a_clear_provider_error(
    content_type: str, body: bytes, expected: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    upstream = Upstream(httpx2.Response(200, headers=headers, content=body))
    async with client_for(upstream) as client:
        with pytest.raises(BadResponse) as caught:
            await fetch(provider_http(client))

    assert expected in str(caught.value)
    assert str(caught.value).startswith("Zudu answered")
    assert upstream.calls == 1  # a broken body is not retried


async def test_an_error_body_nested_beyond_reading_still_reports_the_status() -> None:
    upstream = Upstream(httpx2.Response(500, content=b'{"error": ' * 5000))
    async with client_for(upstream) as client:
        with pytest.raises(ProviderUnavailable, match=r"Zudu had an internal error \(500\)"):
            await fetch(provider_http(client))


# -- concurrency and cancellation ----------------------------------------------------------------


class Gate:
    """An upstream that holds every request until ``open`` is set, counting those in flight.

    ``full`` is set once ``expected`` requests are held at the same time. A request is held for
    five seconds at most, so a test whose cancellation does not arrive fails instead of hanging.
    """

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.open = anyio.Event()
        self.full = anyio.Event()
        self.in_flight = 0
        self.peak = 0
        self.cancelled = 0

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        if self.in_flight == self.expected:
            self.full.set()
        try:
            with anyio.move_on_after(30):  # a bound on a test that never opens the gate
                await self.open.wait()
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1
        return ok()


async def test_requests_in_flight_per_provider_are_bounded() -> None:
    gate = Gate(expected=5)
    async with client_for(gate) as client:
        vobiz = provider_http(client, "vobiz", max_concurrency=3)
        exotel = provider_http(client, "exotel", max_concurrency=2)
        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(fetch, vobiz)
                group.start_soon(fetch, exotel)
            with anyio.fail_after(30):
                await gate.full.wait()
            for _ in range(20):
                await anyio.lowlevel.checkpoint()
            assert gate.in_flight == 5  # 3 for vobiz + 2 for exotel, the rest wait their turn
            gate.open.set()

    assert gate.peak == 5


async def test_cancelling_a_request_cancels_the_upstream_exchange_and_frees_its_slot() -> None:
    gate = Gate(expected=1)
    async with client_for(gate) as client:
        http = provider_http(client, max_concurrency=1)
        async with anyio.create_task_group() as group:
            group.start_soon(fetch, http)
            with anyio.fail_after(30):
                await gate.full.wait()
            group.cancel_scope.cancel()

        assert gate.cancelled == 1
        assert gate.in_flight == 0
        gate.open.set()
        assert await fetch(http) == {"ok": True}  # the one slot was given back


# -- secrets -----------------------------------------------------------------------------------


async def test_an_error_body_that_echoes_the_credentials_is_redacted() -> None:
    echo = {"error": {"message": f"key {SECRET_KEY} with secret {SECRET_TOKEN} lacks scope calls:read"}}
    upstream = Upstream(httpx2.Response(403, json=echo))
    async with client_for(upstream) as client:
        with pytest.raises(AuthError) as caught:
            await fetch(provider_http(client))

    message = str(caught.value)
    assert "refused access (403)" in message
    assert "ZUDU_API_KEY / ZUDU_API_SECRET" in message
    assert SECRET_KEY not in message
    assert SECRET_TOKEN not in message
    assert "***" in message


async def test_a_401_names_the_variables_to_check_but_never_echoes_the_credentials() -> None:
    echo = {"message": "Unauthorized", "error": f"Invalid API key {SECRET_KEY}"}
    upstream = Upstream(httpx2.Response(401, json=echo))
    async with client_for(upstream) as client:
        with pytest.raises(AuthError) as caught:
            await fetch(provider_http(client, retry_attempts=3))

    assert str(caught.value) == "Zudu rejected the credentials (401): check ZUDU_API_KEY / ZUDU_API_SECRET."
    assert upstream.calls == 1


async def test_request_log_lines_never_carry_the_credentials_in_urls(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx2")
    caplog.set_level(logging.DEBUG, logger="mcp_livecalls.upstream")
    upstream = Upstream(ok())
    async with client_for(upstream) as client:
        http = provider_http(client)
        with anyio.fail_after(30):
            await http.get_json(f"/v3/accounts/{SECRET_KEY}/calls/active")

    lines = [record.getMessage() for record in caplog.records]
    assert any("/v3/accounts/***/calls/active" in line for line in lines)
    assert not [line for line in lines if SECRET_KEY in line or SECRET_TOKEN in line]


# -- parsing and envelopes: translated inside ProviderHTTP ----------------------------------------


async def test_a_parse_function_that_cannot_read_the_answer_gives_a_bad_response_not_a_crash() -> None:
    def parse(payload: Any) -> int:
        return int(payload["calls"][0]["duration"])  # KeyError on this answer

    async with client_for(Upstream(ok({"data": []}))) as client:
        with pytest.raises(BadResponse, match="Zudu answered with data this server does not understand"):
            await provider_http(client).get_json("/api/calls/abc", parse=parse)


async def test_an_error_inside_a_2xx_envelope_is_raised_with_the_providers_words_redacted() -> None:
    def envelope_error(payload: Any) -> EnvelopeError | None:
        said = payload.get("error")
        return EnvelopeError("Zudu answered with an error: {said}.", said=said) if said else None

    parsed: list[Any] = []
    upstream = Upstream(ok({"status": "error", "error": f"key {SECRET_KEY} is   not valid"}))
    async with client_for(upstream) as client:
        http = ProviderHTTP(
            provider="zudu",
            title="Zudu",
            client=client,
            base_url="http://zudu.test",
            policy=HttpPolicy(),
            credential_vars=("ZUDU_API_KEY",),
            base_url_var="ZUDU_BASE_URL",
            secrets=[SECRET_KEY],
            envelope_error=envelope_error,
        )
        with pytest.raises(BadResponse) as caught:
            await http.get_json("/api/calls/abc", parse=parsed.append)

    assert SECRET_KEY not in caught.value.message
    assert caught.value.message.startswith("Zudu answered with an error: key ")
    assert caught.value.message.endswith(" is not valid.")
    assert parsed == []  # the adapter's parse never saw the error envelope


class _CountingBearer(httpx2.Auth):
    """Signs each request with a token of its own, as a JWT-minting auth does."""

    def __init__(self) -> None:
        self.minted = 0

    def auth_flow(self, request: httpx2.Request):  # type: ignore[no-untyped-def]
        self.minted += 1
        request.headers["Authorization"] = f"Bearer token-{self.minted}"
        yield request


async def test_an_auth_object_signs_every_request_afresh_instead_of_one_fixed_header() -> None:
    seen: list[str] = []

    async def upstream(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers.get("authorization", ""))
        return ok()

    signer = _CountingBearer()
    async with client_for(upstream) as client:
        http = provider_http(client, auth=signer)
        await fetch(http)
        await fetch(http)

    assert seen == ["Bearer token-1", "Bearer token-2"]
