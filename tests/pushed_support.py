"""What the pushed-update tests share: a pollers' sleep that only an event, or the test, ends.

It works across threads: over streamable HTTP the server's pollers sleep in the server's own
event loop (``serve_asgi``'s thread) while the test waits in its loop.
"""

from __future__ import annotations

import asyncio
import threading


class _Signal:
    """Set from any thread; awaited in any event loop (each waiter woken in its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    def waiter(self) -> asyncio.Event:
        """An event the next ``fire`` sets: take it before looking at what ``fire`` changes."""
        event = asyncio.Event()
        with self._lock:
            self._waiters.append((asyncio.get_running_loop(), event))
        return event

    def fire(self) -> None:
        with self._lock:
            waiters, self._waiters = self._waiters, []
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)


class Paused:
    """Pollers' sleep that never ends by itself: a pushed event wakes a poller, and ``release``
    ends every sleep now (the test's clock saying the interval has passed)."""

    def __init__(self) -> None:
        self.sleeping = 0
        self.asked: list[float] = []
        self._changed = _Signal()
        self._released = _Signal()

    async def sleep(self, seconds: float) -> None:
        released = self._released.waiter()
        self.asked.append(seconds)
        self.sleeping += 1
        self._changed.fire()
        try:
            await released.wait()
        finally:
            self.sleeping -= 1

    async def until_sleeping(self, count: int) -> None:
        while True:
            changed = self._changed.waiter()
            if self.sleeping >= count:
                return
            await changed.wait()

    async def until_asked(self, count: int) -> None:
        """Until ``count`` sleeps have been asked for in all (a released one no longer counts as
        sleeping only once its loop has run: this waits for the next one instead)."""
        while True:
            changed = self._changed.waiter()
            if len(self.asked) >= count:
                return
            await changed.wait()

    def release(self) -> None:
        """End every sleep now (the interval each asked for has passed)."""
        self._released.fire()
