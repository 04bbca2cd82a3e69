"""Flavours: documented variants of a provider's answers that the simulator can play.

The providers' own documents, SDKs and OpenAPI files disagree in places (see the README's
"Providers" section). Each variant the adapters must survive is a flavour here, so the loopback
and MCP-level tests run against every one of them, not only against the reading the simulator
was first written from. ``Simulator(flavours={"vobiz.paged", ...})`` switches them on; names are
``<provider>.<variant>``, and each provider declares its set in its own module
(``VobizSimulation.flavours`` …).
"""

from __future__ import annotations

from collections.abc import Iterable

from mcp_livecalls.simulator.registry import SIMULATED

__all__ = ["FLAVOURS", "check_flavours"]

FLAVOURS: frozenset[str] = frozenset().union(*(simulated.flavours for simulated in SIMULATED))
"""Every provider's flavours (each declared in its ``simulator/<name>.py``)."""


def check_flavours(flavours: Iterable[str]) -> frozenset[str]:
    """The flavours as a set, refusing names the simulator does not know."""
    chosen = frozenset(flavours)
    unknown = sorted(chosen - FLAVOURS)
    if unknown:
        raise ValueError(f"unknown simulator flavour(s) {unknown}; known: {sorted(FLAVOURS)}")
    return chosen
