"""A pause that a pushed event ends early, and what the event says about the state it ends.

Pollers (``service.watch``) and ``wait_for_call_state`` waits sleep between readings in a
``Wake``; ``service.pushed`` wakes them with the verified event. An event the provider signed
whole that names a status (``apply``) is data: the next reading is the last state with that
status (``applied``), not an upstream request. Any other event (a ``hint``: Vobiz, Exotel
without a signature, an event without a status) makes the next reading go upstream.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio

from mcp_livecalls.core.models import ActiveCallsPage, LiveCall, StreamDetails
from mcp_livecalls.providers.hooks import WebhookEvent
from mcp_livecalls.service.polling import FINAL

__all__ = ["Wake", "applied"]

Sleep = Callable[[float], Awaitable[None]]
_S = TypeVar("_S", LiveCall, StreamDetails, ActiveCallsPage, LiveCall | StreamDetails | ActiveCallsPage)


class Wake:
    """Between two readings: ``pause`` sleeps unless ``wake`` ends it (or ended it already)."""

    def __init__(self) -> None:
        self.woken = False
        self._events: list[WebhookEvent | None] = []
        self._pausing: anyio.CancelScope | None = None

    def wake(self, event: WebhookEvent | None = None) -> None:
        """End the pause now (or the next one at once); ``event``: what woke it, if pushed."""
        self.woken = True
        self._events.append(event)
        if self._pausing is not None:
            self._pausing.cancel()

    async def pause(self, sleep: Sleep, seconds: float) -> None:
        """``sleep(seconds)``, in the caller's task, unless woken first."""
        if not self.woken:
            with anyio.CancelScope() as pausing:
                self._pausing = pausing
                try:
                    await sleep(seconds)
                finally:
                    self._pausing = None
        self.woken = False

    @property
    def pending(self) -> bool:
        """Whether an event (or a bare wake) came since the last ``take``."""
        return bool(self._events)

    def take(self) -> WebhookEvent | None:
        """The event to apply instead of the next upstream reading, and forget the rest: the
        latest event when every one since the last reading was data, else ``None`` (read)."""
        events, self._events = self._events, []
        if not events or any(e is None or e.kind != "apply" or e.status is None for e in events):
            return None
        return events[-1]


def applied(state: _S, event: WebhookEvent) -> _S | None:
    """``state`` as ``event`` says it is now; ``None`` when the event cannot be applied to it
    (another call, a list without the call: read upstream instead)."""
    status = event.status
    if status is None:
        return None
    update = {"status": status, "provider_status": event.provider_status}
    if isinstance(state, ActiveCallsPage):

        def about(call: LiveCall) -> bool:
            return call.provider == event.provider and call.call_id == event.call_id

        if not any(about(call) for call in state.calls):
            return None
        kept = [
            call.model_copy(update=update) if about(call) else call
            for call in state.calls
            if not (about(call) and status in FINAL)  # an ended call leaves the list
        ]
        return state.model_copy(update={"calls": kept})
    if state.provider != event.provider or state.call_id != event.call_id:
        return None
    return state.model_copy(update=update)
