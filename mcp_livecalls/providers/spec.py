"""What a provider declares about itself: its capabilities and where its settings come from.

``EnvSpec`` is the one description of a provider's settings: ``mcp_livecalls.config`` reads the
variables it names, the settings dataclass (``LiveCallsProvider.settings_type``) has its fields,
and a 401 points at its credential variables (the first of ``EnvSpec.ways``, unless the
adapter names others in ``credential_vars``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mcp_livecalls.core.models import LiveCall

__all__ = ["CALL_FIELDS", "Capabilities", "EnvSetting", "EnvSpec", "call_fields"]

CALL_FIELDS = ("status", "direction", "from_number", "to_number", "started_at", "duration_s")
"""The normalized fields a call record of any phone provider fills; a provider adds its own."""


def call_fields(*more: str) -> tuple[str, ...]:
    """``CALL_FIELDS`` and the ``LiveCall`` fields in ``more``, in the order ``LiveCall`` declares
    them (a name that is not a field of ``LiveCall`` is a ``ValueError``)."""
    order = list(LiveCall.model_fields)
    return tuple(sorted({*CALL_FIELDS, *more}, key=order.index))


@dataclass(frozen=True)
class Capabilities:
    upstream_filters: tuple[str, ...]
    fields: tuple[str, ...]
    not_offered: tuple[str, ...] = ()
    hold_read: bool = True
    """Whether reading one call can say it is on hold. When not (Twilio's call resource, Telnyx's
    call), a hold its webhooks told of stands over later readings until an event says otherwise
    (``service.pushed.PushedEvents.held``)."""


@dataclass(frozen=True)
class EnvSetting:
    """One setting of a provider read from one environment variable."""

    field: str
    var: str
    kind: Literal["secret", "text", "number"] = "secret"
    minimum: float = 0.0
    """For a number: the smallest value accepted."""


@dataclass(frozen=True)
class EnvSpec:
    """Where a provider's settings come from: its variables, which are secret, its default URL.

    A provider is enabled when its secret variables are set; a half-set provider is a
    ``ConfigError`` naming the missing variable (``mcp_livecalls.config`` reads the spec).
    """

    prefix: str
    """Every variable is ``<prefix>_<FIELD>`` (``VOBIZ_AUTH_ID`` for ``auth_id``)."""
    default_base_url: str
    secrets: tuple[str, ...]
    """The credential fields: all set enables the provider, none disables it."""
    texts: tuple[str, ...] = ()
    numbers: tuple[tuple[str, float], ...] = ()
    """Number fields, each with the smallest value accepted."""
    alternatives: tuple[tuple[str, ...], ...] = ()
    """Credential sets of which one is enough (Twilio: an auth token, or an API key and secret).
    Their fields are listed in ``secrets`` too; the secrets outside every set are always needed,
    and a set that is half set is a ``ConfigError``. A field of a set left unset is ``None``."""

    @property
    def base_url_var(self) -> str:
        return f"{self.prefix}_BASE_URL"

    @property
    def settings(self) -> tuple[EnvSetting, ...]:
        def var(field_name: str) -> str:
            return f"{self.prefix}_{field_name.upper()}"

        return (
            *(EnvSetting(name, var(name)) for name in self.secrets),
            *(EnvSetting(name, var(name), kind="text") for name in self.texts),
            *(EnvSetting(name, var(name), kind="number", minimum=low) for name, low in self.numbers),
        )

    @property
    def secret_vars(self) -> tuple[str, ...]:
        return tuple(item.var for item in self.settings if item.kind == "secret")

    def var(self, field_name: str) -> str:
        return next(item.var for item in self.settings if item.field == field_name)

    @property
    def ways(self) -> tuple[tuple[str, ...], ...]:
        """Each complete set of credential variables that enables the provider (one without
        ``alternatives``)."""
        chosen = {name for group in self.alternatives for name in group}
        always = tuple(self.var(name) for name in self.secrets if name not in chosen)
        if not self.alternatives:
            return (always,)
        return tuple((*always, *(self.var(name) for name in group)) for group in self.alternatives)
