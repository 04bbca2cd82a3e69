"""How an Exotel list run judges its pages: a call that contradicts a filter, filters that cannot be
checked, a page that starts over, the run's notes; and where else the v3 API may live."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcp_livecalls.core.models import LiveCall
from mcp_livecalls.core.query import ListQuery
from mcp_livecalls.providers.base import MAX_SCAN_PAGES, PageGuard

__all__ = ["Scan", "contradicts", "hosts_hint", "repeats", "unknown_for"]


def contradicts(call: LiveCall, query: ListQuery) -> bool:
    """Whether ``call`` plainly fails an upstream filter (an Exotel version that ignores it)."""
    if query.direction is not None and call.direction is not None and call.direction != query.direction:
        return True
    return (
        query.agent_id is not None
        and call.agent is not None
        and call.agent.id is not None
        and call.agent.id != query.agent_id
    )


def unknown_for(call: LiveCall, query: ListQuery) -> list[str]:
    """The upstream filters ``call`` cannot be checked against (version B says no direction/agent)."""
    unknown = []
    if query.direction is not None and call.direction is None:
        unknown.append("direction")
    if query.agent_id is not None and (call.agent is None or call.agent.id is None):
        unknown.append("agent_id")
    return unknown


@dataclass
class Scan:
    """What one paging run has seen: the previous page's sids and the notes to give."""

    previous: list[str] | None = None
    notes: list[str] = field(default_factory=list)
    guard: PageGuard = field(default_factory=lambda: PageGuard(max_pages=MAX_SCAN_PAGES))
    """The calls listed so far in this run: a page that adds none of its own stops it."""

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def repeats(sids: list[str], earlier: list[str] | None) -> bool:
    """Whether a page starts over where ``earlier`` started (one is a prefix of the other).

    A page past offset 0 that begins with the calls the first page began with was answered from
    the start again: Exotel ignored ``offset`` (its limit may differ, so only the shared part counts).
    """
    if not earlier:
        return False
    shared = min(len(sids), len(earlier))
    return sids[:shared] == earlier[:shared]


def hosts_hint(base_url: str) -> str:
    """Where else Exotel's v3 API may live (its docs name three hosts; accounts sit on a cluster)."""
    current = base_url.rstrip("/").lower().removeprefix("https://").removeprefix("http://")
    others = [f"{host} ({where})" for host, where in _HOSTS if host != current]
    return (
        "Exotel's v3 API may live on your account's cluster: point EXOTEL_BASE_URL at host "
        + " or ".join(others)
        + "; the credentials were not refused."
    )


_HOSTS = (
    ("api.exotel.com", "the docs' example"),
    ("ccm-api.exotel.com", "Singapore"),
    ("ccm-api.in.exotel.com", "Mumbai"),
)
