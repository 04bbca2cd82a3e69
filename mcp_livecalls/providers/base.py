"""The interface every provider adapter implements, and the paging logic they share.

An adapter turns one provider's JSON into ``mcp_livecalls.core.models``; it never sees httpx2 (it
asks ``ProviderHTTP`` for JSON) and never renders text. Upstream paging differs per provider
(UUID list, offset/limit, 0-based pages); ``scan`` gives them one shape: from an upstream
*offset*, collect up to ``limit`` calls that pass the filters the provider could not apply
itself, remembering for each call the upstream offset just after it. The aggregator pages
across providers with those offsets, so no call is skipped or repeated.
"""

from __future__ import annotations

import dataclasses
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, ClassVar, Literal, TypeVar

import anyio
import httpx2
from pydantic import BaseModel, ConfigDict

from mcp_livecalls.core.catalog import title_of
from mcp_livecalls.core.models import Direction, LiveCall, ProviderInfo, ProviderName, StreamDetails
from mcp_livecalls.core.query import FILTERS, ListQuery
from mcp_livecalls.errors import BadResponse, InvalidArgument, LiveCallsError
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.pacing import LOCAL_PACING, Pacing
from mcp_livecalls.upstream.policy import HttpPolicy
from mcp_livecalls.upstream.translate import EnvelopeError, find_message

__all__ = [
    "Capabilities",
    "EnvSetting",
    "EnvSpec",
    "LiveCallsProvider",
    "Positioned",
    "ProviderSlice",
    "RawPayload",
    "UpstreamPage",
    "gather",
    "parse_direction",
    "scan",
]

_T = TypeVar("_T")

MAX_SCAN_PAGES = 10
"""Upstream pages one list call reads at most while filtering locally (bounds the work)."""


@dataclass(frozen=True)
class Positioned:
    call: LiveCall
    next_offset: int
    """The upstream offset just after this call: where the next page starts if it is the last taken."""


@dataclass(frozen=True)
class ProviderSlice:
    items: list[Positioned]
    exhausted: bool
    """True when nothing lies upstream beyond ``scanned_to``."""
    scanned_to: int
    """The upstream offset where scanning stopped: the next page starts here once every item is taken."""
    total: int | None = None
    local_filters: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What is partial about this slice (a part of the provider that failed, a list cut short)."""


@dataclass(frozen=True)
class UpstreamPage:
    calls: list[LiveCall | None]
    """One entry per upstream item; ``None`` for an item that vanished (ended between requests)."""
    exhausted: bool
    total: int | None = None


@dataclass(frozen=True)
class Capabilities:
    upstream_filters: tuple[str, ...]
    fields: tuple[str, ...]
    not_offered: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnvSetting:
    """One setting of a provider read from one environment variable."""

    field: str
    var: str
    kind: Literal["secret", "text", "number"] = "secret"
    minimum: float = 0.0
    """For a number: the smallest value accepted."""


@dataclass(frozen=True)
class EnvSpec:
    """Where a provider's settings come from: its variables, which are secret, its default URL.

    A provider is enabled when its secret variables are set; a half-set provider is a
    ``ConfigError`` naming the missing variable (``mcp_livecalls.config`` reads the spec).
    """

    prefix: str
    """Every variable is ``<prefix>_<FIELD>`` (``VOBIZ_AUTH_ID`` for ``auth_id``)."""
    default_base_url: str
    secrets: tuple[str, ...]
    """The credential fields: all set enables the provider, none disables it."""
    texts: tuple[str, ...] = ()
    numbers: tuple[tuple[str, float], ...] = ()
    """Number fields, each with the smallest value accepted."""
    alternatives: tuple[tuple[str, ...], ...] = ()
    """Credential sets of which one is enough (Twilio: an auth token, or an API key and secret).
    Their fields are listed in ``secrets`` too; the secrets outside every set are always needed,
    and a set that is half set is a ``ConfigError``. A field of a set left unset is ``None``."""

    @property
    def base_url_var(self) -> str:
        return f"{self.prefix}_BASE_URL"

    @property
    def settings(self) -> tuple[EnvSetting, ...]:
        def var(field_name: str) -> str:
            return f"{self.prefix}_{field_name.upper()}"

        return (
            *(EnvSetting(name, var(name)) for name in self.secrets),
            *(EnvSetting(name, var(name), kind="text") for name in self.texts),
            *(EnvSetting(name, var(name), kind="number", minimum=low) for name, low in self.numbers),
        )

    @property
    def secret_vars(self) -> tuple[str, ...]:
        return tuple(item.var for item in self.settings if item.kind == "secret")

    def var(self, field_name: str) -> str:
        return next(item.var for item in self.settings if item.field == field_name)

    @property
    def ways(self) -> tuple[tuple[str, ...], ...]:
        """Each complete set of credential variables that enables the provider (one without
        ``alternatives``)."""
        chosen = {name for group in self.alternatives for name in group}
        always = tuple(self.var(name) for name in self.secrets if name not in chosen)
        if not self.alternatives:
            return (always,)
        return tuple((*always, *(self.var(name) for name in group)) for group in self.alternatives)


_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
MAX_CALL_ID_LENGTH = 64
"""The one call-id length limit: tools, resource templates and subscriptions use it alike."""


def call_id_error(
    call_id: str, *, max_length: int = MAX_CALL_ID_LENGTH, provider: str | None = None
) -> InvalidArgument:
    """The error for an unsafe call id; names a provider only when the caller chose one."""
    where = f" for {provider}" if provider else ""
    return InvalidArgument(
        f"call_id must be 1-{max_length} characters of letters, digits, '-' or '_'{where}; "
        f"got {_describe(call_id)}."
    )


class LiveCallsProvider(ABC):
    """One telephony provider's live-call API."""

    name: ClassVar[ProviderName]
    capabilities: ClassVar[Capabilities]
    max_call_id_length: ClassVar[int] = MAX_CALL_ID_LENGTH
    credential_vars: ClassVar[tuple[str, ...]]
    """The variables a 401 or 403 points at."""
    env: ClassVar[EnvSpec]
    settings_type: ClassVar[Callable[..., Any]]
    """The settings dataclass, made from the fields of ``env`` (``base_url`` included)."""
    call_id_words: ClassVar[str]
    """What the provider calls a call id, for the tools' argument description (``Vobiz call_uuid``)."""
    bare_digits_international: ClassVar[bool] = False
    """The provider writes numbers as E.164 digits without ``+`` (Vobiz, Plivo): bare digits
    are then read as international first (see ``mcp_livecalls.core.phone``)."""

    def __init__(self, http: ProviderHTTP) -> None:
        self.http = http

    @classmethod
    def title(cls) -> str:
        """How prose names this provider: its line of ``mcp_livecalls.core.catalog``."""
        return title_of(cls.name.value)

    @classmethod
    def create(
        cls,
        settings: Any,
        client: httpx2.AsyncClient,
        policy: HttpPolicy,
        now: Callable[[], datetime],
        pacing: Pacing = LOCAL_PACING,
    ) -> LiveCallsProvider:
        """The adapter for ``settings`` (an instance of ``settings_type``), on the shared client,
        its requests paced as ``pacing`` says (``build_providers`` settles it per account)."""
        raise NotImplementedError(f"{cls.__name__} is not built from settings")

    @classmethod
    def envelope_error(cls, payload: Any) -> EnvelopeError | None:
        """An error the provider reports inside a 2xx answer's envelope; ``ProviderHTTP`` raises it
        (redacted) before the adapter's parse function sees the payload."""
        return None

    @classmethod
    def error_message(cls, payload: Any) -> str | None:
        """The provider's own message in an error (4xx/5xx) body, for the error it becomes."""
        return find_message(payload)

    @classmethod
    def pacing_account(cls, settings: Any) -> str:
        """Which account a provider's rate limit counts against, for pacing shared by replicas
        (empty: the provider documents no per-account limit)."""
        return ""

    @classmethod
    def redaction_pairs(cls, settings: Any) -> list[tuple[str, str]]:
        """Credential pairs that travel joined (basic auth's ``key:token``): redacted as pairs too."""
        return []

    def vet_call_id(self, call_id: str) -> None:
        """``BadResponse`` when the provider answered a call under an id a caller could not use."""
        if not self.accepts_call_id(call_id):
            title = self.title()
            raise BadResponse(
                self.name.value,
                f"{title} answered with a call id that is not valid ({_describe(call_id)}; ids are "
                f"1-{self.max_call_id_length} letters, digits, '-' or '_'): the answer was refused.",
            )

    @classmethod
    def _provider_http(
        cls,
        client: httpx2.AsyncClient,
        policy: HttpPolicy,
        base_url: str,
        *,
        secrets: Sequence[str],
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        requests_per_minute: float | None = None,
        pacing_burst: float | None = None,
        not_found_hint: str | None = None,
        credential_vars: Sequence[str] | None = None,
        pacing: Pacing,
    ) -> ProviderHTTP:
        """This provider's view of the shared client; only auth and secrets differ per provider.

        ``credential_vars`` names the variables a 401 points at when they depend on the settings
        (Twilio's auth token or API key); by default the class's ``credential_vars``. A provider
        publishing ``requests_per_minute`` is paced by the pacer ``pacing`` makes."""
        return ProviderHTTP(
            provider=cls.name.value,
            title=cls.title(),
            client=client,
            base_url=base_url,
            policy=policy,
            headers=headers,
            auth=auth,
            credential_vars=cls.credential_vars if credential_vars is None else credential_vars,
            base_url_var=cls.env.base_url_var,
            secrets=secrets,
            pacer=pacing.pacer(
                requests_per_minute, burst=pacing_burst, background_share=policy.background_share
            ),
            not_found_hint=not_found_hint,
            envelope_error=cls.envelope_error,
            error_message=cls.error_message,
        )

    def accepts_call_id(self, call_id: str) -> bool:
        """Whether ``call_id`` is safe to put in this provider's URL path (no ``/``, ``..``, ``?`` …)."""
        return len(call_id) <= self.max_call_id_length and _SAFE_ID.fullmatch(call_id) is not None

    def check_call_id(self, call_id: str) -> str:
        if not self.accepts_call_id(call_id):
            raise call_id_error(call_id, max_length=self.max_call_id_length, provider=self.name.value)
        return call_id

    # -- what callers use: every adapter's answers are vetted here, so none can forget it ----------
    async def get_call(self, call_id: str) -> LiveCall:
        """The call as it is now; ``CallNotFound`` when it is not live."""
        call = await self._get_call(call_id)
        self.vet_call_id(call.call_id)  # an id from upstream obeys the rule an id from a caller does
        return call

    async def list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        """Up to ``limit`` live calls from upstream ``offset`` that pass ``query``; a call under an
        id a caller could not use is left out, with a note (offsets stay exact)."""
        found = await self._list_active(query, offset, limit)
        kept = [item for item in found.items if self.accepts_call_id(item.call.call_id)]
        dropped = len(found.items) - len(kept)
        if not dropped:
            return found
        note = (
            f"{self.name.value}: {dropped} call{'s' if dropped != 1 else ''} left out: the provider sent "
            f"{'ids' if dropped != 1 else 'an id'} that {'are' if dropped != 1 else 'is'} not valid "
            f"(1-{self.max_call_id_length} letters, digits, '-' or '_')"
        )
        # Every item keeps its own upstream position, and scanned_to is unchanged.
        return dataclasses.replace(found, items=kept, notes=[*found.notes, note])

    async def get_stream(self, call_id: str) -> StreamDetails:
        """Legs, bridge, recording and whatever media detail the provider has."""
        stream = await self._get_stream(call_id)
        self.vet_call_id(stream.call_id)
        return stream

    # -- what each adapter implements -----------------------------------------------------------
    @abstractmethod
    async def _get_call(self, call_id: str) -> LiveCall:
        """The call as the provider answers it (``get_call`` vets it)."""

    @abstractmethod
    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        """The provider's live calls from ``offset`` (``list_active`` vets them)."""

    @abstractmethod
    async def _get_stream(self, call_id: str) -> StreamDetails:
        """The call's media detail as the provider answers it (``get_stream`` vets it)."""

    def local_filters(self, query: ListQuery) -> list[str]:
        return [name for name in query.active() if name not in self.capabilities.upstream_filters]

    def info(self) -> ProviderInfo:
        return ProviderInfo(
            name=self.name,
            configured=True,
            base_url=self.http.base_url,
            tools=["get_live_call", "list_active_calls", "get_stream_details"],
            upstream_filters=list(self.capabilities.upstream_filters),
            local_filters=[f for f in FILTERS if f not in self.capabilities.upstream_filters],
            fields=list(self.capabilities.fields),
            not_offered=list(self.capabilities.not_offered),
        )


async def scan(
    fetch: Callable[[int, int], Awaitable[UpstreamPage]],
    *,
    query: ListQuery,
    local_filters: list[str],
    offset: int,
    limit: int,
) -> ProviderSlice:
    """Collect up to ``limit`` calls from upstream ``offset``, filtering locally as needed.

    Each call is normalized (``query.prepare``: numbers in E.164) before the local filters see it,
    so the ``number`` filter compares like with like whatever form the provider writes.
    """
    items: list[Positioned] = []
    position = offset
    total: int | None = None
    for _ in range(MAX_SCAN_PAGES):
        page = await fetch(position, limit)
        total = None if local_filters else page.total
        for index, raw in enumerate(page.calls):
            call = None if raw is None else query.prepare(raw)  # numbers in E.164 before filtering
            if call is not None and query.keeps(call, local_filters):
                items.append(Positioned(call, position + index + 1))
                if len(items) == limit:
                    rest_of_page = index + 1 < len(page.calls)
                    return ProviderSlice(
                        items,
                        exhausted=page.exhausted and not rest_of_page,
                        scanned_to=position + index + 1,
                        total=total,
                        local_filters=local_filters,
                    )
        position += len(page.calls)
        if page.exhausted or not page.calls:
            return ProviderSlice(
                items, exhausted=True, scanned_to=position, total=total, local_filters=local_filters
            )
    # The scan bound was reached before the page filled: the next page resumes where scanning stopped.
    return ProviderSlice(
        items, exhausted=False, scanned_to=position, total=total, local_filters=local_filters
    )


async def gather(thunks: Sequence[Callable[[], Awaitable[_T]]]) -> list[_T]:
    """Run ``thunks`` concurrently and return their results in order.

    The first ``LiveCallsError`` cancels the rest and is raised as itself, not wrapped in an
    exception group, so callers keep handling one error tree.
    """
    results: list[_T | None] = [None] * len(thunks)
    failure: LiveCallsError | None = None

    async with anyio.create_task_group() as group:

        async def run(index: int, thunk: Callable[[], Awaitable[_T]]) -> None:
            nonlocal failure
            try:
                results[index] = await thunk()
            except LiveCallsError as exc:
                if failure is None:
                    failure = exc
                group.cancel_scope.cancel()

        for index, thunk in enumerate(thunks):
            group.start_soon(run, index, thunk)
    if failure is not None:
        raise failure
    return results  # type: ignore[return-value]  # every slot was filled: no failure


class RawPayload(BaseModel):
    """Base of the adapters' models of provider JSON: fields a provider adds later are ignored."""

    model_config = ConfigDict(extra="ignore")


def parse_direction(raw: str | None) -> Direction | None:
    """Every provider's direction word (``inbound``, ``INBOUND``, ``outbound-api`` …), or ``None``."""
    value = (raw or "").strip().lower()
    if value.startswith("in"):
        return Direction.INBOUND
    if value.startswith("out"):
        return Direction.OUTBOUND
    return None


def parse_epoch_ms(value: float | int | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        # 1e300 ms, Infinity, NaN: the platform's time_t says OSError or OverflowError.
        raise ValueError("timestamp out of range") from None


def parse_naive_utc(value: str | None) -> datetime | None:
    """Vobiz times (``2014-10-15 09:03:43`` or with microseconds) carry no zone: read as UTC."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace(" ", "T"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_local_time(value: str | None, zone: tzinfo) -> datetime | None:
    """A time written without an offset in ``zone`` (or with one, which wins), as UTC.

    Vobiz writes ``2014-10-15 09:03:43`` (or with microseconds) in the account's own time zone;
    its stream objects carry an explicit offset such as ``+05:30``.
    """
    if not value:
        return None
    parsed = datetime.fromisoformat(value.strip().replace(" ", "T", 1).replace("Z", "+00:00"))
    return (parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed).astimezone(UTC)


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _describe(call_id: str) -> str:
    if not call_id:
        return "an empty id"
    if len(call_id) > 80:
        return f"an id of {len(call_id)} characters"
    bad = sorted({ch for ch in call_id if not (ch.isascii() and (ch.isalnum() or ch in "-_"))})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5])
        return f"an id containing {shown}"
    if not call_id[0].isalnum():
        return f"an id starting with {call_id[0]!r} (it must start with a letter or digit)"
    return f"an id of {len(call_id)} characters"
