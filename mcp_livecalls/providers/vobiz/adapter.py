"""Vobiz (Plivo-compatible) live calls.

Two documented single-call shapes are accepted: the flat ``{"call_status": "in-progress", "from",
"to", "session_start", ...}`` of the current docs, OpenAPI spec and SDKs, and the legacy
Plivo-style ``{"api_id", "calls": [{..., "call_state": "ACTIVE"}]}``. The list endpoints answer
only UUIDs, so a page of summaries is the live and the queued list (concurrently, each paged with
Plivo's ``limit``/``offset``: 20 per request, a server ignoring ``offset`` is detected) plus one
detail request per call. A part that fails (one list, one call's details) is left out and said in
the slice's notes; the rest is listed. Vobiz documents no list filters: all are applied locally.

Where Vobiz's sources disagree the adapter learns at run time: the trailing slash of each kind of
path (a wrong form may answer 401), and an idle account's list answering Vobiz's own JSON 404.
Times without a zone are in the account's Console zone (``VOBIZ_TIMEZONE``, default Asia/Kolkata).

Checked against Vobiz's own SDKs (vobiz-ai/Vobiz-Python-SDK f936913, Vobiz-Go-SDK 468ee48):
X-Auth-ID / X-Auth-Token headers on ``api.vobiz.ai/api/v1/Account/{auth_id}/`` (Go
``internal/http/client.go``); ``status`` is ``live`` or ``queued`` on lists and gets (Python
``live_calls/types/*_request_status.py``); lists answer ``{api_id, calls: [uuid]}``, queued "max 20"
(``list_queued_calls_response.py``); neither SDK sends ``limit``/``offset`` (so the family's paging
detects a server ignoring them); a queued call has no ``session_start`` (``get_queued_call_response.py``,
Go ``QueuedCall``); the trailing slash differs per kind (see ``families/plivo.py``, learned per kind).
The Go SDK's ``LiveCallFilters`` (``call_direction``, ``from_number``, ``to_number``) exist only
there, so they are applied locally, never sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr

from mcp_livecalls.core.models import LiveCall, ProviderName
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.providers.base import EnvSpec, Wire
from mcp_livecalls.providers.families.plivo import (
    MAX_LIST_PAGES,
    PAGE,
    AccountCallProvider,
)
from mcp_livecalls.providers.families.plivo_records import (
    family_status,
    is_family_error,
    media_streams,
    normalize_call,
    uuid_list,
)

__all__ = [
    "MAX_LIST_PAGES",
    "PAGE",
    "PlivoFamilyProvider",
    "VobizProvider",
    "VobizSettings",
    "is_vobiz_error",
    "normalize_vobiz_call",
    "vobiz_status",
]


_VOBIZ = ProviderName("vobiz")
ZONE_VAR = "VOBIZ_TIMEZONE"

vobiz_status = family_status
"""Either shape's status word (``ACTIVE`` or ``in-progress``) in the common vocabulary."""
is_vobiz_error = is_family_error
_media_streams = media_streams
_uuid_list = uuid_list
PlivoFamilyProvider = AccountCallProvider
"""The family's provider class under its older name (``providers.families.plivo``)."""


def normalize_vobiz_call(
    payload: Any, *, now: datetime, zone: tzinfo = UTC, provider: ProviderName = _VOBIZ
) -> LiveCall:
    """One Vobiz call from either documented shape; zone-less times are in ``zone``."""
    return normalize_call(payload, now=now, zone=zone, provider=provider, zone_var=ZONE_VAR)


DEFAULT_BASE_URL = "https://api.vobiz.ai"
DEFAULT_TIMEZONE = "Asia/Kolkata"
"""Vobiz writes call times without an offset, in the account's Console time zone (docs.vobiz.ai
call object); Vobiz is an Indian provider and most accounts are on +05:30."""


@dataclass(frozen=True)
class VobizSettings:
    auth_id: SecretStr
    auth_token: SecretStr
    base_url: str = DEFAULT_BASE_URL
    timezone: str = DEFAULT_TIMEZONE
    """IANA zone of Vobiz's zone-less times (``VOBIZ_TIMEZONE``); times with an offset keep it."""

    def __post_init__(self) -> None:
        self.zone()  # refuse a bad name when the settings are made, not at the first call

    def zone(self) -> ZoneInfo:
        return vobiz_zone(self.timezone)


def vobiz_zone(name: str) -> ZoneInfo:
    """The zone called ``name``, or a ``ConfigError`` naming ``VOBIZ_TIMEZONE``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError: a path-like or empty key; the message never echoes more than the name.
        raise ConfigError(
            f"VOBIZ_TIMEZONE must be an IANA time zone name such as Asia/Kolkata or UTC "
            f"(the zone set in the Vobiz Console); got {name[:60]!r}."
        ) from None


class VobizProvider(AccountCallProvider):
    name = ProviderName("vobiz")
    env = EnvSpec("VOBIZ", DEFAULT_BASE_URL, secrets=("auth_id", "auth_token"), texts=("timezone",))
    settings_type = VobizSettings
    call_id_words = "Vobiz call_uuid"
    api_prefix = "/api/v1"
    path_forms_vary = True
    zone_var = ZONE_VAR

    @classmethod
    def wire(cls, settings: VobizSettings) -> Wire:
        """Vobiz authenticates with the ``X-Auth-ID`` / ``X-Auth-Token`` headers."""
        auth_id, token = settings.auth_id.get_secret_value(), settings.auth_token.get_secret_value()
        return Wire(headers={"X-Auth-ID": auth_id, "X-Auth-Token": token}, secrets=[auth_id, token])


ADAPTER = VobizProvider
"""What the registry loads for this folder."""
