"""The compact text an LLM reads: one line per call in lists, a few short lines for one call.

Rules: no nulls or empty fields, no request ids, no repeated keys or values, one timestamp format
(``2024-06-15T10:30:00Z``; later times of the same day as ``10:31:02Z``), durations in seconds
(``192s``), provider extras only when they say something, long transcripts cut to the recent turns
with a count of what was left out. A list says its calls' provider, status and direction once, on
a ``vobiz in_progress inbound:`` line above them (about 4 tokens a call fewer than a tag on each).
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
    """Whole seconds, ``192s``: 2–3 tokens where ``3m12s`` takes 5."""
    if seconds is None:
        return ""
    return f"{max(0, int(seconds))}s"


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


def _leg(leg: CallLeg, *, ids: bool = True) -> str:
    """``agent leg_a1 +9180… connected pstn muted``: the word ``leg`` only when the id does not say
    it, the network only when the contact does not (``webrtc:asha connecting``)."""
    flags = _join("muted" if leg.muted else None, "hold" if leg.on_hold else None)
    leg_id = leg.leg_id if ids or not (leg.role or leg.contact) else None
    said = leg.network and leg.contact and leg.contact.lower().startswith(f"{leg.network.lower()}:")
    return _join(
        None if _says("leg", leg_id) else "leg",
        leg.role,
        leg_id,
        leg.contact,
        leg.status.value if leg.status.value != "unknown" else leg.provider_status,
        None if said else leg.network,
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
    """One line an event; a time of the same day as the one above drops the date (``18:40:30Z``)."""
    if not events:
        return []
    header = f"events (last {len(events)}, {omitted} earlier omitted):" if omitted else "events:"
    lines, day = [header], None
    for event in events:
        stamp = format_time(event.at)
        if event.at is not None and event.at.date() == day:
            stamp = stamp[11:]
        day = event.at.date() if event.at is not None else day
        lines.append(" " + _join(stamp, event.name))
    return lines


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

_CALL_ONLY = frozenset({"agent", "cost", "caller name", "numbers", "direction"})
"""What ``get_live_call`` shows and the media side never does: its ``not offered`` leaves these
out of the stream text (the structured content keeps every entry)."""


def call_line(call: LiveCall) -> str:
    """A call's first line: ``exotel call_1 in_progress outbound +91…→+91… 120s agent John rec``."""
    return _join(
        call.provider.value,
        call.call_id,
        _status(call.status, call.provider_status),
        call.direction.value if call.direction else None,
        _parties(call.from_number, call.to_number),
        format_duration(call.duration_s),
        _agent(call.agent),
        _flags(call),
    )


def _listed(call: LiveCall) -> str:
    """A call's line under its heading: ``120s call_1 +91…→+91… agent John rec``. The duration
    leads (at a line's start it costs no space token; ``?`` when unknown); ``unknown(parked)``
    keeps the provider's word."""
    own = call.status is CallStatus.UNKNOWN and call.provider_status
    return _join(
        format_duration(call.duration_s) or "?",  # the first word is always the duration
        call.call_id,
        _status(call.status, call.provider_status) if own else None,
        _parties(call.from_number, call.to_number),
        _agent(call.agent),
        _flags(call),
    )


def _flags(call: LiveCall) -> str:
    """``leg-on-hold`` (a leg held while the call is not) and the recording."""
    held = call.status is not CallStatus.ON_HOLD and any(leg.on_hold for leg in call.legs)
    return _join("leg-on-hold" if held else None, _recording(call.recording))


def _group(call: LiveCall) -> str:
    """The heading a call is listed under: ``vobiz in_progress inbound``."""
    return _join(call.provider.value, call.status.value, call.direction.value if call.direction else None)


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
        # Brief: legs by who, where and how; their ids are for the media side (get_stream_details).
        *(_leg(leg, ids=detail == "full") for leg in call.legs),
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
    not_offered = [item for item in details.not_offered if item not in _CALL_ONLY]
    lines = [
        _join(
            details.provider.value,
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
        f"not offered: {', '.join(not_offered)}" if not_offered else "",  # the first line names the provider
    ]
    return "\n".join(line for line in lines if line)


def render_page(page: ActiveCallsPage) -> str:
    """The count and cursor, then each provider-status-direction group's heading and its calls
    (newest first within it), then notes and failures."""
    count = len(page.calls)
    head = f"{count} live call{'s' if count != 1 else ''}"
    if page.total is not None and page.total != count:
        head += f" of {page.total}"
    if page.next_cursor:
        head += f"; more with cursor={page.next_cursor}"
    groups: dict[str, list[LiveCall]] = {}
    for call in page.calls:
        groups.setdefault(_group(call), []).append(call)
    lines = [head]
    for heading, calls in groups.items():
        lines += [f"{heading}:", *(_listed(call) for call in calls)]
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
