"""Credentials never leave the process: not in tool results, resources, logs, stderr or reprs.

Every credential gets a distinctive value, the simulator accepts exactly those, and the whole
fault matrix runs with every logger at DEBUG (``httpcore2``'s raw response headers included).
Vobiz and Exotel put the account id in request paths and Exotel sends ``key:token`` as basic
auth; a hostile provider echoes all of it back in error bodies and headers, raw, base64,
URL-encoded or upper-cased. Every one of those forms is searched for, ignoring case.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import anyio
import httpx2
import pytest
from mcp import Client
from mcp_types import TextContent, TextResourceContents

from mcp_livecalls.cli import _configure_logging, simulator_settings
from mcp_livecalls.config import Settings
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import AuthError, LiveCallsError
from mcp_livecalls.providers.registry import NAMES, build_providers, provider_class
from mcp_livecalls.providers.registry import PROVIDERS as PROVIDERS_BY_CLASS
from mcp_livecalls.server.build import create_server
from mcp_livecalls.simkit.calls import Provider
from mcp_livecalls.simulator import (
    DEMO_CREDENTIALS,
    Fault,
    ManualClock,
    Simulator,
    SimulatorCredentials,
    serve_simulator,
)
from mcp_livecalls.simulator.faults import FAULT_KINDS
from mcp_livecalls.upstream.policy import HttpPolicy
from mcp_livecalls.upstream.redact import LOG_FILTER, Redactor, install_log_redaction

pytestmark = pytest.mark.anyio

CREDENTIALS = SimulatorCredentials(
    vobiz_auth_id="MAvzQ7acct4Kp9",
    vobiz_auth_token="vzTOKEN-r8Wm2Xq5",
    exotel_account_sid="exoSID7Hq3Zt",
    exotel_api_key="exoKEY-Jm5Vt2Qa",
    exotel_api_token="exoTOKEN-Lr8Wd6Yc",
    zudu_api_key="sk_zuKEY3Fb9Ue",
    zudu_api_secret="zuSECRET-Gn2Ck7Pt",
)
WRONG_TOKENS = {name: f"{name[:3]}WRONG-{index:04d}a1b2" for index, name in enumerate(NAMES)}
"""A wrong value for each provider's last credential field (its token, secret or key)."""
PROVIDERS: list[Provider] = list(NAMES)
POLICY = HttpPolicy(connect_timeout_s=30, read_timeout_s=30, request_timeout_s=30, tool_budget_s=60)
"""Patient: a loaded machine never turns an answer into a timeout."""
HANG_POLICY = HttpPolicy(connect_timeout_s=30, read_timeout_s=0.3, request_timeout_s=0.5, tool_budget_s=2)
"""Short timeouts for the hang fault only: every request then hangs (the simulator never answers),
so they change how soon the test ends, never what it finds."""
WAIT_S = 30.0
"""How far above the expected time a wait is bounded."""


CREDENTIAL_VALUES = [
    *(
        value
        for cls in PROVIDERS_BY_CLASS
        for field, value in CREDENTIALS.settings_for(cls.name.value).items()
        if field in {item.field for item in cls.env.settings if item.kind == "secret"}
    ),
    *WRONG_TOKENS.values(),
]


def encoded_forms(value: str) -> list[str]:
    """The forms a credential travels in: raw, URL-encoded, base64 (standard, URL-safe, unpadded)."""
    raw = value.encode()
    encoded = [base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    return [value, quote(value, safe=""), *encoded, *(form.rstrip("=") for form in encoded)]


def _last_secret(name: str) -> str:
    cls = provider_class(name)
    assert cls is not None
    configured = set(CREDENTIALS.settings_for(name))
    return [item.field for item in cls.env.settings if item.kind == "secret" and item.field in configured][-1]


def settings_for(
    base_url: str, *, tokens: dict[str, str] | None = None, policy: HttpPolicy = POLICY
) -> Settings:
    """Every provider at ``base_url`` with ``CREDENTIALS``; ``tokens`` replace a provider's last
    credential field (its token or secret)."""
    credentials = CREDENTIALS.replace(
        **{f"{name}_{_last_secret(name)}": token for name, token in (tokens or {}).items()}
    )
    return simulator_settings(base_url, credentials).with_changes(http=policy, cache_ttl_s=0)


def _pairs(settings: Settings) -> list[str]:
    """The joined credential pairs (basic auth's ``key:token``) each adapter registers as secrets."""
    return [
        f"{a}:{b}"
        for cls in PROVIDERS_BY_CLASS
        if (configured := settings.provider(cls.name)) is not None
        for a, b in cls.redaction_pairs(configured)
    ]


CREDENTIAL_VALUES += _pairs(settings_for("http://upstream.test"))
CREDENTIAL_VALUES += _pairs(settings_for("http://upstream.test", tokens=WRONG_TOKENS))
SECRETS = sorted({form.lower() for value in CREDENTIAL_VALUES for form in encoded_forms(value)})
"""Searched for in lower-cased text, so upper-cased (or any other case) echoes count as leaks."""


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Simulator, str]]:
    simulator = Simulator(seed=5, clock=ManualClock(), credentials=CREDENTIALS)
    with serve_simulator(simulator) as base_url:
        yield simulator, base_url


@pytest.fixture
def sim(served: tuple[Simulator, str]) -> Iterator[Simulator]:
    simulator = served[0]
    simulator.faults.clear()
    yield simulator
    simulator.faults.clear()


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG, whatever an earlier test or the CLI set (it quiets httpx2).

    Except uvicorn's: here uvicorn only serves the simulator, which stands in for the providers'
    own servers, and its access log (off, as configured) would be the provider's log, not ours.
    """
    caplog.set_level(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and not name.startswith("uvicorn"):
            caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@asynccontextmanager
async def connected(settings: Settings, sim: Simulator) -> AsyncIterator[Client]:
    async with Client(create_server(settings, now=sim.clock.now)) as client:
        yield client


async def everything_a_client_sees(client: Client, sim: Simulator) -> list[str]:
    """Every tool (per provider and across providers) and every resource, at once; their texts."""
    seen: list[str] = []

    async def tool(name: str, arguments: dict[str, Any]) -> None:
        result = await client.call_tool(name, arguments)
        seen.extend(block.text for block in result.content if isinstance(block, TextContent))
        seen.append(json.dumps(result.structured_content))

    async def resource(uri: str) -> None:
        try:
            result = await client.read_resource(uri)
        except Exception as exc:  # noqa: BLE001 - a failed read is content too
            seen.append(f"{type(exc).__name__}: {exc}")
            return
        seen.extend(c.text for c in result.contents if isinstance(c, TextResourceContents))

    with anyio.fail_after(POLICY.tool_budget_s + WAIT_S):
        async with anyio.create_task_group() as group:
            group.start_soon(tool, "list_active_calls", {"limit": 100})
            group.start_soon(resource, "livecalls://providers")
            group.start_soon(resource, "livecalls://calls/active")
            for provider in PROVIDERS:
                call_id = sim.population.live(provider)[0].id
                group.start_soon(tool, "list_active_calls", {"provider": provider})
                group.start_soon(tool, "get_live_call", {"call_id": call_id, "provider": provider})
                group.start_soon(tool, "get_live_call", {"call_id": call_id})
                group.start_soon(tool, "get_stream_details", {"call_id": call_id, "provider": provider})
                group.start_soon(resource, f"livecalls://calls/{provider}/{call_id}")
                group.start_soon(resource, f"livecalls://calls/{provider}/{call_id}/stream")
    return seen


def leaks(texts: list[str], caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> list[str]:
    """Where any secret shows up: tool and resource texts, log records (all fields), stdout/stderr."""
    places = {f"result {i}": text for i, text in enumerate(texts)}
    for record in caplog.records:
        fields = {key: value for key, value in vars(record).items() if key not in ("msg", "args")}
        places[f"log {record.name}"] = f"{record.getMessage()} {record.exc_text or ''} {fields!r}"
    out, err = capfd.readouterr()
    places["stdout"], places["stderr"] = out, err
    return [
        f"{secret} in {where}"
        for where, text in places.items()
        for secret in SECRETS
        if secret in text.lower()
    ]


ECHOED_HEADERS = ("x-auth-id", "x-auth-token", "authorization", "x-api-key", "x-api-secret")


def _fault(kind: str, **fields: Any) -> Fault:
    return Fault.model_validate({"kind": kind, **fields})


# Statuses are listed one by one below; hostile text has its own tests (test_text_safety).
NOT_ABOUT_CREDENTIALS = ("status", "line_injection", "bidi_text", "nul_text", "huge_ids")
FAULTS = [
    *(pytest.param(_fault(kind), id=kind) for kind in FAULT_KINDS if kind not in NOT_ABOUT_CREDENTIALS),
    *(
        pytest.param(_fault("status", status_code=code), id=f"status_{code}")
        for code in (400, 401, 403, 404, 429, 500, 502, 503, 504)
    ),
]


@pytest.mark.parametrize("fault", FAULTS)
async def test_no_fault_makes_a_credential_show_up_anywhere(
    served: tuple[Simulator, str],
    sim: Simulator,
    fault: Fault,
    everything_logged: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    if fault.kind == "latency":
        fault = fault.model_copy(update={"delay_s": 0.05})
    policy = HANG_POLICY if fault.kind == "hang" else POLICY
    async with connected(settings_for(served[1], policy=policy), sim) as client:
        sim.faults.inject(fault)
        texts = await everything_a_client_sees(client, sim)
        sim.faults.clear()

    assert len(texts) > 20
    assert leaks(texts, everything_logged, capfd) == []
    assert everything_logged.records  # the logs were really captured


async def test_a_clean_run_logs_requests_with_the_account_ids_redacted(
    served: tuple[Simulator, str],
    sim: Simulator,
    everything_logged: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    async with connected(settings_for(served[1]), sim) as client:
        texts = await everything_a_client_sees(client, sim)

    assert leaks(texts, everything_logged, capfd) == []
    requests = [r.getMessage() for r in everything_logged.records if r.name == "httpx2"]
    assert any("/api/v1/Account/***/Call/" in line for line in requests)
    assert any("/v3/accounts/***/calls/" in line for line in requests)


async def test_rejected_credentials_name_the_variables_but_never_echo_the_token(
    served: tuple[Simulator, str],
    sim: Simulator,
    everything_logged: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    async with connected(settings_for(served[1], tokens=WRONG_TOKENS), sim) as client:
        texts = await everything_a_client_sees(client, sim)
        lookups = {
            provider: await client.call_tool(
                "get_live_call", {"call_id": sim.population.live(provider)[0].id, "provider": provider}
            )
            for provider in PROVIDERS
        }

    assert leaks(texts, everything_logged, capfd) == []
    for provider, result in lookups.items():
        cls = provider_class(provider)
        assert cls is not None
        text = "".join(block.text for block in result.content if isinstance(block, TextContent))
        assert result.is_error
        said = text.partition(f"{cls.title()} rejected the credentials (401): check ")[2]
        named = said.partition(".")[0].split(" / ")
        assert named
        assert set(named) <= {item.var for item in cls.env.settings if item.kind == "secret"}, said


async def test_an_upstream_that_echoes_the_credentials_in_its_error_is_redacted() -> None:
    """A provider error body quoting the key, token and account id reaches no message unredacted."""

    async def echo(request: httpx2.Request) -> httpx2.Response:
        sent = [request.headers.get(name, "") for name in ECHOED_HEADERS]
        said = f"denied: {' '.join(value for value in sent if value)} at {request.url.path}"
        if request.url.path.startswith("/v3/accounts/"):  # Exotel's error shape
            return httpx2.Response(403, json={"response": {"error_data": {"description": said}}})
        if request.url.path.startswith("/2010-04-01/"):  # Twilio's
            return httpx2.Response(403, json={"code": 20003, "message": said, "status": 403})
        return httpx2.Response(403, json={"status": "error", "error": {"message": said}})

    settings = settings_for("http://upstream.test")
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(echo)) as client:
        providers = build_providers(settings.providers, settings.http, client, lambda: datetime.now(UTC))
        population = Simulator(seed=5, clock=ManualClock()).population
        messages: list[str] = []
        for name, adapter in providers.items():
            # An id in the provider's own form (Vapi finds no call under an id that is not a UUID).
            with pytest.raises(AuthError) as caught:
                await adapter.get_call(population.live(name.value)[0].id)
            messages.append(str(caught.value))
            with pytest.raises(LiveCallsError) as listed:
                await adapter.list_active(ListQuery(), 0, 5)
            messages.append(str(listed.value))

    assert all("refused access (403)" in message for message in messages)
    assert all("***" in message for message in messages)  # the echoed body was kept, redacted
    assert [m for m in messages if any(secret in m.lower() for secret in SECRETS)] == []


async def test_credentials_never_appear_in_reprs() -> None:
    settings = settings_for("http://upstream.test")
    async with httpx2.AsyncClient() as client:
        providers = build_providers(settings.providers, settings.http, client, lambda: datetime.now(UTC))
    shown = [
        repr(settings),
        str(settings),
        *(repr(configured) for configured in settings.providers.values()),
        repr(providers),
        *(repr(adapter) for adapter in providers.values()),
        *(repr(adapter.http) for adapter in providers.values()),
        *(repr(adapter.http.redact) for adapter in providers.values()),
        repr(create_server(settings)),
    ]

    assert [text for text in shown if any(secret in text.lower() for secret in SECRETS)] == []


@pytest.mark.parametrize("status_code", [403, 503])
@pytest.mark.parametrize("echo", ["raw", "base64", "urlencoded", "upper"])
async def test_a_provider_echoing_credentials_in_bodies_and_headers_leaks_nothing(
    served: tuple[Simulator, str],
    sim: Simulator,
    echo: str,
    status_code: int,
    everything_logged: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    async with connected(settings_for(served[1]), sim) as client:
        sim.faults.inject(_fault("credential_echo", echo=echo, status_code=status_code))
        texts = await everything_a_client_sees(client, sim)

    assert leaks(texts, everything_logged, capfd) == []
    # The echo really arrived: kept in the errors (redacted), and httpcore2 logged its headers.
    assert any("says: denied for ***" in text for text in texts)
    headers = [r.getMessage().lower() for r in everything_logged.records if r.name.startswith("httpcore2")]
    assert any("x-echo-0" in line and "***" in line for line in headers)


@pytest.mark.parametrize("prefix", ["", "a", "ab"])
def test_a_secret_inside_a_longer_base64_value_is_caught_at_every_alignment(prefix: str) -> None:
    secret = CREDENTIALS.zudu_api_secret
    redact = Redactor([secret])
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        text = encode(f"{prefix}{secret}:and more".encode()).decode()
        redacted = redact(text)

        assert "***" in redacted
        assert redact(f"x-{text.upper()}-y") != f"x-{text.upper()}-y"


def test_the_redactor_knows_every_encoded_form_and_ignores_case() -> None:
    key, token = CREDENTIALS.exotel_api_key, CREDENTIALS.exotel_api_token
    redact = Redactor([key, token], pairs=[(key, token)])
    forms = [form for value in (key, token, f"{key}:{token}") for form in encoded_forms(value)]

    for form in forms:
        for shown in (form, form.upper(), form.lower()):
            assert redact(f"said {shown}.") == "said ***."
    assert redact("nothing secret here") == "nothing secret here"


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_every_record_of_any_logger_is_scrubbed_message_traceback_and_extras() -> None:
    secret = CREDENTIALS.zudu_api_secret
    LOG_FILTER.register(redactor := Redactor([secret]))
    handler = _Kept()
    install_log_redaction([handler])
    logger = logging.getLogger("a.library.nobody.configured")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        try:
            raise ValueError(f"upstream said {secret}")
        except ValueError:
            logger.exception(
                "failed with %s", secret.upper(), extra={"header": base64.b64encode(secret.encode()).decode()}
            )
    finally:
        logger.removeHandler(handler)

    shown = logging.Formatter("%(message)s %(header)s").format(handler.records[0])
    assert "failed with ***" in shown
    assert "ValueError: upstream said ***" in shown
    assert [form for form in SECRETS if form in shown.lower()] == []
    assert LOG_FILTER in handler.filters
    assert redactor in LOG_FILTER.redactors


def test_the_cli_quiets_httpx2_and_httpcore2_and_filters_the_stderr_handler_it_makes() -> None:
    root = logging.getLogger()
    hosts, level = root.handlers[:], root.level
    root.handlers.clear()  # as in a fresh process: the CLI makes its own stderr handler
    try:
        _configure_logging("DEBUG")
        made = root.handlers[:]
    finally:
        root.handlers[:] = hosts
        root.setLevel(level)

    assert logging.getLogger("httpx2").level == logging.WARNING
    assert logging.getLogger("httpcore2").level == logging.WARNING
    assert made
    assert all(LOG_FILTER in handler.filters for handler in made)
    assert not any(LOG_FILTER in handler.filters for handler in hosts)  # a host's handlers untouched


def test_overlapping_secrets_and_length_changing_case_mappings_are_still_masked_whole() -> None:
    redact = Redactor(["abcdef123", "def123xyz"])

    assert redact("<abcdef123xyz>") == "<***>"
    assert redact("İstanbul ABCDEF123 then def123XYZ") == "İstanbul *** then ***"  # "İ".lower() is 2 chars


async def test_a_credential_inside_a_successful_answer_is_masked_in_every_result() -> None:
    """A provider that puts a credential in a call's own data (here: an agent id) reaches no output.

    Nothing upstream of the server middleware knows this value is secret in this place: only the
    one scrub every answer passes catches it, in tool text, structured content and resources.
    """
    simulator = Simulator(seed=7, clock=ManualClock())
    call = next(c for c in simulator.population.live("zudu") if c.agent is not None)
    assert call.agent is not None
    secret = call.agent.id
    simulator.credentials = DEMO_CREDENTIALS.replace(zudu_api_secret=secret)
    with serve_simulator(simulator) as base_url:
        settings = simulator_settings(base_url, simulator.credentials).with_changes(cache_ttl_s=0)
        async with connected(settings, simulator) as client:
            results = [
                await client.call_tool("list_active_calls", {"provider": "zudu", "limit": 100}),
                await client.call_tool("get_live_call", {"call_id": call.id, "provider": "zudu"}),
            ]
            resource = await client.read_resource(f"livecalls://calls/zudu/{call.id}")

    shown = [block.text for result in results for block in result.content if isinstance(block, TextContent)]
    shown += [json.dumps(result.structured_content) for result in results]
    shown += [c.text for c in resource.contents if isinstance(c, TextResourceContents)]
    assert not any(result.is_error for result in results)
    assert [text for text in shown if secret.lower() in text.lower()] == []
    assert all("***" in text for text in shown)
