"""The compact text an LLM reads: one line per call in lists, a few short lines for one call.

Rules: no nulls or empty fields, no request ids, no repeated keys, one timestamp format
(``2024-06-15T10:30:00Z``), durations like ``3m12s``, provider extras only when they say
something, long transcripts cut to the recent turns with a count of what was left out.
The models arrive shaped by the output policy (``server.policy``: detail level, number masking,
what the signed-in caller may see), so the structured content and the text always agree.
"""

from __future__ import annotations

import re
from datetime import datetime

from mcp_livecalls.core.models import (
    ActiveCallsPage,
    Agent,
    CallEvent,
    CallLeg,
    CallStateWait,
    CallStatus,
    LatencyStats,
    LiveCall,
    ProvidersOverview,
    Recording,
    StreamDetails,
    TranscriptTurn,
)
from mcp_livecalls.server.policy import Detail

__all__ = [
    "format_duration",
    "format_time",
    "render_call",
    "render_page",
    "render_providers",
    "render_stream",
    "render_wait",
]

BRIEF_TURN_CHARS = 240


def format_duration(seconds: int | float | None) -> str:
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def format_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.0f}" if value >= 10 else f"{value:.3g}"


def _join(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


def _says(label: str, value: str | None) -> bool:
    """Whether ``value`` starts with the word ``label``: ``agent_7f…``, ``leg-2``; not ``Agentha``."""
    return bool(value) and re.match(rf"{label}(?![a-z])", value or "", re.IGNORECASE) is not None


def _labelled(label: str, value: str | None) -> str:
    """``label value``, or just ``value`` when it already says what it is (``agent_7f…``)."""
    if not value:
        return ""
    return value if _says(label, value) else f"{label} {value}"


def _status(status: CallStatus | None, provider_status: str | None) -> str | None:
    """The common word; for ``unknown``, the provider's own word with it (``unknown(parked)``)."""
    if status is None:
        return provider_status
    if status is CallStatus.UNKNOWN and provider_status:
        return f"unknown({provider_status})"
    return status.value


def _agent(agent: Agent | None) -> str:
    if agent is None:
        return ""
    who = agent.name or agent.id or ""
    return _join(_labelled("agent", who), f"({agent.status})" if agent.status else None) if who else ""


def _parties(from_number: str | None, to_number: str | None) -> str:
    if not from_number and not to_number:
        return ""
    return f"{from_number or '?'}→{to_number or '?'}"


def _recording(recording: Recording | None) -> str:
    if recording is None or recording.enabled is False:
        return ""
    return _join(
        "rec",
        recording.channels,
        format_duration(recording.duration_s) if recording.duration_s else None,
    )


def _latency(latency: dict[str, LatencyStats]) -> str:
    """``latency p50/p90 e2e 250/381ms llm 125/160ms``; a metric missing either says which it has."""
    parts = []
    for name, stats in latency.items():
        p50, p90 = stats.p50_ms, stats.p90_ms
        if p50 is not None and p90 is not None:
            parts.append(f"{name} {_number(p50)}/{_number(p90)}ms")
        elif p50 is not None or p90 is not None:
            which, value = ("p50", p50) if p50 is not None else ("p90", p90)
            parts.append(f"{name} {which} {_number(value)}ms")
    return "latency p50/p90 " + " ".join(parts) if parts else ""


def _leg(leg: CallLeg) -> str:
    """``agent leg_a1 +9180… connected pstn muted``: the word ``leg`` only when the id does not say it."""
    flags = _join("muted" if leg.muted else None, "hold" if leg.on_hold else None)
    return _join(
        None if _says("leg", leg.leg_id) else "leg",
        leg.role,
        leg.leg_id,
        leg.contact,
        leg.status.value if leg.status.value != "unknown" else leg.provider_status,
        leg.network,
        flags,
    )


def _turns(turns: list[TranscriptTurn], omitted: int | None, *, clip: bool) -> list[str]:
    if not turns:
        return []
    header = f"transcript (last {len(turns)}, {omitted} earlier omitted):" if omitted else "transcript:"
    lines = [header]
    for turn in turns:
        text = " ".join(turn.text.split())
        if clip and len(text) > BRIEF_TURN_CHARS:
            text = text[: BRIEF_TURN_CHARS - 1] + "…"
        lines.append(f" {turn.role}: {text}")
    return lines


def _events(events: list[CallEvent], omitted: int | None) -> list[str]:
    if not events:
        return []
    header = f"events (last {len(events)}, {omitted} earlier omitted):" if omitted else "events:"
    return [header] + [f" {format_time(e.at)} {e.name}".rstrip() for e in events]


def _extras(extras: dict[str, str | int | float | bool]) -> str:
    """``key=value`` pairs; metadata keys (``meta.<key>``) share one ``meta`` prefix."""
    plain = [f"{key}={value}" for key, value in extras.items() if not key.startswith("meta.")]
    meta = [f"{key[5:]}={value}" for key, value in extras.items() if key.startswith("meta.")]
    return _join(*plain, _join("meta", *meta) if meta else None)


def _stir(attestation: str | None, extras: dict[str, str | int | float | bool]) -> str:
    """``stir A verified``: the attestation and its verification (a Vobiz extra) together."""
    verification = extras.get("stir_verification")
    if not attestation:
        return f"stir {verification}" if verification else ""
    return _join("stir", attestation, str(verification) if verification else None)


# -- renderings ----------------------------------------------------------------------------


def call_line(call: LiveCall) -> str:
    """One line for a list: ``[exotel] call_1 in_progress outbound +91…→+91… 2m00s agent John rec``."""
    held = call.status is not CallStatus.ON_HOLD and any(leg.on_hold for leg in call.legs)
    return _join(
        f"[{call.provider.value}]",
        call.call_id,
        _status(call.status, call.provider_status),
        call.direction.value if call.direction else None,
        _parties(call.from_number, call.to_number),
        format_duration(call.duration_s),
        _agent(call.agent),
        "leg-on-hold" if held else None,
        _recording(call.recording),
    )


def render_call(call: LiveCall, *, detail: Detail = "brief") -> str:
    timed = detail == "full" or call.duration_s is None
    lines = [
        call_line(call),
        _join(
            f"caller {call.caller_name}" if call.caller_name else None,
            # Brief: the duration says how long; the times stay in full detail and structured content.
            f"started {format_time(call.started_at)}" if call.started_at and timed else None,
            f"answered {format_time(call.answered_at)}" if call.answered_at and timed else None,
            _stir(call.stir_attestation, call.extras),
        ),
        *(_leg(leg) for leg in call.legs),
        _latency(call.latency),
        f"cost {_number(call.cost.total)}{' ' + call.cost.currency if call.cost.currency else ''}"
        if call.cost and call.cost.total  # nothing spent yet says nothing
        else "",
        "sensitive data hidden (opted out of storage)" if call.sensitive_data_hidden else "",
        _extras({key: value for key, value in call.extras.items() if key != "stir_verification"}),
        *_turns(call.transcript, call.transcript_turns_omitted, clip=detail == "brief"),
    ]
    return "\n".join(line for line in lines if line)


def render_stream(details: StreamDetails, *, detail: Detail = "brief") -> str:
    bridge = details.bridge
    lines = [
        _join(
            f"[{details.provider.value}]",
            details.call_id,
            _status(details.status, details.provider_status),
            format_duration(details.duration_s),
        ),
        *(_leg(leg) for leg in details.legs),
        _join(
            _labelled("bridge", bridge.bridge_id) or "bridge",
            bridge.status,
            f"since {format_time(bridge.created_at)}" if bridge.created_at else None,
        )
        if bridge
        else "",
        _recording(details.recording)
        or ("rec off" if details.recording and details.recording.enabled is False else ""),
        *(
            _join(
                "stream", s.stream_id, s.status, s.audio_track, "bidirectional" if s.bidirectional else None
            )
            for s in details.media_streams
        ),
        _join(*(f"{key}={value}" for key, value in details.telephony_ids.items())),
        _latency(details.latency),
        "sensitive data hidden (opted out of storage)" if details.sensitive_data_hidden else "",
        *_events(details.events, details.events_omitted),
        *_turns(details.transcript, details.transcript_turns_omitted, clip=detail == "brief"),
        f"not offered: {', '.join(details.not_offered)}"  # the first line names the provider
        if details.not_offered
        else "",
    ]
    return "\n".join(line for line in lines if line)


def render_page(page: ActiveCallsPage) -> str:
    count = len(page.calls)
    head = f"{count} live call{'s' if count != 1 else ''}"
    if page.total is not None and page.total != count:
        head += f" of {page.total}"
    if page.next_cursor:
        head += f"; more with cursor={page.next_cursor}"
    lines = [head, *(call_line(call) for call in page.calls)]
    lines += [f"note: {note}" for note in page.notes]
    lines += [f"failed {failure.provider.value}: {failure.reason}" for failure in page.failures]
    return "\n".join(lines)


def render_wait(wait: CallStateWait) -> str:
    head = {
        "reached": f"reached after {wait.waited_s:g}s",
        "ended": f"call ended while waiting ({wait.waited_s:g}s)",
        "timeout": f"timed out after {wait.waited_s:g}s",
    }[wait.outcome]
    return head + ("\n" + render_call(wait.call) if wait.call else "")


def render_providers(overview: ProvidersOverview) -> str:
    lines = []
    for info in overview.providers:
        if not info.configured:
            lines.append(f"{info.name.value}: not configured")
            continue
        lines.append(
            _join(
                f"{info.name.value}: configured",
                f"filters upstream {','.join(info.upstream_filters)}" if info.upstream_filters else None,
                f"locally {','.join(info.local_filters)}" if info.local_filters else None,
                f"not offered {', '.join(info.not_offered)}" if info.not_offered else None,
            )
        )
    return "\n".join(lines)
