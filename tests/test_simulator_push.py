"""The simulator pushes each provider's signed status callbacks over real loopback HTTP, verified
by the server's own readers and by the providers' SDKs (oracles), with each delivery fault."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from plivo.utils.signature_v3 import validate_v3_signature
from retell.lib.webhook_auth import symmetric
from signalwire.core.security.webhook_validator import validate_request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator
from vonage_jwt.verify_jwt import verify_signature

from mcp_livecalls.cli import simulator_settings
from mcp_livecalls.core.models import CallStatus
from mcp_livecalls.providers.hooks import WebhookEvent, WebhookRefused, parse_request
from mcp_livecalls.providers.registry import build_readers
from mcp_livecalls.simulator import DEMO_CREDENTIALS, ManualClock, Simulator, serve_asgi, serve_simulator
from mcp_livecalls.simulator.push import Delivery, PushFaults

pytestmark = pytest.mark.anyio

PUSHING = {"twilio", "plivo", "vobiz", "exotel", "retell", "telnyx", "vonage", "vapi", "signalwire"}
ORACLES = {"twilio", "plivo", "retell", "vonage", "signalwire"}
"""The pushing providers whose SDKs on PyPI verify a signature (Vapi's ships no verifier)."""
LIVE = {"ringing": CallStatus.RINGING, "in_progress": CallStatus.IN_PROGRESS, "on_hold": CallStatus.ON_HOLD}


@dataclass(frozen=True)
class Received:
    url: str
    headers: dict[str, str]
    body: bytes


class Inbox:
    """A receiver that keeps every request it is sent and answers 204."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/webhooks/{rest:path}", self._take, methods=["POST"])])

    async def _take(self, request: Request) -> Response:
        with self._lock:
            self.received.append(Received(str(request.url), dict(request.headers), await request.body()))
        return Response(status_code=204)


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, str]]:
    box = Inbox()
    with serve_asgi(box.app, name="inbox") as url:
        yield box, url


@pytest.fixture
def pushing(clock: ManualClock, inbox: tuple[Inbox, str]) -> Iterator[Simulator]:
    simulator = Simulator(seed=11, clock=clock)
    with serve_simulator(simulator):
        simulator.pusher.push_to(inbox[1])
        yield simulator


async def _settled(simulator: Simulator) -> list[Delivery]:
    with anyio.fail_after(30):
        return await anyio.to_thread.run_sync(simulator.pusher.settled, 30.0)


def _read(simulator: Simulator, received: Received) -> list[WebhookEvent]:
    settings = simulator_settings("http://127.0.0.1:1", simulator.pusher.credentials(DEMO_CREDENTIALS))
    readers = {name.value: reader for name, reader in build_readers(settings.providers).items()}
    path = received.url.split("/webhooks/", 1)[1].split("/")
    request = parse_request(
        "POST", received.url, received.headers, received.body, path_token=path[1] if len(path) > 1 else None
    )
    return list(readers[path[0]].read(request, simulator.clock.now()))


async def test_every_pushing_providers_callbacks_are_verified_and_say_the_calls_new_state(
    pushing: Simulator, clock: ManualClock, inbox: tuple[Inbox, str]
) -> None:
    clock.advance(600)
    deliveries = await _settled(pushing)

    assert {d.callback.provider for d in deliveries} == PUSHING
    assert [d.status for d in deliveries] == [204] * len(deliveries)
    assert len(inbox[0].received) == len(deliveries)
    for delivery, received in zip(deliveries, inbox[0].received, strict=True):
        [event] = _read(pushing, received)
        change = delivery.callback.change
        assert event.call_id == change.call.id
        if event.kind == "hint":  # Vobiz signs no body: the server reads the call instead
            continue
        if change.state in LIVE:
            assert event.status is LIVE[change.state]
        elif change.state == "ended":
            assert event.status in (CallStatus.ENDED, CallStatus.FAILED)


def _oracle(simulator: Simulator, received: Received, provider: str) -> bool:
    account = simulator.credentials.settings_for(provider)
    headers = received.headers
    form = parse_request("POST", received.url, headers, received.body).form
    params = {name: values[0] for name, values in form.items()}
    if provider == "twilio":
        validator = RequestValidator(account["auth_token"])
        return bool(validator.validate(received.url, params, headers["x-twilio-signature"]))
    if provider == "plivo":
        nonce, signature = headers["x-plivo-signature-v3-nonce"], headers["x-plivo-signature-v3"]
        return bool(
            validate_v3_signature("POST", received.url, nonce, account["auth_token"], signature, params)
        )
    if provider == "retell":
        stamp = int(simulator.clock.now().timestamp() * 1000)
        signature, body = headers["x-retell-signature"], received.body.decode()
        return bool(symmetric["verify"](body, account["api_key"], signature, {"timestamp": stamp}))
    if provider == "signalwire":
        signature = headers["x-signalwire-signature"]
        return validate_request(account["signing_key"], signature, received.url, received.body.decode())
    secret = simulator.pusher.settings()["vonage"]["signature_secret"]
    return bool(verify_signature(headers["authorization"].removeprefix("Bearer "), secret))


async def test_the_providers_own_sdks_verify_the_simulators_signatures(
    pushing: Simulator, clock: ManualClock, inbox: tuple[Inbox, str]
) -> None:
    clock.advance(600)
    deliveries = await _settled(pushing)

    checked: dict[str, list[bool]] = {}
    for delivery, received in zip(deliveries, inbox[0].received, strict=True):
        provider = delivery.callback.provider
        if provider in ORACLES:
            checked.setdefault(provider, []).append(_oracle(pushing, received, provider))

    assert set(checked) == ORACLES
    assert all(all(results) for results in checked.values())


async def _pushed_with(
    simulator: Simulator, clock: ManualClock, faults: PushFaults, seconds: float
) -> list[Delivery]:
    simulator.pusher.faults = faults
    clock.advance(seconds)
    deliveries = await _settled(simulator)
    assert deliveries  # the calls changed, so there was something to push
    return deliveries


async def test_duplicated_callbacks_are_the_same_request_twice(
    pushing: Simulator, clock: ManualClock, inbox: tuple[Inbox, str]
) -> None:
    deliveries = await _pushed_with(pushing, clock, PushFaults(duplicate=True), 120)

    received = inbox[0].received
    assert len(received) == len(deliveries)
    assert received[0::2] == received[1::2]


async def test_out_of_order_callbacks_arrive_newest_first(pushing: Simulator, clock: ManualClock) -> None:
    deliveries = await _pushed_with(pushing, clock, PushFaults(reorder=True), 300)

    times = [d.callback.change.at for d in deliveries]
    assert len(set(times)) > 1
    assert times == sorted(times, reverse=True)


async def test_dropped_callbacks_are_never_sent(
    pushing: Simulator, clock: ManualClock, inbox: tuple[Inbox, str]
) -> None:
    deliveries = await _pushed_with(pushing, clock, PushFaults(drop=1.0), 120)

    assert all(d.dropped and d.status is None for d in deliveries)
    assert inbox[0].received == []


async def test_delayed_callbacks_still_arrive(
    pushing: Simulator, clock: ManualClock, inbox: tuple[Inbox, str]
) -> None:
    deliveries = await _pushed_with(pushing, clock, PushFaults(delay_s=0.05), 60)

    assert [d.status for d in deliveries] == [204] * len(deliveries)
    assert len(inbox[0].received) == len(deliveries)


async def test_wrongly_signed_callbacks_are_refused_by_every_reader(
    pushing: Simulator, clock: ManualClock, inbox: tuple[Inbox, str]
) -> None:
    deliveries = await _pushed_with(pushing, clock, PushFaults(wrong_signature=True), 600)

    assert {d.callback.provider for d in deliveries} == PUSHING
    refused: list[Any] = []
    for received in inbox[0].received:
        with pytest.raises(WebhookRefused) as caught:
            _read(pushing, received)
        refused.append(caught.value.reason)
    assert refused == ["signature"] * len(deliveries)
