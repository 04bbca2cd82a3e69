"""Every example runs against the simulator, as its README says."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

from mcp_livecalls.config import Settings
from mcp_livecalls.providers.registry import NAMES, PROVIDERS
from mcp_livecalls.simulator import ManualClock, Simulator, WallClock, serve_simulator

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def examples() -> Iterator[dict[str, ModuleType]]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        yield {
            name: importlib.import_module(name) for name in ("list_calls", "transfer_guard", "watch_calls")
        }
    finally:
        sys.path.remove(str(EXAMPLES))


@pytest.fixture
def fast_sim_url() -> Iterator[str]:
    """A simulator whose calls move 20 times faster than real time."""
    with serve_simulator(Simulator(seed=11, clock=WallClock(speed=20), live_calls=8)) as url:
        yield url


@pytest.fixture
def simulator_now() -> Iterator[tuple[Simulator, str]]:
    """A simulator whose clock stands at the real now: the example's server keeps the wall clock,
    and a provider whose live list is a time window (Vapi's) reads the upstream's calls by it."""
    simulator = Simulator(seed=7, clock=ManualClock(datetime.now(UTC)))
    with serve_simulator(simulator) as url:
        yield simulator, url


def test_list_calls_pages_through_every_live_call(
    examples: dict[str, ModuleType],
    simulator_now: tuple[Simulator, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    simulator, sim_url = simulator_now
    examples["list_calls"].main(["--simulator", sim_url, "--limit", "4"])

    out = capsys.readouterr().out
    live = sum(len(simulator.population.live(p)) + len(simulator.population.queued(p)) for p in NAMES)
    assert f"-- {live} live calls in " in out
    assert "-- page 2" in out


def test_transfer_guard_waits_for_an_answer_before_transferring(
    examples: dict[str, ModuleType], fast_sim_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    examples["transfer_guard"].main(["--simulator", fast_sim_url, "--timeout", "20"])

    out = capsys.readouterr().out
    assert "waiting for" in out
    assert any(verdict in out for verdict in ("transferring", "not transferring"))


def test_watch_calls_prints_changes_as_they_happen(
    examples: dict[str, ModuleType],
    fast_sim_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIVECALLS_POLL_INTERVAL_S", "0.5")

    examples["watch_calls"].main(["--simulator", fast_sim_url, "--seconds", "20", "--max-updates", "1"])

    out = capsys.readouterr().out.splitlines()
    assert "watching for changes" in out[0]
    assert any(line[:2] in ("+ ", "- ", "~ ") for line in out[1:])


@pytest.mark.parametrize("name", ["claude_desktop_config.json", "mcp_http_config.json"])
def test_config_examples_are_valid_json_naming_one_server(name: str) -> None:
    config = json.loads((EXAMPLES / name).read_text())

    assert list(config["mcpServers"]) == ["livecalls"]


def test_the_claude_desktop_example_configures_providers_with_known_variables_only() -> None:
    entry = json.loads((EXAMPLES / "claude_desktop_config.json").read_text())["mcpServers"]["livecalls"]
    known = {item.var for cls in PROVIDERS for item in cls.env.settings} | {
        cls.env.base_url_var for cls in PROVIDERS
    }

    assert entry["command"] == "mcp-livecalls"
    configured = Settings.from_env(entry["env"]).configured
    assert configured
    assert set(configured) <= set(NAMES)
    assert {var for var in entry["env"] if not var.startswith("LIVECALLS_")} <= known
