"""Pushed events into the live state: a verified webhook event wakes the pollers of its call.

The receiver (``web``) verifies a request with the provider's reader (``providers.hooks``) and
hands the events here. Each event is taken once per dedupe key (a replay or a provider's retry
changes nothing), an event older than one already taken for its call (its ``sequence``) is left
out, and the rest wake the watcher's pollers of the call, its stream and the active list, which
read them at once and notify subscribers when they changed. While a provider's events keep
arriving it is *healthy*: its watched resources are re-polled only every reconcile interval
(``Watcher.interval_for``); a provider quiet for two reconcile intervals is polled as before.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime, timedelta
from typing import Protocol

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers.hooks import WebhookEvent
from mcp_livecalls.service.watch import ACTIVE_URI, Watcher

__all__ = ["DEDUPE_KEYS", "PushedEvents"]

DEDUPE_KEYS = 10_000
"""Dedupe keys remembered (oldest forgotten first): replays inside a provider's retry window."""
DEDUPE_WINDOW = timedelta(hours=1)
"""How long a dedupe key is remembered."""


class Forgets(Protocol):
    """A cache of answers (``service.cache.FreshnessCache``)."""

    def forget(self, stale: Callable[[Hashable], bool]) -> int: ...


class PushedEvents:
    """Takes verified events once each and wakes what watches their calls."""

    def __init__(
        self,
        watcher: Watcher,
        now: Callable[[], datetime],
        *,
        reconcile_s: float = 30.0,
        caches: Callable[[], Forgets | None] | None = None,
    ) -> None:
        self._watcher = watcher
        self._caches = caches
        """The service's cache of answers, as it is now (the service is built when the server runs)."""
        self._now = now
        self.reconcile_s = reconcile_s
        self._seen: OrderedDict[str, datetime] = OrderedDict()
        self._sequence: dict[tuple[ProviderName, str], int] = {}
        self._last: dict[ProviderName, datetime] = {}
        self.taken = 0
        self.duplicates = 0
        watcher.pushing = self.healthy

    def healthy(self, provider: ProviderName) -> bool:
        """Whether ``provider`` pushed an event within the last two reconcile intervals."""
        last = self._last.get(provider)
        return last is not None and self._now() - last <= timedelta(seconds=2 * self.reconcile_s)

    def take(self, events: Iterable[WebhookEvent]) -> int:
        """Take each new event (waking its call's pollers); how many were new."""
        taken = 0
        for event in events:
            if self._fresh(event):
                taken += 1
                self._last[event.provider] = self._now()
                cache = self._caches() if self._caches is not None else None
                if cache is not None:  # the call's answers and its provider's lists
                    cache.forget(functools.partial(_about, event=event))
                for uri in self.uris(event):
                    self._watcher.wake(uri)
        self.taken += taken
        return taken

    @staticmethod
    def uris(event: WebhookEvent) -> list[str]:
        call = f"livecalls://calls/{event.provider.value}/{event.call_id}"
        return [call, f"{call}/stream", ACTIVE_URI]

    def _fresh(self, event: WebhookEvent) -> bool:
        now = self._now()
        while self._seen and (len(self._seen) >= DEDUPE_KEYS or now - _oldest(self._seen) > DEDUPE_WINDOW):
            self._seen.popitem(last=False)
        key = f"{event.provider.value}:{event.dedupe_key}"
        if key in self._seen:
            self.duplicates += 1
            return False
        self._seen[key] = now
        if event.sequence is not None:
            call = (event.provider, event.call_id)
            if event.sequence <= self._sequence.get(call, -1):
                return False  # out of order: a newer state was already taken
            self._sequence[call] = event.sequence
        return True


def _oldest(seen: OrderedDict[str, datetime]) -> datetime:
    return next(iter(seen.values()))


def _about(key: Hashable, event: WebhookEvent) -> bool:
    """Whether a cache key (``(provider, kind, call id or list query, ...)``) is the event's call
    or one of its provider's lists."""
    if not (isinstance(key, tuple) and len(key) > 2 and key[0] == event.provider):
        return False
    return bool(key[1] == "list" or key[2] == event.call_id)
