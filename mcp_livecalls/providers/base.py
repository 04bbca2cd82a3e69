"""The interface every provider adapter implements; how to add a provider.

An adapter turns one provider's JSON into ``mcp_livecalls.core.models``; it never sees httpx2 (it
asks ``ProviderHTTP`` for JSON) and never renders text. The parts it is built from:

- ``spec`` (``Capabilities``, ``EnvSpec``): what the provider offers and where its settings come from;
- ``paging`` (``scan``): upstream pages into a slice at an offset;
- ``reading`` (``RawPayload``, times, directions): reading the provider's JSON;
- ``tasks`` (``gather``, ``both``, ``attempt``): parts asked concurrently, the first error wins;
- ``families/``: what members of one API family share (``families.plivo``: the Account/Call API;
  ``families.retell`` and ``retell_lists``: the voice-AI call record and its list entries).

How to add a provider ``acme``: a line in ``mcp_livecalls.core.catalog`` and a folder
``providers/acme/`` whose ``adapter.py`` ends with ``ADAPTER = AcmeProvider``. The class declares

- the spec: ``name``, ``env`` (an ``EnvSpec``: prefix, default URL, credential fields),
  ``settings_type`` (a dataclass of those fields and ``base_url``), ``capabilities``,
  ``call_id_words`` and, when numbers come without ``+``, ``bare_digits_international``;
- the wire: ``wire`` (a ``Wire``: auth, secrets, pacing) and ``built`` (the adapter on its
  ``ProviderHTTP``), which the base's ``create`` joins;
  ``pacing_account`` and ``redaction_pairs`` when the provider has a per-account limit or joins
  credentials in basic auth; 401s point at ``credential_vars`` (by default ``env``'s credentials);
- the error dialect: ``envelope_error`` (an error inside a 2xx answer) and ``error_message`` (the
  provider's message in a 4xx/5xx body);
- three fetches: ``_get_call``, ``_list_active`` (usually ``scan`` over an ``UpstreamPage``
  fetch) and ``_get_stream``. The base vets their answers (``get_call``, ``list_active``,
  ``get_stream``): a call under an id a caller could not use is refused or left out.

A provider that pushes live updates adds ``providers/acme/webhook.py`` ending with
``READER = AcmeWebhook``, a ``providers.hooks.WebhookReader`` (``providers.registry.READERS``
finds it; a provider without one, like Zudu, is always polled). The reader declares ``provider``,
``signs_body`` (its events are applied as data, else they are hints that fetch the call) and
``path_token`` (the URL carries a secret token instead of a signature); ``from_settings`` takes
its secret from the adapter's settings (``None``: webhooks stay off); ``read(request, now)``
verifies a ``WebhookRequest`` exactly as the provider documents it (``same`` compares in constant
time; ``now`` is the injected clock for time windows) and returns ``WebhookEvent`` values (call id,
status if known, ``apply`` or ``hint``, a dedupe key) or raises ``WebhookRefused``; ``setup(url)``
says which console setting or API parameter points the provider at the receiver.
"""

from __future__ import annotations

import dataclasses
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Self

import httpx2

from mcp_livecalls.core.catalog import title_of
from mcp_livecalls.core.models import LiveCall, ProviderInfo, ProviderName, StreamDetails
from mcp_livecalls.core.query import FILTERS, ListQuery
from mcp_livecalls.errors import BadResponse, InvalidArgument
from mcp_livecalls.providers.paging import (
    MAX_SCAN_PAGES,
    PageGuard,
    Positioned,
    ProviderSlice,
    UpstreamPage,
    scan,
)
from mcp_livecalls.providers.reading import (
    RawPayload,
    parse_direction,
    parse_epoch_ms,
    parse_iso,
    parse_local_time,
    parse_naive_utc,
)
from mcp_livecalls.providers.spec import CALL_FIELDS, Capabilities, EnvSetting, EnvSpec, call_fields
from mcp_livecalls.providers.tasks import gather
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.pacing import LOCAL_PACING, Pacing
from mcp_livecalls.upstream.policy import HttpPolicy
from mcp_livecalls.upstream.translate import EnvelopeError, find_message

__all__ = [
    "CALL_FIELDS",
    "MAX_CALL_ID_LENGTH",
    "MAX_SCAN_PAGES",
    "Capabilities",
    "EnvSetting",
    "EnvSpec",
    "LiveCallsProvider",
    "PageGuard",
    "Positioned",
    "ProviderSlice",
    "RawPayload",
    "UpstreamPage",
    "Wire",
    "call_fields",
    "call_id_error",
    "gather",
    "parse_direction",
    "parse_epoch_ms",
    "parse_iso",
    "parse_local_time",
    "parse_naive_utc",
    "scan",
]


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


@dataclasses.dataclass(frozen=True, kw_only=True)
class Wire:
    """How one provider's requests travel, declared by its adapter's ``wire``.

    ``secrets`` are redacted from every answer, error and log; ``credential_vars`` names the
    variables a 401 points at when they depend on the settings (Twilio's auth token or API key;
    by default the class's ``credential_vars``)."""

    secrets: Sequence[str]
    headers: Mapping[str, str] | None = None
    auth: tuple[str, str] | httpx2.Auth | None = None
    requests_per_minute: float | None = None
    pacing_burst: float | None = None
    not_found_hint: str | None = None
    credential_vars: Sequence[str] | None = None


class LiveCallsProvider(ABC):
    """One telephony provider's live-call API."""

    name: ClassVar[ProviderName]
    capabilities: ClassVar[Capabilities]
    max_call_id_length: ClassVar[int] = MAX_CALL_ID_LENGTH
    credential_vars: ClassVar[tuple[str, ...]]
    """The variables a 401 or 403 points at: by default the first complete set of ``env``'s
    credential variables (``EnvSpec.ways``); a provider declares it only when they differ."""
    env: ClassVar[EnvSpec]
    settings_type: ClassVar[Callable[..., Any]]
    """The settings dataclass, made from the fields of ``env`` (``base_url`` included)."""
    call_id_words: ClassVar[str]
    """What the provider calls a call id (``Vobiz call_uuid``), shown in ``livecalls://providers``."""
    bare_digits_international: ClassVar[bool] = False
    """The provider writes numbers as E.164 digits without ``+`` (Vobiz, Plivo): bare digits
    are then read as international first (see ``mcp_livecalls.core.phone``)."""
    request_per_listed_call: ClassVar[bool] = False
    """Each listed call costs a request of its own (the list answers ids only: the Plivo family).
    A page across providers then asks it for a few calls first and more only when the merge needs
    them (``ProviderSlice.more``); its slices carry ``more`` when they can read on."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "env" in cls.__dict__ and "credential_vars" not in cls.__dict__:
            cls.credential_vars = cls.env.ways[0]

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
    ) -> Self:
        """The adapter for ``settings`` (an instance of ``settings_type``), on the shared client,
        its requests paced as ``pacing`` says (``build_providers`` settles it per account): the
        provider's ``wire`` makes its ``ProviderHTTP``, ``built`` the adapter on it."""
        http = cls._provider_http(client, policy, settings.base_url, cls.wire(settings), pacing=pacing)
        return cls.built(settings, http, now)

    @classmethod
    def wire(cls, settings: Any) -> Wire:
        """How this provider's requests travel for ``settings``: auth, secrets, pacing, hints."""
        raise NotImplementedError(f"{cls.__name__} declares no wire")

    @classmethod
    def built(cls, settings: Any, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        """The adapter on its ``http``, with what else it keeps of ``settings``."""
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
        cls, client: httpx2.AsyncClient, policy: HttpPolicy, base_url: str, wire: Wire, *, pacing: Pacing
    ) -> ProviderHTTP:
        """This provider's view of the shared client; only its ``wire`` differs per provider.

        A provider publishing ``requests_per_minute`` is paced by the pacer ``pacing`` makes."""
        return ProviderHTTP(
            provider=cls.name.value,
            title=cls.title(),
            client=client,
            base_url=base_url,
            policy=policy,
            headers=wire.headers,
            auth=wire.auth,
            credential_vars=cls.credential_vars if wire.credential_vars is None else wire.credential_vars,
            base_url_var=cls.env.base_url_var,
            secrets=wire.secrets,
            pacer=pacing.pacer(
                wire.requests_per_minute, burst=wire.pacing_burst, background_share=policy.background_share
            ),
            not_found_hint=wire.not_found_hint,
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
        return self._vetted(await self._list_active(query, offset, limit))

    def _vetted(self, found: ProviderSlice) -> ProviderSlice:
        """``found`` without the calls under ids a caller could not use; what it reads on is vetted too."""
        if found.more is not None:
            read_on = found.more

            async def vetted_more(count: int) -> ProviderSlice:
                return self._vetted(await read_on(count))

            found = dataclasses.replace(found, more=vetted_more)
        kept = [item for item in found.items if self.accepts_call_id(item.call.call_id)]
        dropped = len(found.items) - len(kept)
        if not dropped:
            return found
        note = (
            f"{dropped} call{'s' if dropped != 1 else ''} left out: the provider sent "
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
            call_id=self.call_id_words,
            base_url=self.http.base_url,
            tools=["get_live_call", "list_active_calls", "get_stream_details"],
            upstream_filters=list(self.capabilities.upstream_filters),
            local_filters=[f for f in FILTERS if f not in self.capabilities.upstream_filters],
            fields=list(self.capabilities.fields),
            not_offered=list(self.capabilities.not_offered),
        )


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
