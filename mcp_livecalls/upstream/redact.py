"""Redaction: secrets, in every form they travel in, scrubbed out of text and log records.

A provider's ``ProviderHTTP`` registers its ``Redactor`` with ``LOG_FILTER``; error messages
built from a provider's own words are redacted by the same redactor before they leave.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["LOG_FILTER", "RedactingLogFilter", "Redactor", "install_log_redaction"]


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
        json_needles = tuple(json.dumps(needle, ensure_ascii=False)[1:-1] for needle in self._needles)
        # What is searched for first: a text holding a needle holds every needle inside it too, so
        # the needles with none of the others inside them find exactly what all of them find (the
        # forms of one secret nest: a base64 value without its padding, its first aligned part).
        self._first = _innermost(self._needles)
        self._json_first = _innermost(json_needles)
        self._ordered = tuple(ordered)

    @functools.cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        """Compiled on first need only (a case mapping that moves offsets, which is rare)."""
        return re.compile("|".join(map(re.escape, self._ordered)), re.IGNORECASE) if self._ordered else None

    def __call__(self, text: str) -> str:
        if not self._needles:
            return text
        lowered = text.lower()
        if not any(needle in lowered for needle in self._first):
            return text  # most text carries no secret: a few substring searches, no regex
        found = [needle for needle in self._needles if needle in lowered]
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
        if not any(needle in everything for needle in self._json_first):
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


def _innermost(needles: Iterable[str]) -> tuple[str, ...]:
    """The distinct ``needles`` that contain no other one."""
    distinct = tuple(dict.fromkeys(needles))
    return tuple(
        needle for needle in distinct if not any(other != needle and other in needle for other in distinct)
    )


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
