"""The registry line of every provider: its name and how prose names it; nothing else is listed.

Below every adapter: the models (``ProviderName``), the HTTP policy (messages name a provider by
its title) and the simulator read it without importing any adapter; it imports only the error
tree, whose messages it teaches the titles. Each name is a folder,
``mcp_livecalls/providers/<name>/``, holding its adapter and its simulated API; the adapters are
loaded from there by ``mcp_livecalls.providers.registry``.
"""

from __future__ import annotations

from typing import Final

from mcp_livecalls import errors

__all__ = ["CATALOG", "NAMES", "names", "title_of", "titles"]

CATALOG: Final[tuple[tuple[str, str], ...]] = (
    ("vobiz", "Vobiz"),
    ("exotel", "Exotel"),
    ("zudu", "Zudu"),
    ("plivo", "Plivo"),
    ("retell", "Retell AI"),
    ("twilio", "Twilio"),
    ("telnyx", "Telnyx"),
    ("vonage", "Vonage"),
    ("vapi", "Vapi"),
    ("signalwire", "SignalWire"),
)
"""``(name, title)`` per provider, in the order every listing follows: one line a provider."""

NAMES: Final[tuple[str, ...]] = tuple(name for name, _ in CATALOG)
_TITLES: Final[dict[str, str]] = dict(CATALOG)
errors.TITLES.update(_TITLES)  # the error messages name a provider as prose does


def title_of(name: str) -> str:
    """How prose names the provider ``name`` (``Retell AI``)."""
    return _TITLES.get(name, name.capitalize())


def titles(last: str = "and") -> str:
    """``Vobiz, Exotel, … and Vonage``: every provider's title, for prose."""
    return join_words([title for _, title in CATALOG], last)


def names(last: str = "and") -> str:
    """``vobiz, exotel, … or vonage``: every provider's name as a caller writes it."""
    return join_words(list(NAMES), last)


def join_words(words: list[str], last: str) -> str:
    if not words:
        return "no provider"
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"
