"""Clocks for the simulator.

Everything the simulator says about a call is computed from the call's schedule and the current
time of a clock, so choosing the clock chooses how the world moves:

* :class:`ManualClock` only moves when told (tests, benchmarks, reproducible examples);
* :class:`WallClock` follows real time, optionally sped up (the demo).

All clocks answer timezone-aware UTC datetimes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = ["DEFAULT_START", "Clock", "ManualClock", "WallClock"]

#: Where a :class:`ManualClock` starts unless told otherwise.
DEFAULT_START = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@runtime_checkable
class Clock(Protocol):
    """Something that tells the simulator what time it is."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


def _as_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None:
        raise ValueError("the simulator's clocks need timezone-aware datetimes")
    return dt.astimezone(UTC)


class ManualClock:
    """A clock whose time only moves when :meth:`advance` or :meth:`set` is called. Thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = _as_utc(start) if start is not None else DEFAULT_START
        self._lock = threading.Lock()
        self._listeners: list[Callable[[], None]] = []

    @classmethod
    def starting_now(cls) -> ManualClock:
        """One that starts at the wall clock's now: for a simulator read by a server in another
        process, whose clock is the wall's (a list asked by time, as Vapi's, finds its calls)."""
        return cls(datetime.now(UTC))

    def on_change(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after every ``advance`` or ``set`` (in the thread that moved the clock:
        the simulator's pusher wakes its own loop from there); the function returned stops it."""
        with self._lock:
            self._listeners.append(listener)

        def stop() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return stop

    def _moved(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        """Move time forward by ``seconds`` (not backwards) and return the new time."""
        if seconds < 0:
            raise ValueError("a ManualClock only moves forward with advance(); use set() to go back")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            now = self._now
        self._moved()
        return now

    def set(self, dt: datetime) -> None:
        """Jump to ``dt`` (any aware datetime, converted to UTC)."""
        value = _as_utc(dt)
        with self._lock:
            self._now = value
        self._moved()

    def __repr__(self) -> str:
        return f"ManualClock({self.now().isoformat()})"


class WallClock:
    """Real time, optionally sped up: ``WallClock(speed=60)`` makes a simulated minute last a second.

    The clock starts at ``start`` (default: the real current time) and from then on moves
    ``speed`` times faster than the monotonic clock of the machine.
    """

    def __init__(self, speed: float = 1.0, *, start: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._anchor = _as_utc(start) if start is not None else datetime.now(UTC)
        self._anchor_monotonic = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._anchor_monotonic) * self.speed
        return self._anchor + timedelta(seconds=elapsed)

    def __repr__(self) -> str:
        return f"WallClock(speed={self.speed})"
