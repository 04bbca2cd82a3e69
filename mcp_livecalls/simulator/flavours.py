"""Flavours: documented variants of a provider's answers that the simulator can play.

The providers' own documents, SDKs and OpenAPI files disagree in places (see the README's
"Providers" section). Each variant the adapters must survive is a flavour here, so the loopback
and MCP-level tests run against every one of them, not only against the reading the simulator
was first written from. ``Simulator(flavours={"vobiz.paged", ...})`` switches them on; names are
``<provider>.<variant>`` and each provider's set is declared next to the others below.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["EXOTEL_FLAVOURS", "FLAVOURS", "VOBIZ_FLAVOURS", "ZUDU_FLAVOURS", "check_flavours"]

VOBIZ_FLAVOURS: frozenset[str] = frozenset(
    {
        # Without a flavour the UUID lists answer every call at once (Vobiz documents no paging;
        # the queued list stops at 20, as documented), in UTC, with either path form.
        "vobiz.paged",  # Plivo's limit (1-20, default 20) and offset honoured on both lists
        "vobiz.offset_ignored",  # limit honoured, offset ignored: every request answers the first page
        "vobiz.legacy_shape",  # single calls in the Plivo-style {"calls": [{"call_state": ...}]} shape
        "vobiz.no_slash",  # only /Call and /Call/{uuid} answer (OpenAPI); a trailing slash gets 401
        "vobiz.idle_404",  # an empty list answers a 404 in Vobiz's JSON error shape
        "vobiz.local_time",  # zone-less times in Asia/Kolkata (the Console's zone); streams with +05:30
    }
)

EXOTEL_FLAVOURS = frozenset({"exotel.page_b", "exotel.stream_404_ringing", "exotel.details_alt"})

ZUDU_FLAVOURS: frozenset[str] = frozenset(
    {
        "zudu.lower_case",  # every enum answered in lower case (the OpenAPI page's examples)
        "zudu.agent_id_array",  # the list takes agent_id only as an array; a string is a 400
        "zudu.agent_id_string",  # the list takes agent_id only as a string; an array is a 400
        "zudu.call_id_only",  # list entries carry call_id and no id
        "zudu.data_storage_setting",  # records carry Retell's data_storage_setting, not the opt-out flag
    }
)

FLAVOURS: frozenset[str] = VOBIZ_FLAVOURS | EXOTEL_FLAVOURS | ZUDU_FLAVOURS


def check_flavours(flavours: Iterable[str]) -> frozenset[str]:
    """The flavours as a set, refusing names the simulator does not know."""
    chosen = frozenset(flavours)
    unknown = sorted(chosen - FLAVOURS)
    if unknown:
        raise ValueError(f"unknown simulator flavour(s) {unknown}; known: {sorted(FLAVOURS)}")
    return chosen
