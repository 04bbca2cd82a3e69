"""The command line a newcomer meets first: clear refusals, and the demo."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from mcp_livecalls import __version__
from mcp_livecalls.cli import main
from mcp_livecalls.core.catalog import NAMES


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own module, fixed arguments
        [sys.executable, "-m", "mcp_livecalls.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": os.environ.get("PATH", ""), **(env or {})},
        check=False,
    )


def test_serving_without_any_credentials_says_which_variables_to_set() -> None:
    result = _run("serve")

    assert result.returncode == 2
    assert "VOBIZ_AUTH_ID and VOBIZ_AUTH_TOKEN" in result.stderr
    assert "mcp-livecalls serve --demo" in result.stderr
    assert result.stdout == ""  # stdout belongs to the stdio protocol


def test_half_set_credentials_stop_the_server_naming_the_missing_variable() -> None:
    result = _run("serve", env={"ZUDU_API_KEY": "sk_x"})

    assert result.returncode == 2
    assert "ZUDU_API_SECRET is not set" in result.stderr
    assert "sk_x" not in result.stderr


def test_http_beyond_loopback_without_a_token_is_refused() -> None:
    env = {"VOBIZ_AUTH_ID": "MA1", "VOBIZ_AUTH_TOKEN": "tok-31337"}

    result = _run("serve", "--transport", "http", "--host", "0.0.0.0", "--port", "0", env=env)  # noqa: S104

    assert result.returncode == 2
    assert "LIVECALLS_HTTP_TOKEN" in result.stderr
    assert "tok-31337" not in result.stderr


def test_the_version_is_printed() -> None:
    assert _run("--version").stdout.strip() == f"mcp-livecalls {__version__}"


def test_the_demo_shows_calls_from_every_provider_and_a_clear_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0

    out = capsys.readouterr().out
    for provider in NAMES:
        assert re.search(rf"^{provider} ", out, re.MULTILINE), provider  # a heading or a call
    assert "> get_stream_details" in out
    assert "it is not live (it may have ended)" in out


_REPORT_MODULES_AT_EXIT = """
import atexit, runpy, sys
watched = ("redis", "jwt", "mcp_livecalls.web", "mcp_livecalls.fleet", "mcp_livecalls.simulator")
atexit.register(
    lambda: sys.stderr.write(
        "LOADED " + " ".join(w for w in watched if any(m == w or m.startswith(w + ".") for m in sys.modules))
        + "\\n"
    )
)
sys.argv = ["mcp-livecalls", "serve"]
runpy.run_module("mcp_livecalls.cli", run_name="__main__")
"""


def test_serving_over_stdio_loads_neither_redis_nor_sign_in_nor_the_http_front_nor_the_simulator() -> None:
    env = {"PATH": os.environ.get("PATH", ""), "VOBIZ_AUTH_ID": "MA1", "VOBIZ_AUTH_TOKEN": "tok-1"}
    initialize = (
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}\n'
    )

    result = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", _REPORT_MODULES_AT_EXIT],
        input=initialize,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )

    assert '"result"' in result.stdout.splitlines()[0]  # it answered initialize, then stdin closed
    loaded = [line for line in result.stderr.splitlines() if line.startswith("LOADED")]
    assert loaded == ["LOADED "]
