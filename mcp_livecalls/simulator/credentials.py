"""The credentials the simulator accepts: one demo account per simulated provider.

Each simulated provider declares its demo account (``SimulatedProvider.demo_settings``, by the
adapter's settings field); ``SimulatorCredentials`` holds them all and lets a test replace any
field. They are not secrets: they only open the local simulator, and the demo prints them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["DEMO_CREDENTIALS", "SimulatorCredentials"]


class SimulatorCredentials:
    """Every simulated provider's account, by provider and settings field.

    ``SimulatorCredentials(vobiz_auth_token="other")`` is the demo accounts with one field
    replaced; a field is named ``<provider>_<settings field>`` and read the same way
    (``creds.vobiz_auth_id``) or per provider (``creds.settings_for("vobiz")``).
    """

    __slots__ = ("_accounts",)

    def __init__(self, **fields: str) -> None:
        from mcp_livecalls.simulator.registry import SIMULATED  # its modules import the simulator

        accounts = {kind.name: dict(kind.demo_settings) for kind in SIMULATED}
        for key, value in fields.items():
            provider, field = _split(key, accounts)
            accounts[provider][field] = value
        self._accounts: Mapping[str, Mapping[str, str]] = MappingProxyType(
            {name: MappingProxyType(account) for name, account in accounts.items()}
        )

    def settings_for(self, provider: str) -> Mapping[str, str]:
        """This account's settings for ``provider`` by settings field (``auth_id`` …)."""
        return self._accounts.get(provider, MappingProxyType({}))

    def replace(self, **fields: str) -> SimulatorCredentials:
        """These accounts with the given ``<provider>_<field>`` values replaced."""
        current = {
            f"{name}_{field}": value
            for name, account in self._accounts.items()
            for field, value in account.items()
        }
        return SimulatorCredentials(**{**current, **fields})

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):
            raise AttributeError(key)
        provider, field = _split(key, self._accounts)
        try:
            return self._accounts[provider][field]
        except KeyError:
            raise AttributeError(f"no simulated {provider} account field {field!r}") from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SimulatorCredentials) and dict(self._accounts) == dict(other._accounts)

    def __hash__(self) -> int:
        return hash(tuple((name, tuple(sorted(account.items()))) for name, account in self._accounts.items()))

    def __repr__(self) -> str:
        # Even demo tokens should not end up in logs by habit: the providers only.
        return f"SimulatorCredentials(providers={list(self._accounts)}, ...)"


def _split(key: str, accounts: Mapping[str, object]) -> tuple[str, str]:
    """``vobiz_auth_id`` → (``vobiz``, ``auth_id``): the longest provider name that prefixes it."""
    for name in sorted(accounts, key=len, reverse=True):
        if key.startswith(f"{name}_"):
            return name, key[len(name) + 1 :]
    raise AttributeError(f"{key!r} names no simulated provider's account field")


#: The credentials a :class:`~mcp_livecalls.simulator.Simulator` accepts unless given others.
DEMO_CREDENTIALS = SimulatorCredentials()
