"""How the foreign clients are installed: cached and reused, and what happens when they cannot be."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import install
from .harness import unavailable


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "mcp-livecalls" / "compat"


def test_the_cache_lives_under_xdg_cache_home(empty_cache: Path) -> None:
    assert install.cache_root() == empty_cache


def test_a_finished_install_is_reused_without_running_anything(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_install(args: list[str], cwd: Path | None, what: str) -> None:
        pytest.fail(f"reinstalled: {what}")

    monkeypatch.setattr(install, "_run", no_install)
    first = install._keyed_dir("python", install.PYTHON_REQUIREMENT, "3.11")
    assert first.parent == empty_cache
    assert install._keyed_dir("python", install.PYTHON_REQUIREMENT, "3.11") == first
    assert install._keyed_dir("python", "mcp<1.20", "3.11") != first  # keyed by the requirement

    node_dir = install._keyed_dir("node", install.TS_REQUIREMENT)
    node_dir.mkdir(parents=True)
    (node_dir / "install-complete").write_text("ok\n")
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    assert install.ts_client() == node_dir


def test_without_npm_the_typescript_client_is_unavailable_and_says_why(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools-here"))
    with pytest.raises(install.ClientUnavailable, match="needs node and npm"):
        install.ts_client()
    assert not empty_cache.exists()


def test_a_failing_install_leaves_nothing_half_done_behind(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(args: list[str], cwd: Path | None, what: str) -> None:
        raise install.ClientUnavailable(f"{what} failed (exit 1): no network")

    monkeypatch.setattr(install, "_run", offline)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    with pytest.raises(install.ClientUnavailable, match="no network"):
        install.ts_client()
    assert list(empty_cache.iterdir()) == []


def test_an_unavailable_client_is_a_skip_on_a_developer_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no npm or network"):
        unavailable("npm install failed")


def test_an_unavailable_client_is_a_failure_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true and a compatibility client is unavailable"):
        unavailable("npm install failed")


def test_the_app_bridge_host_is_bundled_from_its_source_and_rebuilt_when_the_source_changes(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    ran: list[tuple[str, str]] = []

    def npm_and_esbuild(args: list[str], cwd: Path | None, what: str) -> None:
        assert cwd is not None
        ran.append((what, (cwd / "host.mjs").read_text()))
        if "esbuild" in args:
            (cwd / "host.js").write_text("bundled\n")

    entry = tmp_path / "official_host.mjs"
    monkeypatch.setattr(install, "HOST_ENTRY", entry)
    monkeypatch.setattr(install, "_run", npm_and_esbuild)
    monkeypatch.setattr(shutil, "which", lambda name: f"/usr/bin/{name}")
    entry.write_text("// first\n")
    first = install.ext_apps_host()
    assert first.read_text() == "bundled\n"
    assert [what for what, _ in ran][-1] == "esbuild bundling the AppBridge host"
    assert install.ext_apps_host() == first  # cached: nothing ran again
    assert len(ran) == 2

    entry.write_text("// edited\n")
    second = install.ext_apps_host()

    assert second != first
    assert ran[-1][1] == "// edited\n"
