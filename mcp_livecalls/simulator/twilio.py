"""Twilio's REST API (2010-04-01) in the simulator: a placeholder until the simulator's provider
hooks land (it serves no route yet; its errors have Twilio's documented shape)."""

from __future__ import annotations

from mcp_livecalls.simulator.base import Answer, Endpoint, SimulatedProvider

__all__ = ["SimulatedTwilio"]


class SimulatedTwilio(SimulatedProvider):
    name = "twilio"

    def endpoints(self) -> list[tuple[str, Endpoint, str]]:
        return []

    def error(
        self, status: int, message: str, *, method: str = "GET", retry_after: float | None = None
    ) -> Answer:
        body = {
            "code": 20000 + status,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{20000 + status}",
            "status": status,
        }
        return Answer(status, body, self.retry_headers(status, retry_after))
