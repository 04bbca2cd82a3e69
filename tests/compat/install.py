"""Foreign MCP clients, installed once into a cache and reused.

The official Python SDK 1.x (``mcp<2``) goes into its own virtualenv, the agent frameworks (OpenAI
Agents SDK, PydanticAI, google-genai: each needs an ``mcp`` 1.x beside it, so never the project's
venv) into another, and the official TypeScript SDK 1.x (``@modelcontextprotocol/sdk@^1``) into its
own ``node_modules``, all under
``$XDG_CACHE_HOME/mcp-livecalls/compat/`` (default ``~/.cache/...``), in a directory named after
the requirement. A directory is used only once its install finished (a marker file says so), so an
interrupted install is redone, never half-used. ``python tests/compat/install.py`` warms the cache
(``.ci/run`` does this before the tests).

The browser tests' official MCP Apps host (``@modelcontextprotocol/ext-apps``'s AppBridge over the
TypeScript client 2.x) is installed the same way, then bundled by esbuild into one script
(:func:`ext_apps_host`); its directory is keyed by the host's source too, so an edit rebuilds it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

PYTHON_REQUIREMENT: Final = "mcp<2"
FRAMEWORK_REQUIREMENTS: Final = (
    "openai-agents==0.25.0",
    "pydantic-ai-slim[mcp]==2.78.0",
    "google-genai==3.6.1",
)
"""Pinned: the compatibility suite asserts what these exact versions do with the tools list."""
TS_REQUIREMENT: Final = "@modelcontextprotocol/sdk@^1"
OIDC_REQUIREMENT: Final = "oidc-provider@9.13.3"
"""panva's OpenID Connect / OAuth 2.0 authorization server, run on loopback by the sign-in test."""
EXT_APPS_REQUIREMENTS: Final = (
    "@modelcontextprotocol/ext-apps@^2.0.4",
    "@modelcontextprotocol/client@^2.4.0",
    "@modelcontextprotocol/core@^2.4.0",
    "zod@^4.2.0",
    "esbuild@^0.28.2",
)
"""ext-apps 2.x and its peers (the client and core SDK 2.x, zod 4), and the bundler."""
HOST_ENTRY: Final = Path(__file__).resolve().parents[1] / "browser" / "official_host.mjs"
INSTALL_TIMEOUT_S: Final = 300.0
_MARKER: Final = "install-complete"


class ClientUnavailable(RuntimeError):
    """A foreign client could not be installed here (no npm, no network, a failing install)."""


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mcp-livecalls" / "compat"


def _keyed_dir(kind: str, *key: str) -> Path:
    digest = hashlib.sha256("\0".join(key).encode()).hexdigest()[:12]
    return cache_root() / f"{kind}-{digest}"


def _run(args: list[str], cwd: Path | None, what: str) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument lists, no shell
            args, cwd=cwd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
    except FileNotFoundError as exc:
        raise ClientUnavailable(f"{what}: {args[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise ClientUnavailable(f"{what}: did not finish within {INSTALL_TIMEOUT_S:g} s") from exc
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise ClientUnavailable(f"{what} failed (exit {done.returncode}): {' | '.join(tail)}")


def _install_once(target: Path, build: list[tuple[list[str], str]], prepare: dict[str, str]) -> Path:
    """Build ``target`` in a temporary sibling directory (holding the files ``prepare`` names),
    then move it into place."""
    if (target / _MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        for name, text in prepare.items():
            (staging / name).write_text(text)
        for args, what in build:
            _run(args, staging, what)
        (staging / _MARKER).write_text("ok\n")
        if target.exists():  # an unfinished earlier attempt
            shutil.rmtree(target)
        try:
            staging.rename(target)
        except OSError:
            if not (target / _MARKER).is_file():  # nobody else finished it meanwhile
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def _python_venv(*requirements: str) -> Path:
    """The Python interpreter of a cached virtualenv holding ``requirements``."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    target = _keyed_dir("python", *requirements, version)
    # A venv is not relocatable: build it at its final path (the marker still guards half-installs).
    python = target / "bin" / "python"
    if (target / _MARKER).is_file():
        return python
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    what = " ".join(requirements)
    try:
        _run([sys.executable, "-m", "venv", str(target)], None, f"creating a virtualenv for {what}")
        _run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *requirements],
            None,
            f"pip install {what!r}",
        )
    except ClientUnavailable:
        shutil.rmtree(target, ignore_errors=True)
        raise
    (target / _MARKER).write_text("ok\n")
    return python


def python_v1_client() -> Path:
    """The Python interpreter of a virtualenv holding the official Python SDK 1.x."""
    return _python_venv(PYTHON_REQUIREMENT)


def frameworks_client() -> Path:
    """The Python interpreter of a virtualenv holding the agent frameworks (pinned)."""
    return _python_venv(*FRAMEWORK_REQUIREMENTS)


_PACKAGE_JSON: Final = '{"name": "mcp-livecalls-compat", "private": true, "type": "module"}\n'


def _node_modules(
    requirements: tuple[str, ...],
    what: str,
    *,
    extra_key: str | None = None,
    then: tuple[tuple[list[str], str], ...] = (),
    files: dict[str, str] | None = None,
) -> Path:
    """A cached directory whose ``node_modules`` holds ``requirements`` (then built by ``then``,
    run in it with ``files`` written there first)."""
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        raise ClientUnavailable(f"{what} needs node and npm on PATH")
    key = requirements if extra_key is None else (*requirements, extra_key)
    install = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *requirements]
    return _install_once(
        _keyed_dir("node", *key),
        [(install, f"npm install {' '.join(requirements)}"), *then],
        prepare={"package.json": _PACKAGE_JSON, **(files or {})},
    )


def ts_client() -> Path:
    """A directory whose ``node_modules`` holds the official TypeScript SDK 1.x."""
    return _node_modules((TS_REQUIREMENT,), "the TypeScript SDK client")


def oidc_provider() -> Path:
    """A directory whose ``node_modules`` holds ``oidc-provider`` (the sign-in test's server)."""
    return _node_modules((OIDC_REQUIREMENT,), "the oidc-provider authorization server")


def ext_apps_host() -> Path:
    """The official MCP Apps host script (``host.js``: :data:`HOST_ENTRY` bundled with AppBridge
    and the TypeScript client 2.x by esbuild, one IIFE for a browser page)."""
    source = HOST_ENTRY.read_text(encoding="utf-8")
    bundle = [  # npm exec: the esbuild just installed (its bin is a native binary, not a script)
        "npm",
        "exec",
        "--offline",
        "--",
        "esbuild",
        "host.mjs",
        "--bundle",
        "--format=iife",
        "--platform=browser",
        "--target=es2022",
        "--minify",
        "--log-level=error",
        "--outfile=host.js",
    ]
    built = _node_modules(
        EXT_APPS_REQUIREMENTS,
        "the ext-apps AppBridge host",
        extra_key=hashlib.sha256(source.encode()).hexdigest(),
        then=((bundle, "esbuild bundling the AppBridge host"),),
        files={"host.mjs": source},
    )
    return built / "host.js"


def main() -> int:
    failed = False
    for install in (python_v1_client, frameworks_client, ts_client, oidc_provider, ext_apps_host):
        try:
            sys.stderr.write(f"{install.__name__}: {install()}\n")
        except ClientUnavailable as exc:
            sys.stderr.write(f"{install.__name__}: unavailable: {exc}\n")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
