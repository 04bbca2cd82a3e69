"""The one "poll until final" loop, shared by the ``Watcher``'s pollers and ``wait_for_call_state``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from mcp_livecalls.core.models import ActiveCallsPage, CallStatus, LiveCall, StreamDetails
from mcp_livecalls.errors import CallNotFound

__all__ = ["FINAL", "is_final", "poll_until_final"]

FINAL = frozenset({CallStatus.ENDED, CallStatus.FAILED})
"""States a call does not leave: polling it further learns nothing."""

_S = TypeVar("_S", LiveCall, StreamDetails, ActiveCallsPage, LiveCall | StreamDetails | ActiveCallsPage)
_R = TypeVar("_R")


def is_final(state: LiveCall | StreamDetails | ActiveCallsPage) -> bool:
    """Whether ``state`` is a call that has ended (a page of calls never is)."""
    return not isinstance(state, ActiveCallsPage) and state.status in FINAL


async def poll_until_final(
    read: Callable[[], Awaitable[_S]],
    *,
    seen: Callable[[_S], Awaitable[_R | None]],
    ended: Callable[[_S], Awaitable[_R]],
    gone: Callable[[CallNotFound], Awaitable[_R]],
    pause: Callable[[], Awaitable[_R | None]],
    failed: Callable[[Exception], None] | None = None,
) -> _R:
    """Read the state again and again until the call is final, then answer ``ended(state)``.

    Each reading goes to ``seen`` first, which may end the loop with an answer of its own; a call
    no longer found answers ``gone(error)``; between readings ``pause`` waits (and may end the
    loop too). A reading that fails otherwise goes to ``failed`` (called while the error is being
    handled, so it may log it) and polling goes on; without ``failed`` the error propagates.
    """
    while True:
        try:
            state = await read()
        except CallNotFound as exc:
            return await gone(exc)
        except Exception as exc:
            if failed is None:
                raise
            failed(exc)  # a poller runs in the server's task group: a bug must not end the server
        else:
            answer = await seen(state)
            if answer is not None:
                return answer
            if is_final(state):
                return await ended(state)
        answer = await pause()
        if answer is not None:
            return answer
