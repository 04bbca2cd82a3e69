"""The simulated providers, loaded from the catalog's names: ``providers/<name>/simulated.py`` each."""

from __future__ import annotations

from importlib import import_module

from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.simkit.base import SimulatedProvider

__all__ = ["SIMULATED"]


def _load(name: str) -> type[SimulatedProvider]:
    module = import_module(f"mcp_livecalls.providers.{name}.simulated")
    simulated = getattr(module, "SIMULATED", None)
    if not (isinstance(simulated, type) and issubclass(simulated, SimulatedProvider)):
        raise ImportError(f"{module.__name__} must name its SimulatedProvider as SIMULATED")
    return simulated


SIMULATED: tuple[type[SimulatedProvider], ...] = tuple(_load(name) for name in NAMES)
"""In the catalog's order: adding a provider to the simulator is its folder's ``simulated.py``."""
