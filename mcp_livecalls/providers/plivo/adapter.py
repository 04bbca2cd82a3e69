"""Plivo live calls: the API the Vobiz adapter's family is modelled on.

Plivo is the original of Vobiz's API, so this adapter is the Account/Call family's ``AccountCallProvider``
with Plivo's host, auth and limits (see ``mcp_livecalls.providers.families.plivo`` for the shared reading):

- ``https://api.plivo.com/v1/Account/{auth_id}/Call/?status=live`` lists live call UUIDs (plivo-python
  ``live_calls.py``: ``limit`` 1-20, ``offset``; an idle account answers ``{"api_id", "calls": []}``),
  the same with ``status=queued`` lists queued calls; ``…/Call/{uuid}/?status=live`` (or ``queued``)
  answers one call in the flat shape (``call_status``, ``from``, ``to``, ``caller_name``,
  ``session_start``, ``request_uuid``, ``parent_call_uuid``, ``stir_*``). A page of summaries is both
  lists, paged by ``limit``/``offset``, plus one detail request per call; a part that fails is left
  out and said in notes.
- Auth is HTTP basic ``auth_id:auth_token``; both, and the joined pair, are redacted. Plivo's paths
  end with ``/`` in every SDK, so no other path form is tried: a 401 is the credentials.
- The live list takes ``call_direction`` (with ``from_number``/``to_number``; Plivo's Go SDK
  ``LiveCallFilters``): the direction filter is sent upstream on the live list, which saves detail
  requests, and checked locally as well, since the queued list takes no filter. The ``number``
  filter (from *or* to, or the last digits) cannot be said with Plivo's exact ``from_number`` /
  ``to_number``, so it is applied locally.
- Numbers are E.164 digits, usually without ``+`` (``919798990001``); the SDK's example writes
  ``from`` with ``+`` and ``to`` without in one call: both forms are read.
- ``session_start`` carries no zone and is UTC: in plivo-python's live-call example it is 19 s before
  the time in the answer's own ``api_id`` (a time-based UUID).
- Errors are ``{"api_id": "...", "error": "..."}`` (401, 404, 429, 5xx); a 2xx answer carrying only
  such an error is reported as Plivo's error, not read as a call.
- Rate limit: 300 requests per 5 s per account (Plivo's API docs). Requests are paced at 30 a
  second with bursts of at most 150, so no 5-second window holds more than 300; replicas sharing
  Redis share the account's bucket.
- Media streams: ``…/Call/{uuid}/Stream/`` answers ``{api_id, meta, objects: [...]}`` (plivo-python
  ``liveCallStreamGetAllResponse.json``), read as Vobiz's paged stream list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, tzinfo
from typing import Any

from pydantic import SecretStr

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.providers.base import EnvSpec, RawPayload, Wire
from mcp_livecalls.providers.families.plivo import AccountCallProvider
from mcp_livecalls.upstream.translate import EnvelopeError

__all__ = ["PlivoProvider", "PlivoSettings", "plivo_call_list"]

DEFAULT_BASE_URL = "https://api.plivo.com"
REQUESTS_PER_MINUTE = 1800.0
"""30 a second: with ``BURST``, at most 150 + 5 x 30 = 300 requests in any 5 seconds."""
BURST = 150.0


@dataclass(frozen=True)
class PlivoSettings:
    auth_id: SecretStr
    auth_token: SecretStr
    base_url: str = DEFAULT_BASE_URL

    def zone(self) -> tzinfo:
        """Plivo writes ``session_start`` in UTC."""
        return UTC


class _ListedCall(RawPayload):
    call_uuid: str


def plivo_call_list(payload: Any) -> list[str]:
    """The call UUIDs of a live or queued list: UUID strings as documented, or call objects
    carrying ``call_uuid`` (read too, so a list of objects is not mistaken for no calls)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("calls"), list):
        raise ValueError("no calls list")
    entries: list[Any] = payload["calls"]
    return [
        entry if isinstance(entry, str) else _ListedCall.model_validate(entry).call_uuid for entry in entries
    ]


class PlivoProvider(AccountCallProvider):
    name = ProviderName("plivo")
    env = EnvSpec("PLIVO", DEFAULT_BASE_URL, secrets=("auth_id", "auth_token"))
    settings_type = PlivoSettings
    call_id_words = "Plivo call_uuid"

    @classmethod
    def wire(cls, settings: PlivoSettings) -> Wire:
        """HTTP basic ``auth_id:auth_token``, paced under 300 requests per 5 s."""
        auth_id, token = settings.auth_id.get_secret_value(), settings.auth_token.get_secret_value()
        return Wire(
            auth=(auth_id, token),
            secrets=[auth_id, token],
            requests_per_minute=REQUESTS_PER_MINUTE,
            pacing_burst=BURST,
        )

    @classmethod
    def pacing_account(cls, settings: PlivoSettings) -> str:
        """Plivo's limit (300 per 5 s) is per account: replicas of one account share it."""
        return settings.auth_id.get_secret_value()

    @classmethod
    def redaction_pairs(cls, settings: PlivoSettings) -> list[tuple[str, str]]:
        """Basic auth joins id and token (``auth_id:auth_token`` in base64): the pair is a secret too."""
        return [(settings.auth_id.get_secret_value(), settings.auth_token.get_secret_value())]

    @classmethod
    def envelope_error(cls, payload: Any) -> EnvelopeError | None:
        """``{"api_id", "error": "..."}`` in a 2xx answer: Plivo's error, not a call or a list."""
        if (
            isinstance(payload, dict)
            and isinstance(payload.get("error"), str)
            and not {"calls", "call_uuid", "objects"} & payload.keys()
        ):
            return EnvelopeError("Plivo answered with an error: {said}", said=payload["error"])
        return None

    def list_params(self, status: str, query: ListQuery) -> dict[str, str | int]:
        """``call_direction`` on the live list (the queued list documents no filter)."""
        if status == "live" and query.direction is not None:
            return {"call_direction": query.direction.value}
        return {}

    def read_call_list(self, payload: Any) -> list[str]:
        return plivo_call_list(payload)


ADAPTER = PlivoProvider
"""What the registry loads for this folder."""
