"""Asking providers under one deadline: each answer, failure or silence becomes an ``Outcome``.

One provider failing never fails the others; a provider still silent at the deadline is reported
as not having answered in time (``late``), never as not knowing the call. An argument refused
before any request (a ``LiveCallsError`` that is no ``ProviderError``) is the caller's, and is
raised as itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import anyio

from mcp_livecalls.core.catalog import title_of
from mcp_livecalls.core.models import ProviderName
from mcp_livecalls.errors import CallNotFound, LiveCallsError, ProviderError, ProviderUnavailable
from mcp_livecalls.providers.base import LiveCallsProvider
from mcp_livecalls.providers.tasks import gather

__all__ = ["Outcome", "ask", "ask_all", "unsettled"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
Op = Callable[[LiveCallsProvider], Awaitable[_T]]


@dataclass(frozen=True)
class Outcome(Generic[_T]):
    provider: ProviderName
    value: _T | None = None
    error: ProviderError | None = None
    late: bool = False
    """The provider did not answer before the call's deadline (``error`` says so)."""


async def ask(adapter: LiveCallsProvider, op: Op[_T], deadline: float, budget_s: float) -> Outcome[_T]:
    """Run ``op`` against one provider until ``deadline``; failures become an outcome."""
    name = adapter.name
    with anyio.CancelScope(deadline=deadline):
        try:
            return Outcome(name, value=await op(adapter))
        except ProviderError as exc:
            return Outcome(name, error=exc)
        except LiveCallsError:
            raise  # an argument refused before any request: the caller's, not the provider's
        except Exception as exc:
            # Logged whole through the redacting log filter; the caller sees the kind only.
            logger.error("the %s adapter failed", name.value, exc_info=exc)
            kind = type(exc).__name__
            said = f"{title_of(name.value)} could not be asked: mcp-livecalls hit an internal error ({kind})."
            return Outcome(name, error=ProviderUnavailable(name.value, said))
    # Only this scope's deadline gets here: a cancellation from outside propagates.
    error = ProviderUnavailable(
        name.value,
        f"{title_of(name.value)} did not answer within {budget_s:g}s (the time budget of one call, "
        f"LIVECALLS_TOOL_BUDGET_S); try again in a moment.",
    )
    return Outcome(name, error=error, late=True)


async def ask_all(
    adapters: Mapping[ProviderName, LiveCallsProvider],
    names: Sequence[ProviderName],
    op: Op[_T],
    deadline: float,
    budget_s: float,
) -> list[Outcome[_T]]:
    """``ask`` each of ``names`` concurrently; the outcomes in the order of ``names``. An argument
    refused before any request is raised as itself (the first wins; ``providers.tasks.gather``)."""
    return await gather([functools.partial(ask, adapters[name], op, deadline, budget_s) for name in names])


def unsettled(call_id: str, outcomes: Sequence[Outcome[_T]], budget_s: float) -> str:
    """Why a lookup across providers found nothing for sure: who did not answer (in time), and
    who answered that the call is not live there. Never "not found" for a provider that did not
    answer: the call may well be live there."""
    late = [o.provider.value for o in outcomes if o.late]
    failed = [
        o for o in outcomes if o.error is not None and not o.late and not isinstance(o.error, CallNotFound)
    ]
    absent = [o.provider.value for o in outcomes if isinstance(o.error, CallNotFound)]
    parts = (
        [f"{', '.join(late)} did not answer within {budget_s:g}s (LIVECALLS_TOOL_BUDGET_S)"] if late else []
    )
    parts += [f"{o.provider.value}: {o.error}" for o in failed]
    message = f"Call {call_id!r} could not be looked up at every provider: {'; '.join(parts)}."
    if absent:
        message += f" It is not live at {', '.join(absent)}."
    unsure = ", ".join([*late, *(o.provider.value for o in failed)])
    return f"{message} It may be live at {unsure}: try again, or set provider."
