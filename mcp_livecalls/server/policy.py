"""The output policy, applied to the models before anything is rendered, so the structured
content and the text always agree: detail level (``brief`` keeps the recent transcript turns and
events), number masking (``LIVECALLS_MASK_NUMBERS``), and what the signed-in caller may see
(``core.views``: without ``livecalls:pii`` numbers keep their last 4 digits and transcripts go).
"""

from __future__ import annotations

from typing import Literal, TypeVar

from mcp_livecalls.core.models import ActiveCallsPage, CallLeg, LiveCall, StreamDetails
from mcp_livecalls.core.phone import dialable
from mcp_livecalls.core.views import CallerView, caller_view

__all__ = ["BRIEF_EVENTS", "Detail", "mask_number", "prepare_call", "prepare_page", "prepare_stream"]

Detail = Literal["brief", "full"]

BRIEF_EVENTS = 5


def mask_number(number: str | None) -> str | None:
    """Keep only the last 4 digits of the number: ``+919148227303`` → ``…7303``.

    Numbers arrive normalized (E.164, see ``mcp_livecalls.core.phone``); in a URI only its user part
    counts (``sip:+919148227303@gw.example`` → ``…7303``, not the gateway's digits).
    """
    if not number:
        return number
    digits = [ch for ch in dialable(number) if ch.isascii() and ch.isdigit()]
    if len(digits) <= 4:
        return number
    return "…" + "".join(digits[-4:])


def _mask_leg(leg: CallLeg) -> CallLeg:
    return leg.model_copy(update={"contact": mask_number(leg.contact)})


_M = TypeVar("_M", LiveCall, StreamDetails)


def _tail(model: _M, keep_turns: int, keep_events: int | None) -> _M:
    update: dict[str, object] = {}
    # Slices from an index, not ``[-keep:]``: keeping 0 must keep nothing (``[-0:]`` is everything).
    omitted_turns = len(model.transcript) - keep_turns
    if omitted_turns > 0:
        update["transcript"] = model.transcript[omitted_turns:]
        update["transcript_turns_omitted"] = omitted_turns + (model.transcript_turns_omitted or 0)
    if isinstance(model, StreamDetails) and keep_events is not None:
        omitted_events = len(model.events) - keep_events
        if omitted_events > 0:
            update["events"] = model.events[omitted_events:]
            update["events_omitted"] = omitted_events + (model.events_omitted or 0)
    return model.model_copy(update=update) if update else model


def _without_pii(model: _M, mask: bool, view: CallerView | None) -> tuple[_M, bool]:
    """The caller's view applied (``view``, else the current caller's): without ``livecalls:pii``
    numbers are masked and transcripts (and a caller's name) left out, whatever ``mask`` says;
    with it, ``mask`` decides."""
    if (caller_view() if view is None else view).pii:
        return model, mask
    update: dict[str, object] = {"transcript": [], "transcript_turns_omitted": None}
    if isinstance(model, LiveCall):
        update["caller_name"] = None
    return model.model_copy(update=update), True


def prepare_call(
    call: LiveCall,
    *,
    detail: Detail = "brief",
    mask: bool = False,
    turns: int = 6,
    view: CallerView | None = None,
) -> LiveCall:
    call, mask = _without_pii(call, mask, view)
    if detail == "brief":
        call = _tail(call, turns, None)
    if mask:
        call = call.model_copy(
            update={
                "from_number": mask_number(call.from_number),
                "to_number": mask_number(call.to_number),
                "legs": [_mask_leg(leg) for leg in call.legs],
            }
        )
    return call


def prepare_stream(
    details: StreamDetails,
    *,
    detail: Detail = "brief",
    mask: bool = False,
    turns: int = 6,
    view: CallerView | None = None,
) -> StreamDetails:
    details, mask = _without_pii(details, mask, view)
    if detail == "brief":
        details = _tail(details, turns, BRIEF_EVENTS)
    if mask:
        details = details.model_copy(update={"legs": [_mask_leg(leg) for leg in details.legs]})
    return details


def prepare_page(
    page: ActiveCallsPage, *, mask: bool = False, view: CallerView | None = None
) -> ActiveCallsPage:
    """Lists carry summaries: transcripts and events belong to the single-call tools."""
    view = caller_view() if view is None else view  # once for the page, not once a call
    calls = [
        prepare_call(call, detail="brief", mask=mask, turns=0, view=view).model_copy(
            update={"transcript": [], "transcript_turns_omitted": None}
        )
        for call in page.calls
    ]
    return page.model_copy(update={"calls": calls})


# -- small formats -------------------------------------------------------------------------
