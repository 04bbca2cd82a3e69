"""The simulated Zudu call record (the ``data`` of zudu-get-call.txt): its status, events,
transcript forms and fields, as the switched-on flavours write them."""

from __future__ import annotations

import math
from typing import Any

from mcp_livecalls.providers.families.retell_simulated import (
    DISCONNECTION_REASONS,
    call_analysis,
    call_cost,
    heard,
    latency,
)
from mcp_livecalls.providers.families.retell_simulated import (
    storage_setting as stored_setting,
)
from mcp_livecalls.simkit.calls import SimCall, ToolEntry, Turn
from mcp_livecalls.simkit.render import ms

__all__ = ["zudu_enum", "zudu_record", "zudu_status"]


def zudu_status(call: SimCall, ts: float, *, lower_case: bool = False) -> str:
    """The Zudu ``call_status`` (in the call's own letter case, or lower case for every call)."""
    state = call.state_at_ts(ts)
    if state in ("queued", "ringing", "early_media"):
        value = "REGISTERED"
    elif state == "ended":
        value = "ERROR" if call.end_reason == "failed" else "ENDED"
    else:
        value = "ONGOING"
    return value.lower() if call.lowercase_enums or lower_case else value


def zudu_enum(call: SimCall, value: str, *, lower_case: bool = False) -> str:
    return value.lower() if call.lowercase_enums or lower_case else value


def _events(call: SimCall, ts: float, tools: list[ToolEntry], direction: str) -> list[dict[str, Any]]:
    """The record's ``events`` up to ``ts``: created, started, each tool call, ended."""
    base, elapsed = call.created_ts, ts - call.created_ts
    events: list[dict[str, Any]] = [
        {"timestamp": ms(base), "event": "Call created", "session_time": 0, "data": {}}
    ]
    if call.answer_s is not None and elapsed >= call.answer_s:
        events.append(
            {
                "timestamp": ms(base + call.answer_s),
                "event": f"Call started - {direction}",
                "session_time": 0,
                "data": {
                    "direction": direction,
                    "from": None if call.web_call else call.from_number,
                    "to": None if call.web_call else call.to_number,
                },
            }
        )
        for tool in tools:
            events.append(
                {
                    "timestamp": ms(base + tool.at_s),
                    "event": f"Tool call - {tool.name}",
                    "session_time": math.floor(tool.at_s - call.answer_s),
                    "data": {"tool_call_id": tool.tool_call_id, "name": tool.name},
                }
            )
    if call.state_at_ts(ts) == "ended":
        events.append(
            {
                "timestamp": ms(call.end_ts),
                "event": "Call ended",
                "session_time": math.floor(call.talk_s(ts)),
                "data": {"reason": DISCONNECTION_REASONS[call.end_reason]},
            }
        )

    return events


def _transcript_forms(
    call: SimCall, turns: list[Turn], tools: list[ToolEntry]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``transcript_object`` (turns with word times) and ``transcript_with_tool_calls`` (turns and
    tool invocations and results, in time order)."""
    base = call.created_ts
    transcript_object = [
        {
            "role": t.role,
            "content": t.content,
            "timestamp": ms(base + t.start_s),
            "words": [{"word": w, "start": ms(base + a), "end": ms(base + b)} for w, a, b in t.words],
        }
        for t in turns
    ]
    with_tools: list[tuple[float, dict[str, Any]]] = [
        (t.start_s, {"role": t.role, "content": t.content}) for t in turns
    ]
    for tool in tools:
        with_tools.append(
            (
                tool.at_s,
                {
                    "role": "tool_call_invocation",
                    "tool_call_id": tool.tool_call_id,
                    "name": tool.name,
                    "arguments": tool.arguments,
                },
            )
        )
        with_tools.append(
            (
                tool.at_s + 0.001,
                {"role": "tool_call_result", "tool_call_id": tool.tool_call_id, "content": tool.result},
            )
        )
    with_tools.sort(key=lambda item: item[0])
    return transcript_object, [entry for _, entry in with_tools]


def zudu_record(
    call: SimCall, ts: float, organization_id: str, *, lower_case: bool = False, storage_setting: bool = False
) -> dict[str, Any]:
    """The ``data`` object of zudu-get-call.txt at ``ts``.

    Transcript data is returned even when ``opt_out_sensitive_data_storage`` is true: hiding it is
    the MCP server's job, and the simulator must let tests check that it does. The flavours:
    ``lower_case`` writes every enum in lower case, ``storage_setting`` carries Retell's
    ``data_storage_setting`` instead of the opt-out flag.
    """
    d = call.details()
    state = call.state_at_ts(ts)
    ended = state == "ended"
    direction = "OUTBOUND" if call.direction == "outbound" else "INBOUND"
    call_id = call.alt_ids[0] if call.alt_ids else call.id

    turns, tools = heard(call, ts)
    base = call.created_ts
    events = _events(call, ts, tools, direction)
    transcript_object, with_tools = _transcript_forms(call, turns, tools)

    record: dict[str, Any] = {
        "id": call.id,
        "agent_id": call.agent.id if call.agent is not None else None,
        "call_id": call_id,
        "organization_id": organization_id,
        "call_status": zudu_status(call, ts, lower_case=lower_case),
        "call_type": zudu_enum(call, "WEB_CALL" if call.web_call else "PHONE_CALL", lower_case=lower_case),
        "direction": zudu_enum(call, direction, lower_case=lower_case),
        "from_number": None if call.web_call else call.from_number,
        "to_number": None if call.web_call else call.to_number,
        "start_timestamp": ms(base),
        "end_timestamp": ms(call.end_ts) if ended else None,
        "call_duration": ms(call.end_s) if ended else None,
        "disconnection_reason": DISCONNECTION_REASONS[call.end_reason] if ended else None,
        "recording_url": f"https://recordings.example.com/zudu/{call_id}.mp4" if call.recording else None,
        "public_log_url": f"https://api.example.com/logs/{call_id}",
        "opt_out_sensitive_data_storage": call.opt_out_sensitive_data_storage,
        "data_storage_setting": stored_setting(call),
        "metadata": dict(d.metadata),
        "events": events,
        # Undocumented: the transcript text is the turns' contents, one per line (the docs show one turn).
        "transcript": "\n".join(t.content for t in turns),
        "transcript_object": transcript_object,
        "transcript_with_tool_calls": with_tools,
        "latency": latency(turns),
        "call_analysis": call_analysis(call, ts),
        "call_cost": call_cost(call, ts, turns),
        "telephony_identifier": None
        if call.web_call
        else {"call_sid": d.telephony_call_sid, "conference_sid": d.conference_sid},
    }
    if storage_setting:
        del record["opt_out_sensitive_data_storage"]
    else:
        del record["data_storage_setting"]
    return record
