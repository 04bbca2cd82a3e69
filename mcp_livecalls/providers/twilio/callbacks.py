"""Twilio's status callbacks as the simulated Twilio posts them (the family's, ``AccountSid`` its
account SID), signed with the account's auth token."""

from __future__ import annotations

from mcp_livecalls.providers.families.twilio_callbacks import CompatCallbacks
from mcp_livecalls.providers.twilio.webhook import SIGNATURE_HEADER

__all__ = ["CALLBACKS", "TwilioCallbacks"]


class TwilioCallbacks(CompatCallbacks):
    name = "twilio"
    verified_by = "auth_token"
    signature_header = SIGNATURE_HEADER


CALLBACKS = TwilioCallbacks
