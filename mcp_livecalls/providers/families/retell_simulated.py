"""The simulated Retell-family API: what Zudu's and Retell's simulated APIs share.

Both carry AI voice agents' calls whose records grow while the call is live: the transcript turns
and tool calls heard so far, e2e/llm latency percentiles, the running cost, the analysis once the
call has ended, Retell's disconnection reasons and data storage settings. Each member writes
these in its own spelling (``providers/<name>/simulated.py``).
"""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any, Final

from mcp_livecalls.simkit.calls import Agent, SimCall, ToolEntry, Turn, random_hex
from mcp_livecalls.simkit.scripts import VOICE_AGENT_NAMES

__all__ = [
    "DISCONNECTION_REASONS",
    "call_analysis",
    "call_cost",
    "heard",
    "latency",
    "storage_setting",
    "voice_agents",
]

DISCONNECTION_REASONS: Final[dict[str, str]] = {
    "caller_hangup": "user_hangup",
    "callee_hangup": "agent_hangup",
    "transfer": "call_transfer",
    "no_answer": "dial_no_answer",
    "busy": "dial_busy",
    "cancel": "user_hangup",
    "failed": "dial_failed",
}


def storage_setting(call: SimCall) -> str:
    """Retell's ``data_storage_setting`` for the call (a data_storage_setting flavour; Retell's default).

    An opted-out call stores ``basic_attributes_only`` (Retell's documented mapping of the old
    flag); of the others, a stable quarter store ``everything_except_pii``, the rest ``everything``.
    """
    if call.opt_out_sensitive_data_storage:
        return "basic_attributes_only"
    quarter = hashlib.sha256(call.id.encode()).digest()[0] % 4 == 0
    return "everything_except_pii" if quarter else "everything"


def voice_agents(rng: random.Random, id_hex: int) -> tuple[Agent, ...]:
    """The account's AI voice agents, ids ``agent_`` + ``id_hex`` hex digits."""
    return tuple(Agent(f"agent_{random_hex(rng, id_hex)}", name, "", "webrtc") for name in VOICE_AGENT_NAMES)


def _percentile(sorted_values: list[float], q: float) -> float:
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return round(sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo), 1)


def _latency_block(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "max": ordered[-1],
        "min": ordered[0],
        "num": len(values),
        "p50": _percentile(ordered, 0.5),
        "p90": _percentile(ordered, 0.9),
        "p95": _percentile(ordered, 0.95),
        "p99": _percentile(ordered, 0.99),
        "values": values,
    }


def heard(call: SimCall, ts: float) -> tuple[list[Turn], list[ToolEntry]]:
    """The transcript turns finished and the tool calls made by ``ts`` (a Retell-family record's
    growing part)."""
    d = call.details()
    elapsed = ts - call.created_ts
    return [t for t in d.turns if t.end_s <= elapsed], [t for t in d.tools if t.at_s <= elapsed]


def latency(turns: list[Turn]) -> dict[str, Any]:
    """The ``latency`` object of the turns so far: e2e and llm percentiles."""
    e2e = [t.e2e_ms for t in turns if t.e2e_ms is not None]
    llm = [t.llm_ms for t in turns if t.llm_ms is not None]
    # Undocumented: before the first answer of the agent there is nothing to measure: latency is {}.
    return {"e2e": _latency_block(e2e), "llm": _latency_block(llm)} if e2e and llm else {}


def call_cost(call: SimCall, ts: float, turns: list[Turn], *, scale: float = 1.0) -> dict[str, Any]:
    """The ``call_cost`` object so far, in currency units times ``scale`` (Retell counts cents)."""
    talk = call.talk_s(ts)
    unit = round((0.02 if call.direction == "inbound" else 0.025) * scale, 4)
    telephony = round(talk / 60.0 * unit, 4)
    llm_units = 5 * sum(1 for t in turns if t.role == "assistant")
    llm_price = round(0.001 * scale, 4)
    llm_cost = round(llm_units * llm_price, 4)
    return {
        "combined_cost": round(telephony + llm_cost, 4),
        "product_costs": [
            {"product": f"{call.direction}_call", "cost": telephony, "unit_price": unit},
            {"product": "llm_usage", "cost": llm_cost, "unit_price": llm_price},
        ],
        "total_duration_seconds": math.floor(talk),
        "total_duration_unit_price": unit,
        # Undocumented: no one-time price is simulated.
        "total_one_time_price": 0.0,
    }


def call_analysis(call: SimCall, ts: float) -> dict[str, Any] | None:
    """``call_analysis`` once an answered call has ended (``None`` before)."""
    if call.state_at_ts(ts) != "ended" or call.answer_s is None:
        return None
    d = call.details()
    return {
        "call_summary": d.scenario.summary,
        "user_sentiment": d.sentiment,
        "call_successful": d.successful,
        "in_voicemail": False,
    }
