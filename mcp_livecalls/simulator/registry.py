"""The simulated providers, one per provider of the registry: ``simulator/<name>.py`` each."""

from __future__ import annotations

from importlib import import_module

from mcp_livecalls.providers.registry import PROVIDERS
from mcp_livecalls.simkit.base import SimulatedProvider

__all__ = ["SIMULATED"]


def _simulation(name: str) -> type[SimulatedProvider]:
    module = import_module(f"mcp_livecalls.providers.{name}.simulated")
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, SimulatedProvider) and value is not SimulatedProvider
    ]
    if len(found) != 1:
        raise ImportError(f"mcp_livecalls.providers.{name}.simulated must define one SimulatedProvider")
    return found[0]


SIMULATED: tuple[type[SimulatedProvider], ...] = tuple(_simulation(cls.name.value) for cls in PROVIDERS)
"""In the registry's order: adding a provider to the simulator is its one new module."""
