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

VOBIZ_FLAVOURS: frozenset[str] = frozenset()

EXOTEL_FLAVOURS = frozenset({"exotel.page_b", "exotel.stream_404_ringing", "exotel.details_alt"})

ZUDU_FLAVOURS: frozenset[str] = frozenset()

FLAVOURS: frozenset[str] = VOBIZ_FLAVOURS | EXOTEL_FLAVOURS | ZUDU_FLAVOURS


def check_flavours(flavours: Iterable[str]) -> frozenset[str]:
    """The flavours as a set, refusing names the simulator does not know."""
    chosen = frozenset(flavours)
    unknown = sorted(chosen - FLAVOURS)
    if unknown:
        raise ValueError(f"unknown simulator flavour(s) {unknown}; known: {sorted(FLAVOURS)}")
    return chosen
