"""What the simulated providers' status callbacks share: the change a callback tells, the signed
request it becomes, and the base class of each pushing provider's ``providers/<name>/callbacks.py``.

A provider's callbacks module knows two things, both inverse to its webhook reader
(``providers/<name>/webhook.py``, whose signing functions it reuses): what the provider posts
for a change of a call (``payload``; ``None`` when the provider says nothing of that change) and
how the provider signs it (``sign``). ``simulator.push`` finds the changes and sends the requests.
"""

from __future__ import annotations

import json
import random
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from mcp_livecalls.simkit.calls import CallState, SimCall

__all__ = ["Callback", "CallbackMaker", "Change", "Payload", "SecretMaker", "nonce", "token"]


@dataclass(frozen=True, slots=True)
class Change:
    """A call's move to a new state, as its schedule says."""

    call: SimCall
    state: CallState
    before: CallState
    """The state it left (equal to ``state`` for the first entry of the schedule)."""
    at: datetime
    sequence: int
    """The change's place in the call's schedule (0 for its creation): providers that number
    their callbacks (Twilio's ``SequenceNumber``) send it."""


@dataclass(frozen=True, slots=True)
class Payload:
    """What a provider posts: form parameters (``form``) or a JSON object (``json``)."""

    form: Mapping[str, str] | None = None
    json: Mapping[str, Any] | None = None

    @property
    def body(self) -> bytes:
        if self.json is not None:
            return json.dumps(self.json, separators=(",", ":")).encode("utf-8")
        return urlencode(dict(self.form or {})).encode("utf-8")

    @property
    def content_type(self) -> str:
        return "application/json" if self.json is not None else "application/x-www-form-urlencoded"

    @property
    def params(self) -> dict[str, tuple[str, ...]]:
        """The form parameters as a reader sees them (each name with its values)."""
        return {name: (value,) for name, value in (self.form or {}).items()}


@dataclass(frozen=True, slots=True)
class Callback:
    """One signed request, ready to post."""

    provider: str
    call_id: str
    change: Change
    url: str
    headers: Mapping[str, str]
    body: bytes
    signed_right: bool


class CallbackMaker(ABC):
    """One provider's status callbacks: their payloads and their signature.

    A maker holds the key it signs with (from the simulated account, or generated here when the
    provider's verification secret is not an account credential: ``settings`` then names it for
    the server) and a wrong key of the same kind (the ``wrong signature`` fault).
    """

    name: ClassVar[str]

    def __init__(self, account: Mapping[str, str], rng: random.Random) -> None:
        self.account = account
        self.rng = rng
        """For what a provider draws per callback (a nonce, an event id)."""
        self.key = self.new_key(account, rng, right=True)
        self.wrong_key = self.new_key(account, rng, right=False)

    @abstractmethod
    def new_key(self, account: Mapping[str, str], rng: random.Random, *, right: bool) -> Any:
        """The key to sign with (``right``) or one that looks like it but is not."""

    def settings(self) -> dict[str, str]:
        """The server's settings fields (``EnvSpec``) that verify these callbacks, beyond the
        account's credentials (Exotel's path token …); empty when the account's secret does."""
        return {}

    def path(self, key: Any) -> str:
        """The receiver's path (``/webhooks/<name>``) for callbacks made with ``key``."""
        return f"/webhooks/{self.name}"

    @abstractmethod
    def payload(self, change: Change, now: datetime) -> Payload | None:
        """What the provider posts for ``change``; ``None`` when it posts nothing for it."""

    @abstractmethod
    def sign(self, url: str, payload: Payload, now: datetime, key: Any) -> dict[str, str]:
        """The headers that sign ``payload`` posted to ``url`` at ``now`` with ``key``."""

    def make(self, base_url: str, change: Change, now: datetime, *, wrong: bool = False) -> Callback | None:
        """The signed request for ``change`` (``wrong``: signed with the wrong key), or ``None``."""
        payload = self.payload(change, now)
        if payload is None:
            return None
        key = self.wrong_key if wrong else self.key
        url = base_url.rstrip("/") + self.path(key)
        headers = {"content-type": payload.content_type, **self.sign(url, payload, now, key)}
        return Callback(self.name, change.call.id, change, url, headers, payload.body, not wrong)


class SecretMaker(CallbackMaker):
    """A maker whose key is one credential of the account (``verified_by``), as the reader's."""

    verified_by: ClassVar[str]

    def new_key(self, account: Mapping[str, str], rng: random.Random, *, right: bool) -> Any:
        return account[self.verified_by] if right else f"wrong-{token(rng)}"


def token(rng: random.Random, length: int = 32) -> str:
    """A random URL-safe text of ``length`` characters, drawn from ``rng``."""
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return "".join(rng.choice(alphabet) for _ in range(length))


def nonce(rng: random.Random) -> str:
    """A 20-digit nonce (Plivo's and Vobiz's)."""
    return f"{rng.randrange(10**20):020d}"
