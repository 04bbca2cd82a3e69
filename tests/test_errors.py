"""The error tree: every foreign exception is translated in one place, messages stay clean."""

from __future__ import annotations

import inspect
import json

import httpx2
import pydantic
import pytest

from mcp_livecalls import errors
from mcp_livecalls.errors import (
    AmbiguousCall,
    BadResponse,
    CallNotFound,
    InvalidArgument,
    LiveCallsError,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from mcp_livecalls.upstream.translate import translate_errors


def _httpx2_exception_classes() -> list[type[Exception]]:
    return sorted(
        (
            obj
            for _, obj in inspect.getmembers(httpx2, inspect.isclass)
            if issubclass(obj, Exception) and obj.__module__.startswith("httpx2")
        ),
        key=lambda cls: cls.__name__,
    )


def _instance(cls: type[Exception]) -> Exception:
    request = httpx2.Request("GET", "https://user:secret-token@api.example/x?auth=secret-token")
    response = httpx2.Response(500, request=request)
    if issubclass(cls, httpx2.HTTPStatusError):
        return cls("boom https://api.example/secret-token", request=request, response=response)
    if issubclass(cls, httpx2.RequestError):
        return cls("boom https://api.example/secret-token", request=request)
    if issubclass(cls, httpx2.StreamError | httpx2.InvalidURL | httpx2.CookieConflict):
        return cls("boom https://api.example/secret-token")
    return cls("boom https://api.example/secret-token")


@pytest.mark.parametrize("cls", _httpx2_exception_classes(), ids=lambda cls: cls.__name__)
def test_every_httpx2_exception_is_translated_into_the_error_tree(cls: type[Exception]) -> None:
    with pytest.raises(LiveCallsError) as caught, translate_errors("exotel"):
        raise _instance(cls)

    assert "secret-token" not in str(caught.value)
    assert "https://" not in str(caught.value)


def test_transport_failures_become_provider_unavailable_naming_the_provider() -> None:
    with (
        pytest.raises(ProviderUnavailable, match="Zudu could not be reached") as caught,
        translate_errors("zudu"),
    ):
        raise httpx2.ConnectError("connection refused", request=httpx2.Request("GET", "http://x"))
    assert caught.value.provider == "zudu"


def test_timeouts_become_provider_unavailable() -> None:
    with pytest.raises(ProviderUnavailable, match="did not answer in time"), translate_errors("vobiz"):
        raise httpx2.ReadTimeout("slow", request=httpx2.Request("GET", "http://x"))


@pytest.mark.parametrize(
    "exc",
    [
        json.JSONDecodeError("Expecting value", "", 0),
        KeyError("calls"),
        TypeError("not a dict"),
        ValueError("bad date"),
    ],
)
def test_unreadable_payloads_become_bad_response(exc: Exception) -> None:
    with pytest.raises(BadResponse), translate_errors("vobiz"):
        raise exc


def test_a_validation_error_names_fields_but_never_values() -> None:
    class Payload(pydantic.BaseModel):
        call_uuid: str

    with pytest.raises(BadResponse) as caught, translate_errors("vobiz"):
        Payload.model_validate({"call_uuid": {"secret": "value-xyz"}})

    assert "call_uuid" in str(caught.value)
    assert "value-xyz" not in str(caught.value)


def test_the_tree_is_what_the_module_docstring_draws() -> None:
    assert errors.__doc__ is not None
    for name in errors.__all__:
        assert name in errors.__doc__
    assert issubclass(AmbiguousCall, InvalidArgument)
    for cls in (CallNotFound, RateLimited, ProviderUnavailable, BadResponse, errors.AuthError):
        assert issubclass(cls, ProviderError)


def test_messages_tell_what_happened_and_what_to_do() -> None:
    assert str(RateLimited("exotel", 2.0)) == "Exotel is rate limiting requests (429). Retry after 2s."
    assert str(CallNotFound("vobiz", "abc")) == (
        "Vobiz has no live call 'abc': it is not live (it may have ended) or the id is wrong."
    )
    assert str(AmbiguousCall("c1", ["exotel", "zudu"])) == (
        "Call id 'c1' is live at more than one provider (exotel, zudu); "
        "call again with provider set to one of them."
    )
