"""The tool contract suite: every tool plugin runs it against its tools.

The opt-in is one subclass naming the tools, by the names the plugin registers
(``teragent_register_tools``, built the way an agent builds them, in a temporary
workspace) or by factories::

    from teragent_testing.tool_contract import ToolContract

    class TestMyTools(ToolContract):
        registered = ("my_tool", "my_other_tool")
        # or: tools = {"my_tool": MyTool}; bad_calls = {"my_tool": {"path": 3}}
        # or: all_registered = True (every tool the installed plugins register)

What every tool must do:

- **schema valid**: a valid JSON Schema (Draft 2020-12) of type ``object``, every
  ``required`` name a property, a name vendors accept (``^[a-zA-Z0-9_-]{1,64}$``) and a
  description;
- **declarations match the signature**: every declared path, command, URL and data
  parameter is a property of the schema (a declared name the model can never send
  protects nothing), and a tool built from a function takes every property;
- **effects() stable and complete**: for any arguments (hypothesis), ``effects()`` is
  the same for equal arguments, never raises, and every string under a declared path,
  command or URL parameter is in the matching list;
- **errors typed**: ``validate`` returns a message (never raises) for odd arguments,
  and every call in ``bad_calls`` ends in a ``ToolResult`` with ``success=False`` and
  an error message, or raises a :class:`~teragent.errors.TerAgentError`, never a bare
  exception.

The tests are synchronous (calls run with :func:`asyncio.run`) and use no fixtures inside
``@given`` tests, so the suite runs under ``filterwarnings = error``.
"""

from __future__ import annotations

import asyncio
import copy
import re
from pathlib import Path
from typing import Any, Callable, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teragent.errors import TerAgentError
from teragent.tools.base import BaseTool, FunctionTool, ToolResult, leaf_strings

__all__ = ["ToolContract", "arguments_for"]

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")

_leaf = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                  st.text(max_size=30), st.sampled_from(["../../etc/passwd", "/", "~",
                                                         "rm -rf /", "http://127.0.0.1/"]))
_json = st.recursive(_leaf, lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def arguments_for(tool: BaseTool) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments naming the tool's schema properties (plus strays), values of any shape."""
    props = list((tool.parameters_schema or {}).get("properties") or {})
    keys = st.sampled_from(props) | st.text(max_size=8) if props else st.text(max_size=8)
    return st.dictionaries(keys, _json, max_size=4)


class ToolContract:
    """Properties every tool must have; subclasses set ``registered`` or ``tools``."""

    #: Tool names registered through ``teragent_register_tools`` (installed plugins).
    registered: ClassVar[tuple[str, ...]] = ()
    #: Every tool the installed plugins register (tool packs give the tools they list).
    all_registered: ClassVar[bool] = False
    #: name → factory (a tool class, or a callable returning a tool).
    tools: ClassVar[dict[str, Callable[[], BaseTool]]] = {}
    #: name → arguments a call must fail on (with a typed error, see the module doc).
    bad_calls: ClassVar[dict[str, dict[str, Any]]] = {}

    @pytest.fixture
    def built(self, tmp_path: Path) -> dict[str, BaseTool]:
        out: dict[str, BaseTool] = {name: factory() for name, factory in self.tools.items()}
        names: list[str] | None = list(self.registered)
        if self.all_registered:
            names = None
        if names is None or names:
            from teragent.tools.registry import ToolRegistry

            reg = ToolRegistry.from_plugins(names, workspace=str(tmp_path))
            # a registered tool pack (MCP, OpenAPI) contributes the tools it lists
            out.update({tool.name: tool for tool in reg.list_tools()})
        assert out, "set ToolContract.registered, all_registered or tools"
        for name, tool in out.items():
            assert isinstance(tool, BaseTool), f"{name}: {tool!r} is not a BaseTool"
        return out

    def test_schema_is_valid(self, built: dict[str, BaseTool]) -> None:
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

        for name, tool in built.items():
            assert tool.name == name, f"{name}: registered under another name ({tool.name})"
            assert _NAME.match(tool.name), f"{name}: vendors reject this tool name"
            assert tool.description.strip(), f"{name}: no description"
            schema = tool.parameters_schema
            Draft202012Validator.check_schema(schema)
            assert schema.get("type") == "object", f"{name}: parameters must be an object"
            props = schema.get("properties") or {}
            missing = set(schema.get("required") or []) - set(props)
            assert not missing, f"{name}: required but not a property: {sorted(missing)}"
            fn = tool.schema()["function"]
            assert fn["name"] == name and fn["parameters"] is schema

    def test_declared_params_match_the_signature(self, built: dict[str, BaseTool]) -> None:
        for name, tool in built.items():
            props = set((tool.parameters_schema or {}).get("properties") or {})
            declared = {"path": set(tool.path_params), "command": set(tool.command_params),
                        "url": set(tool.url_params), "data": set(tool.data_params)}
            for kind, names in declared.items():
                stray = names - props
                assert not stray, (f"{name}: declares {kind} parameters the schema does "
                                   f"not have: {sorted(stray)}")
            for op in tool.path_params.values():
                assert isinstance(op, str) and op, f"{name}: path_params values name an op"
            kinds = [n for names in declared.values() for n in names]
            assert len(kinds) == len(set(kinds)), f"{name}: a parameter declared twice"
            if isinstance(tool, FunctionTool):
                import inspect

                params = set(inspect.signature(tool.func).parameters) - {"progress_callback"}
                assert props <= params, f"{name}: schema properties not in the signature"

    def test_effects_are_stable_and_complete(self, built: dict[str, BaseTool]) -> None:
        tools = list(built.values())

        @settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            for tool in tools:
                params = data.draw(arguments_for(tool))
                first = tool.effects(params)
                again = tool.effects(copy.deepcopy(params))
                assert (first.paths, first.commands, first.urls, first.undeclared) == \
                    (again.paths, again.commands, again.urls, again.undeclared), \
                    f"{tool.name}: effects differ for equal arguments"
                for key, value in params.items():
                    strings = leaf_strings(value)
                    if key in tool.path_params:
                        assert {s for _, s in first.paths} >= set(strings), tool.name
                    elif key in tool.command_params:  # an argv list is one command
                        want = {" ".join(strings)} if isinstance(value, list) else set(strings)
                        assert set(first.commands) >= want, tool.name
                    elif key in tool.url_params:
                        assert set(first.urls) >= set(strings), tool.name
                    elif key not in tool.data_params:  # undeclared: guards see it all
                        assert {s for _, s in first.all_paths()} >= set(strings), \
                            f"{tool.name}: an undeclared string escaped the guards"

        check()

    def test_validate_never_raises(self, built: dict[str, BaseTool]) -> None:
        tools = list(built.values())

        @settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(data=st.data())
        def check(data: st.DataObject) -> None:
            for tool in tools:
                params = data.draw(arguments_for(tool) | _json)
                message = tool.validate(params)
                assert message is None or (isinstance(message, str) and message), tool.name
                if not isinstance(params, dict):
                    assert message, f"{tool.name}: accepted non-object arguments"

        check()

    def test_errors_are_typed(self, built: dict[str, BaseTool]) -> None:
        for name, params in self.bad_calls.items():
            tool = built[name]
            try:
                result = asyncio.run(tool.execute(params))
            except TerAgentError as exc:
                assert str(exc), f"{name}: an error without a message"
                continue
            assert isinstance(result, ToolResult), f"{name}: returned {result!r}"
            assert not result.success and result.error, \
                f"{name}: {params!r} should fail with an error message"
