"""The shared webhook interface: a request as received, the events a reader finds in it, the reader.

Each provider that pushes live updates has ``providers/<name>/webhook.py`` ending with
``READER = AcmeWebhook`` (a ``WebhookReader``); ``providers.registry`` discovers it as it does the
adapters. The receiver (``web``) turns an HTTP request into a ``WebhookRequest`` with
``parse_request``, asks the provider's reader for events, and hands them to the live state. A reader
never fetches anything and never sees the network: it verifies and reads, nothing else.

Verification facts come from the providers' documents and SDKs, listed in
``shared/provider-docs/webhooks-and-next-providers.md`` section 1 (each reader names its own).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from mcp_livecalls.core.models import CallStatus, ProviderName

__all__ = [
    "MAX_WEBHOOK_BODY",
    "Refusal",
    "SecretReader",
    "WebhookEvent",
    "WebhookReader",
    "WebhookRefused",
    "WebhookRequest",
    "b64_hmac",
    "hex_hmac",
    "parse_request",
    "same",
    "without_query",
]

MAX_WEBHOOK_BODY = 64 * 1024
"""The largest body a receiver reads (413 beyond): providers' status callbacks are a few kB."""

Refusal = Literal["signature", "malformed"]
"""Why a request was refused: ``signature`` (unsigned, wrongly signed, stale, not allowed: 403
with no detail) or ``malformed`` (a body that cannot be read: 400)."""


class WebhookRefused(Exception):
    """A request that yields nothing; ``reason`` decides the answer, never the detail shown."""

    def __init__(self, reason: Refusal, detail: str = "") -> None:
        super().__init__(detail or reason)
        self.reason: Refusal = reason
        self.detail = detail
        """For a log line: never a secret, a signature or a body."""


@dataclass(frozen=True)
class WebhookRequest:
    """One POST as the provider sent it, read by the receiver before any reader sees it."""

    method: str
    url: str
    """The public URL the provider was given (``LIVECALLS_PUBLIC_URL`` + path + query): signatures
    cover this, not the address the server listens on."""
    headers: Mapping[str, str]
    """Header names lower-cased."""
    body: bytes
    form: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The form parameters (``application/x-www-form-urlencoded``), each name with all its values."""
    json: Any = None
    """The parsed JSON body, when the body is JSON."""
    remote: str | None = None
    """The peer's address (for allow-lists and flood limits)."""
    path_token: str | None = None
    """What follows ``/webhooks/<provider>/`` in the path (Exotel's token), else ``None``."""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def param(self, name: str) -> str | None:
        """The first value of form parameter ``name``, else the JSON body's top-level text ``name``."""
        values = self.form.get(name)
        if values:
            return values[0]
        found = self.json.get(name) if isinstance(self.json, dict) else None
        return found if isinstance(found, str) else None


@dataclass(frozen=True)
class WebhookEvent:
    """What a verified request says about one call."""

    provider: ProviderName
    call_id: str
    kind: Literal["apply", "hint"]
    """``apply``: the provider signed the body, so ``status`` may be applied as data; ``hint``: the
    body is not signed (Vobiz signs URL + nonce only), so the call is fetched upstream at once."""
    dedupe_key: str
    """Equal for a replay or a retry of the same event (nonce, signature or event id + call):
    the live state applies an event once per key."""
    status: CallStatus | None = None
    """The call's status as the event says, when it says one."""
    provider_status: str | None = None
    sequence: int | None = None
    """The provider's ordering number when it sends one (Twilio ``SequenceNumber``): an event older
    than one already applied for the call is not applied."""
    at: datetime | None = None
    """When the provider says the change happened."""


class WebhookReader(ABC):
    """One provider's webhook verification and reading (``providers/<name>/webhook.py``)."""

    provider: ClassVar[ProviderName]
    signs_body: ClassVar[bool]
    """Whether the signature covers the body (events ``apply``) or only the URL (events are hints)."""
    path_token: ClassVar[bool] = False
    """Whether the URL ends with a secret token (``/webhooks/<name>/<token>``; Exotel, which does
    not sign)."""

    @classmethod
    @abstractmethod
    def from_settings(cls, settings: Any) -> WebhookReader | None:
        """The reader for the provider's settings (its adapter's ``settings_type``), holding the
        verification secret; ``None`` when no secret is known (webhooks stay off)."""

    @abstractmethod
    def read(self, request: WebhookRequest, now: datetime) -> Sequence[WebhookEvent]:
        """The events of a request, verified with the secret against ``now`` (an injected clock,
        for signatures with a time window); ``WebhookRefused`` when it must not count. A verified
        request about no call (a conference starting) gives no event."""

    @abstractmethod
    def setup(self, url: str) -> str:
        """How to point the provider at ``url``: the console setting or API parameter, in a line."""

    def event(self, call_id: str, dedupe_key: str, **said: Any) -> WebhookEvent:
        """An event of this provider's: ``apply`` when it signs the body, else ``hint``; ``said``:
        the rest of ``WebhookEvent``'s fields (``status``, ``provider_status``, ``sequence``, ``at``)."""
        kind: Literal["apply", "hint"] = "apply" if self.signs_body else "hint"
        return WebhookEvent(self.provider, call_id, kind, dedupe_key, **said)

    def path(self) -> str:
        """The receiver's path for this provider (with the token when it has one)."""
        return f"/webhooks/{self.provider.value}"

    def shown_path(self) -> str:
        """The path as ``mcp-livecalls webhooks`` prints it: a token is named, never shown."""
        return self.path()


class SecretReader(WebhookReader):
    """A reader whose secret is one credential of the provider's settings (named by ``verified_by``)."""

    verified_by: ClassVar[str]
    """The settings field holding the verification secret (``auth_token``, ``api_key``)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.verified_by}=***)"

    @classmethod
    def from_settings(cls, settings: Any) -> WebhookReader | None:
        secret = getattr(settings, cls.verified_by, None)
        return cls(secret.get_secret_value()) if secret is not None else None


def parse_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    remote: str | None = None,
    path_token: str | None = None,
) -> WebhookRequest:
    """A ``WebhookRequest``: the body read as form parameters or JSON by its content type;
    ``WebhookRefused("malformed")`` when it is neither readable form nor JSON."""
    lowered = {name.lower(): value for name, value in headers.items()}
    content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    form: dict[str, tuple[str, ...]] = {}
    parsed: Any = None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WebhookRefused("malformed", "the body is not UTF-8") from exc
    if content_type == "application/json" or (not content_type and text.lstrip().startswith("{")):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise WebhookRefused("malformed", "the body is not JSON") from exc
        if not isinstance(parsed, dict):
            raise WebhookRefused("malformed", "the JSON body is not an object")
    elif text:
        try:
            pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
        except ValueError as exc:
            raise WebhookRefused("malformed", "the body is not form parameters") from exc
        grouped: dict[str, list[str]] = {}
        for name, value in pairs:
            grouped.setdefault(name, []).append(value)
        form = {name: tuple(values) for name, values in grouped.items()}
    return WebhookRequest(method.upper(), url, lowered, body, form, parsed, remote, path_token)


def b64_hmac(key: str, message: str | bytes, digest: str = "sha256") -> str:
    """``base64(HMAC(key, message))``: Twilio (sha1), Plivo and Vobiz (sha256)."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    return base64.b64encode(hmac.new(key.encode("utf-8"), data, getattr(hashlib, digest)).digest()).decode()


def hex_hmac(key: str, message: str | bytes, digest: str = "sha256") -> str:
    """``hex(HMAC(key, message))``: Retell AI."""
    data = message.encode("utf-8") if isinstance(message, str) else message
    return hmac.new(key.encode("utf-8"), data, getattr(hashlib, digest)).hexdigest()


def same(expected: str, given: str | None) -> bool:
    """A constant-time comparison of a computed signature with the one sent."""
    if given is None:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def without_query(url: str) -> str:
    """``url`` without its query and fragment (what Plivo V3 and Vobiz sign as the base URL)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
