"""Pushed events into the live state: a verified webhook event updates its call at once.

The receiver (``web``) verifies a request with the provider's reader (``providers.hooks``) and
hands the events here. Each event is taken once per dedupe key (a replay or a provider's retry
changes nothing; in a fleet, once for every replica: ``claim``), and an event older than one
already taken for its call (its ``sequence``; for an event that says a status, its time ``at``)
is left out. A taken event

* updates the call's cached answers: an ``apply`` event with a status (the provider signed the
  body) is written into them, anything else (a hint) drops them, and the provider's cached lists
  are dropped either way;
* wakes the watcher's pollers of the call, its stream and the active list, and every
  ``wait_for_call_state`` waiting for the call (``waiting``): an ``apply`` event is their next
  reading, with no upstream request (``service.wakes``); a hint makes them read upstream now;
* in a fleet, goes to the other replicas (``share``), which take it as their own (``heard``);
* when it says on hold (or, later, anything else) about a call of a provider whose readings
  cannot say hold (``Capabilities.hold_read``: Twilio's call resource, Telnyx's call), it is
  remembered: such a reading of the call in progress is taken as on hold (``held``) until a
  status event says otherwise, so a reconcile reading does not undo the hold.

A provider whose webhooks this server receives is *healthy* from the start: its watched
resources are re-polled only every reconcile interval (``Watcher.interval_for``), with no wait
for a first event (until one came, every watch polled at the poll interval). It stays healthy
while it is not *quiet*: quiet is two reconcile intervals with no event of the provider's while
its calls are watched, counted from the later of its last event and the moment watching began
(its first running poller; for ``wait_for_call_state``, the wait's start). A quiet provider is
polled at the poll interval until its next event. Whatever the health, a call that changes
without an event is caught by its next reconcile reading. A provider with no receiver here is
healthy only while events of its reach this server (another replica's, through the bus).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from mcp_livecalls.core.models import CallStatus, LiveCall, ProviderName, ProvidersOverview
from mcp_livecalls.providers.hooks import WebhookEvent
from mcp_livecalls.service.wakes import Wake, applied
from mcp_livecalls.service.watch import ACTIVE_URI, Watcher

__all__ = ["DEDUPE_KEYS", "DEDUPE_WINDOW", "PushedEvents", "event_data", "event_from"]

DEDUPE_KEYS = 10_000
"""Dedupe keys remembered (oldest forgotten first): replays inside a provider's retry window."""
DEDUPE_WINDOW = timedelta(hours=1)
"""How long a dedupe key is remembered."""


class Answers(Protocol):
    """A cache of answers (``service.cache.FreshnessCache``)."""

    def forget(self, stale: Callable[[Hashable], bool]) -> int: ...

    def patch(self, pick: Callable[[Hashable], bool], change: Callable[[Any], Any | None]) -> int: ...


@runtime_checkable
class SharedAnswers(Protocol):
    """A cache whose answers the fleet shares (``fleet.cache.SharedFreshnessCache``)."""

    async def drop(self, keys: Iterable[Hashable]) -> None: ...


Claim = Callable[[str], Awaitable[bool]]
"""Whether a dedupe key is new for the whole fleet (it is claimed then)."""
Share = Callable[[dict[str, Any]], Awaitable[None]]
"""Hand a taken event to the fleet's other replicas."""


class PushedEvents:
    """Takes verified events once each and updates, or wakes, what watches their calls."""

    def __init__(
        self,
        watcher: Watcher,
        now: Callable[[], datetime],
        *,
        reconcile_s: float = 30.0,
        caches: Callable[[], Answers | None] | None = None,
    ) -> None:
        self._watcher = watcher
        self._caches = caches
        """The service's cache of answers, as it is now (the service is built when the server runs)."""
        self._now = now
        self.reconcile_s = reconcile_s
        self.claim: Claim | None = None
        self.share: Share | None = None
        self._seen: OrderedDict[str, datetime] = OrderedDict()
        self._sequence: dict[tuple[ProviderName, str], int] = {}
        self._latest: OrderedDict[tuple[ProviderName, str], datetime] = OrderedDict()
        """Per call, the time (``at``) of the newest event with a status taken for it."""
        self._last: dict[ProviderName, datetime] = {}
        self._began: dict[ProviderName, datetime] = {}
        """When watching each provider's calls last began (``Watcher.began``)."""
        self._waits: dict[str, set[Wake]] = {}
        self._held: OrderedDict[tuple[ProviderName, str], str | None] = OrderedDict()
        """The calls whose newest status event said on hold, with the provider's word for it."""
        self.receiving: dict[ProviderName, str] = {}
        """The providers whose webhooks this server receives, with the path (``web`` sets it)."""
        self.taken = 0
        self.duplicates = 0
        self.stale = 0
        """Events left out because a newer one (``sequence``, or ``at`` for an event that says a
        status) was already taken for the call."""
        watcher.pushing = self.healthy
        watcher.began = self._begin

    def _begin(self, provider: ProviderName) -> None:
        self._began[provider] = self._now()

    @property
    def quiet_after(self) -> timedelta:
        """How long a watched provider may send no event before it is polled again."""
        return timedelta(seconds=2 * self.reconcile_s)

    def healthy(self, provider: ProviderName, since: datetime | None = None) -> bool:
        """Whether ``provider``'s webhooks can be relied on now: an event of its arrived within
        ``quiet_after``, or this server receives them and they have not gone quiet since the
        expecting began (when watching its calls began; ``since``: when the asker began waiting).
        Not watched and not asked for a wait, a receiving provider is healthy (a watch starting
        now would be)."""
        now = self._now()
        marks = [self._last.get(provider)]
        if provider in self.receiving:
            watching = self._watcher.watching(provider)
            if watching:
                marks.append(self._began.get(provider))
            marks.append(since if since is not None or watching else now)
        latest = max((mark for mark in marks if mark is not None), default=None)
        return latest is not None and now - latest <= self.quiet_after

    def describe(self, overview: ProvidersOverview) -> ProvidersOverview:
        """``overview`` saying, per configured provider, whether it pushes or is polled."""
        infos = [
            info.model_copy(
                update={
                    "updates": "pushed" if self.healthy(info.name) else "polled",
                    "webhook": self.receiving.get(info.name),
                }
            )
            if info.configured
            else info
            for info in overview.providers
        ]
        return overview.model_copy(update={"providers": infos})

    async def take(self, events: Iterable[WebhookEvent]) -> int:
        """Take each new event (updating and waking what watches its call, telling the fleet);
        how many were new."""
        taken = 0
        for event in events:
            if not self._fresh(event):
                continue
            if self.claim is not None and not await self.claim(_dedupe(event)):
                self.duplicates += 1  # another replica took it first
                continue
            taken += 1
            await self._update(event)
            if self.share is not None:
                await self.share(event_data(event))
        return taken

    async def heard(self, data: dict[str, Any]) -> bool:
        """An event another replica took (``event_data``): the same update here, once."""
        event = event_from(data)
        if event is None or not self._fresh(event):
            return False
        await self._update(event)
        return True

    @contextmanager
    def waiting(self, call_id: str) -> Iterator[Wake]:
        """A ``Wake`` that events about ``call_id`` end (``wait_for_call_state``'s pauses)."""
        wake = Wake()
        self._waits.setdefault(call_id, set()).add(wake)
        try:
            yield wake
        finally:
            waits = self._waits.get(call_id)
            if waits is not None:
                waits.discard(wake)
                if not waits:
                    del self._waits[call_id]

    def held(self, call: LiveCall) -> LiveCall:
        """``call`` as read from a provider whose readings cannot say on hold: on hold while its
        newest status event said so (an in-progress reading is all such a provider can say of a
        held call); as read otherwise."""
        word = self._held.get((call.provider, call.call_id), _NOT_HELD)
        if word is _NOT_HELD or call.status is not CallStatus.IN_PROGRESS:
            return call
        return call.model_copy(update={"status": CallStatus.ON_HOLD, "provider_status": word})

    def _remember_hold(self, event: WebhookEvent) -> None:
        if event.kind != "apply" or event.status is None:
            return
        call = (event.provider, event.call_id)
        if event.status is not CallStatus.ON_HOLD:
            self._held.pop(call, None)
            return
        self._held[call] = event.provider_status
        self._held.move_to_end(call)
        while len(self._held) > DEDUPE_KEYS:
            self._held.popitem(last=False)

    async def _update(self, event: WebhookEvent) -> None:
        self.taken += 1
        self._last[event.provider] = self._now()
        self._remember_hold(event)
        cache = self._caches() if self._caches is not None else None
        if cache is not None:
            cache.forget(functools.partial(_listed, event=event))
            change = functools.partial(_changed, event=event)
            cache.patch(functools.partial(_about, event=event), change)
            if isinstance(cache, SharedAnswers):
                await cache.drop(_keys(event))
        for uri in self.uris(event):
            self._watcher.wake(uri, event)
        for wake in list(self._waits.get(event.call_id, ())):
            wake.wake(event)

    @staticmethod
    def uris(event: WebhookEvent) -> list[str]:
        call = f"livecalls://calls/{event.provider.value}/{event.call_id}"
        return [call, f"{call}/stream", ACTIVE_URI]

    def _fresh(self, event: WebhookEvent) -> bool:
        now = self._now()
        while self._seen and (len(self._seen) >= DEDUPE_KEYS or now - _oldest(self._seen) > DEDUPE_WINDOW):
            self._seen.popitem(last=False)
        key = _dedupe(event)
        if key in self._seen:
            self.duplicates += 1
            return False
        self._seen[key] = now
        if event.sequence is not None:
            call = (event.provider, event.call_id)
            if event.sequence <= self._sequence.get(call, -1):
                self.stale += 1
                return False  # out of order: a newer state was already taken
            self._sequence[call] = event.sequence
        return self._in_time(event)

    def _in_time(self, event: WebhookEvent) -> bool:
        """Whether a status event is not older than the newest status event taken for its call
        (Telnyx's ``occurred_at``, Vonage's ``timestamp``, Vapi's message ``timestamp``: the
        event's own time; Retell's signing time). Only events that say a status count: an older
        one arriving late would roll the call's state back; a statusless one only has the call
        read, which is always safe. Events of the same time are all taken."""
        if event.at is None or event.status is None:
            return True
        call = (event.provider, event.call_id)
        newest = self._latest.get(call)
        if newest is not None and _comparable(event.at) < _comparable(newest):
            self.stale += 1
            return False
        self._latest[call] = event.at if newest is None else max(event.at, newest, key=_comparable)
        self._latest.move_to_end(call)
        while len(self._latest) > DEDUPE_KEYS:
            self._latest.popitem(last=False)
        return True


_NOT_HELD: Any = object()


def _comparable(at: datetime) -> datetime:
    """``at`` with a zone (a provider's time without one is taken as UTC), so any two compare."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _dedupe(event: WebhookEvent) -> str:
    return f"{event.provider.value}:{event.dedupe_key}"


def _oldest(seen: OrderedDict[str, datetime]) -> datetime:
    return next(iter(seen.values()))


def _keys(event: WebhookEvent) -> list[Hashable]:
    """The cache keys of the call's answers (``service.calls._key``), a poller's too."""
    plain = [(event.provider, kind, event.call_id) for kind in ("call", "stream")]
    return [*plain, *((*key, "background") for key in plain)]


def _listed(key: Hashable, event: WebhookEvent) -> bool:
    """Whether a cache key (``(provider, kind, ...)``) is one of the event's provider's lists."""
    return isinstance(key, tuple) and len(key) > 2 and key[0] == event.provider and key[1] == "list"


def _about(key: Hashable, event: WebhookEvent) -> bool:
    """Whether a cache key is one of the event's call's answers."""
    return isinstance(key, tuple) and len(key) > 2 and key[0] == event.provider and key[2] == event.call_id


def _changed(value: Any, event: WebhookEvent) -> Any | None:
    """A cached answer as the event says it is now; ``None`` (drop it) for a hint."""
    if event.kind != "apply":
        return None
    return applied(value, event)


def event_data(event: WebhookEvent) -> dict[str, Any]:
    """``event`` as JSON-ready data, for the fleet's bus."""
    return {
        "provider": event.provider.value,
        "call_id": event.call_id,
        "kind": event.kind,
        "dedupe_key": event.dedupe_key,
        "status": event.status.value if event.status is not None else None,
        "provider_status": event.provider_status,
        "sequence": event.sequence,
        "at": event.at.isoformat() if event.at is not None else None,
    }


def event_from(data: dict[str, Any]) -> WebhookEvent | None:
    """The event ``event_data`` wrote; ``None`` for anything else (left out)."""
    try:
        kind = data["kind"]
        call_id, key = data["call_id"], data["dedupe_key"]
        if kind not in ("apply", "hint") or not isinstance(call_id, str) or not isinstance(key, str):
            return None
        status, said, sequence, at = data["status"], data["provider_status"], data["sequence"], data["at"]
        return WebhookEvent(
            ProviderName(data["provider"]),
            call_id,
            kind,
            key,
            status=CallStatus(status) if status is not None else None,
            provider_status=said if isinstance(said, str) else None,
            sequence=sequence if isinstance(sequence, int) else None,
            at=datetime.fromisoformat(at) if isinstance(at, str) else None,
        )
    except (KeyError, ValueError, TypeError):
        return None
