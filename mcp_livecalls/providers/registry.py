"""The one list of providers: everything that names "every provider" derives from ``PROVIDERS``.

Config loading, ``build_providers``, the CLI's texts, the server's descriptions and instructions,
the simulator's banner, the examples and the benchmarks read this tuple; a new provider is one
adapter module (its settings, environment variables, capabilities, error envelope, quirks) and
one entry here.
"""

from __future__ import annotations

from mcp_livecalls.providers.base import LiveCallsProvider
from mcp_livecalls.providers.exotel import ExotelProvider
from mcp_livecalls.providers.vobiz import VobizProvider
from mcp_livecalls.providers.zudu import ZuduProvider

__all__ = ["PROVIDERS", "names", "provider_class", "titles", "titles_offering"]

PROVIDERS: tuple[type[LiveCallsProvider], ...] = (VobizProvider, ExotelProvider, ZuduProvider)


def provider_class(name: str) -> type[LiveCallsProvider] | None:
    return next((cls for cls in PROVIDERS if cls.name.value == name), None)


def titles(last: str = "and") -> str:
    """``Vobiz, Exotel and Zudu``: every provider's title, for prose."""
    return _join([cls.title() for cls in PROVIDERS], last)


def names(last: str = "and") -> str:
    """``vobiz, exotel or zudu``: every provider's name as a caller writes it."""
    return _join([cls.name.value for cls in PROVIDERS], last)


def titles_offering(field: str) -> str:
    """``Zudu``: the titles of the providers whose calls carry ``field`` (their capabilities)."""
    return _join([cls.title() for cls in PROVIDERS if field in cls.capabilities.fields], "and")


def _join(words: list[str], last: str) -> str:
    if not words:
        return "no provider"
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"
