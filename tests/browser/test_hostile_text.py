"""Hostile provider text on the board: in every string field the board can show, an
``<img src=x onerror=…>`` planted in a real upstream answer shows as its characters and runs nothing.

The fields come from the normalized models (``fields.STRING_PATHS``), so a new field gets its own
test. For each, the test finds a call whose answer fills the field from a string the simulator
sent (the same string, or a provider message quoted in it), plants the probe in place of that
string (``upstream.PlantingUpstream``), and opens the board and the call in Chromium.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from mcp import Client

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simulator import DEMO_CREDENTIALS, Fault, Simulator, serve_asgi

from .fields import NORMALIZED, REFUSED, SERVER_MADE, STRING_PATHS, UNFILLED, values_at
from .host import start_board
from .probe import PROBE, assert_inert, open_call
from .shared import clock, simulator, unchanged_simulator
from .upstream import PlantingUpstream, strings_in

pytestmark = pytest.mark.anyio

# The file's one simulator and tap (reset for each test, its faults cleared after): fixtures.
__all__ = ["clock", "simulator", "unchanged_simulator"]

PLANTED_PATHS = [path for path in STRING_PATHS if path not in SERVER_MADE and path not in UNFILLED]


@pytest.fixture(scope="module")
def tapped(simulator: Simulator) -> PlantingUpstream:
    return PlantingUpstream(simulator.app)


@pytest.fixture
def upstream(tapped: PlantingUpstream) -> PlantingUpstream:
    """The file's tap, with nothing kept or planted yet."""
    tapped.reset()
    return tapped


@pytest.fixture(scope="module")
async def tapped_client(tapped: PlantingUpstream, simulator: Simulator) -> AsyncIterator[Client]:
    with serve_asgi(tapped, on_stop=simulator.release_hangs, name="tapped simulator") as url:
        settings = simulator_settings(url, DEMO_CREDENTIALS).with_changes(cache_ttl_s=0)
        async with Client(create_server(settings, now=simulator.clock.now)) as connected:
            yield connected


def _source(values: Iterable[str], tape: list[tuple[str, Any]], skip: set[str]) -> tuple[str, str] | None:
    """``(upstream string, value)``: a value of the field and the string it came from."""
    sent = {text for _, data in tape for text in strings_in(data)}
    for value in values:
        if value in skip:
            continue
        if value in sent:
            return value, value
        quoted = next((text for text in sent if len(text) >= 6 and text in value), None)
        if quoted is not None:
            return quoted, value
    return None


async def _find(client: Client, upstream: PlantingUpstream, path: str) -> tuple[dict[str, Any] | None, str]:
    """A call (``None`` for a page-level field) whose answer fills ``path``, and the upstream string."""
    page = (await client.call_tool("list_active_calls", {"limit": 100})).structured_content or {}
    calls: list[dict[str, Any]] = page.get("calls", [])
    ids = {call["call_id"] for call in calls} if not path.endswith("call_id") else set()
    if not path.startswith(("calls[].", "details.")):
        found = _source(values_at(page, path), upstream.tape, ids)
        if found is not None:
            return None, found[0]
    for call in calls:
        if path.startswith("calls[]."):
            found = _source(values_at(call, path.removeprefix("calls[].")), upstream.tape, ids)
        else:
            start = len(upstream.tape)
            asked = {"call_id": call["call_id"], "provider": call["provider"]}
            details = (await client.call_tool("get_stream_details", asked)).structured_content or {}
            found = _source(values_at(details, path.removeprefix("details.")), upstream.tape[start:], ids)
        if found is not None:
            return call, found[0]
    pytest.fail(f"no simulated call fills {path} from provider text: make the simulator fill it")


async def _answers(client: Client, call: dict[str, Any] | None) -> str:
    """Every string the server answers now (the list, and the call's details), one a line."""
    answers = [(await client.call_tool("list_active_calls", {"limit": 100})).structured_content]
    if call is not None:
        asked = {"call_id": call["call_id"], "provider": call["provider"]}
        answers.append((await client.call_tool("get_stream_details", asked)).structured_content)
    return "\n".join(strings_in(answers))


@pytest.mark.parametrize("path", PLANTED_PATHS)
async def test_a_hostile_string_planted_upstream_shows_as_text_and_runs_nothing(
    page: Any, tapped_client: Client, upstream: PlantingUpstream, simulator: Simulator, path: str
) -> None:
    if path.startswith("failures"):
        simulator.faults.inject(Fault(kind="status", status_code=500, provider="exotel"))
    call, sent = await _find(tapped_client, upstream, path)
    details = path.startswith("details.")
    upstream.plant(sent, PROBE, only_for=call["call_id"] if details and call else None)
    passed = PROBE in await _answers(tapped_client, call)

    await start_board(page, tapped_client)
    board = page.frame_locator("#app")
    await board.locator("#summary", has_text="live").wait_for()
    if call is not None and path != "calls[].call_id":
        await open_call(board, f"{call['provider']}/{call['call_id']}")
    shown = await assert_inert(page, board)

    if path in REFUSED:
        assert REFUSED[path] in shown
    elif path in NORMALIZED:
        assert not passed, f"the server now passes {path} through: take it out of NORMALIZED"
    else:
        assert passed, f"the server dropped a hostile {path}: say why in NORMALIZED"
        assert PROBE in shown
