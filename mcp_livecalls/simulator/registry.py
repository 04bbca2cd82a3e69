"""The simulated providers, loaded from the catalog's names: ``providers/<name>/simulated.py`` each,
and the status callbacks of those that push (``providers/<name>/callbacks.py``)."""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec

from mcp_livecalls.core.catalog import NAMES
from mcp_livecalls.simkit.base import SimulatedProvider
from mcp_livecalls.simkit.callbacks import CallbackMaker

__all__ = ["CALLBACKS", "SIMULATED"]


def _load(name: str) -> type[SimulatedProvider]:
    module = import_module(f"mcp_livecalls.providers.{name}.simulated")
    simulated = getattr(module, "SIMULATED", None)
    if not (isinstance(simulated, type) and issubclass(simulated, SimulatedProvider)):
        raise ImportError(f"{module.__name__} must name its SimulatedProvider as SIMULATED")
    return simulated


SIMULATED: tuple[type[SimulatedProvider], ...] = tuple(_load(name) for name in NAMES)
"""In the catalog's order: adding a provider to the simulator is its folder's ``simulated.py``."""


def _load_callbacks(name: str) -> type[CallbackMaker] | None:
    """The folder's status callbacks (``callbacks.py``), or ``None`` when the provider pushes none."""
    where = f"mcp_livecalls.providers.{name}.callbacks"
    if find_spec(where) is None:
        return None
    maker = getattr(import_module(where), "CALLBACKS", None)
    if not (isinstance(maker, type) and issubclass(maker, CallbackMaker) and maker.name == name):
        raise ImportError(f"{where} must name its CallbackMaker for {name!r} as CALLBACKS")
    return maker


CALLBACKS: tuple[type[CallbackMaker], ...] = tuple(
    maker for name in NAMES if (maker := _load_callbacks(name)) is not None
)
"""The providers whose simulated APIs push status callbacks (``simulator.push``), in the catalog's order."""
