"""Translation: everything an upstream exchange can raise or answer, mapped to ``mcp_livecalls.errors``.

The one place that knows about ``httpx2``, JSON and pydantic exceptions, status codes, non-JSON
bodies and errors a provider reports inside a 2xx answer (its envelope). Messages are built
from the exception *type* and the provider's title, never from an exception's text (httpx2
messages carry full URLs); the provider's own words are redacted before they are put in.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2
import pydantic

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
from mcp_livecalls.upstream.policy import Retryable, retry_after

__all__ = [
    "AGAIN",
    "Answer",
    "AnswerReader",
    "EnvelopeError",
    "NotFoundReply",
    "envelope_failure",
    "find_message",
    "json_or_none",
    "translate_errors",
]

AGAIN = "try again in a moment"


@contextmanager
def translate_errors(provider: str, *, title: str | None = None) -> Iterator[None]:
    """Translate every foreign exception an upstream exchange can raise into ``ProviderError``.

    The single mapping point for httpx2, JSON and pydantic failures; messages name the provider
    by ``title`` (by default its line of ``mcp_livecalls.core.catalog``).
    """
    title = title or title_of(provider)
    try:
        yield
    except LiveCallsError:
        raise
    except httpx2.TimeoutException as exc:
        raise Retryable(provider, f"{title} did not answer in time ({_kind(exc)}); {AGAIN}.") from None
    except httpx2.InvalidURL as exc:
        raise InvalidArgument(f"The request to {title} could not be built ({_kind(exc)}).") from None
    except (httpx2.ConnectError, httpx2.ProxyError, httpx2.UnsupportedProtocol) as exc:
        raise Retryable(provider, f"{title} could not be reached ({_kind(exc)}); {AGAIN}.") from None
    except httpx2.TransportError as exc:
        # ReadError, WriteError, RemoteProtocolError …: the connection broke during the exchange.
        raise Retryable(
            provider, f"{title} closed the connection before answering in full ({_kind(exc)}); {AGAIN}."
        ) from None
    except (httpx2.HTTPError, httpx2.StreamError, httpx2.CookieConflict) as exc:
        # The rest of httpx2's exceptions (DecodingError, TooManyRedirects, a consumed stream …).
        raise BadResponse(provider, f"{title} answered with something unreadable ({_kind(exc)}).") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadResponse(provider, f"{title} answered with a body that is not valid JSON.") from None
    except pydantic.ValidationError as exc:
        fields = sorted({".".join(str(part) for part in err["loc"]) for err in exc.errors()})[:5]
        raise BadResponse(provider, _not_understood(title, f"fields: {', '.join(fields)}")) from None
    except (KeyError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        # ArithmeticError: a number too large for a date or an int (1e300 ms, Infinity);
        # RecursionError: nesting too deep to walk.
        raise BadResponse(provider, _not_understood(title, _kind(exc))) from None


def _not_understood(title: str, what: str) -> str:
    return (
        f"{title} answered with data this server does not understand ({what}); "
        f"{AGAIN}, and if it persists {title}'s API may have changed."
    )


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


@dataclass(frozen=True)
class NotFoundReply:
    """A 404 whose body is JSON, handed back instead of raised (``get_json_or_404``).

    Some providers answer "nothing here" with a 404 in their own JSON error shape (Vobiz may answer
    an idle account's live list so); only the adapter can tell that apart from a wrong URL.
    """

    body: Any


@dataclass(frozen=True)
class Answer:
    """An upstream answer read in full (within the size cap)."""

    status_code: int
    headers: httpx2.Headers
    body: bytes


@dataclass(frozen=True)
class AnswerReader:
    """Reads one provider's answers into JSON, or into the error each status and body means.

    Its messages point at the variables to check (``credential_vars``, ``base_url_var``) and
    quote the provider's own message (``error_message`` reads it from an error body), redacted.
    """

    provider: str
    title: str
    credential_vars: Sequence[str]
    base_url_var: str
    redact: Callable[[str], str]
    error_message: Callable[[Any], str | None] = find_message
    not_found_hint: str | None = None
    """Appended to the 404 message of a list endpoint (e.g. Exotel's other cluster hosts)."""

    def decode(self, answer: Answer) -> Any:
        """The JSON of a 2xx answer; ``BadResponse`` for an empty, HTML or non-JSON body."""
        title, code = self.title, answer.status_code
        if not answer.body.strip():
            raise BadResponse(self.provider, f"{title} answered {code} with an empty body; {AGAIN}.")
        content_type = answer.headers.get("content-type", "")
        if "html" in content_type.lower() or answer.body.lstrip()[:1] == b"<":
            raise BadResponse(
                self.provider,
                f"{title} answered {code} with an HTML page instead of JSON (a proxy or maintenance "
                f"page?): check {self.base_url_var}, or try again later.",
            )
        try:
            return _strict_json(answer.body)
        except ValueError:  # JSONDecodeError, UnicodeDecodeError, NaN / Infinity / 1e999
            kind = self.redact(content_type.split(";")[0].strip())[:60] or "no content type"
            raise BadResponse(
                self.provider,
                f"{title} answered {code} with a body that is not valid JSON ({kind}); {AGAIN}.",
            ) from None
        except RecursionError:
            raise BadResponse(
                self.provider, f"{title} answered {code} with JSON nested too deeply to read; {AGAIN}."
            ) from None

    def raise_for_status(self, answer: Answer, call_id: str | None) -> None:
        """The error a 4xx or 5xx answer means (a 404 with ``call_id``: ``CallNotFound``)."""
        code = answer.status_code
        if code < 400:
            return
        title, provider, detail = self.title, self.provider, self._detail(answer)
        credentials = " / ".join(self.credential_vars)
        if code == 401:
            raise AuthError(
                provider, f"{title} rejected the credentials (401): check {credentials}.", status_code=code
            )
        if code == 403:
            raise AuthError(
                provider,
                f"{title} refused access (403): the credentials in {credentials} "
                f"lack permission for this account.{detail}",
                status_code=code,
            )
        if code == 404:
            if call_id is not None:
                raise CallNotFound(provider, call_id)
            hint = f" {self.not_found_hint}" if self.not_found_hint else ""
            raise ProviderUnavailable(
                provider,
                f"{title} answered 404 for its live-calls endpoint: check {self.base_url_var}.{hint}",
                status_code=code,
            )
        if code == 429:
            raise RateLimited(provider, retry_after(answer.headers))
        if code in (502, 503, 504):
            message = f"{title} is unavailable right now ({code}); {AGAIN}.{detail}"
            raise Retryable(provider, message, status_code=code)
        if code >= 500:
            message = f"{title} had an internal error ({code}); try again later.{detail}"
            raise ProviderUnavailable(provider, message, status_code=code)
        raise BadResponse(
            provider,
            f"{title} refused the request ({code}); this server may not match {title}'s API any "
            f"more.{detail}",
            status_code=code,
        )

    def too_big(self, limit_bytes: int) -> BadResponse:
        return BadResponse(
            self.provider,
            f"{self.title} answered with a body over {limit_bytes / 1_000_000:g} MB; refused "
            f"(LIVECALLS_MAX_RESPONSE_BYTES sets the limit).",
        )

    def _detail(self, answer: Answer) -> str:
        """A short, redacted message from the provider's error body, if it has one."""
        try:
            message = self.error_message(json.loads(answer.body))
        except (ValueError, RecursionError):  # not JSON, or nested beyond reading: no detail
            return ""
        if not message:
            return ""
        return f" {self.title} says: {clean_text(self.redact(message), limit=160)}"


def json_or_none(body: bytes) -> Any:
    """The body as JSON, or ``None`` when it is empty, HTML, text or otherwise not JSON."""
    try:
        return _strict_json(body) if body.strip() else None
    except (ValueError, RecursionError):
        return None


def _strict_json(body: bytes) -> Any:
    return json.loads(body, parse_constant=_not_json, parse_float=_finite)


def _not_json(constant: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``: Python's json reads them, JSON has no such thing."""
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large for JSON")  # 1e999
    return value
