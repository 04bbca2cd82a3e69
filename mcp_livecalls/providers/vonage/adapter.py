"""Vonage Voice API live calls.

Facts and where they come from (Vonage/vonage-python-sdk at commit b308cb1e: ``jwt/src/vonage_jwt/
jwt.py``, ``voice/src/vonage_voice/voice.py``, ``models/requests.py``, ``models/responses.py``,
``models/enums.py`` and the test bodies ``voice/tests/data/list_calls*.json``, ``get_call.json``):

* Base ``https://api.nexmo.com``; ``Authorization: Bearer <JWT>``, the application's JWT signed
  RS256 with its private key, claims ``application_id``, ``iat``, ``jti`` (a UUID) and ``exp``
  (``iat`` + 15 minutes by default). A token is minted when the last one is within a minute of
  its ``exp``, from the wall clock (Vonage checks it against its own), never from the injected one.
* ``GET /v1/calls`` with ``status`` (one of ``started``, ``ringing``, ``answered``, ``machine``,
  ``completed``, ``busy``, ``cancelled``, ``failed``, ``rejected``, ``timeout``, ``unanswered``),
  ``page_size`` (1–100), ``record_index``, ``order`` (``asc``/``desc``), ``date_start``,
  ``date_end``, ``conversation_uuid`` → ``{count, page_size, record_index, _embedded: {calls},
  _links: {self, first, last, next?, prev?}}``. The live calls are three lists, ``started``,
  ``ringing`` and ``answered``, asked at once and joined in that order, each call once
  (``providers.joined``). The next page is the ``record_index`` of ``_links.next.href`` (the
  SDK's ``list_calls`` answers ``record_index + 1``, which only equals it for pages of one: the
  link is followed); a link that leads back, or a page that adds nothing, stops with a note.
* ``GET /v1/calls/{uuid}`` answers one call: ``uuid``, ``conversation_uuid``, ``status``,
  ``direction`` (``inbound``/``outbound``), ``from``/``to`` endpoints (``{type: phone, number}``,
  ``sip`` ``uri``, ``websocket`` ``uri``, ``vbc`` ``extension``), ``start_time``, ``end_time``,
  ``duration`` (a string, "only sent if status is completed"), ``rate``, ``price``, ``network``.
  A status other than started, ringing, answered or machine is not live (``CallNotFound``).
* Numbers are E.164 digits without ``+`` (``"number": "447700900000"``). Times are ISO 8601 in
  the test bodies (``2024-04-19T01:34:18.000Z``) but ``YYYY-MM-DD HH:MM:SS`` in the SDK's model
  docstrings: both are read, as UTC.
* Errors are ``{"type", "title", "detail", "instance"}``; ``detail`` (else ``title``) is said.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import httpx2
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, SecretStr

from mcp_livecalls.core.models import CallStatus, LiveCall, ProviderName, StreamDetails
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.errors import CallNotFound, ConfigError, ProviderError
from mcp_livecalls.providers.base import (
    CALL_FIELDS,
    Capabilities,
    EnvSpec,
    LiveCallsProvider,
    ProviderSlice,
    RawPayload,
    Wire,
    parse_direction,
)
from mcp_livecalls.providers.joined import Listed, join_lists, scan_joined
from mcp_livecalls.upstream.client import ProviderHTTP

__all__ = ["LIVE_STATUSES", "VonageJwt", "VonageProvider", "VonageSettings", "normalize_vonage_call"]

DEFAULT_BASE_URL = "https://api.nexmo.com"
LIVE_STATUSES = ("started", "ringing", "answered")
"""The statuses asked for, one list each, in the order the lists are joined."""
PAGE_SIZE = 100
"""Vonage's largest ``page_size``."""
MAX_LIST_PAGES = 10
TOKEN_LIFETIME_S = 15 * 60
_STATUS = {
    "started": CallStatus.QUEUED,
    "ringing": CallStatus.RINGING,
    "answered": CallStatus.IN_PROGRESS,
    "machine": CallStatus.IN_PROGRESS,
    "completed": CallStatus.ENDED,
    "busy": CallStatus.FAILED,
    "cancelled": CallStatus.FAILED,
    "failed": CallStatus.FAILED,
    "rejected": CallStatus.FAILED,
    "timeout": CallStatus.FAILED,
    "unanswered": CallStatus.FAILED,
}
_NOT_LIVE = frozenset({CallStatus.ENDED, CallStatus.FAILED})
NOT_OFFERED = ("agent", "legs", "hold", "recording", "transcript", "media streams")


def vonage_status(raw: str | None) -> CallStatus:
    return _STATUS.get((raw or "").strip().lower(), CallStatus.UNKNOWN)


def parse_vonage_time(value: str | None) -> datetime | None:
    """``2024-04-19T01:34:18.000Z`` or ``2024-04-19 01:34:18``, as UTC."""
    if not value or not value.strip():
        return None
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True)
class VonageSettings:
    application_id: SecretStr
    private_key: SecretStr
    """The application's private key, PEM (``\\n`` escapes in an environment variable are read as
    newlines)."""
    signature_secret: str = ""
    """The account's signature secret (signed webhooks); a secret, redacted like the others."""
    base_url: str = DEFAULT_BASE_URL

    def key(self) -> RSAPrivateKey:
        """The private key, or ``ConfigError`` (which never quotes it)."""
        key = _rsa_key(self.private_key.get_secret_value().replace("\\n", "\n").strip())
        if key is None:
            raise ConfigError("VONAGE_PRIVATE_KEY is not an unencrypted PEM RSA private key.")
        return key


@functools.lru_cache(maxsize=4)
def _rsa_key(text: str) -> RSAPrivateKey | None:
    """The RSA private key in PEM ``text``, or ``None``. Parsing checks the key's arithmetic
    (~0.1 s a time), so a process that builds its providers again (a test, a reload) parses a
    key once; key objects are immutable."""
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        return None
    return key if isinstance(key, RSAPrivateKey) else None


class VonageJwt(httpx2.Auth):
    """Signs each request with the application's JWT, minted again a minute before it expires."""

    def __init__(
        self, application_id: str, key: RSAPrivateKey, clock: Callable[[], float] = time.time
    ) -> None:
        self._application_id = application_id
        self._key = key
        self._clock = clock
        self._token = ""
        self._expires = 0.0

    def __repr__(self) -> str:
        return "VonageJwt(application_id=***, key=***)"

    def token(self) -> str:
        now = self._clock()
        if now >= self._expires - 60:
            issued = int(now)
            claims = {
                "application_id": self._application_id,
                "iat": issued,
                "jti": str(uuid.uuid4()),
                "exp": issued + TOKEN_LIFETIME_S,
            }
            import jwt  # here, not at import: serving stdio with no Vonage loads no JWT library

            self._token = jwt.encode(claims, self._key, algorithm="RS256", headers={"typ": "JWT"})
            self._expires = issued + TOKEN_LIFETIME_S
        return self._token

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        yield request


class _Endpoint(RawPayload):
    type: str | None = None
    number: str | None = None
    uri: str | None = None
    extension: str | None = None

    def shown(self) -> str | None:
        if self.number:
            return self.number
        if self.uri:
            return self.uri
        return f"vbc:{self.extension}" if self.extension else None


class _Call(RawPayload):
    uuid: str = Field(min_length=1)
    conversation_uuid: str | None = None
    status: str | None = None
    direction: str | None = None
    from_: _Endpoint | None = Field(default=None, alias="from")
    to: _Endpoint | None = None
    start_time: str | None = None
    duration: str | int | None = None


class _Link(RawPayload):
    href: str | None = None


class _Links(RawPayload):
    next: _Link | None = None


class _Embedded(RawPayload):
    calls: list[Any] = Field(default_factory=list)


class _CallList(RawPayload):
    embedded: _Embedded | None = Field(default=None, alias="_embedded")
    links: _Links | None = Field(default=None, alias="_links")


def normalize_vonage_call(payload: Any, *, now: datetime) -> LiveCall:
    """One call object (``/v1/calls/{uuid}`` or an item of ``_embedded.calls``). Raises on garbage."""
    raw = _Call.model_validate(payload)
    status = vonage_status(raw.status)
    started = parse_vonage_time(raw.start_time)
    duration = int(raw.duration) if raw.duration not in (None, "") else None
    if duration is None and started is not None and status not in _NOT_LIVE:
        duration = max(0, int((now - started).total_seconds()))
    return LiveCall(
        provider=ProviderName("vonage"),
        call_id=raw.uuid,
        status=status,
        provider_status=raw.status or None,
        direction=parse_direction(raw.direction),
        from_number=raw.from_.shown() if raw.from_ else None,
        to_number=raw.to.shown() if raw.to else None,
        started_at=started,
        duration_s=duration,
    )


def _next_index(page: _CallList) -> int | None:
    """The ``record_index`` of ``_links.next.href``, if the page links a next one."""
    href = page.links.next.href if page.links and page.links.next else None
    if not href:
        return None
    found = parse_qs(urlsplit(href).query).get("record_index", [])
    return int(found[0]) if found and found[0].isdigit() else None


class VonageProvider(LiveCallsProvider):
    name = ProviderName("vonage")
    credential_vars = ("VONAGE_APPLICATION_ID", "VONAGE_PRIVATE_KEY")  # the application, then its key
    env = EnvSpec(
        "VONAGE", DEFAULT_BASE_URL, secrets=("private_key", "application_id"), texts=("signature_secret",)
    )
    settings_type = VonageSettings
    call_id_words = "Vonage uuid"
    bare_digits_international = True
    capabilities = Capabilities(
        upstream_filters=(),
        fields=CALL_FIELDS,
        not_offered=NOT_OFFERED,
    )

    def __init__(self, http: ProviderHTTP, *, now: Callable[[], datetime]) -> None:
        super().__init__(http)
        self._now = now

    @classmethod
    def wire(cls, settings: VonageSettings) -> Wire:
        application = settings.application_id.get_secret_value()
        secrets = [application, settings.private_key.get_secret_value()]
        if settings.signature_secret:
            secrets.append(settings.signature_secret)
        return Wire(auth=VonageJwt(application, settings.key()), secrets=secrets)

    @classmethod
    def built(cls, settings: VonageSettings, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        return cls(http, now=now)

    @classmethod
    def error_message(cls, payload: Any) -> str | None:
        """Vonage's ``detail`` (else its ``title``)."""
        if isinstance(payload, dict):
            for key in ("detail", "title", "error_title"):
                value = payload.get(key)
                if isinstance(value, str) and value:
                    return value
        return super().error_message(payload)

    async def _get_call(self, call_id: str) -> LiveCall:
        self.check_call_id(call_id)
        call: LiveCall = await self.http.get_json(
            f"/v1/calls/{call_id}",
            call_id=call_id,
            parse=lambda payload: normalize_vonage_call(payload, now=self._now()),
        )
        if call.status in _NOT_LIVE:
            raise CallNotFound(self.name.value, call_id)
        return call

    async def _get_stream(self, call_id: str) -> StreamDetails:
        call = await self.get_call(call_id)
        return StreamDetails.of_call(
            call,
        )

    def _page(self, payload: Any) -> tuple[list[LiveCall], int, int | None]:
        page = _CallList.model_validate(payload)
        records = page.embedded.calls if page.embedded else []
        calls: list[LiveCall] = []
        for record in records:
            try:
                calls.append(normalize_vonage_call(record, now=self._now()))
            except ValueError:
                continue
        if records and not calls:
            raise ValueError("not one call of the page could be read")
        return calls, len(records) - len(calls), _next_index(page)

    async def _list(self, status: str) -> Listed:
        """One status list along its ``_links.next`` (at most ``MAX_LIST_PAGES`` pages)."""
        listed = Listed()
        index, asked, unreadable = 0, set[int](), 0
        for _ in range(MAX_LIST_PAGES):
            asked.add(index)
            params: dict[str, str | int] = {"status": status, "page_size": PAGE_SIZE, "order": "desc"}
            if index:
                params["record_index"] = index
            try:
                calls, skipped, following = await self.http.get_json(
                    "/v1/calls", params=params, parse=self._page
                )
            except ProviderError as exc:
                if not listed.calls:
                    raise
                listed.notes.append(
                    f"the {status} list could be read only to {len(listed.calls)} calls: {exc}"
                )
                break
            known = {call.call_id for call in listed.calls}
            fresh = [call for call in calls if call.call_id not in known]
            unreadable += skipped
            if calls and not fresh:
                listed.notes.append(
                    f"a page of the {status} list repeated calls already listed; paging stopped"
                )
                break
            listed.calls += fresh
            if following is None:
                break
            if following in asked:
                listed.notes.append(f"the {status} list's next link leads back; paging stopped")
                break
            index = following
        else:
            listed.notes.append(
                f"the {status} list was read to {MAX_LIST_PAGES} pages and stopped; more may exist"
            )
        if unreadable:
            listed.notes.append(
                f"{unreadable} {status} call{'s' if unreadable != 1 else ''} left out: unreadable"
            )
        return listed

    async def _list_active(self, query: ListQuery, offset: int, limit: int) -> ProviderSlice:
        statuses = () if query.agent_id is not None else LIVE_STATUSES
        return await scan_joined(
            functools.partial(
                join_lists,
                statuses,
                self._list,
                missing=lambda status, error: (
                    f"the {status} list could not be read, so {status} calls are missing: {error}"
                ),
                keep=lambda call: call.status not in _NOT_LIVE,
            ),
            query=query,
            local_filters=self.local_filters(query),
            offset=offset,
            limit=limit,
        )


ADAPTER = VonageProvider
"""What the registry loads for this folder."""
