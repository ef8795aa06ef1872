"""@tool schemas, argument validation, the registry and tool packs."""

from __future__ import annotations

import asyncio
from typing import Literal, Optional

import pytest
from hypothesis import given, strategies as st

from teragent.core.types import ToolSafety
from teragent.errors import UnknownComponentError, UserError
from teragent.tools import BaseTool, ToolPack, ToolRegistry, ToolResult, tool, validate_arguments


@tool(category="search", keywords=("find", "lookup"))
def search_docs(query: str, limit: int = 5, mode: Literal["fast", "deep"] = "fast",
                tags: Optional[list[str]] = None) -> list[str]:
    """Search the documentation.

    Longer description that is not part of the summary.

    Args:
        query: What to look for.
        limit: How many results
            to return at most.
        mode: Search depth.
        tags: Only pages with these tags.
    """
    return [query] * limit


def test_schema_from_hints_and_docstring():
    schema = search_docs.parameters_schema
    assert search_docs.description == "Search the documentation."
    assert schema["required"] == ["query"]
    props = schema["properties"]
    assert props["query"] == {"type": "string", "description": "What to look for."}
    assert props["limit"]["type"] == "integer" and props["limit"]["default"] == 5
    assert props["limit"]["description"] == "How many results to return at most."
    assert props["mode"]["enum"] == ["fast", "deep"]
    assert schema["additionalProperties"] is False
    assert search_docs.safety == ToolSafety.READ_ONLY and search_docs.concurrency_safe


def test_function_tool_executes_sync_and_async():
    @tool(safety=ToolSafety.SAFE_WRITE)
    async def shout(text: str) -> str:
        """Uppercase."""
        return text.upper()

    assert not shout.concurrency_safe
    r = asyncio.run(shout.execute({"text": "hi"}))
    assert r.success and r.data == "HI" and r.safety == ToolSafety.SAFE_WRITE
    r = asyncio.run(search_docs.execute({"query": "x", "limit": 2}))
    assert r.data == ["x", "x"]


@pytest.mark.parametrize("params, message", [
    ({}, "missing required argument 'query'"),
    ({"query": 3}, "argument 'query'"),
    ({"query": "x", "mode": "slow"}, "argument 'mode'"),
    ({"query": "x", "zzz": 1}, "unexpected argument(s) 'zzz'"),
    ([], "must be a JSON object"),
])
def test_validation_messages(params, message):
    assert message in search_docs.validate(params)


def test_schema_validator_for_hand_written_tools():
    schema = {"type": "object", "properties": {
        "path": {"type": "string"}, "n": {"type": "integer"},
        "items": {"type": "array", "items": {"type": "string"}}},
        "required": ["path"], "additionalProperties": False}
    assert validate_arguments(schema, {"path": "a"}) is None
    assert "missing required argument 'path'" in validate_arguments(schema, {})
    assert "argument 'n' must be of type integer" in validate_arguments(schema, {"path": "a", "n": True})
    assert "argument 'items[1]' must be of type string" in validate_arguments(schema, {"path": "a", "items": ["x", 2]})


@given(st.dictionaries(st.text(min_size=1, max_size=5),
                       st.one_of(st.integers(), st.text(), st.booleans(), st.none()),
                       max_size=4))
def test_validation_never_raises(params):
    # whatever a model sends, validation answers with a message or None, never an exception
    out = search_docs.validate(params)
    assert out is None or isinstance(out, str)


def test_registry_queries_and_recommendation():
    @tool(category="filesystem", safety=ToolSafety.SAFE_WRITE)
    def write_file(path: str, content: str) -> str:
        """Write a file."""
        return "ok"

    reg = ToolRegistry([search_docs, write_file])
    assert reg.list_tool_names() == ["search_docs", "write_file"]
    assert reg.get_categories() == {"search": ["search_docs"], "filesystem": ["write_file"]}
    assert reg.get_summary()["by_safety"] == {"read_only": 1, "safe_write": 1}
    assert reg.recommend("find something in the docs")[0] == "search_docs"
    assert reg.recommend("write a file")[0] == "write_file"
    with pytest.raises(UnknownComponentError, match="Did you mean 'search_docs'"):
        reg.get("search_doc")
    with pytest.raises(UserError, match="already registered"):
        reg.register(search_docs)
    with pytest.raises(UserError, match="not a BaseTool"):
        reg.register(object())  # type: ignore[arg-type]


def test_tool_pack_lifecycle_runs_once():
    events = []

    class Pack(ToolPack):
        name = "db"

        async def on_start(self):
            events.append("start")

        async def on_stop(self):
            events.append("stop")

    @tool
    def q() -> str:
        """Query."""
        return "rows"

    pack = Pack([q])
    reg = ToolRegistry([pack])
    assert reg.pack_of("q") is pack

    async def main():
        from teragent.tools.orchestrator import ToolOrchestrator

        orch = ToolOrchestrator(reg)
        outs = await orch.execute_batch([{"name": "q", "arguments": {}},
                                         {"name": "q", "arguments": "{}"}])
        assert [o.result.data for o in outs] == ["rows", "rows"]
        await reg.stop()

    asyncio.run(main())
    assert events == ["start", "stop"]


def test_base_tool_without_execute_reports_clearly():
    class Lazy(BaseTool):
        name = "lazy"

    with pytest.raises(NotImplementedError, match="'lazy' does not implement"):
        asyncio.run(Lazy().execute({}))
    assert ToolResult(success=False, error="bad").to_text() == "Error: bad"
    assert ToolResult(data={"a": 1}).to_text() == '{"a": 1}'


def test_a_filtered_registry_still_stops_its_packs():
    """build_agent offers a filtered registry; closing the agent must stop the packs of
    the tools it kept (their shared clients), and only started packs."""
    events: list[str] = []

    class Pack(ToolPack):
        name = "api"

        async def on_start(self):
            events.append("start")

        async def on_stop(self):
            events.append("stop")

    @tool
    def read() -> str:
        """Read."""
        return "r"

    @tool
    def other() -> str:
        """Other."""
        return "o"

    pack = Pack([read])
    kept = ToolRegistry([pack, other]).filtered(["read"])

    async def main():
        from teragent.tools.orchestrator import ToolOrchestrator

        await ToolOrchestrator(kept).execute_batch([{"name": "read", "arguments": {}}])
        await kept.stop()

    asyncio.run(main())
    assert events == ["start", "stop"] and not pack.started
