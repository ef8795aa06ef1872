"""Shared harness for the family plugins' agent-loop tests: a real
:class:`~teragent.AgentLoop` against a family's fake server.

Two shapes, both two tool turns then an answer:

- :func:`script_two_tool_turns` + :func:`run_agent` + :func:`check_result`: ``add``
  called once, then twice in parallel, with reasoning on every turn (the fakes enforce
  each vendor's rule about sending reasoning back);
- :func:`script_wire_turns` + :func:`run_wire_agent`: ``zeta_lookup`` then
  ``alpha_note`` (registered out of name order), for tests that inspect what went on
  the wire (:func:`wire_bodies`); :func:`isolate_config` keeps the user's ``agent.toml``
  and keys out.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
from teragent.tools import tool
from teragent_testing.fake_openai import ScriptedReply

__all__ = ["add", "script_two_tool_turns", "run_agent", "check_result", "zeta_lookup",
           "alpha_note", "WIRE_SYSTEM", "WIRE_TASK", "WIRE_ANSWER", "script_wire_turns",
           "run_wire_agent", "wire_bodies", "isolate_config"]


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


def script_two_tool_turns(server: Any) -> None:
    server.script(
        ScriptedReply(reasoning="I should add 2 and 3 first.",
                      tool_calls=[("add", {"a": 2, "b": 3}, "call_one")]),
        ScriptedReply(reasoning="Now both remaining sums, in parallel.",
                      tool_calls=[("add", {"a": 5, "b": 7}, "call_two"),
                                  ("add", {"a": 1, "b": 1}, "call_three")]),
        ScriptedReply(text="The sums are 5, 12 and 2.", reasoning="All done."),
    )


def run_agent(provider: Any, stream: bool) -> Any:
    async def main() -> Any:
        async with provider:
            loop = AgentLoop(provider, ToolRegistry([add]), AgentLoopConfig(stream=stream))
            return await loop.run("Add 2+3, then 5+7 and 1+1.")
    return asyncio.run(main())


def check_result(result: Any) -> None:
    assert result.stop_reason == "completed", result.as_dict()
    assert result.final_text == "The sums are 5, 12 and 2."
    assert [o.result.to_text() for o in result.tool_outcomes] == ["5", "12", "2"]
    assert all(o.success for o in result.tool_outcomes)
    assert result.model_calls == 3
    assert result.usage["prompt_tokens"] > 0 and result.usage["completion_tokens"] > 0
    assistants = [m for m in result.messages if m["role"] == "assistant"]
    assert all("<think>" not in (m.get("content") or "") for m in assistants)


WIRE_SYSTEM = "You are a wire test. Use the tools, then answer."
WIRE_TASK = "Look up zeta, note alpha, then answer."
WIRE_ANSWER = "zeta is Z; alpha is noted."


@tool
def zeta_lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: The key.
    """
    return f"{key} is Z"


@tool
def alpha_note(text: str) -> str:
    """Note some text.

    Args:
        text: The text.
    """
    return f"noted {text}"


def script_wire_turns(server: Any, *, id_prefix: str = "call_") -> None:
    """Queue ``zeta_lookup``, ``alpha_note`` and the answer on ``server`` (reset first);
    call ids are ``<id_prefix>zeta`` and ``<id_prefix>alpha``."""
    server.reset()
    server.script(
        ScriptedReply(tool_calls=[("zeta_lookup", {"key": "zeta"}, f"{id_prefix}zeta")]),
        ScriptedReply(tool_calls=[("alpha_note", {"text": "alpha"}, f"{id_prefix}alpha")]),
        ScriptedReply(text=WIRE_ANSWER))


def isolate_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key_env: str,
                   key: str) -> None:
    """An empty ``agent.toml`` (no user or project config), ``key_env=key``, cwd
    ``tmp_path``."""
    config = tmp_path / "agent.toml"
    config.write_text("")
    monkeypatch.setenv("TERAGENT_CONFIG", str(config))
    monkeypatch.setenv(key_env, key)
    monkeypatch.chdir(tmp_path)


def run_wire_agent(provider: Any, *, stream: bool, workspace: Path) -> Any:
    """Run the wire task on ``provider`` (closed afterwards); asserts it completed."""
    async def main() -> Any:
        try:
            loop = AgentLoop(provider, ToolRegistry([zeta_lookup, alpha_note]),
                             AgentLoopConfig(stream=stream, max_steps=8,
                                             system_prompt=WIRE_SYSTEM),
                             workspace=workspace)
            return await loop.run(WIRE_TASK)
        finally:
            await provider.close()

    result = asyncio.run(main())
    assert result.stop_reason == "completed", result.as_dict()
    assert result.final_text == WIRE_ANSWER
    assert [o.call.name for o in result.tool_outcomes] == ["zeta_lookup", "alpha_note"]
    return result


def wire_bodies(server: Any, **headers: str) -> list[dict[str, Any]]:
    """The request bodies of one wire run on ``server``: three (two tool turns and the
    answer), nothing left scripted or refused, every request carrying ``headers``
    (lower-case names)."""
    assert getattr(server, "rejected", []) == [] and server.unconsumed == 0
    bodies = [r.body for r in server.requests]
    assert len(bodies) == 3, "two tool turns and the answer"
    for request in server.requests:
        for name, value in headers.items():
            assert request.headers[name] == value
    return bodies
