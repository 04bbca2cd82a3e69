"""The providers' documented example payloads, found by the provider's name.

Each provider keeps its examples verbatim as JSON in its own folder, as package data:
``providers/<name>/examples/<example>.json``; its ``simulated.py`` docstring says where each one
comes from. ``Simulator(fixtures=True)`` answers them from the real API routes (a provider without
examples answers nothing in that mode). ``load_fixture("<name>_<example>")`` is the older,
one-name spelling of ``load_example(name, example)``.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any, Final

__all__ = ["FIXTURE_NAMES", "example_names", "load_example", "load_fixture"]

_PROVIDERS: Final = files("mcp_livecalls").joinpath("providers")


def _folder(provider: str) -> Traversable:
    return _PROVIDERS.joinpath(provider, "examples")


@cache
def example_names(provider: str) -> tuple[str, ...]:
    """The examples ``provider`` keeps (empty when it keeps none)."""
    folder = _folder(provider)
    if not folder.is_dir():
        return ()
    return tuple(sorted(i.name.removesuffix(".json") for i in folder.iterdir() if i.name.endswith(".json")))


@cache
def _text(provider: str, name: str) -> str:
    return _folder(provider).joinpath(f"{name}.json").read_text(encoding="utf-8")


def load_example(provider: str, name: str) -> Any:
    """A fresh copy of ``provider``'s example ``name`` (with or without ``.json``)."""
    stem = name.removesuffix(".json")
    if stem not in example_names(provider):
        known = ", ".join(example_names(provider)) or "none"
        raise KeyError(f"unknown example {name!r} of {provider!r}; known: {known}")
    return json.loads(_text(provider, stem))


FIXTURE_NAMES: Final[tuple[str, ...]] = tuple(
    f"{folder.name}_{example}"
    for folder in sorted(_PROVIDERS.iterdir(), key=lambda item: item.name)
    if folder.is_dir()
    for example in example_names(folder.name)
)
"""Every provider's examples as ``<provider>_<example>``."""


def load_fixture(name: str) -> Any:
    """A fresh copy of the example ``<provider>_<example>`` (with or without ``.json``)."""
    stem = name.removesuffix(".json")
    if stem not in FIXTURE_NAMES:
        raise KeyError(f"unknown fixture {name!r}; known: {', '.join(FIXTURE_NAMES)}")
    provider, _, example = stem.partition("_")
    return load_example(provider, example)
