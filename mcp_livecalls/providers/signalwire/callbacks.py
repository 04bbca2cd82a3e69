"""SignalWire's status callbacks as the simulated SignalWire posts them: the Twilio family's form
callbacks (``AccountSid`` the project id), signed with the project's Signing Key as Twilio signs a
form (``webhook.py``: a form without repeated names signs the same either way)."""

from __future__ import annotations

from mcp_livecalls.providers.families.twilio_callbacks import CompatCallbacks

__all__ = ["CALLBACKS", "SignalWireCallbacks"]


class SignalWireCallbacks(CompatCallbacks):
    name = "signalwire"
    verified_by = "signing_key"
    account_field = "project_id"
    signature_header = "x-signalwire-signature"


CALLBACKS = SignalWireCallbacks
