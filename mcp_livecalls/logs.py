"""Logging that holds under abuse: a flood of one warning becomes one line per interval."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection

__all__ = ["RateLimitedLog", "install_log_rate_limit"]

_KIND = re.compile(r"0x[0-9a-fA-F]+|[0-9a-fA-F]{8,}|\d+")


class RateLimitedLog(logging.Filter):
    """Lets one warning (or error) of a kind through per ``interval_s``; the next one that passes
    says how many were held back.

    Lines are of a kind when they match with their numbers and hex ids blanked: "Too many open
    files" from every failed accept, "Refusing … session 3f2a…" for each session. A flood costs one
    line per interval, not one per failure. Info and debug lines pass untouched.
    """

    def __init__(
        self, interval_s: float = 10.0, *, clock: Callable[[], float] = time.monotonic, kinds: int = 512
    ) -> None:
        super().__init__()
        self._interval_s = interval_s
        self._clock = clock
        self._kinds_max = kinds
        self._seen: OrderedDict[tuple[str, int, str], list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        kind = (record.name, record.levelno, _KIND.sub("#", str(record.msg)))
        now = self._clock()
        with self._lock:
            seen = self._seen.get(kind)
            if seen is not None and now - seen[0] < self._interval_s:
                seen[1] += 1
                return False
            held_back = int(seen[1]) if seen is not None else 0
            self._seen[kind] = [now, 0]
            self._seen.move_to_end(kind)
            while len(self._seen) > self._kinds_max:
                self._seen.popitem(last=False)
        if held_back and seen is not None:
            record.msg = f"{record.getMessage()} (and {held_back} more like it in {now - seen[0]:.0f} s)"
            record.args = None
        return True


def install_log_rate_limit(handlers: Collection[logging.Handler], interval_s: float = 10.0) -> None:
    """Rate-limit identical warnings on ``handlers`` (the root's), once (idempotent)."""
    for handler in handlers:
        if not any(isinstance(existing, RateLimitedLog) for existing in handler.filters):
            handler.addFilter(RateLimitedLog(interval_s))
