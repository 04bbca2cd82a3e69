"""An upstream whose answer is a bare JSON array (no envelope): the simulator and the pipeline.

Vapi's ``GET /call`` answers ``[call, call, …]``. The simulator must keep that shape under every
body fault (padding becomes one more item, extra keys go into the items), and ``ProviderHTTP``
must hand the array to the adapter, with ``reading.json_array`` refusing an object where an array
belongs as an answer this server does not understand.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import Response

import mcp_livecalls.simulator.app as app
import mcp_livecalls.simulator.faults as faults
from mcp_livecalls.errors import BadResponse
from mcp_livecalls.providers.reading import json_array
from mcp_livecalls.simkit.base import HUGE_ID, Answer, Endpoint, SimulatedProvider
from mcp_livecalls.simulator import Fault, ManualClock, Simulator, serve_simulator
from mcp_livecalls.simulator.registry import SIMULATED
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.policy import HttpPolicy

FIRST = SIMULATED[0]
ARRAY_PATH = "/array-test/calls"


class _Arrayed(FIRST):  # type: ignore[valid-type,misc]
    """The first simulated provider with one more route, answering its calls as a bare array."""

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        return [*super().endpoints(), (ARRAY_PATH, self.array, "GET")]

    async def array(self, request: Request) -> Response:
        def answer() -> Answer:
            calls = self.sim.population.visible(self.name)
            items = [{"id": c.id, "status": "in-progress", "direction": c.direction} for c in calls]
            return Answer(200, items)

        served: Response = await self.sim.serve(request, self.name, "list_calls", answer)
        return served

    @staticmethod
    def records(route: str, payload: Any) -> list[dict[str, Any]]:
        """The base's reading of an array (what is under test); the provider's own otherwise."""
        if isinstance(payload, list):
            return SimulatedProvider.records(route, payload)
        return FIRST.records(route, payload)

    @staticmethod
    def mutate_envelope(kind: str, route: str, payload: Any) -> bool:
        return not isinstance(payload, list) and FIRST.mutate_envelope(kind, route, payload)


@pytest.fixture
def arrays(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Simulator, httpx2.Client]]:
    swapped = (_Arrayed, *SIMULATED[1:])
    monkeypatch.setattr(app, "SIMULATED", swapped)
    monkeypatch.setattr(faults, "SIMULATED", swapped)
    simulator = Simulator(seed=3, clock=ManualClock(), providers=(FIRST.name,))
    with serve_simulator(simulator) as url, httpx2.Client(base_url=url, timeout=30) as client:
        yield simulator, client


def _faulted(simulator: Simulator, client: httpx2.Client, kind: str) -> httpx2.Response:
    simulator.faults.inject(Fault.model_validate({"kind": kind, "provider": FIRST.name, "times": 1}))
    return client.get(ARRAY_PATH)


def test_a_bare_array_answer_is_served_and_recorded_as_an_array(
    arrays: tuple[Simulator, httpx2.Client],
) -> None:
    simulator, client = arrays
    with simulator.recording() as tape:
        answer = client.get(ARRAY_PATH)

    items = answer.json()
    assert isinstance(items, list)
    assert items
    assert [served.body for served in tape] == [items]


def test_huge_body_pads_a_bare_array_with_one_more_item_and_stays_valid_json(
    arrays: tuple[Simulator, httpx2.Client],
) -> None:
    simulator, client = arrays
    clean = client.get(ARRAY_PATH).json()

    padded = _faulted(simulator, client, "huge_body")

    assert len(padded.content) > 10_000_000
    items = json.loads(padded.content)
    assert items[:-1] == clean
    assert isinstance(items[-1], str)


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("extra_fields", lambda item, clean: item["x_sim_extra"] and item["id"] == clean["id"]),
        ("wrong_types", lambda item, clean: item["id"] == [clean["id"]]),
        ("unknown_enum", lambda item, clean: (item["status"], item["direction"]) == ("barging", "sideways")),
        ("huge_ids", lambda item, clean: item["id"] == HUGE_ID),
        ("missing_fields", lambda item, clean: "id" not in item and "status" not in item),
    ],
)
def test_payload_faults_damage_the_items_of_a_bare_array_and_keep_it_an_array(
    arrays: tuple[Simulator, httpx2.Client], kind: str, check: Any
) -> None:
    simulator, client = arrays
    clean = client.get(ARRAY_PATH).json()

    damaged = _faulted(simulator, client, kind).json()

    assert isinstance(damaged, list)
    assert len(damaged) == len(clean)
    assert all(check(item, before) for item, before in zip(damaged, clean, strict=True))


def _http(client: httpx2.AsyncClient) -> ProviderHTTP:
    return ProviderHTTP(
        provider="vobiz",
        title="Vobiz",
        client=client,
        base_url="http://arrays.test",
        policy=HttpPolicy(retry_attempts=1),
        credential_vars=("VOBIZ_AUTH_TOKEN",),
        base_url_var="VOBIZ_BASE_URL",
        secrets=[],
    )


def _answering(body: Any) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.MockTransport(lambda _: httpx2.Response(200, json=body)))


@pytest.mark.anyio
async def test_the_pipeline_hands_a_bare_array_to_the_adapter() -> None:
    async with _answering([{"id": "a"}, {"id": "b"}]) as client:
        ids = await _http(client).get_json("/calls", parse=lambda p: [item["id"] for item in json_array(p)])

    assert ids == ["a", "b"]


@pytest.mark.anyio
@pytest.mark.parametrize("body", [{"calls": []}, "calls", 3])
async def test_an_answer_that_is_not_the_array_expected_is_not_understood(body: Any) -> None:
    async with _answering(body) as client:
        with pytest.raises(BadResponse) as caught:
            await _http(client).get_json("/calls", parse=json_array)

    assert "does not understand (TypeError)" in caught.value.message
