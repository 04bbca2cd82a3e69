"""The Twilio family's simulated resources: one call, conference, participant and list page as a
member writes them (``families/twilio_simulated.py`` serves them).

``compat_call`` writes the call resource of Twilio's reference; ``older`` drops what Twilio added
later (``queue_time``, ``trunk_sid``, ``group_sid``, the ``streams``/``payments`` links) and
``live_duration`` writes a live call's ``duration`` as the seconds so far instead of ``null``.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any, Final
from urllib.parse import urlencode

from mcp_livecalls.simkit.calls import CallState, SimCall

__all__ = [
    "ANSWERED",
    "API",
    "compat_call",
    "compat_conference",
    "compat_participants",
    "compat_status",
    "page_of",
    "rfc2822",
]

API: Final = "/2010-04-01"
_ENDED: Final[dict[str, str]] = {
    "caller_hangup": "completed",
    "callee_hangup": "completed",
    "transfer": "completed",
    "no_answer": "no-answer",
    "busy": "busy",
    "cancel": "canceled",
    "failed": "failed",
}
ANSWERED: Final = frozenset({"in_progress", "on_hold"})


def rfc2822(ts: float) -> str:
    """``Sat, 15 Jun 2024 10:38:20 +0000``: how Twilio writes every time."""
    return format_datetime(datetime.fromtimestamp(math.floor(ts), UTC))


def compat_status(call: SimCall, state: CallState) -> str:
    if state == "queued":
        return "queued"
    if state in ("ringing", "early_media"):
        return "ringing"
    if state in ANSWERED:
        return "in-progress"
    return _ENDED[call.end_reason]


def compat_call(
    call: SimCall,
    ts: float,
    account: str,
    *,
    api: str = API,
    older: bool = False,
    live_duration: bool = False,
) -> dict[str, Any]:
    """One call object (``Calls/{sid}.json``, an item of ``calls``) under ``api``."""
    state = call.state_at_ts(ts)
    status = compat_status(call, state)
    ended = state == "ended"
    dialled = call.created_ts + call.ring_s
    duration: str | None = None
    if ended:
        duration = (
            str(math.floor(call.end_ts - (call.created_ts + call.answer_s)))
            if call.answer_s is not None
            else "0"
        )
    elif live_duration and state in ANSWERED:
        duration = str(math.floor(call.talk_s(ts)))
    root = f"{api}/Accounts/{account}/Calls/{call.id}"
    body: dict[str, Any] = {
        "account_sid": account,
        "annotation": None,
        "answered_by": call.extra.get("answered_by") if state in ANSWERED or ended else None,
        "api_version": "2010-04-01",
        "caller_name": call.caller_name or "",
        "date_created": rfc2822(call.created_ts),
        "date_updated": rfc2822(min(ts, call.end_ts)),
        "direction": call.native_direction,
        "duration": duration,
        "end_time": rfc2822(call.end_ts) if ended else None,
        "forwarded_from": call.extra.get("forwarded_from"),
        "from": call.from_number,
        "from_formatted": call.from_number,
        "group_sid": None,
        "parent_call_sid": call.parent_call_uuid,
        "phone_number_sid": call.extra.get("phone_number_sid"),
        "price": "-0.01400" if ended and call.answer_s is not None else None,
        "price_unit": "USD",
        "sid": call.id,
        "start_time": rfc2822(dialled) if ts >= dialled else None,
        "status": status,
        "subresource_uris": {
            "notifications": f"{root}/Notifications.json",
            "recordings": f"{root}/Recordings.json",
            "streams": f"{root}/Streams.json",
            "payments": f"{root}/Payments.json",
        },
        "to": call.to_number,
        "to_formatted": call.to_number,
        "trunk_sid": None,
        "uri": f"{root}.json",
        "queue_time": str(call.extra.get("queue_time_ms", 0)),
    }
    if older:
        for key in ("queue_time", "trunk_sid", "group_sid"):
            del body[key]
        del body["subresource_uris"]["streams"], body["subresource_uris"]["payments"]
    return body


def _participant(
    call: SimCall,
    account: str,
    api: str,
    sid: str,
    label: str,
    *,
    muted: bool,
    hold: bool = False,
    coaching: bool = False,
    coached: str | None = None,
) -> dict[str, Any]:
    conference = call.conference_uuid
    return {
        "account_sid": account,
        "call_sid": sid,
        "label": label,
        "call_sid_to_coach": coached,
        "coaching": coaching,
        "conference_sid": conference,
        "date_created": rfc2822(call.created_ts + (call.answer_s or call.ring_s)),
        "date_updated": rfc2822(call.created_ts + (call.answer_s or call.ring_s)),
        "end_conference_on_exit": label == "customer",
        "muted": muted,
        "hold": hold,
        "status": "connected",
        "start_conference_on_enter": True,
        "queue_time": "0",
        "uri": f"{api}/Accounts/{account}/Conferences/{conference}/Participants/{sid}.json",
    }


def compat_participants(call: SimCall, ts: float, account: str, api: str = API) -> list[dict[str, Any]]:
    """The conference the call talks in: the customer (the call), the agent's leg, maybe a coach."""
    state = call.state_at_ts(ts)
    agent_muted, customer_muted = call.muted_at_ts(ts)
    agent_leg = str(call.extra["agent_leg"])
    found = [
        _participant(call, account, api, call.id, "customer", muted=customer_muted, hold=state == "on_hold"),
        _participant(call, account, api, agent_leg, "agent", muted=agent_muted),
    ]
    coach = call.extra.get("coach_leg")
    if isinstance(coach, str):
        found.append(
            _participant(call, account, api, coach, "coach", muted=False, coaching=True, coached=agent_leg)
        )
    return found


def compat_conference(call: SimCall, ts: float, account: str, api: str = API) -> dict[str, Any]:
    conference = call.conference_uuid
    root = f"{api}/Accounts/{account}/Conferences/{conference}"
    return {
        "account_sid": account,
        "api_version": "2010-04-01",
        "call_sid_ending_conference": None,
        "date_created": rfc2822(call.created_ts + (call.answer_s or call.ring_s)),
        "date_updated": rfc2822(ts),
        "friendly_name": f"support-{call.id[-6:]}",
        "reason_conference_ended": None,
        "region": "us1",
        "sid": conference,
        "status": "in-progress",
        "subresource_uris": {
            "participants": f"{root}/Participants.json",
            "recordings": f"{root}/Recordings.json",
        },
        "uri": f"{root}.json",
    }


def page_of(
    key: str,
    items: list[dict[str, Any]],
    path: str,
    query: dict[str, str],
    page: int,
    size: int,
    *,
    older: bool = False,
) -> dict[str, Any]:
    """One page of a Twilio list, with its paging fields; ``next_page_uri`` when more follow."""
    shown = items[page * size : (page + 1) * size]

    def uri(number: int, token: str | None = None) -> str:
        params = {**query, "PageSize": str(size), "Page": str(number)}
        if token:
            params["PageToken"] = token
        return f"{path}?{urlencode(params)}"

    more = (page + 1) * size < len(items)
    last = shown[-1] if shown else None
    token = f"PA{last.get('sid') or last.get('call_sid')}" if more and last else None
    body: dict[str, Any] = {
        key: shown,
        "end": page * size + max(len(shown), 1) - 1,
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1, token) if more else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": page * size,
        "uri": uri(page),
    }
    if older:
        pages = max(1, math.ceil(len(items) / size))
        body.update({"total": len(items), "num_pages": pages, "last_page_uri": uri(pages - 1)})
    return body
