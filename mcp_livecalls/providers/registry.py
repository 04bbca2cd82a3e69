"""The one list of providers: everything that names "every provider" derives from ``PROVIDERS``.

Config loading, ``build_providers``, the CLI's texts, the server's descriptions and instructions,
the simulator's banner, the examples and the benchmarks read this tuple; a new provider is one
adapter module (its settings, environment variables, capabilities, error envelope, quirks) and
one entry here.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from mcp_livecalls.providers.base import LiveCallsProvider

__all__ = ["NAMES", "PROVIDERS", "names", "provider_class", "title_of", "titles", "titles_offering"]

NAMES: Final[tuple[str, ...]] = ("vobiz", "exotel", "zudu", "plivo", "retell", "twilio")
"""The one list, in the order every listing follows. Each name is an adapter module
(``providers/<name>.py``) and a simulated API (``simulator/<name>.py``)."""

if TYPE_CHECKING:
    PROVIDERS: tuple[type[LiveCallsProvider], ...]
    """The adapter classes, in the order of ``NAMES`` (loaded on first use: ``mcp_livecalls.core.models``
    reads ``NAMES`` before any adapter can be imported)."""

_loaded: list[tuple[type[LiveCallsProvider], ...]] = []


def _adapters() -> tuple[type[LiveCallsProvider], ...]:
    if not _loaded:
        from mcp_livecalls.providers.base import LiveCallsProvider

        found: list[type[LiveCallsProvider]] = []
        for name in NAMES:
            module = import_module(f"mcp_livecalls.providers.{name}.adapter")
            classes = [
                value
                for value in vars(module).values()
                if isinstance(value, type)
                and issubclass(value, LiveCallsProvider)
                and value.__module__ == module.__name__
                and getattr(value, "name", None) == name
            ]
            if len(classes) != 1:
                raise ImportError(f"{module.__name__} must define one LiveCallsProvider named {name!r}")
            found.append(classes[0])
        _loaded.append(tuple(found))
    return _loaded[0]


def __getattr__(attribute: str) -> Any:
    if attribute == "PROVIDERS":
        return _adapters()
    raise AttributeError(f"module {__name__!r} has no attribute {attribute!r}")


def provider_class(name: str) -> type[LiveCallsProvider] | None:
    return next((cls for cls in _adapters() if cls.name.value == name), None)


def title_of(name: str) -> str:
    """How prose names the provider ``name`` (``Retell AI``): its adapter's ``title()``."""
    cls = provider_class(name)
    return cls.title() if cls is not None else name.capitalize()


def titles(last: str = "and") -> str:
    """``Vobiz, Exotel and Zudu``: every provider's title, for prose."""
    return _join([cls.title() for cls in _adapters()], last)


def names(last: str = "and") -> str:
    """``vobiz, exotel or zudu``: every provider's name as a caller writes it."""
    return _join([cls.name.value for cls in _adapters()], last)


def titles_offering(field: str) -> str:
    """``Zudu``: the titles of the providers whose calls carry ``field`` (their capabilities)."""
    return _join([cls.title() for cls in _adapters() if field in cls.capabilities.fields], "and")


def _join(words: list[str], last: str) -> str:
    if not words:
        return "no provider"
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"
