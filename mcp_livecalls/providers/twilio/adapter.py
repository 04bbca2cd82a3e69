"""Twilio (REST API 2010-04-01) live calls: the Twilio family's original
(``providers/families/twilio.py`` reads it for every member; these are Twilio's facts).

HTTP basic auth, either ``AccountSid:AuthToken`` or an API key ``SK…:secret`` (the account SID
still names the account in every path); with both configured the API key is used (Twilio's
advice for production). Base ``https://api.twilio.com``.

* ``GET /2010-04-01/Accounts/{AccountSid}/Calls.json?Status=…&PageSize=…`` lists calls of one
  status per request, newest first: ``{calls: [...], page, page_size, next_page_uri, uri, ...}``
  (older bodies add ``start``/``end``/``first_page_uri``; the oldest ``total``/``num_pages``).
  The live calls are three lists, ``in-progress``, ``ringing`` and ``queued``: they are asked
  concurrently, each followed along its ``next_page_uri`` (``PAGE_SIZE`` a page, at most
  ``MAX_LIST_PAGES`` pages), and joined in that order, each call once (a call that moved from
  ``ringing`` to ``in-progress`` between the requests shows in both answers: the first wins). The
  upstream offset of the cross-provider cursor is the position in that joined list. One list
  failing leaves the others' calls listed (the page's ``notes`` say which part is missing); a
  ``next_page_uri`` that leaves the account's ``Calls.json`` is not followed, and the shared
  ``PageGuard`` ends a list at a repeated page link or a page whose calls were all listed
  already (each with a note). Twilio's list filters
  (``From``, ``To``, ``StartTime``) do not match this server's (either side, last digits,
  direction, agent), so every filter is applied here; a ``status`` filter asks only its own list
  (none for a status Twilio never lists, such as ``on_hold``), and an ``agent_id`` filter asks
  nothing (Twilio's calls name no agent).
* ``GET …/Calls/{CallSid}.json`` answers one call. A call whose status is ``completed``, ``busy``,
  ``failed``, ``no-answer`` or ``canceled`` is not live (``CallNotFound``, as the other adapters
  answer for ended calls); so is an id that is not a call SID (``CA`` + 32 hex digits): no
  request is made for it.
* ``get_stream_details`` adds legs, hold, mute and coaching, which Twilio keeps on conferences:
  ``GET …/Conferences.json?Status=in-progress`` (the newest ``MAX_CONFERENCES``), then each one's
  ``…/Conferences/{CF…}/Participants.json`` concurrently, until the call is found among the
  participants (``call_sid``, ``label``, ``muted``, ``hold``, ``coaching``, ``status``). Every
  participant of that conference is a leg (its ``label`` the role, ``coach`` for a coaching
  participant without one); a call in progress whose own participant is held reads ``on_hold``.
  A failed conference request loses only the legs (said in ``not_offered``), never the call.
  ``…/Calls/{CA…}/Streams`` is create-only: media streams are not offered.

Fields: ``start_time``/``end_time``/``date_created`` are RFC 2822 dates (``Tue, 31 Aug 2010
20:36:29 +0000``); ``duration`` is a string of seconds, ``null`` while live (then counted from
``start_time``, or ``date_created`` before the call is dialled); ``queue_time`` (ms, a string),
``answered_by``, ``forwarded_from``, ``parent_call_sid`` (a child leg, e.g. of ``<Dial>``) and a
direction other than ``inbound``/``outbound-api`` (``outbound-dial``) go to ``extras``. The
status words are the ones Exotel's v1 API copied from this API (``rest_call_status`` reads both).
Numbers come in E.164 with ``+``; ``client:…`` and ``sip:…`` identities are kept as written.

Errors come as ``{"code": 20404, "message", "more_info", "status"}``: 401 (code 20003) names the
credential variables in use, 404 (20404) of a call is ``CallNotFound``, 429 (20429: Twilio limits
concurrent requests per account) is retried after ``Retry-After`` like every provider's. Such a
body inside a 200 answer is refused the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Self

from pydantic import SecretStr

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.providers.base import EnvSpec, Wire
from mcp_livecalls.providers.families.twilio import (
    LIVE_STATUSES,
    MAX_CONFERENCES,
    MAX_LIST_PAGES,
    PAGE_SIZE,
    CompatProvider,
)
from mcp_livecalls.providers.families.twilio_records import (
    compat_error,
    compat_leg_status,
    normalize_compat_call,
    parse_rfc2822,
)
from mcp_livecalls.upstream.client import ProviderHTTP

normalize_twilio_call = normalize_compat_call
twilio_error = compat_error
twilio_leg_status = compat_leg_status

__all__ = [
    "LIVE_STATUSES",
    "MAX_CONFERENCES",
    "MAX_LIST_PAGES",
    "PAGE_SIZE",
    "TwilioProvider",
    "TwilioSettings",
    "normalize_twilio_call",
    "parse_rfc2822",
    "twilio_error",
    "twilio_leg_status",
]

DEFAULT_BASE_URL = "https://api.twilio.com"


@dataclass(frozen=True)
class TwilioSettings:
    account_sid: SecretStr
    auth_token: SecretStr | None = None
    api_key: SecretStr | None = None
    """An API key's SID (``SK…``); with ``api_secret`` it replaces the auth token."""
    api_secret: SecretStr | None = None
    base_url: str = DEFAULT_BASE_URL

    def basic_auth(self) -> tuple[str, str]:
        """The basic-auth pair: the API key when one is set, else the account SID and auth token."""
        if self.api_key is not None and self.api_secret is not None:
            return self.api_key.get_secret_value(), self.api_secret.get_secret_value()
        if self.auth_token is None:
            raise ValueError("Twilio needs an auth token or an API key and secret")
        return self.account_sid.get_secret_value(), self.auth_token.get_secret_value()

    def credential_vars(self) -> tuple[str, ...]:
        if self.api_key is not None and self.api_secret is not None:
            return ("TWILIO_API_KEY", "TWILIO_API_SECRET", "TWILIO_ACCOUNT_SID")
        return ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN")


class TwilioProvider(CompatProvider):
    name = ProviderName("twilio")
    env = EnvSpec(
        "TWILIO",
        DEFAULT_BASE_URL,
        secrets=("account_sid", "auth_token", "api_key", "api_secret"),
        alternatives=(("auth_token",), ("api_key", "api_secret")),
    )
    settings_type = TwilioSettings
    call_id_words = "Twilio CallSid (CA…)"

    @classmethod
    def wire(cls, settings: TwilioSettings) -> Wire:
        given = (settings.account_sid, settings.auth_token, settings.api_key, settings.api_secret)
        return Wire(
            auth=settings.basic_auth(),
            secrets=[value.get_secret_value() for value in given if value is not None],
            credential_vars=settings.credential_vars(),
            not_found_hint="The account SID is part of every path: check TWILIO_ACCOUNT_SID too.",
        )

    @classmethod
    def built(cls, settings: TwilioSettings, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        return cls(http, account_sid=settings.account_sid.get_secret_value(), now=now)

    @classmethod
    def redaction_pairs(cls, settings: TwilioSettings) -> list[tuple[str, str]]:
        """Basic auth joins the pair in use (``sid:token`` or ``key:secret``): redacted as a pair
        too, and so is the other pair when both are configured."""
        pairs = []
        if settings.auth_token is not None:
            pairs.append((settings.account_sid.get_secret_value(), settings.auth_token.get_secret_value()))
        if settings.api_key is not None and settings.api_secret is not None:
            pairs.append((settings.api_key.get_secret_value(), settings.api_secret.get_secret_value()))
        return pairs


ADAPTER = TwilioProvider
"""What the registry loads for this folder."""
