"""The provider registry is the one list: no module outside a provider's own spells its name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mcp_livecalls.config import Settings
from mcp_livecalls.providers.registry import NAMES, PROVIDERS, names, titles

PACKAGE = Path(__file__).resolve().parent.parent / "mcp_livecalls"

ALLOWED = {
    "core/catalog.py": "the one list",
    # The simulator: each provider's simulated API is in its own folder (providers/<name>/); these
    # still know the simulated providers by name.
    "simulator/app.py": "Simulator(vobiz_shape=...), a public parameter",
    "simulator/__init__.py": "re-exports VobizShape",
}
"""Modules besides the providers' own (everything in ``providers/<name>/``) that may name one, and
why."""


def _code_strings_and_names(tree: ast.AST) -> list[tuple[int, str]]:
    """Every identifier and string constant of the code, docstrings left out (they are docs)."""
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list):
            for index, statement in enumerate(body):
                # A module, class or function docstring, and an attribute's docstring after it.
                first = index == 0 or isinstance(body[index - 1], ast.Assign | ast.AnnAssign)
                if first and isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                    docstrings.add(id(statement.value))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.Name):
            found.append((node.lineno, node.id))
        elif isinstance(node, ast.Attribute):
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.alias):
            found.append((node.lineno, node.name))
    return found


def _own_modules() -> set[Path]:
    """Each provider's folder: its adapter, its simulated API and whatever else is its own."""
    return {path for cls in PROVIDERS for path in (PACKAGE / "providers" / cls.name.value).rglob("*.py")}


def test_no_module_outside_a_providers_own_spells_a_provider_name_or_credential_variable() -> None:
    words = [cls.name.value for cls in PROVIDERS]
    variables = [item.var for cls in PROVIDERS for item in cls.env.settings] + [
        cls.env.base_url_var for cls in PROVIDERS
    ]
    pattern = re.compile("|".join([*(re.escape(word) for word in words), *map(re.escape, variables)]), re.I)
    offenders: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if path in _own_modules() or relative.as_posix() in ALLOWED:
            continue
        for line, text in _code_strings_and_names(ast.parse(path.read_text(), str(path))):
            if pattern.search(text):
                offenders.append(f"{relative}:{line}: {text[:80]!r}")
    assert offenders == []


def test_every_registered_provider_reads_its_settings_from_its_own_variables() -> None:
    env: dict[str, str] = {}
    for cls in PROVIDERS:
        env.update({item.var: "x" for item in cls.env.settings if item.kind == "secret"})

    settings = Settings.from_env(env)

    assert settings.configured == [cls.name.value for cls in PROVIDERS]
    for cls in PROVIDERS:
        configured = settings.provider(cls.name)
        assert configured is not None
        # A default naming a setting (SignalWire's https://{space_url}) is filled in from it.
        filled = cls.env.default_base_url.format_map({item.field: "x" for item in cls.env.settings})
        assert configured.base_url == filled


def test_the_prose_lists_of_providers_follow_the_registry_order() -> None:
    every = [cls.title() for cls in PROVIDERS]
    assert titles() == f"{', '.join(every[:-1])} and {every[-1]}"
    assert titles().startswith("Vobiz, Exotel")
    assert names("or") == f"{', '.join(NAMES[:-1])} or {NAMES[-1]}"
