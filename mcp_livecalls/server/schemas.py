"""Tools as clients see them: compact schemas, dedented descriptions, no argument ignored.

``MCPServer`` derives a tool's input schema from its signature (a pydantic arguments model) and
its output schema from the ``Annotated[CallToolResult, Model]`` return (the models publish
compact schemas themselves, see ``mcp_livecalls.core.models``). ``StrictToolServer`` is an
``MCPServer`` that publishes both in a compact, strict form and refuses what a tool would
otherwise silently ignore:

* ``tools/list``: descriptions dedented; input schemas without titles or ``null`` defaults, every
  optional argument nullable (``type: [T, "null"]``, or a ``null`` arm in ``anyOf``), and only
  keywords every function-calling dialect takes (OpenAI strict, google-genai's ``Schema`` and MCP
  bridge, Anthropic): no ``additionalProperties`` or ``exclusiveMinimum``; in every schema, a
  ``$defs`` entry used once is written where it is used (entries used more than once stay
  shared). Frameworks that open a session per call, or pass output schemas to the model, pay for
  every token here each time.
* ``tools/call``: ``null`` for an optional argument means "not given" (its default applies);
  an argument the tool does not take is an error naming the ones it does (the SDK's arguments
  model ignores unknown keys, so ``list_active_calls(phone=…)`` would otherwise answer with an
  unfiltered list that reads as filtered); an argument that fails validation is named with
  pydantic's message, without its documentation link.

Only public ``MCPServer`` methods are overridden (``add_tool``, ``list_tools``, ``call_tool``);
the SDK itself is not patched.
"""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools.base import Tool as SDKTool
from mcp_types import CallToolResult, Icon, InputRequiredResult, ToolAnnotations
from mcp_types import Tool as MCPTool
from pydantic import ValidationError

from mcp_livecalls.core.models import drop_null_arm

__all__ = [
    "StrictToolServer",
    "accept_null",
    "compact_input_schema",
    "inline_single_use_defs",
    "quick_output_schema",
]

LifespanT = TypeVar("LifespanT")

_DEFS = "#/$defs/"
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMAS = (
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "unevaluatedItems",
    "unevaluatedProperties",
)


def _subschemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The schemas directly inside ``schema`` (not the names of its properties)."""
    found: list[dict[str, Any]] = []
    for key in _SCHEMA_MAPS:
        found += [value for value in schema.get(key, {}).values() if isinstance(value, dict)]
    for key in _SCHEMA_LISTS:
        found += [value for value in schema.get(key, []) if isinstance(value, dict)]
    for key in _SCHEMAS:
        if isinstance(schema.get(key), dict):
            found.append(schema[key])
    return found


def _walk(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``schema`` and every schema inside it, depth first."""
    yield schema
    for sub in _subschemas(schema):
        yield from _walk(sub)


def inline_single_use_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` where every ``$defs`` entry referenced once is written in place.

    Entries referenced more than once (or from themselves) stay in ``$defs`` and are shared; an
    emptied ``$defs`` goes. Keys beside a ``$ref`` (a description) are kept.
    """
    published = copy.deepcopy(schema)
    defs: dict[str, Any] = published.get("$defs", {})
    while True:
        uses: dict[str, list[dict[str, Any]]] = {}
        for node in _walk(published):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_DEFS):
                uses.setdefault(ref.removeprefix(_DEFS), []).append(node)
        single = [
            name
            for name, nodes in uses.items()
            if len(nodes) == 1 and name in defs and not any(n is nodes[0] for n in _walk(defs[name]))
        ]
        if not single:
            break
        for name in single:
            node = uses[name][0]
            definition = defs.pop(name)
            del node["$ref"]
            node.update({key: value for key, value in definition.items() if key not in node})
    unused = [name for name in defs if name not in uses]
    for name in unused:
        del defs[name]
    if "$defs" in published and not defs:
        del published["$defs"]
    return published


def quick_output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The output schema a client is shown: the same content accepted, in fewer checks.

    Every client checks a tool's structured content against its output schema on every call
    (the mcp client with jsonschema, which pays a fixed cost for each schema it enters at each
    value: ``benchmarks.schema_check``). So, meaning for meaning:

    * every ``$ref`` to a definition that refers to nothing itself is written in place (a
      ``$ref`` is a lookup and a second schema entered at each value; the shared definitions
      here are short enums);
    * an ``enum`` of strings carries no ``type: string`` (the values say it);
    * an ``anyOf`` of bare types is one ``type`` list (one check, not a failed arm per type
      tried), ``integer`` left out beside ``number``, which includes it.
    """
    published = inline_single_use_defs(schema)
    defs: dict[str, Any] = published.pop("$defs", {})
    leaves = {
        name: definition
        for name, definition in defs.items()
        if not any("$ref" in node for node in _walk(definition))
    }
    for node in list(_walk(published)) + [node for kept in defs.values() for node in _walk(kept)]:
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.removeprefix(_DEFS) in leaves:
            del node["$ref"]
            definition = copy.deepcopy(leaves[ref.removeprefix(_DEFS)])
            node.update({key: value for key, value in definition.items() if key not in node})
    kept = {name: definition for name, definition in defs.items() if name not in leaves}
    if kept:
        published["$defs"] = kept
    for node in _walk(published):
        _one_type_check(node)
    return published


def _one_type_check(node: dict[str, Any]) -> None:
    enum = node.get("enum")
    if node.get("type") == "string" and isinstance(enum, list) and all(isinstance(v, str) for v in enum):
        del node["type"]
    arms = node.get("anyOf")
    if (
        isinstance(arms, list)
        and "type" not in node
        and all(
            isinstance(arm, dict) and set(arm) == {"type"} and isinstance(arm["type"], str) for arm in arms
        )
    ):
        kinds = list(dict.fromkeys(arm["type"] for arm in arms))
        if "number" in kinds and "integer" in kinds:
            kinds.remove("integer")
        del node["anyOf"]
        node["type"] = kinds[0] if len(kinds) == 1 else kinds


def compact_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The input schema a client is shown: portable, and nothing in it that says nothing.

    Titles go (they repeat the argument names); an argument that defaults to ``None`` loses that
    default (other defaults stay: they say what omitting the argument means). Every optional
    argument also accepts ``null``, meaning "not given" (``StrictToolServer.call_tool``): strict
    function calling (OpenAI's) makes every argument required, and a model must still be able
    to leave one out. No ``additionalProperties: false``: google-genai's MCP bridge (3.x) fails
    on a boolean there, and an argument the tool does not take is refused at call time anyway.
    """
    published = copy.deepcopy(schema)
    for node in _walk(published):
        node.pop("title", None)  # the keyword; a property named "title" is under "properties"
    for prop in published.get("properties", {}).values():
        if "default" in prop and prop["default"] is None:
            del prop["default"]
            drop_null_arm(prop)
    published.pop("additionalProperties", None)
    published = inline_single_use_defs(published)
    required = set(published.get("required", ()))
    for name, prop in published.get("properties", {}).items():
        if name not in required:
            accept_null(prop)
    return published


_ANNOTATIONS = frozenset({"description", "default"})


def accept_null(prop: dict[str, Any]) -> None:
    """Let ``prop`` also accept ``null``, in the form every function-calling dialect reads.

    A plain type becomes ``type: [T, "null"]``; an enum, a ``$ref`` or a union gets a ``null``
    arm in ``anyOf`` (a ``null`` inside an enum's list is kept as a value by google-genai's
    converter, and a ``$ref`` cannot carry a type).
    """
    kind = prop.get("type")
    if isinstance(kind, str) and "enum" not in prop:
        prop["type"] = [kind, "null"]
    elif isinstance(kind, list):
        if "null" not in kind:
            kind.append("null")
    elif "anyOf" in prop and set(prop) <= _ANNOTATIONS | {"anyOf"}:
        if {"type": "null"} not in prop["anyOf"]:
            prop["anyOf"].append({"type": "null"})
    else:
        own = {key: prop.pop(key) for key in list(prop) if key not in _ANNOTATIONS}
        prop["anyOf"] = [own, {"type": "null"}]


def _accepted(schema: dict[str, Any]) -> str:
    required = set(schema.get("required", ()))
    names = [f"{name} (required)" if name in required else name for name in schema.get("properties", {})]
    return ", ".join(names) if names else "no arguments"


def _validation_message(error: ValidationError) -> str:
    """Which argument is wrong and why, without values or pydantic's documentation link."""
    parts = []
    for detail in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in detail["loc"]) or "arguments"
        parts.append(f"{where}: {detail['msg']}")
    return "invalid argument " + "; ".join(parts)


@dataclass(frozen=True)
class _Published:
    """A tool's schemas as published, and the SDK-derived ones they were made from."""

    source_input: dict[str, Any]
    source_output: dict[str, Any] | None
    input_schema: dict[str, Any]
    output_schema: dict[str, Any] | None

    def made_from(self, tool: MCPTool) -> bool:
        return self.source_input == tool.input_schema and self.source_output == tool.output_schema


_BUILT_TOOLS: dict[tuple[Any, ...], SDKTool] = {}
"""Tools as the SDK builds them from a function, by everything they are built from."""


def _returns_result(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` is annotated to return a ``CallToolResult`` (``Annotated[CallToolResult, Model]``)."""
    try:
        returned = typing.get_type_hints(fn, include_extras=True).get("return")
    except (NameError, TypeError):
        return False
    if typing.get_origin(returned) is typing.Annotated:
        returned = typing.get_args(returned)[0]
    return returned is CallToolResult


class StrictToolServer(MCPServer[LifespanT]):
    """An ``MCPServer`` whose tools list is compact and whose tools refuse unknown arguments.

    Published schemas are made once per tool, and made again when tools are added or removed or
    the SDK's schema for a tool is no longer the one they were made from.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._published: dict[str, _Published] = {}
        super().__init__(*args, **kwargs)

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """As ``MCPServer.add_tool``; the description (the docstring by default) is dedented.

        What the SDK derives from the signature (argument model, schemas) is built once per
        process for each tool function and reused by every server made later: the same closure
        in another ``create_server`` has the same signature, and building it costs ~20 ms.
        """
        self._published.clear()
        text = inspect.cleandoc(description or fn.__doc__ or "")
        key = (
            fn.__module__,
            fn.__qualname__,
            str(inspect.signature(fn)),
            name,
            title,
            text,
            repr(annotations),
            repr(icons),
            repr(meta),
            structured_output,
        )
        built = _BUILT_TOOLS.get(key)
        if built is None:
            built = SDKTool.from_function(
                fn,
                name=name,
                title=title,
                description=text,
                annotations=annotations,
                icons=icons,
                meta=meta,
                structured_output=structured_output,
            )
            if _returns_result(fn):
                # The structured content is the dump of a model this server built itself (validated
                # and cleaned on construction); the SDK would validate it again, text cleaning
                # included, on every call. The output schema is still published, and every client
                # checks it (the mcp client with jsonschema). The SDK reads this field live.
                built.fn_metadata.output_model = None
            _BUILT_TOOLS[key] = built
        tools = self._tool_manager._tools
        if built.name not in tools:  # as the SDK: the first tool of a name stays
            tools[built.name] = built.model_copy(update={"fn": fn})

    def remove_tool(self, name: str) -> None:
        self._published.clear()
        super().remove_tool(name)

    async def list_tools(self) -> list[MCPTool]:
        """As ``MCPServer.list_tools``, with the compact input and output schemas."""
        listed = []
        for tool in await super().list_tools():
            published = self._published.get(tool.name)
            if published is None or not published.made_from(tool):
                published = _Published(
                    source_input=tool.input_schema,
                    source_output=tool.output_schema,
                    input_schema=compact_input_schema(tool.input_schema),
                    output_schema=(
                        None if tool.output_schema is None else quick_output_schema(tool.output_schema)
                    ),
                )
                self._published[tool.name] = published
            update = {"input_schema": published.input_schema, "output_schema": published.output_schema}
            listed.append(tool.model_copy(update=update))
        return listed

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[LifespanT, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """As ``MCPServer.call_tool``: ``null`` for an optional argument is leaving it out, and an
        argument the tool does not take is refused.

        Raises:
            ToolError: also for an unknown argument (naming the accepted ones), and for an
                invalid one (naming it, with pydantic's message but not its link).
        """
        if name not in self._published:
            await self.list_tools()
        published = self._published.get(name)
        if published is not None:
            schema = published.input_schema
            unknown = sorted(set(arguments) - set(schema.get("properties", {})))
            if unknown:
                which = "argument" if len(unknown) == 1 else "arguments"
                raise ToolError(
                    f"Error executing tool {name}: unknown {which} {', '.join(unknown)}; "
                    f"{name} takes {_accepted(schema)}."
                )
            required = set(schema.get("required", ()))
            arguments = {
                key: value for key, value in arguments.items() if value is not None or key in required
            }
        try:
            return await super().call_tool(name, arguments, context)
        except UnexpectedToolError:
            raise
        except ToolError as exc:
            if not isinstance(exc.__cause__, ValidationError):
                raise
            # Argument validation (the SDK wraps pydantic's error); keep it as the cause, so the
            # SDK still logs field names only.
            raise ToolError(f"Error executing tool {name}: {_validation_message(exc.__cause__)}") from (
                exc.__cause__
            )
