"""The request pipeline: one provider's view of the shared HTTP client (``ProviderHTTP``).

Every upstream request goes through it: paced (``upstream.pacing``), bounded in concurrency and
time, retried by the policy (``upstream.policy``), read within the size cap, translated into
``mcp_livecalls.errors`` (``upstream.translate``) and redacted (``upstream.redact``). Adapters
hand it their parse function (``get_json(path, parse=…)``) and a provider's ``envelope_error``
hook reads errors reported inside a 2xx answer; both run inside the one translation, so bad
data can never escape as an internal error.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar, overload

import anyio
import httpx2
import stamina

from mcp_livecalls.errors import LiveCallsError
from mcp_livecalls.upstream.pacing import Pacer, is_background
from mcp_livecalls.upstream.policy import HttpPolicy, Retryable, RetryBudget, backoff_for
from mcp_livecalls.upstream.redact import LOG_FILTER, Redactor
from mcp_livecalls.upstream.translate import (
    AGAIN,
    Answer,
    AnswerReader,
    EnvelopeError,
    NotFoundReply,
    envelope_failure,
    find_message,
    json_or_none,
    translate_errors,
)

__all__ = ["ProviderHTTP"]

_T = TypeVar("_T")
Params: TypeAlias = Mapping[str, str | int] | None
"""A request's query parameters (``None``: none)."""

logger = logging.getLogger(__name__)


def _no_envelope(payload: Any) -> EnvelopeError | None:
    return None


def _as_is(payload: Any) -> Any:
    return payload


@dataclass(frozen=True)
class _Request:
    """One read-only request, as every step of the pipeline sees it."""

    method: str
    path: str
    parse: Callable[[Any], Any]
    params: Params = None
    body: Mapping[str, Any] | None = None
    call_id: str | None = None
    read_404: bool = False


class ProviderHTTP:
    """One provider's view of the shared HTTP client: base URL, auth, limits, retries, errors."""

    def __init__(
        self,
        *,
        provider: str,
        title: str,
        client: httpx2.AsyncClient,
        base_url: str,
        policy: HttpPolicy,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | httpx2.Auth | None = None,
        credential_vars: Sequence[str],
        base_url_var: str,
        secrets: Sequence[str],
        pacer: Pacer | None = None,
        not_found_hint: str | None = None,
        envelope_error: Callable[[Any], EnvelopeError | None] = _no_envelope,
        error_message: Callable[[Any], str | None] = find_message,
    ) -> None:
        self.provider = provider
        self.title = title
        """How messages name the provider (``Retell AI``)."""
        self.envelope_error = envelope_error
        """Reads an error reported inside a 2xx answer (the provider's envelope), or ``None``."""
        self.pacer = pacer
        """Its own ``RequestPacer``, the fleet's ``SharedPacer``, or ``None`` (no published limit)."""
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self._client = client
        self._headers = dict(headers or {})
        # A pair is HTTP basic auth; an ``httpx2.Auth`` signs each request itself (a fresh JWT).
        self._auth = httpx2.BasicAuth(*auth) if isinstance(auth, tuple) else auth
        self._limiter = anyio.CapacityLimiter(policy.max_concurrency)
        # Pollers hold at most their share of the slots (and of the places in the queue for them).
        share = min(1.0, max(0.0, policy.background_share))
        self._background_limiter = anyio.CapacityLimiter(max(1, int(policy.max_concurrency * share)))
        self.retry_budget = RetryBudget(policy.retry_budget, policy.retry_budget_per_request)
        self.outcomes: Counter[str] = Counter()
        """Upstream requests by outcome (``2xx``, ``4xx``, ``429``, ``5xx``, ``error``), for ``/metrics``."""
        # The basic-auth header carries ``key:token`` in base64: the pair is a secret of its own.
        self.redact = Redactor(secrets, pairs=[auth] if isinstance(auth, tuple) else [])
        LOG_FILTER.register(self.redact)
        self._reader = AnswerReader(
            provider=provider,
            title=title,
            credential_vars=tuple(credential_vars),
            base_url_var=base_url_var,
            redact=self.redact,
            error_message=error_message,
            not_found_hint=not_found_hint,
        )

    @overload
    async def get_json(
        self, path: str, *, parse: Callable[[Any], _T], params: Params = None, call_id: str | None = None
    ) -> _T: ...

    @overload
    async def get_json(self, path: str, *, params: Params = None, call_id: str | None = None) -> Any: ...

    async def get_json(
        self,
        path: str,
        *,
        parse: Callable[[Any], Any] = _as_is,
        params: Params = None,
        call_id: str | None = None,
    ) -> Any:
        """GET ``path`` and return ``parse`` of its JSON; a 404 becomes ``CallNotFound(call_id)``
        when given. ``parse`` runs inside the error translation: whatever it cannot read is a
        ``BadResponse``, never an internal error."""
        return await self._with_retries(_Request("GET", path, parse, params=params, call_id=call_id))

    async def get_json_or_404(
        self, path: str, *, parse: Callable[[Any], _T], params: Params = None
    ) -> _T | NotFoundReply:
        """``get_json``, except that a 404 whose body is JSON is returned (unparsed) as a
        ``NotFoundReply`` for the adapter to read (a 404 without a JSON body still raises: that is
        a wrong URL)."""
        reply: _T | NotFoundReply = await self._with_retries(
            _Request("GET", path, parse, params=params, read_404=True)
        )
        return reply

    @overload
    async def post_json(self, path: str, body: Mapping[str, Any], *, parse: Callable[[Any], _T]) -> _T: ...

    @overload
    async def post_json(self, path: str, body: Mapping[str, Any]) -> Any: ...

    async def post_json(
        self, path: str, body: Mapping[str, Any], *, parse: Callable[[Any], Any] = _as_is
    ) -> Any:
        """POST a read-only query (Zudu's list): retried like a GET, since it changes nothing."""
        return await self._with_retries(_Request("POST", path, parse, body=body))

    def translated(self, exc: Exception) -> LiveCallsError:
        """The translation of ``exc``, raised from data already fetched (e.g. every entry of a
        list unreadable): the same mapping as for the exchange itself."""
        try:
            with translate_errors(self.provider, title=self.title):
                raise exc
        except LiveCallsError as error:
            return error
        raise AssertionError("unreachable: translate_errors raises")  # pragma: no cover

    # -- the pipeline: retries > one attempt (pacing, slots, deadline) > exchange > reading ------

    async def _with_retries(self, request: _Request) -> Any:
        policy = self.policy
        attempts = max(1, policy.retry_attempts)
        self.retry_budget.deposit()
        current = 1

        def retry_or_not(exc: BaseException) -> bool | float:
            decision = backoff_for(exc, policy)
            if decision is False or current >= attempts:
                return False
            if not self.retry_budget.withdraw():
                logger.debug("%s: retry budget spent, not retrying %s", self.provider, type(exc).__name__)
                return False
            return decision

        retries = stamina.retry_context(
            on=retry_or_not,
            attempts=attempts,
            timeout=None,  # the tool budget bounds the whole call
            wait_initial=policy.retry_wait_initial_s,
            wait_max=policy.retry_wait_max_s,
            wait_jitter=policy.retry_wait_initial_s,
        )
        async for attempt in retries:
            current = attempt.num
            with attempt:
                return await self._once(request)
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover

    async def _once(self, request: _Request) -> Any:
        """One attempt, every failure in it translated."""
        with translate_errors(self.provider, title=self.title):
            answer = await self._paced(request)
            logger.debug(
                "%s %s %s -> %s", self.provider, request.method, self.redact(request.path), answer.status_code
            )
            return self._read(request, answer)

    async def _paced(self, request: _Request) -> Answer:
        """The exchange once the pacer lets it go and a request slot is free."""
        if self.pacer is not None:
            await self.pacer.acquire()  # outside the limiter: waiting holds no request slot
        background: AbstractAsyncContextManager[object] = (
            self._background_limiter if is_background() else nullcontext()
        )
        async with background, self._limiter:
            try:
                with anyio.fail_after(self.policy.request_timeout_s):
                    answer = await self._counted(request)
            except TimeoutError:
                # Only this scope's own deadline: a trickling body, or headers slower than the cap.
                raise Retryable(
                    self.provider,
                    f"{self.title} did not answer in time (no complete answer within "
                    f"{self.policy.request_timeout_s:g}s); {AGAIN}.",
                ) from None
        if self.pacer is not None:
            self.pacer.observe(answer.headers)
        return answer

    def _read(self, request: _Request, answer: Answer) -> Any:
        """``parse`` of the answer's JSON, or the error its status, body or envelope means."""
        if request.read_404 and answer.status_code == 404:
            reply = json_or_none(answer.body)
            if reply is not None:
                return NotFoundReply(reply)
        self._reader.raise_for_status(answer, request.call_id)
        payload = self._reader.decode(answer)
        reported = self.envelope_error(payload)
        if reported is not None:
            raise envelope_failure(self.provider, reported, call_id=request.call_id, redact=self.redact)
        return request.parse(payload)

    async def _counted(self, request: _Request) -> Answer:
        """``_exchange``, counted by outcome (no ids, numbers or credentials in the count)."""
        try:
            answer = await self._exchange(request)
        except BaseException:
            self.outcomes["error"] += 1
            raise
        code = answer.status_code
        self.outcomes["429" if code == 429 else f"{code // 100}xx"] += 1
        return answer

    async def _exchange(self, request: _Request) -> Answer:
        """Send ``request`` and read its body, refusing one over ``max_response_bytes``."""
        limit = self.policy.max_response_bytes
        sent = self._client.build_request(
            request.method,
            self.base_url + request.path,
            params=dict(request.params) if request.params else None,
            json=dict(request.body) if request.body is not None else None,
            headers=self._headers,
            timeout=self.policy.timeout(),
        )
        response = await self._client.send(sent, auth=self._auth, stream=True)
        try:
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise self._reader.too_big(limit)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > limit:
                    raise self._reader.too_big(limit)
                chunks.append(chunk)
        finally:
            await response.aclose()
        return Answer(response.status_code, response.headers, b"".join(chunks))
