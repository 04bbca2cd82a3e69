"""The one "poll until final" loop (``mcp_livecalls.service.polling``), driven by scripted readings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcp_livecalls.core.models import CallStatus, LiveCall, ProviderName
from mcp_livecalls.errors import BadResponse, CallNotFound
from mcp_livecalls.service.polling import poll_until_final

pytestmark = pytest.mark.anyio


def _call(status: CallStatus) -> LiveCall:
    return LiveCall(provider=ProviderName("zudu"), call_id="c1", status=status)


class Script:
    """Readings in order: a status, or an error to raise; records what the loop did."""

    def __init__(self, *steps: CallStatus | Exception) -> None:
        self._steps: Iterator[CallStatus | Exception] = iter(steps)
        self.events: list[str] = []

    async def read(self) -> LiveCall:
        step = next(self._steps)
        if isinstance(step, Exception):
            raise step
        return _call(step)

    async def seen(self, call: LiveCall) -> str | None:
        self.events.append(f"seen {call.status.value}")
        return None

    async def ended(self, call: LiveCall) -> str:
        return f"ended {call.status.value}"

    async def gone(self, error: CallNotFound) -> str:
        return "gone"

    async def pause(self) -> str | None:
        self.events.append("pause")
        return None


async def test_polling_stops_at_the_first_final_state_after_showing_it_to_seen() -> None:
    script = Script(CallStatus.RINGING, CallStatus.IN_PROGRESS, CallStatus.ENDED, CallStatus.RINGING)

    answer = await poll_until_final(
        script.read, seen=script.seen, ended=script.ended, gone=script.gone, pause=script.pause
    )

    assert answer == "ended ended"
    assert script.events == ["seen ringing", "pause", "seen in_progress", "pause", "seen ended"]


async def test_a_failed_reading_goes_to_failed_and_polling_goes_on_until_the_call_is_gone() -> None:
    script = Script(CallStatus.RINGING, BadResponse("zudu", "garbled"), CallNotFound("zudu", "c1"))
    failures: list[str] = []

    answer = await poll_until_final(
        script.read,
        seen=script.seen,
        ended=script.ended,
        gone=script.gone,
        pause=script.pause,
        failed=lambda exc: failures.append(type(exc).__name__),
    )

    assert answer == "gone"
    assert failures == ["BadResponse"]
    assert script.events == ["seen ringing", "pause", "pause"]


async def test_without_failed_a_failed_reading_propagates() -> None:
    script = Script(BadResponse("zudu", "garbled"))

    with pytest.raises(BadResponse, match="garbled"):
        await poll_until_final(
            script.read, seen=script.seen, ended=script.ended, gone=script.gone, pause=script.pause
        )
