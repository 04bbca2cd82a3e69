"""The simulated Twilio REST API (2010-04-01): the Twilio family's simulation
(``families/twilio_simulated.py``) on Twilio's paths, auth, error bodies and flavours (``twilio.*``).

Under ``/2010-04-01/Accounts/{AccountSid}``: ``Calls.json``, ``Calls/{CallSid}.json``,
``Conferences.json`` and ``Conferences/{ConferenceSid}/Participants.json``. Auth is HTTP basic with
``AccountSid:AuthToken`` or an API key ``SK…:secret`` when the account has one; errors are Twilio's
``{code, message, more_info, status}``. Calls have ``CA`` + 32 hex sids, conferences ``CF`` + 32 hex.

Flavours: ``twilio.small_pages`` honours at most 2 calls a page whatever ``PageSize`` asks (paging
along ``next_page_uri``); ``twilio.older_body`` answers lists with the paging fields Twilio dropped
(``total``, ``num_pages``, ``last_page_uri``) and calls without ``queue_time``/``trunk_sid``/
``group_sid``; ``twilio.live_duration`` writes a live call's ``duration`` as a string of the seconds
so far instead of ``null``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from mcp_livecalls.providers.families.twilio_simulated import CompatSimulation

__all__ = ["TWILIO_FLAVOURS", "TwilioSimulation"]

TWILIO_FLAVOURS: frozenset[str] = frozenset(
    {"twilio.small_pages", "twilio.older_body", "twilio.live_duration"}
)


class TwilioSimulation(CompatSimulation):
    name = "twilio"
    flavours = TWILIO_FLAVOURS
    demo_settings: ClassVar[Mapping[str, str]] = {
        "account_sid": "AC5e1f0c2d9b8a7f6e5d4c3b2a1f0e9d8c",
        "auth_token": "sim-twilio-auth-token",
    }
    error_page = "https://www.twilio.com/docs/errors/{code}"

    def credential_pairs(self) -> list[tuple[str, str]]:
        """``AccountSid:AuthToken``, and the API key's pair when the account has one."""
        pairs = super().credential_pairs()
        if self.account.get("api_key") and self.account.get("api_secret"):
            pairs.append((self.account["api_key"], self.account["api_secret"]))
        return pairs


SIMULATED = TwilioSimulation
"""What the simulator loads for this folder."""
