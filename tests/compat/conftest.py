"""The foreign clients' runs, once per test session (see ``harness.py``)."""

from __future__ import annotations

import pytest

from .harness import Outcome, run_all


@pytest.fixture(scope="session")
def compat_runs() -> dict[tuple[str, str], Outcome]:
    """Every client through every scenario; the tests assert on the reports."""
    return run_all()
