"""Concurrency the providers and the service share: run parts at once, the first error wins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import anyio

from mcp_livecalls.errors import LiveCallsError, ProviderError

__all__ = ["attempt", "both", "gather"]

_T = TypeVar("_T")
_U = TypeVar("_U")


async def gather(thunks: Sequence[Callable[[], Awaitable[_T]]]) -> list[_T]:
    """Run ``thunks`` concurrently and return their results in order.

    The first ``LiveCallsError`` cancels the rest and is raised as itself, not wrapped in an
    exception group, so callers keep handling one error tree.
    """
    results: list[_T | None] = [None] * len(thunks)
    failure: LiveCallsError | None = None

    async with anyio.create_task_group() as group:

        async def run(index: int, thunk: Callable[[], Awaitable[_T]]) -> None:
            nonlocal failure
            try:
                results[index] = await thunk()
            except LiveCallsError as exc:
                if failure is None:
                    failure = exc
                group.cancel_scope.cancel()

        for index, thunk in enumerate(thunks):
            group.start_soon(run, index, thunk)
    if failure is not None:
        raise failure
    return results  # type: ignore[return-value]  # every slot was filled: no failure


async def both(first: Callable[[], Awaitable[_T]], second: Callable[[], Awaitable[_U]]) -> tuple[_T, _U]:
    """Two thunks of different types concurrently, ``first`` started first (``gather`` of two)."""
    results: list[Any] = await gather([first, second])
    return results[0], results[1]


async def attempt(thunk: Callable[[], Awaitable[_T]]) -> _T | ProviderError:
    """The thunk's value, or the provider error it raised (a part that failed, kept for later)."""
    try:
        return await thunk()
    except ProviderError as exc:
        return exc
