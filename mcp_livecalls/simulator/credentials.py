"""The credentials the simulator accepts (one account per provider)."""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["DEMO_CREDENTIALS", "SimulatorCredentials"]


@dataclass(frozen=True, slots=True)
class SimulatorCredentials:
    """Credentials for the three simulated providers.

    These are not secrets: they only open the local simulator, and the demo prints them.
    """

    vobiz_auth_id: str = "MA_SIMULATOR0001"
    vobiz_auth_token: str = "sim-vobiz-token"
    exotel_account_sid: str = "simulator1"
    exotel_api_key: str = "sim-exotel-key"
    exotel_api_token: str = "sim-exotel-token"
    zudu_api_key: str = "sk_simulator"
    zudu_api_secret: str = "s3cr3t_simulator"
    vobiz_timezone: str = "UTC"
    """Not a credential: the simulated Vobiz account's Console zone (its times are written in UTC)."""

    def settings_for(self, provider: str) -> dict[str, str]:
        """This account's settings for ``provider`` by settings field (``auth_id`` …): each field
        here is named ``<provider>_<settings field>``."""
        prefix = f"{provider}_"
        return {
            item.name.removeprefix(prefix): getattr(self, item.name)
            for item in fields(self)
            if item.name.startswith(prefix)
        }

    def __repr__(self) -> str:
        # Even demo tokens should not end up in logs by habit.
        return (
            f"SimulatorCredentials(vobiz_auth_id={self.vobiz_auth_id!r}, "
            f"exotel_account_sid={self.exotel_account_sid!r}, zudu_api_key={self.zudu_api_key!r}, ...)"
        )


#: The credentials a :class:`~mcp_livecalls.simulator.Simulator` accepts unless given others.
DEMO_CREDENTIALS = SimulatorCredentials()
