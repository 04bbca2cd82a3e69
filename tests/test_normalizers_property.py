"""Property: whatever JSON a provider sends, a normalizer answers a model or raises ``BadResponse``.

Each normalizer runs inside ``translate_errors`` exactly as the adapters run it, on two kinds of
input: random JSON-like values (with the keys the providers use, so they reach deep into the
parsers) and mutations of the documentation's example payloads (values replaced, keys deleted,
values wrapped, plus the simulator's payload faults). Nothing else may escape: no ``KeyError``,
``OverflowError``, ``RecursionError``… that the server would turn into a generic tool failure.
Python's ``json`` reads ``NaN``, ``Infinity`` and huge numbers, so those are generated too.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mcp_livecalls.core.models import LiveCall, MediaStream, StreamDetails
from mcp_livecalls.errors import BadResponse, CallNotFound, ProviderError
from mcp_livecalls.providers.exotel.adapter import (
    exotel_call_from_stream,
    normalize_exotel_active_call,
    normalize_exotel_active_page,
    normalize_exotel_stream,
)
from mcp_livecalls.providers.vobiz.adapter import _media_streams, _uuid_list, normalize_vobiz_call
from mcp_livecalls.providers.zudu.adapter import (
    _list_page,
    normalize_zudu_call,
    normalize_zudu_stream,
    unwrap_zudu,
)
from mcp_livecalls.simulator import load_fixture
from mcp_livecalls.simulator.faults import PAYLOAD_KINDS, mutate_payload
from mcp_livecalls.upstream.translate import translate_errors

_T = TypeVar("_T")

NOW = datetime(2024, 6, 15, 10, 35, tzinfo=UTC)
EXAMPLES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(EXAMPLES, max_examples=100)


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


FIXTURES = ("vobiz_live_plivo", "vobiz_live_flat", "exotel_active", "exotel_stream", "zudu_call")
KNOWN_KEYS = sorted(
    {key for name in FIXTURES for key in _keys(load_fixture(name))}
    | {"calls", "objects", "pagination", "has_next_page", "total_pages", "total", "data", "http_code"}
)
WORDS = [
    "",
    " ",
    "ACTIVE",
    "in-progress",
    "ONGOING",
    "REGISTERED",
    "ENDED",
    "inbound",
    "OUTBOUND",
    "error",
    "success",
    "404",
    "²",
    "NaN",
    "call-456",
    "2024-06-15T10:30:00Z",
    "2024-06-15T10:30:00.000Z",
    "2014-10-15 09:03:43",
    "9999-12-31T23:59:59-05:00",
    "0001-01-01 00:00:00+05:00",
    "not a date",
]

NASTY_NUMBERS: list[Any] = [
    0,
    -1,
    10**30,
    -(10**18),
    1e20,
    1e300,
    -1e300,
    1.7976931348623157e308,
    float("inf"),
    float("-inf"),
    float("nan"),
    True,
]
NASTY_TEXTS = ["", "9999-12-31T23:59:59-05:00", "0001-01-01 00:00:00+05:00", "NaN", "²", "x" * 10_000]

scalars = (
    st.none()
    | st.sampled_from(NASTY_NUMBERS)
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(WORDS)
    | st.text(max_size=20)
)
keys = st.sampled_from(KNOWN_KEYS) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=12,
)
json_objects = st.dictionaries(keys, json_values, max_size=6)


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Every node below the root, as the keys and indexes leading to it."""
    items: list[tuple[str | int, Any]] = (
        list(value.items())
        if isinstance(value, dict)
        else list(enumerate(value))
        if isinstance(value, list)
        else []
    )
    for key, item in items:
        yield (*prefix, key)
        yield from _paths(item, (*prefix, key))


def _parent(root: Any, path: tuple[str | int, ...]) -> Any:
    node = root
    for step in path[:-1]:
        node = node[step]
    return node


@st.composite
def mutated(draw: st.DrawFn, fixture: str) -> Any:
    """A documentation example with a few values replaced, deleted or wrapped (and maybe a sim fault)."""
    payload = load_fixture(fixture)
    if draw(st.booleans()):
        route = (
            "stream"
            if fixture == "exotel_stream"
            else "list_calls"
            if fixture == "exotel_active"
            else "get_call"
        )
        provider = fixture.split("_")[0]
        payload = mutate_payload(draw(st.sampled_from(sorted(PAYLOAD_KINDS))), provider, route, payload)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = list(_paths(payload))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(payload, path), path[-1]
        action = draw(st.sampled_from(["replace", "delete", "wrap"]))
        if action == "delete":
            del parent[last]
        elif action == "wrap":
            parent[last] = draw(st.sampled_from([[parent[last]], {"value": parent[last]}]))
        else:
            parent[last] = draw(json_values)
    return payload


def outcome(provider: str, normalize: Callable[[], _T], *, not_found: bool = False) -> _T | None:
    """The model, or ``None`` when the adapter would get a ``BadResponse`` (or, where the payload
    may say so, ``CallNotFound``). Any other exception propagates and fails the property."""
    try:
        with translate_errors(provider):
            return normalize()
    except ProviderError as exc:
        if not isinstance(exc, BadResponse) and not (not_found and isinstance(exc, CallNotFound)):
            raise
        error = exc
    assert error.provider == provider
    assert str(error).startswith(provider.capitalize())  # the message names the provider
    return None


def _vobiz(payload: Any) -> None:
    call = outcome("vobiz", lambda: normalize_vobiz_call(payload, now=NOW))
    if call is not None:
        assert isinstance(call, LiveCall)
        call.structured()
    ids = outcome("vobiz", lambda: _uuid_list(payload))
    assert ids is None or all(isinstance(i, str) for i in ids)
    streams = outcome("vobiz", lambda: _media_streams(payload))
    assert streams is None or all(isinstance(s, MediaStream) for s in streams)


def _exotel_active(payload: Any) -> None:
    page = outcome("exotel", lambda: normalize_exotel_active_page(payload, now=NOW))
    if page is not None:
        calls, total = page
        assert all(isinstance(call, LiveCall) for call in calls)
        assert total is None or isinstance(total, int)
    item = outcome("exotel", lambda: normalize_exotel_active_call(payload, now=NOW))
    assert item is None or isinstance(item, LiveCall)


def _exotel_stream(payload: Any) -> None:
    details = outcome(
        "exotel", lambda: normalize_exotel_stream(payload, call_id="call_active_001"), not_found=True
    )
    if details is not None:
        assert isinstance(details, StreamDetails)
        details.structured()
        call = outcome("exotel", lambda: exotel_call_from_stream(details))
        assert call is None or isinstance(call, LiveCall)


def _zudu_record(record: Any) -> None:
    call = outcome("zudu", lambda: normalize_zudu_call(record, now=NOW, requested_id="call-456"))
    assert call is None or isinstance(call, LiveCall)
    stream = outcome("zudu", lambda: normalize_zudu_stream(record, now=NOW))
    assert stream is None or isinstance(stream, StreamDetails)
    listed = outcome("zudu", lambda: _list_page(record, 0, 20))
    assert listed is None or isinstance(listed.records, list)


def _zudu(payload: Any) -> None:
    data = outcome("zudu", lambda: unwrap_zudu(payload))
    if data is not None:
        _zudu_record(data)
    _zudu_record(payload)


NORMALIZERS: dict[str, Callable[[Any], None]] = {
    "vobiz_live_plivo": _vobiz,
    "vobiz_live_flat": _vobiz,
    "exotel_active": _exotel_active,
    "exotel_stream": _exotel_stream,
    "zudu_call": _zudu,
}


@pytest.mark.parametrize("fixture", FIXTURES)
def test_the_documentation_examples_normalize_to_models(fixture: str) -> None:
    """The unmutated examples are the baseline: they must parse."""
    payload = load_fixture(fixture)
    if fixture.startswith("vobiz"):
        assert isinstance(normalize_vobiz_call(payload, now=NOW), LiveCall)
    elif fixture == "exotel_active":
        assert normalize_exotel_active_page(payload, now=NOW)[0]
    elif fixture == "exotel_stream":
        assert isinstance(normalize_exotel_stream(payload, call_id="call_active_001"), StreamDetails)
    else:
        assert isinstance(normalize_zudu_call(unwrap_zudu(payload), now=NOW), LiveCall)


def _leaves(value: Any) -> Iterator[tuple[str | int, ...]]:
    for path in _paths(value):
        if not isinstance(_parent(value, path)[path[-1]], dict | list):
            yield path


@pytest.mark.parametrize("fixture", FIXTURES)
def test_every_field_of_the_examples_survives_every_nasty_value(fixture: str) -> None:
    """Exhaustively: each scalar of each example replaced by each of a few hostile values."""
    example = load_fixture(fixture)
    for path in _leaves(example):
        for nasty in [*NASTY_NUMBERS, *NASTY_TEXTS, None, [], {}]:
            payload = copy.deepcopy(example)
            _parent(payload, path)[path[-1]] = nasty
            NORMALIZERS[fixture](payload)


@pytest.mark.parametrize("fixture", FIXTURES)
@FEWER
@given(data=st.data())
def test_a_mutated_example_gives_a_model_or_a_bad_response(fixture: str, data: st.DataObject) -> None:
    payload = data.draw(mutated(fixture))
    NORMALIZERS[fixture](copy.deepcopy(payload))


@EXAMPLES
@given(payload=json_values | json_objects)
def test_random_json_gives_a_model_or_a_bad_response(payload: Any) -> None:
    for normalize in (_vobiz, _exotel_active, _exotel_stream, _zudu):
        normalize(copy.deepcopy(payload))


@FEWER
@given(envelope=json_objects, record=json_objects)
def test_random_records_inside_real_envelopes_give_a_model_or_a_bad_response(
    envelope: dict[str, Any], record: dict[str, Any]
) -> None:
    _vobiz({**envelope, "calls": [record]})
    _exotel_active({"http_code": 200, "response": {**envelope, "active_calls": [record]}})
    _exotel_stream({"http_code": 200, "response": {"stream": {**record, "legs": [envelope, record]}}})
    _zudu({"status": "success", "data": {**record, "latency": {"e2e": envelope}, "events": [envelope]}})
    _zudu({"status": "success", "data": {"calls": [record], "pagination": envelope}})
