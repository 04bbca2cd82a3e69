"""Every provider string the board can show, derived from the normalized models, and where each
one comes from in a real upstream answer (so a hostile value can be planted there).

A path reads like ``calls[].agent.name`` (the list answer, ``ActiveCallsPage``) or
``details.legs[].contact`` (``get_stream_details``, ``StreamDetails``); ``[]`` is every item of a
list, ``*`` every value of a dict. Enums, dates, numbers and booleans are not free text and are
left out; a field added to a model is in :data:`STRING_PATHS` at once.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from mcp_livecalls.core.models import ActiveCallsPage, StreamDetails

__all__ = ["NORMALIZED", "REFUSED", "SERVER_MADE", "STRING_PATHS", "UNFILLED", "values_at"]


def _paths(annotation: Any, path: str) -> Iterator[str]:
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is str:
        yield path
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            yield from _paths(field.annotation, f"{path}.{name}" if path else name)
    elif origin in (Union, types.UnionType):
        for arm in args:
            yield from _paths(arm, path)
    elif origin is list:
        yield from _paths(args[0], path + "[]")
    elif origin is dict:
        yield from _paths(args[1], path + ".*")


STRING_PATHS: tuple[str, ...] = (
    *_paths(ActiveCallsPage, ""),
    *_paths(StreamDetails, "details"),
)


def values_at(data: Any, path: str) -> Iterator[str]:
    """Every string at ``path`` in ``data`` (structured output: dicts and lists)."""
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    key = head.removesuffix("[]")
    if key == "*":
        found = list(data.values()) if isinstance(data, dict) else []
    elif isinstance(data, dict) and key in data:
        found = [data[key]]
    else:
        found = []
    if many:
        found = [item for value in found if isinstance(value, list) for item in value]
    for value in found:
        if rest:
            yield from values_at(value, rest)
        elif isinstance(value, str):
            yield value


# -- the fields the planted-text test treats apart, and why ----------------------------------------

SERVER_MADE: dict[str, str] = {
    "next_cursor": "an opaque cursor the server writes (the board only says more calls exist)",
    "notes[]": "the server's own notes (which filters it applied locally)",
    "details.not_offered[]": "each adapter's fixed list of what its provider's API lacks",
}
"""String fields no provider fills: nothing can be planted upstream for them."""

REFUSED: dict[str, str] = {
    "calls[].call_id": "call left out: the provider sent an id that is not valid",
    "details.call_id": "answered with a call id that is not valid",
}
"""Fields whose hostile value the adapters refuse (an id must be safe in a URL): the board shows
the refusal, the probe's characters named in it, and runs nothing."""

NORMALIZED: dict[str, str] = {
    "calls[].cost.currency": "a currency is a code the adapters check",
    "details.legs[].role": "the adapters map a party's role onto agent or customer",
    "details.telephony_ids.*": "telephony ids are kept only when they are safe ids",
}
"""Fields whose hostile value the adapters replace or drop before any output."""

UNFILLED: dict[str, str] = {
    "calls[].stir_attestation": "the simulated providers send no attestation worth keeping",
    "calls[].legs[].leg_id": "lists carry no legs (get_stream_details does)",
    "calls[].legs[].role": "lists carry no legs",
    "calls[].legs[].contact": "lists carry no legs",
    "calls[].legs[].provider_status": "lists carry no legs",
    "calls[].legs[].network": "lists carry no legs",
    "calls[].recording.channels": "lists carry no recording channels",
    "calls[].transcript[].role": "lists carry no transcript",
    "calls[].transcript[].text": "lists carry no transcript",
    "details.media_streams[].stream_id": "no simulated call at the start has a media stream",
    "details.media_streams[].status": "no simulated call at the start has a media stream",
    "details.media_streams[].audio_track": "no simulated call at the start has a media stream",
}
"""Fields no simulated answer fills: the crafted-answer test covers the board's side of them."""
