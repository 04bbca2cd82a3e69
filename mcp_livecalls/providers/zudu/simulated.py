"""The simulated Zudu API: routes, auth and error bodies.

``POST /api/calls`` lists calls (filters in the body, 0-based pages) and ``GET /api/calls/{id}``
answers one record (by its ``id`` or its ``call_id``); auth is the ``X-API-KEY`` /
``X-API-SECRET`` pair.

Its documented example, verbatim in ``examples/`` (answered by ``Simulator(fixtures=True)``):

=========  ======================
``call``   Zudu "Get call by ID"
=========  ======================
"""

from __future__ import annotations

import http
import json
import math
import random
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response

from mcp_livecalls.providers.families.retell_simulated import (
    voice_agents,
)
from mcp_livecalls.providers.zudu.simulated_record import zudu_record, zudu_status
from mcp_livecalls.simkit.base import Answer, Endpoint, SimulatedProvider, demo_account, same
from mcp_livecalls.simkit.calls import Agent, SimCall, random_hex, random_uuid

__all__ = [
    "ZUDU_FLAVOURS",
    "ZuduSimulation",
    "zudu_status",
]

FIXTURE_ZUDU_IDS: Final = frozenset({"550e8400-e29b-41d4-a716-446655440000", "call-456"})
ZUDU_MAX_LIMIT: Final = 100


ZUDU_FLAVOURS: frozenset[str] = frozenset(
    {
        "zudu.lower_case",  # every enum answered in lower case (the OpenAPI page's examples)
        "zudu.agent_id_array",  # the list takes agent_id only as an array; a string is a 400
        "zudu.agent_id_string",  # the list takes agent_id only as a string; an array is a 400
        "zudu.call_id_only",  # list entries carry call_id and no id
        "zudu.data_storage_setting",  # records carry Retell's data_storage_setting, not the opt-out flag
    }
)


class ZuduSimulation(SimulatedProvider):
    name = "zudu"
    flavours = ZUDU_FLAVOURS
    demo_settings = demo_account(api_key="sk_simulator", api_secret="s3cr3t_simulator")
    web_call_share = 0.15
    holds = False

    @classmethod
    def agents(cls, rng: random.Random, slots: int) -> tuple[Agent, ...]:
        return voice_agents(rng, 20)

    @classmethod
    def dress(cls, rng: random.Random, call: SimCall, agents: tuple[Agent, ...]) -> None:
        call.id = random_uuid(rng)
        call.alt_ids = (f"call_{random_hex(rng, 24)}",)  # Zudu's call_id, also accepted in URLs
        if rng.random() < 0.92:
            call.agent = rng.choice(agents)
        call.recording = rng.random() < 0.8
        call.lowercase_enums = rng.random() < 0.12
        call.opt_out_sensitive_data_storage = rng.random() < 0.15

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        return [
            ("/api/calls", self.zudu_list, "POST"),
            ("/api/calls/{call_id}", self.zudu_get, "GET"),
        ]

    @staticmethod
    def records(route: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        data = payload.get("data")
        if not isinstance(data, dict):
            return []
        calls = data.get("calls")
        if isinstance(calls, list):
            return [c for c in calls if isinstance(c, dict)]
        return [data]

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        title = "Call not found" if status == 404 else http.HTTPStatus(status).phrase
        body = {"message": title, "status": "error", "error": message}
        return Answer(status, body, self.retry_headers(status, retry_after))

    def _zudu_auth(self, request: Request) -> Answer | None:
        creds = self.account
        key = request.headers.get("x-api-key", "")
        secret = request.headers.get("x-api-secret", "")
        if not (same(key, creds["api_key"]) and same(secret, creds["api_secret"])):
            return Answer(
                401, {"message": "Unauthorized", "status": "error", "error": "Invalid API key or secret"}
            )
        return None

    def _zudu_not_found(self, call_id: str) -> Answer:
        return Answer(
            404,
            {
                "message": "Call not found",
                "status": "error",
                "error": f"Call with ID '{call_id}' does not exist",
            },
        )

    async def zudu_get(self, request: Request) -> Response:
        call_id = str(request.path_params["call_id"])

        def answer() -> Answer:
            denied = self._zudu_auth(request)
            if denied is not None:
                return denied
            if self.sim.fixtures:
                if call_id in FIXTURE_ZUDU_IDS:
                    return Answer(200, self.example("call"))
                return self._zudu_not_found(call_id)
            call = self.sim.population.find("zudu", call_id)
            if call is None:
                return self._zudu_not_found(call_id)
            record = self._zudu_record(call, self.sim.now_ts(), self.sim.population.organization_id)
            return Answer(
                200,
                {
                    "message": "Call retrieved successfully",
                    "status": "success",
                    "error": None,
                    "data": record,
                },
            )

        return await self.sim.serve(request, "zudu", "get_call", answer)

    def _zudu_record(
        self, call: SimCall, ts: float, organization_id: str, *, listed: bool = False
    ) -> dict[str, Any]:
        """A Zudu record as the switched-on flavours write it (``listed``: as a list entry)."""
        record = zudu_record(
            call,
            ts,
            organization_id,
            lower_case=self.sim.flavour("zudu.lower_case"),
            storage_setting=self.sim.flavour("zudu.data_storage_setting"),
        )
        if listed and self.sim.flavour("zudu.call_id_only"):
            del record["id"]  # a list entry with the call_id alone
        return record

    async def zudu_list(self, request: Request) -> Response:
        raw = await request.body()

        def answer() -> Answer:
            denied = self._zudu_auth(request)
            if denied is not None:
                return denied
            try:
                query = json.loads(raw) if raw.strip() else {}
            except (ValueError, UnicodeDecodeError):
                return _zudu_bad_request("the body must be JSON")
            if not isinstance(query, dict):
                return _zudu_bad_request("the body must be a JSON object")
            return self._zudu_list_answer(query)

        return await self.sim.serve(request, "zudu", "list_calls", answer)

    def _zudu_list_answer(self, query: dict[str, Any]) -> Answer:
        page = query.get("page", 0)
        limit = query.get("limit", 20)
        sort_by = query.get("sort_by", "start_timestamp")
        sort_order = query.get("sort_order", "descending")
        criteria = query.get("filter_criteria") or {}
        if not isinstance(page, int) or isinstance(page, bool) or page < 0:
            return _zudu_bad_request("page must be an integer >= 0 (pages start at 0)")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            return _zudu_bad_request("limit must be a positive integer")
        limit = min(limit, ZUDU_MAX_LIMIT)
        if sort_by not in ("start_timestamp", "created_at"):
            return _zudu_bad_request("sort_by must be start_timestamp or created_at")
        if sort_order not in ("descending", "ascending"):
            return _zudu_bad_request("sort_order must be descending or ascending")
        if not isinstance(criteria, dict):
            return _zudu_bad_request("filter_criteria must be an object")

        def wanted(key: str) -> set[str] | None:
            value = criteria.get(key)
            if value is None:
                return None
            values = value if isinstance(value, list) else [value]
            return {str(v).upper() for v in values}

        statuses, types, directions = wanted("call_status"), wanted("call_type"), wanted("direction")
        agents = criteria.get("agent_id")
        if agents is not None and self.sim.flavour("zudu.agent_id_array") and not isinstance(agents, list):
            return _zudu_bad_request("filter_criteria.agent_id must be an array")
        if agents is not None and self.sim.flavour("zudu.agent_id_string") and not isinstance(agents, str):
            return _zudu_bad_request("filter_criteria.agent_id must be a string")
        agent_set = (
            None if agents is None else {str(a) for a in (agents if isinstance(agents, list) else [agents])}
        )

        def keep(status: str, call_type: str, direction: str, agent: str | None) -> bool:
            return (
                (statuses is None or status.upper() in statuses)
                and (types is None or call_type.upper() in types)
                and (directions is None or direction.upper() in directions)
                and (agent_set is None or agent in agent_set)
            )

        ts = self.sim.now_ts()
        org = self.sim.population.organization_id
        records: list[dict[str, Any]]
        if self.sim.fixtures:
            data = self.example("call")["data"]
            org = data["organization_id"]
            pool = (
                [data]
                if keep(data["call_status"], data["call_type"], data["direction"], data["agent_id"])
                else []
            )
            total = len(pool)
            records = pool[page * limit : (page + 1) * limit]
        else:
            calls: list[SimCall] = [
                c
                for c in self.sim.population.visible("zudu")
                if keep(
                    zudu_status(c, ts),
                    "WEB_CALL" if c.web_call else "PHONE_CALL",
                    c.direction,
                    c.agent.id if c.agent is not None else None,
                )
            ]
            if sort_order == "ascending":
                calls.reverse()
            total = len(calls)
            records = [
                self._zudu_record(c, ts, org, listed=True) for c in calls[page * limit : (page + 1) * limit]
            ]
        return _list_page(org, records, criteria, page=page, limit=limit, total=total)


def _list_page(
    org: str, records: list[dict[str, Any]], criteria: dict[str, Any], *, page: int, limit: int, total: int
) -> Answer:
    """The list's answer: one page of ``records`` with its pagination and the filters applied."""
    total_pages = math.ceil(total / limit)
    applied = {k: criteria[k] for k in ("call_status", "call_type", "direction", "agent_id") if k in criteria}
    return Answer(
        200,
        {
            "message": "Calls retrieved successfully",
            "status": "success",
            "error": None,
            "data": {
                "organization_id": org,
                "calls": records,
                "pagination": {
                    "page": page,
                    "limit": limit,
                    "total": total,
                    "total_pages": total_pages,
                    "has_next_page": page + 1 < total_pages,
                    "has_previous_page": page > 0,
                },
                "returned_count": len(records),
                "applied_filters": applied,
            },
        },
    )


def _zudu_bad_request(message: str) -> Answer:
    return Answer(400, {"message": "Invalid request", "status": "error", "error": message})


SIMULATED = ZuduSimulation
"""What the simulator loads for this folder."""
