"""The one HTTP policy: timeouts, retries, size caps, concurrency, and error translation.

Every upstream request goes through ``ProviderHTTP``. It is the only place that knows about
``httpx2`` exceptions, status codes and non-JSON bodies; it turns all of them into the error tree
of ``mcp_livecalls.errors``. Adapters hand it their parse function (``get_json(path, parse=…)``)
and a provider's ``envelope_error`` hook reads errors reported inside a 2xx answer; both run
inside the one translation, so bad data can never escape as an internal error, and the provider's
own words are redacted here, once.

Retries are for idempotent reads only, on 429 (waiting out a ``Retry-After`` up to a cap), 502,
503, 504, timeouts and connection errors, with jittered exponential backoff (stamina). Each
provider also has a ``RetryBudget``: requests earn retries and retries spend them, so a provider
that is down sees at most a small fraction of extra load instead of ``retry_attempts`` times it.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import math
import re
import time
import weakref
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol, TypeVar, overload
from urllib.parse import quote, quote_plus

import anyio
import httpx2
import pydantic
import stamina

from mcp_livecalls.core.catalog import title_of
from mcp_livecalls.core.safety import clean_text
from mcp_livecalls.errors import (
    AuthError,
    BadResponse,
    CallNotFound,
    InvalidArgument,
    LiveCallsError,
    ProviderUnavailable,
    RateLimited,
)

__all__ = [
    "LOG_FILTER",
    "EnvelopeError",
    "HttpPolicy",
    "NotFoundReply",
    "ProviderHTTP",
    "RedactingLogFilter",
    "Redactor",
    "RequestPacer",
    "RetryBudget",
    "background_requests",
    "envelope_failure",
    "find_message",
    "install_log_redaction",
    "is_background",
    "translate_errors",
]

_T = TypeVar("_T")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpPolicy:
    """Limits for upstream requests. Every field has an environment variable (see config)."""

    connect_timeout_s: float = 3.0
    read_timeout_s: float = 8.0
    request_timeout_s: float = 10.0
    """The whole request, body included: a trickling upstream cannot hold a tool past this."""
    tool_budget_s: float = 15.0
    """A tool answers within this however many requests and retries it needs."""
    retry_attempts: int = 3
    """Attempts per request, the first included; only idempotent reads are retried."""
    retry_wait_initial_s: float = 0.2
    retry_wait_max_s: float = 2.0
    retry_after_cap_s: float = 5.0
    """A ``Retry-After`` longer than this is not waited out: the error goes to the caller."""
    retry_budget: float = 10.0
    """Retries a provider may have in hand (the bucket starts full); each retry spends one."""
    retry_budget_per_request: float = 0.2
    """Retries each request earns: in the long run at most this many retries per request."""
    max_response_bytes: int = 2_000_000
    max_concurrency: int = 20
    """Requests in flight per provider (a Vobiz page of 20 fetches 20 details at once)."""
    background_share: float = 0.5
    """The share of a provider's request rate (its pacer) and of its concurrent request slots
    that subscription pollers may use together; tool calls always have the rest, and go first."""

    def timeout(self) -> httpx2.Timeout:
        return httpx2.Timeout(
            connect=self.connect_timeout_s,
            read=self.read_timeout_s,
            write=self.read_timeout_s,
            pool=self.read_timeout_s,
        )


class Redactor:
    """Scrubs secrets, in every form they travel in, out of text before it leaves the process.

    Each secret is registered once with its derived forms: URL-encoded; base64, standard and
    URL-safe, with and without padding, and the part of it that stays the same wherever the
    secret sits inside a longer encoded value; and each ``key:token`` pair (basic auth) the same
    way. Matching ignores case (a provider that upper-cases an echoed header is still caught).
    """

    MASK = "***"

    def __init__(self, secrets: Sequence[str], *, pairs: Sequence[tuple[str, str]] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            forms |= _derived_forms(secret)
        for key, token in pairs:
            forms |= _derived_forms(f"{key}:{token}")
        # Longest first so a secret containing another is scrubbed whole.
        ordered = sorted(forms, key=lambda form: (-len(form), form))
        self._needles = tuple(form.lower() for form in ordered)
        self.key = frozenset(self._needles)
        """What this redactor masks: two with the same key mask the same text the same way."""
        self._json_needles = tuple(json.dumps(needle, ensure_ascii=False)[1:-1] for needle in self._needles)
        self._ordered = tuple(ordered)

    @functools.cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        """Compiled on first need only (a case mapping that moves offsets, which is rare)."""
        return re.compile("|".join(map(re.escape, self._ordered)), re.IGNORECASE) if self._ordered else None

    def __call__(self, text: str) -> str:
        if not self._needles:
            return text
        lowered = text.lower()
        found = [needle for needle in self._needles if needle in lowered]
        if not found:
            return text  # most text carries no secret: a few substring searches, no regex
        if len(lowered) != len(text):
            pattern = self._pattern
            assert pattern is not None  # needles exist, so the pattern does
            return pattern.sub(self.MASK, text)  # case mapping moved the offsets (rare)
        spans: list[tuple[int, int]] = []
        for needle in found:
            start = lowered.find(needle)
            while start != -1:
                spans.append((start, start + len(needle)))
                start = lowered.find(needle, start + 1)
        parts: list[str] = []
        done = 0
        for start, end in sorted(spans):
            if end <= done:
                continue  # inside a longer match already masked
            if start >= done:
                parts += [text[done:start], self.MASK]
            done = end
        return "".join(parts) + text[done:]

    def scrub(self, value: Any) -> Any:
        """``value`` with every string in it (dict keys included, at any depth) redacted."""
        if not self._needles:
            return value
        # One search over the whole value serialized (C speed); a copy with each string redacted
        # only on a hit. The needles are searched for as JSON writes them (quotes, backslashes).
        everything = json.dumps(value, ensure_ascii=False, default=str).lower()
        if not any(needle in everything for needle in self._json_needles):
            return value
        return self._scrub(value)

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list | tuple):
            return type(value)(self._scrub(item) for item in value)
        if isinstance(value, dict):
            return {self._scrub(key): self._scrub(item) for key, item in value.items()}
        return value

    def __repr__(self) -> str:
        return f"Redactor({len(self._needles)} forms)"


_MIN_SECRET = 3
_MIN_ENCODED_BYTES = 6
"""Base64 fragments shorter than 8 characters would match innocent text: not searched for."""


def _derived_forms(secret: str) -> set[str]:
    if len(secret) < _MIN_SECRET:
        return set()
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    raw = secret.encode()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        if len(raw) >= _MIN_ENCODED_BYTES:
            whole = encode(raw).decode()
            forms |= {whole, whole.rstrip("=")}
        # Inside a longer value the secret starts at any of three alignments; the characters
        # that encode whole 3-byte groups of the secret are the same whatever surrounds it.
        for start in range(3):
            part = raw[start:]
            part = part[: len(part) - len(part) % 3]
            if len(part) >= _MIN_ENCODED_BYTES:
                forms.add(encode(part).decode())
    return forms


class RetryBudget:
    """A token bucket of retries for one provider.

    Every request deposits ``per_request`` tokens (up to ``capacity``); every retry withdraws one.
    It starts full, so a short burst of failures is retried; when a provider keeps failing the
    bucket empties and failures go to the caller at once, until requests have earned retries again.
    """

    def __init__(self, capacity: float, per_request: float) -> None:
        self.capacity = max(0.0, capacity)
        self.per_request = max(0.0, per_request)
        self.tokens = self.capacity

    def deposit(self) -> None:
        self.tokens = min(self.capacity, self.tokens + self.per_request)

    def withdraw(self) -> bool:
        """Spend one retry if there is one."""
        if self.tokens >= 1.0 - 1e-9:  # five deposits of 0.2 make a retry, float rounding or not
            self.tokens = max(0.0, self.tokens - 1.0)
            return True
        return False


_BACKGROUND: ContextVar[bool] = ContextVar("mcp_livecalls_background_request", default=False)
"""Set while a subscription poller reads upstream: its requests yield to tool calls."""


@contextmanager
def background_requests() -> Iterator[None]:
    """Mark every upstream request made inside as background work (a poller's, not a tool call's).

    Background requests wait behind every waiting tool-call request at a provider's pacer, may
    use at most ``HttpPolicy.background_share`` of its request rate, and hold at most that share
    of its concurrent request slots, so watches never starve a tool call.
    """
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def is_background() -> bool:
    return _BACKGROUND.get()


class Pacer(Protocol):
    """What a provider's HTTP view needs from a pacer (``RequestPacer``, or the fleet's shared one)."""

    async def acquire(self) -> None: ...

    def observe(self, headers: httpx2.Headers) -> None: ...


class RequestPacer:
    """Keeps a provider under its published request rate instead of drawing 429s.

    A token bucket holding a minute's allowance, refilled continuously (Exotel documents 200
    requests per minute per account). When an answer says ``X-RateLimit-Remaining: 0``, requests
    wait for its ``X-RateLimit-Reset`` too. Waiting counts against the tool's time budget.

    Two classes of requests: tool calls (foreground) and subscription pollers (background, see
    ``background_requests``). A background request takes a token only when no waiting foreground
    request needs it, and draws from a second bucket holding ``background_share`` of the
    allowance, refilled at that share of the rate: together pollers use at most that share of
    the provider's budget, and the rest is always there for tool calls.
    """

    MAX_PAUSE_S = 60.0

    def __init__(
        self,
        per_minute: float,
        *,
        background_share: float = 0.5,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        # ``burst``: a bucket smaller than a minute's allowance, for a limit counted over a
        # shorter window (Plivo: 300 requests per 5 s).
        self.capacity = max(1.0, burst if burst is not None else per_minute)
        self._sleep = sleep
        self.per_second = max(1.0, per_minute) / 60.0
        self.tokens = self.capacity
        share = min(1.0, max(0.0, background_share))
        # At least one request a minute, so a watch is slowed, never stopped for good.
        self.background_capacity = max(1.0, self.capacity * share)
        self.background_per_second = max(1.0, max(1.0, per_minute) * share) / 60.0
        self.background_tokens = self.background_capacity
        self._clock = clock
        self._updated = clock()
        self._paused_until = 0.0
        self.waiting_foreground = 0

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.per_second)
        self.background_tokens = min(
            self.background_capacity, self.background_tokens + elapsed * self.background_per_second
        )
        self._updated = now

    async def acquire(self) -> None:
        """Wait for a token; a background request (``background_requests``) yields to tool calls."""
        if _BACKGROUND.get():
            await self._acquire_background()
            return
        self.waiting_foreground += 1
        try:
            while True:
                now = self._clock()
                self._refill(now)
                wait = self._paused_until - now
                if wait <= 0 and self.tokens >= 1.0:
                    self.tokens -= 1.0
                    return
                await self._sleep(wait if wait > 0 else (1.0 - self.tokens) / self.per_second)
        finally:
            self.waiting_foreground -= 1

    async def _acquire_background(self) -> None:
        while True:
            now = self._clock()
            self._refill(now)
            wait = self._paused_until - now
            if wait <= 0:
                # Only a token no waiting tool call needs, and only within the background share.
                needed = 1.0 + self.waiting_foreground
                if self.tokens >= needed and self.background_tokens >= 1.0:
                    self.tokens -= 1.0
                    self.background_tokens -= 1.0
                    return
                wait = max(
                    (needed - self.tokens) / self.per_second,
                    (1.0 - self.background_tokens) / self.background_per_second,
                )
            await self._sleep(wait)

    def observe(self, headers: httpx2.Headers) -> None:
        """Honour the provider's own count: pause until its window resets when none are left."""
        remaining, reset = headers.get("x-ratelimit-remaining"), headers.get("x-ratelimit-reset")
        if remaining is None or reset is None or remaining.strip() != "0":
            return
        try:
            value = float(reset)
        except ValueError:
            return
        # Either seconds until the reset or a Unix time; both are seen in the wild.
        seconds = value - time.time() if value > 1_000_000_000 else value
        if seconds > 0:
            self._paused_until = max(self._paused_until, self._clock() + min(seconds, self.MAX_PAUSE_S))


class RedactingLogFilter(logging.Filter):
    """Scrubs every registered ``Redactor``'s secrets out of log records, whatever logger made them.

    ``install_log_redaction`` puts it in the log-record factory, so every record of every logger
    (``httpx2`` request lines, ``httpcore2`` raw response headers at DEBUG, the SDK, ours) is clean
    from the moment it exists, whichever handler sees it later; and on the root handlers, where it
    also catches attributes added with ``extra=`` after the record was made.
    """

    def __init__(self) -> None:
        super().__init__()
        self.redactors: weakref.WeakSet[Redactor] = weakref.WeakSet()

    def register(self, redactor: Redactor) -> None:
        self.redactors.add(redactor)
        install_log_redaction()

    def redact(self, text: str) -> str:
        done: set[frozenset[str]] = set()
        for redactor in list(self.redactors):
            if redactor.key not in done:  # many servers of one process share their secrets
                done.add(redactor.key)
                text = redactor(text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        self.scrub(record)
        return True

    def scrub(self, record: logging.LogRecord) -> None:
        if not self.redactors:
            return
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a log call must never raise; the handler reports it when it formats
            message = None
        if message is not None:
            clean = self.redact(message)
            if clean != message:
                record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatted now so the redacted text is what every handler prints.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and key not in _FROM_CODE:
                clean = self.redact(value)
                if clean != value:
                    setattr(record, key, clean)


_FROM_CODE = frozenset(
    {"msg", "name", "levelname", "pathname", "filename", "module", "funcName", "threadName", "processName"}
)
"""Record attributes ``logging`` fills from the code (where the call is, which logger and thread),
never from data; the message (formatted above), ``exc_text``, ``stack_info`` and every ``extra``
attribute are scrubbed."""


class _RedactingRecordFactory:
    def __init__(self, inner: Callable[..., logging.LogRecord], log_filter: RedactingLogFilter) -> None:
        self.inner = inner
        self.log_filter = log_filter

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        self.log_filter.scrub(record)
        return record


LOG_FILTER = RedactingLogFilter()


def install_log_redaction(handlers: Iterable[logging.Handler] = ()) -> None:
    """Scrub every log record of every logger (idempotent); also filter ``handlers`` (the root's)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _RedactingRecordFactory):
        logging.setLogRecordFactory(_RedactingRecordFactory(factory, LOG_FILTER))
    for handler in handlers:
        if LOG_FILTER not in handler.filters:
            handler.addFilter(LOG_FILTER)


_AGAIN = "try again in a moment"


class _Retryable(ProviderUnavailable):
    """A failure worth another attempt (5xx gateway errors, connection errors, timeouts)."""


@contextmanager
def translate_errors(provider: str) -> Iterator[None]:
    """Translate every foreign exception an upstream exchange can raise into ``ProviderError``.

    The single mapping point for httpx2, JSON and pydantic failures. Messages are built here
    from the exception *type*, never from its text: httpx2 messages carry full URLs.
    """
    title = title_of(provider)
    try:
        yield
    except LiveCallsError:
        raise
    except httpx2.TimeoutException as exc:
        raise _Retryable(provider, f"{title} did not answer in time ({_kind(exc)}); {_AGAIN}.") from None
    except httpx2.InvalidURL as exc:
        raise InvalidArgument(f"The request to {title} could not be built ({_kind(exc)}).") from None
    except (httpx2.ConnectError, httpx2.ProxyError, httpx2.UnsupportedProtocol) as exc:
        raise _Retryable(provider, f"{title} could not be reached ({_kind(exc)}); {_AGAIN}.") from None
    except httpx2.TransportError as exc:
        # ReadError, WriteError, RemoteProtocolError …: the connection broke during the exchange.
        raise _Retryable(
            provider, f"{title} closed the connection before answering in full ({_kind(exc)}); {_AGAIN}."
        ) from None
    except (httpx2.HTTPError, httpx2.StreamError, httpx2.CookieConflict) as exc:
        # The rest of httpx2's exceptions (DecodingError, TooManyRedirects, a consumed stream …).
        raise BadResponse(provider, f"{title} answered with something unreadable ({_kind(exc)}).") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadResponse(provider, f"{title} answered with a body that is not valid JSON.") from None
    except pydantic.ValidationError as exc:
        fields = sorted({".".join(str(part) for part in err["loc"]) for err in exc.errors()})[:5]
        raise BadResponse(
            provider,
            f"{title} answered with data this server does not understand (fields: {', '.join(fields)}); "
            f"{_AGAIN}, and if it persists {title}'s API may have changed.",
        ) from None
    except (KeyError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        # ArithmeticError: a number too large for a date or an int (1e300 ms, Infinity);
        # RecursionError: nesting too deep to walk.
        raise BadResponse(
            provider,
            f"{title} answered with data this server does not understand ({_kind(exc)}); "
            f"{_AGAIN}, and if it persists {title}'s API may have changed.",
        ) from None


def _kind(exc: BaseException) -> str:
    return type(exc).__name__


@dataclass(frozen=True)
class EnvelopeError:
    """An error a provider reports inside a 2xx answer's own envelope (its ``envelope_error`` hook).

    ``message`` is the whole sentence, with ``{said}`` where the provider's own words go; those
    words (``said``) are redacted and cut to a short length before they are put in.
    """

    message: str
    said: str | None = None
    status_code: int | None = None
    """The status the envelope carries (Exotel's ``http_code``), if any: 404 with a call id is
    ``CallNotFound``."""


_SAID_LIMIT = 160


def envelope_failure(
    provider: str,
    error: EnvelopeError,
    *,
    call_id: str | None = None,
    redact: Callable[[str], str] | None = None,
) -> LiveCallsError:
    """The error for ``error``; ``ProviderHTTP`` passes its redactor (the one place it runs)."""
    if error.status_code == 404 and call_id is not None:
        return CallNotFound(provider, call_id)
    said = error.said or ""
    if redact is not None:
        said = redact(said)
    said = " ".join(said.split())[:_SAID_LIMIT]
    return BadResponse(provider, error.message.format(said=said), status_code=error.status_code)


def find_message(payload: Any) -> str | None:
    """A human message from a JSON error body: ``message``, ``description`` or ``error`` at the top
    or inside an ``error`` object (a provider with another shape gives ``ProviderHTTP`` its own)."""
    if not isinstance(payload, dict):
        return None
    inner = payload.get("error")
    if isinstance(inner, dict):
        found = find_message(inner)
        if found:
            return found
    for key in ("message", "Message", "description", "error"):
        value = payload.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _no_envelope(payload: Any) -> EnvelopeError | None:
    return None


def _as_is(payload: Any) -> Any:
    return payload


@dataclass(frozen=True)
class NotFoundReply:
    """A 404 whose body is JSON, handed back instead of raised (``get_json(..., read_404=True)``).

    Some providers answer "nothing here" with a 404 in their own JSON error shape (Vobiz may answer
    an idle account's live list so); only the adapter can tell that apart from a wrong URL.
    """

    body: Any


@dataclass(frozen=True)
class _Answer:
    status_code: int
    headers: httpx2.Headers
    body: bytes


class ProviderHTTP:
    """One provider's view of the shared HTTP client: base URL, auth, limits, retries, errors."""

    def __init__(
        self,
        *,
        provider: str,
        client: httpx2.AsyncClient,
        base_url: str,
        policy: HttpPolicy,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        credential_vars: Sequence[str],
        base_url_var: str,
        secrets: Sequence[str],
        requests_per_minute: float | None = None,
        pacing_burst: float | None = None,
        not_found_hint: str | None = None,
        envelope_error: Callable[[Any], EnvelopeError | None] = _no_envelope,
        error_message: Callable[[Any], str | None] = find_message,
    ) -> None:
        self.provider = provider
        self.envelope_error = envelope_error
        """Reads an error reported inside a 2xx answer (the provider's envelope), or ``None``."""
        self.error_message = error_message
        """Reads the provider's message out of an error body (4xx/5xx), or ``None``."""
        self.not_found_hint = not_found_hint
        """Appended to the 404 message of a list endpoint (e.g. Exotel's other cluster hosts)."""
        # A replica fleet swaps in a pacer shared through Redis (``fleet.pacer.SharedPacer``).
        self.pacer: Pacer | None = (
            RequestPacer(requests_per_minute, background_share=policy.background_share, burst=pacing_burst)
            if requests_per_minute
            else None
        )
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self._client = client
        self._headers = dict(headers or {})
        self._auth = httpx2.BasicAuth(*auth) if auth else None
        self._credential_vars = tuple(credential_vars)
        self._base_url_var = base_url_var
        self._limiter = anyio.CapacityLimiter(policy.max_concurrency)
        # Pollers hold at most their share of the slots (and of the places in the queue for them).
        share = min(1.0, max(0.0, policy.background_share))
        self._background_limiter = anyio.CapacityLimiter(max(1, int(policy.max_concurrency * share)))
        self.retry_budget = RetryBudget(policy.retry_budget, policy.retry_budget_per_request)
        self.outcomes: Counter[str] = Counter()
        """Upstream requests by outcome (``2xx``, ``4xx``, ``429``, ``5xx``, ``error``), for ``/metrics``."""
        # The basic-auth header carries ``key:token`` in base64: the pair is a secret of its own.
        self.redact = Redactor(secrets, pairs=[auth] if auth else [])
        LOG_FILTER.register(self.redact)

    @property
    def title(self) -> str:
        return title_of(self.provider)

    @overload
    async def get_json(
        self,
        path: str,
        *,
        parse: Callable[[Any], _T],
        params: Mapping[str, str | int] | None = None,
        call_id: str | None = None,
        read_404: Literal[False] = False,
    ) -> _T: ...

    @overload
    async def get_json(
        self,
        path: str,
        *,
        parse: Callable[[Any], _T],
        params: Mapping[str, str | int] | None = None,
        call_id: str | None = None,
        read_404: Literal[True],
    ) -> _T | NotFoundReply: ...

    @overload
    async def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        call_id: str | None = None,
        read_404: bool = False,
    ) -> Any: ...

    async def get_json(
        self,
        path: str,
        *,
        parse: Callable[[Any], Any] = _as_is,
        params: Mapping[str, str | int] | None = None,
        call_id: str | None = None,
        read_404: bool = False,
    ) -> Any:
        """GET ``path`` and return ``parse`` of its JSON; a 404 becomes ``CallNotFound(call_id)``
        when given. ``parse`` runs inside the error translation: whatever it cannot read is a
        ``BadResponse``, never an internal error.

        With ``read_404`` a 404 whose body is JSON is returned (unparsed) as a ``NotFoundReply``
        for the adapter to read (a 404 without a JSON body still raises: that is a wrong URL).
        """
        return await self._with_retries(
            "GET", path, params=params, body=None, call_id=call_id, read_404=read_404, parse=parse
        )

    @overload
    async def post_json(self, path: str, body: Mapping[str, Any], *, parse: Callable[[Any], _T]) -> _T: ...

    @overload
    async def post_json(self, path: str, body: Mapping[str, Any]) -> Any: ...

    async def post_json(
        self, path: str, body: Mapping[str, Any], *, parse: Callable[[Any], Any] = _as_is
    ) -> Any:
        """POST a read-only query (Zudu's list): retried like a GET, since it changes nothing."""
        return await self._with_retries("POST", path, params=None, body=body, call_id=None, parse=parse)

    def translated(self, exc: Exception) -> LiveCallsError:
        """The translation of ``exc``, raised from data already fetched (e.g. every entry of a
        list unreadable): the same mapping as for the exchange itself."""
        try:
            with translate_errors(self.provider):
                raise exc
        except LiveCallsError as error:
            return error
        raise AssertionError("unreachable: translate_errors raises")  # pragma: no cover

    async def _with_retries(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        body: Mapping[str, Any] | None,
        call_id: str | None,
        read_404: bool = False,
        parse: Callable[[Any], Any],
    ) -> Any:
        policy = self.policy
        attempts = max(1, policy.retry_attempts)
        self.retry_budget.deposit()
        current = 1

        def retry_or_not(exc: BaseException) -> bool | float:
            if not isinstance(exc, Exception):
                return False
            decision = self._backoff_for(exc)
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
                return await self._once(
                    method, path, params=params, body=body, call_id=call_id, read_404=read_404, parse=parse
                )
        raise AssertionError("unreachable: stamina either returns or raises")  # pragma: no cover

    def _backoff_for(self, exc: Exception) -> bool | float:
        if isinstance(exc, RateLimited):
            if exc.retry_after is None:
                return True
            # A long Retry-After is the caller's to honour, not a reason to block the tool.
            return exc.retry_after if exc.retry_after <= self.policy.retry_after_cap_s else False
        return isinstance(exc, _Retryable)

    async def _once(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        body: Mapping[str, Any] | None,
        call_id: str | None,
        read_404: bool = False,
        parse: Callable[[Any], Any],
    ) -> Any:
        with translate_errors(self.provider):
            if self.pacer is not None:
                await self.pacer.acquire()  # outside the limiter: waiting holds no request slot
            background: AbstractAsyncContextManager[object] = (
                self._background_limiter if _BACKGROUND.get() else nullcontext()
            )
            async with background, self._limiter:
                try:
                    with anyio.fail_after(self.policy.request_timeout_s):
                        answer = await self._counted(method, path, params=params, body=body)
                except TimeoutError:
                    # Only this scope's own deadline: a trickling body, or headers slower than the cap.
                    raise _Retryable(
                        self.provider,
                        f"{self.title} did not answer in time (no complete answer within "
                        f"{self.policy.request_timeout_s:g}s); {_AGAIN}.",
                    ) from None
            if self.pacer is not None:
                self.pacer.observe(answer.headers)
            logger.debug("%s %s %s -> %s", self.provider, method, self.redact(path), answer.status_code)
            if read_404 and answer.status_code == 404:
                reply = _json_or_none(answer.body)
                if reply is not None:
                    return NotFoundReply(reply)
            self._raise_for_status(answer, call_id)
            payload = self._decode(answer)
            reported = self.envelope_error(payload)
            if reported is not None:
                raise envelope_failure(self.provider, reported, call_id=call_id, redact=self.redact)
            return parse(payload)

    async def _counted(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        body: Mapping[str, Any] | None,
    ) -> _Answer:
        """``_exchange``, counted by outcome (no ids, numbers or credentials in the count)."""
        try:
            answer = await self._exchange(method, path, params=params, body=body)
        except BaseException:
            self.outcomes["error"] += 1
            raise
        code = answer.status_code
        self.outcomes["429" if code == 429 else f"{code // 100}xx"] += 1
        return answer

    async def _exchange(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None,
        body: Mapping[str, Any] | None,
    ) -> _Answer:
        request = self._client.build_request(
            method,
            self.base_url + path,
            params=dict(params) if params else None,
            json=dict(body) if body is not None else None,
            headers=self._headers,
            timeout=self.policy.timeout(),
        )
        response = await self._client.send(request, auth=self._auth, stream=True)
        try:
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > self.policy.max_response_bytes:
                raise self._too_big()
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.policy.max_response_bytes:
                    raise self._too_big()
                chunks.append(chunk)
        finally:
            await response.aclose()
        return _Answer(response.status_code, response.headers, b"".join(chunks))

    def _too_big(self) -> BadResponse:
        limit_mb = self.policy.max_response_bytes / 1_000_000
        return BadResponse(
            self.provider,
            f"{self.title} answered with a body over {limit_mb:g} MB; refused "
            f"(LIVECALLS_MAX_RESPONSE_BYTES sets the limit).",
        )

    def _decode(self, answer: _Answer) -> Any:
        title, code = self.title, answer.status_code
        if not answer.body.strip():
            raise BadResponse(self.provider, f"{title} answered {code} with an empty body; {_AGAIN}.")
        content_type = answer.headers.get("content-type", "")
        if "html" in content_type.lower() or answer.body.lstrip()[:1] == b"<":
            raise BadResponse(
                self.provider,
                f"{title} answered {code} with an HTML page instead of JSON (a proxy or maintenance "
                f"page?): check {self._base_url_var}, or try again later.",
            )
        try:
            return json.loads(answer.body, parse_constant=_not_json, parse_float=_finite)
        except ValueError:  # JSONDecodeError, UnicodeDecodeError, NaN / Infinity / 1e999
            kind = self.redact(content_type.split(";")[0].strip())[:60] or "no content type"
            raise BadResponse(
                self.provider,
                f"{title} answered {code} with a body that is not valid JSON ({kind}); {_AGAIN}.",
            ) from None
        except RecursionError:
            raise BadResponse(
                self.provider, f"{title} answered {code} with JSON nested too deeply to read; {_AGAIN}."
            ) from None

    def _raise_for_status(self, answer: _Answer, call_id: str | None) -> None:
        code = answer.status_code
        if code < 400:
            return
        detail = self._error_detail(answer)
        title = self.title
        if code == 401:
            raise AuthError(
                self.provider,
                f"{title} rejected the credentials (401): check {' / '.join(self._credential_vars)}.",
                status_code=code,
            )
        if code == 403:
            raise AuthError(
                self.provider,
                f"{title} refused access (403): the credentials in {' / '.join(self._credential_vars)} "
                f"lack permission for this account.{detail}",
                status_code=code,
            )
        if code == 404:
            if call_id is not None:
                raise CallNotFound(self.provider, call_id)
            raise ProviderUnavailable(
                self.provider,
                f"{title} answered 404 for its live-calls endpoint: check {self._base_url_var}."
                + (f" {self.not_found_hint}" if self.not_found_hint else ""),
                status_code=code,
            )
        if code == 429:
            raise RateLimited(self.provider, _retry_after(answer.headers))
        if code in (502, 503, 504):
            raise _Retryable(
                self.provider,
                f"{title} is unavailable right now ({code}); {_AGAIN}.{detail}",
                status_code=code,
            )
        if code >= 500:
            raise ProviderUnavailable(
                self.provider,
                f"{title} had an internal error ({code}); try again later.{detail}",
                status_code=code,
            )
        raise BadResponse(
            self.provider,
            f"{title} refused the request ({code}); this server may not match {title}'s API any "
            f"more.{detail}",
            status_code=code,
        )

    def _error_detail(self, answer: _Answer) -> str:
        """A short, redacted message from the provider's error body, if it has one."""
        try:
            message = self.error_message(json.loads(answer.body))
        except (ValueError, RecursionError):  # not JSON, or nested beyond reading: no detail
            return ""
        if not message:
            return ""
        message = clean_text(self.redact(message), limit=160)
        return f" {self.title} says: {message}"


def _json_or_none(body: bytes) -> Any:
    """The body as JSON, or ``None`` when it is empty, HTML, text or otherwise not JSON."""
    try:
        return json.loads(body, parse_constant=_not_json, parse_float=_finite) if body.strip() else None
    except (ValueError, RecursionError):
        return None


def _not_json(constant: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``: Python's json reads them, JSON has no such thing."""
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large for JSON")  # 1e999
    return value


MAX_RETRY_AFTER_S = 86_400.0
"""A ``Retry-After`` is read as at most a day (``RateLimited`` then says "more than a day")."""


def _retry_after(headers: httpx2.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (when - datetime.now(UTC)).total_seconds()
    if math.isnan(seconds) or seconds < 0:
        return 0.0
    # "inf", "1e999" or a date centuries ahead: no wait anyone could honour; said as "over a day".
    return min(seconds, MAX_RETRY_AFTER_S)
