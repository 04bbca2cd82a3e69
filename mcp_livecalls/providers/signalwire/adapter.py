"""SignalWire live calls: its Compatibility ("LaML"/cXML) REST API, a member of the Twilio family.

SignalWire serves Twilio's REST API 2010-04-01 on each space's own host, so this adapter is the
family's ``CompatProvider`` (``providers/families/twilio.py``) with SignalWire's host, path
prefix, ids, auth and names. Sources: SignalWire's API spec (github.com/signalwire/docs,
``specs/compatibility-api/calls/main.tsp``, ``calls/models/core.tsp``,
``conferences/models/core.tsp``, ``_shared/errors.tsp``, ``_shared/pagination.tsp``), the
reference pages "List all Calls" and "Retrieve a Call" (signalwire.com/docs/compatibility-api/
rest/calls/…, the "Compatibility REST API" overview) and SignalWire's SDKs (PyPI ``signalwire``
2.1.1 ``signalwire/rest/__init__.py``; ``signalwire-sdk`` 3.7.5 ``signalwire/rest/client.py``).

* Base ``https://{space}.signalwire.com/api/laml/2010-04-01`` ("Each space on SignalWire gets its
  own subdomain"): ``SIGNALWIRE_SPACE_URL`` is the space's host as the Dashboard's API page shows
  it (``example.signalwire.com``; the compatibility SDK's ``SIGNALWIRE_SPACE_URL``, the newer SDK's
  ``SIGNALWIRE_SPACE``). It names the customer, so it is kept as a secret like the credentials.
* HTTP basic ``ProjectID:APIToken`` (``SIGNALWIRE_PROJECT_ID``, ``SIGNALWIRE_API_TOKEN``, the SDKs'
  names); "the AccountSid and Project ID are the same thing": the project id is in every path.
* ``GET …/Accounts/{ProjectID}/Calls`` lists calls with Twilio's filters (``Status`` one of queued,
  ringing, in-progress, canceled, completed, busy, failed; ``From``, ``To``, ``StartTime``,
  ``ParentCallSid``), ``PageSize`` 1-1000 (default 50), ``Page``/``PageToken``; the answer is
  ``{uri, first_page_uri, next_page_uri, previous_page_uri, page, page_size, calls}``. The spec
  writes the paths without ``.json`` (the list example's ``next_page_uri`` is
  ``…/Calls?Page=1&PageSize=50&PageToken=PA…``), the older reference and SDK 2.1.1 (the Twilio
  library) with it: ``.json`` is asked, and a ``next_page_uri`` naming either form is followed.
  ``GET …/Calls/{Sid}`` answers one call; the live lists, their joining and the notes are the
  family's.
* Ids are UUIDs (``sid`` ``format: "uuid"``, e.g. ``b3877c40-da60-4998-90ad-b792e98472ca``), yet
  any id that is safe in a path is asked for (the spec's own examples are not all UUIDs, e.g.
  ``…98472pn``): SignalWire's 404 answers the rest. Differences from Twilio read by the family's records:
  ``duration`` an integer (not a string); ``direction`` ``inbound``/``outbound`` (webhooks also say
  ``outbound-api``/``outbound-dial``; another word goes to ``extras`` as ``signalwire_direction``);
  ``formatted_from``/``formatted_to`` besides ``from_formatted``; dates RFC 2822, though the spec's
  examples write ``Sept`` (``Wed, 19 Sept 2018 20:00:00 +0000``), which is read too.
* Conferences (``Conferences.json?Status=in-progress``, ``…/Participants.json``) give the legs:
  a participant has ``call_sid``, ``muted``, ``hold``, ``coaching``, ``call_sid_to_coach`` and a
  status ``in-progress``/``completed``, but no ``label`` (so a leg's role is only ``coach``).
* Errors are Twilio's body, ``{code, message, more_info, status}`` (401 with code 20003,
  "Authentication failed"; 404), and the family reads them the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from pydantic import SecretStr

from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.errors import ConfigError
from mcp_livecalls.providers.base import EnvSpec, Wire
from mcp_livecalls.providers.families.twilio import CompatProvider
from mcp_livecalls.upstream.client import ProviderHTTP
from mcp_livecalls.upstream.translate import find_message

__all__ = ["SignalWireProvider", "SignalWireSettings", "space_base_url"]

DEFAULT_BASE_URL = "https://{space_url}"
"""The space's own host: ``SIGNALWIRE_SPACE_URL`` fills it in (``SIGNALWIRE_BASE_URL`` overrides)."""
_HOST = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
_ANY_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def space_base_url(space_url: str) -> str:
    """``https://example.signalwire.com`` for the space ``example.signalwire.com`` (an ``https://``
    in front and a ``/`` after are accepted); a ``ConfigError`` that never quotes a bad value."""
    host = space_url.strip().removeprefix("https://").rstrip("/")
    if not _HOST.fullmatch(host):
        raise ConfigError(
            "SIGNALWIRE_SPACE_URL must be your space's host, such as example.signalwire.com "
            "(the Space URL on the Dashboard's API page)."
        )
    return f"https://{host}"


@dataclass(frozen=True)
class SignalWireSettings:
    space_url: SecretStr
    project_id: SecretStr
    api_token: SecretStr
    signing_key: str = ""
    """The project's Signing Key (webhooks only; ``SIGNALWIRE_SIGNING_KEY``): unset, webhooks stay off."""
    base_url: str = DEFAULT_BASE_URL

    def __post_init__(self) -> None:
        if self.base_url == DEFAULT_BASE_URL:
            object.__setattr__(self, "base_url", space_base_url(self.space_url.get_secret_value()))


class SignalWireProvider(CompatProvider):
    name = ProviderName("signalwire")
    credential_vars = ("SIGNALWIRE_PROJECT_ID", "SIGNALWIRE_API_TOKEN")
    env = EnvSpec(
        "SIGNALWIRE",
        DEFAULT_BASE_URL,
        secrets=("space_url", "project_id", "api_token"),
        texts=("signing_key",),
    )
    settings_type = SignalWireSettings
    call_id_words = "SignalWire call sid (UUID)"
    api_prefix = "/api/laml"
    call_sid = _ANY_SAFE_ID
    list_forms = ("Calls.json", "Calls")

    @classmethod
    def wire(cls, settings: SignalWireSettings) -> Wire:
        """HTTP basic ``ProjectID:APIToken``; the space and the signing key are redacted too."""
        project, token = settings.project_id.get_secret_value(), settings.api_token.get_secret_value()
        secrets = [project, token, settings.space_url.get_secret_value()]
        if settings.signing_key:
            secrets.append(settings.signing_key)
        return Wire(
            auth=(project, token),
            secrets=secrets,
            not_found_hint="The project id is part of every path: check SIGNALWIRE_PROJECT_ID too.",
        )

    @classmethod
    def built(cls, settings: SignalWireSettings, http: ProviderHTTP, now: Callable[[], datetime]) -> Self:
        return cls(http, account_sid=settings.project_id.get_secret_value(), now=now)

    @classmethod
    def error_message(cls, payload: Any) -> str | None:
        """Twilio's body first; SignalWire also documents ``{"errors": [{code, message, …}]}`` and
        other shapes (``_shared/errors.tsp``), whose message is found wherever it is."""
        return super().error_message(payload) or find_message(payload)

    @classmethod
    def redaction_pairs(cls, settings: SignalWireSettings) -> list[tuple[str, str]]:
        """Basic auth joins the project id and the token: the pair is redacted too."""
        return [(settings.project_id.get_secret_value(), settings.api_token.get_secret_value())]


ADAPTER = SignalWireProvider
"""What the registry loads for this folder."""
