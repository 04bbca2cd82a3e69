"""Hostile text the simulated providers cannot send, set in the server's real answers (validated by
the models) at every string field the board shows: the board's own rendering of each field is
tested in Chromium, and a field added to a model is covered at once (``fields.STRING_PATHS``).
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp_types import CallToolResult

from mcp_livecalls.core.models import ActiveCallsPage, StreamDetails

from .fields import NORMALIZED, REFUSED, SERVER_MADE, STRING_PATHS, UNFILLED
from .host import start_board
from .probe import PROBE, assert_inert, open_call
from .shared import client, clock, server, settings, sim_url, simulator, unchanged_simulator

pytestmark = pytest.mark.anyio

# The file's one simulator and server (crafted answers are made over the real ones): fixtures.
__all__ = ["client", "clock", "server", "settings", "sim_url", "simulator", "unchanged_simulator"]


ITEM: dict[str, dict[str, Any]] = {
    "legs": {"status": "connected"},
    "transcript": {"role": "user", "text": "hello"},
    "events": {"name": "answered"},
    "failures": {"provider": "exotel", "reason": "down"},
}
"""The required fields of a list item a crafted answer adds where the real one had none."""


def _set_at(data: dict[str, Any], path: str, value: str) -> None:
    head, _, rest = path.partition(".")
    key = head.removesuffix("[]")
    if key == "*":
        data["probe"] = value
    elif head.endswith("[]") and not rest:
        data.setdefault(key, []).append(value)
    elif head.endswith("[]"):
        items = data.setdefault(key, [])
        if not items:
            items.append(dict(ITEM.get(key, {})))
        _set_at(items[0], rest, value)
    elif rest:
        _set_at(data.setdefault(key, {}), rest, value)
    else:
        data[key] = value


class CraftedAnswers:
    """The real server's answers with the probe set at one path (validated by the models), for the
    fields no simulated provider fills: the board's own rendering of every field is tested."""

    def __init__(self, client: Client, path: str) -> None:
        self.client, self.path = client, path

    async def read_resource(self, uri: str) -> Any:
        return await self.client.read_resource(uri)

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        real = await self.client.call_tool(name, arguments)
        data = dict(real.structured_content or {})
        if name == "list_active_calls" and not self.path.startswith("details."):
            _set_at(data, self.path, PROBE)
            data = ActiveCallsPage.model_validate(data).structured()
        elif name == "get_stream_details" and self.path.startswith("details."):
            _set_at(data, self.path.removeprefix("details."), PROBE)
            data = StreamDetails.model_validate(data).structured()
        return real.model_copy(update={"structured_content": data})


LIST_ONLY: dict[str, str] = {
    **{
        path: "an opened call shows the legs and transcript of get_stream_details (fresher than the list's)"
        for path in STRING_PATHS
        if path.startswith(("calls[].legs[]", "calls[].transcript[]"))
    },
    "calls[].provider_status": "an opened call shows get_stream_details' provider_status (fresher)",
    "next_cursor": "the board says more calls exist; the cursor itself is for the next request",
}
"""Fields the board never shows."""


def test_the_fields_named_apart_are_fields_of_the_models() -> None:
    named = set(SERVER_MADE) | set(REFUSED) | set(NORMALIZED) | set(UNFILLED) | set(LIST_ONLY)
    assert named <= set(STRING_PATHS)


@pytest.mark.parametrize("path", [path for path in STRING_PATHS if path not in LIST_ONLY])
async def test_the_board_inserts_a_hostile_string_in_any_field_as_text(
    page: Any, client: Client, path: str
) -> None:
    given = await start_board(page, CraftedAnswers(client, path))
    first = given["structuredContent"]["calls"][0]
    board = page.frame_locator("#app")
    await board.locator("#summary", has_text="live").wait_for()
    await open_call(board, f"{first['provider']}/{first['call_id']}")

    assert PROBE in await assert_inert(page, board)
