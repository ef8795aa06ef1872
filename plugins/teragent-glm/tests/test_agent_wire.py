"""``glm_52`` on the wire: an AgentLoop's requests carry the thinking settings the
compiler promises.

A real :class:`teragent.AgentLoop` (provider from :func:`teragent.create_provider`, the
``glm_native`` adapter) runs two tool turns against the fake Zhipu server on loopback.
On every request the server received:

- ``thinking_mode`` ``max`` (or ``deep``) → ``thinking: {"type": "enabled"}`` and
  ``reasoning_effort: "max"``; ``high`` (the default) → ``reasoning_effort: "high"``;
  ``quick`` → ``thinking: {"type": "disabled"}`` and no ``reasoning_effort``;
- PreservedThinking (on by default) → ``"clear_thinking": false``, and every earlier
  tool-calling turn goes back with its ``reasoning_content`` (the fake refuses a
  request that lost it); with thinking off no turn carries any.

The same run through the ``default`` compiler sends neither ``thinking`` nor
``reasoning_effort``, so the test fails if the compiler were bypassed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import teragent
from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
from teragent_testing.fake_glm import FakeGLMServer
from teragent_testing.agent_harness import (
    WIRE_SYSTEM, isolate_config, run_wire_agent, script_wire_turns, wire_bodies,
)

SYSTEM = WIRE_SYSTEM
KEY_ENV = "TERAGENT_GLM_WIRE_TEST_KEY"


@pytest.fixture
def wire(loopback: tuple[FakeGLMServer, str], tmp_path: Any,
         monkeypatch: pytest.MonkeyPatch) -> Any:
    """``run(compiler, compiler_options, stream)`` → the request bodies of one agent
    run with two tool turns."""
    server, base_url = loopback
    isolate_config(tmp_path, monkeypatch, KEY_ENV, "glm-wire-test")

    def run(compiler: str, compiler_options: dict[str, Any], stream: bool
            ) -> list[dict[str, Any]]:
        script_wire_turns(server)
        run_wire_agent(teragent.create_provider(
            compiler=compiler, adapter="glm_native", model="glm-5.2", base_url=base_url,
            api_key_env=KEY_ENV, timeout=10.0, compiler_options=compiler_options),
            stream=stream, workspace=tmp_path)
        return wire_bodies(server, authorization="Bearer glm-wire-test")

    return run


#: case → (compiler_options, thinking on the wire, reasoning_effort or None)
CASES: dict[str, tuple[dict[str, Any], dict[str, Any], str | None]] = {
    "max": ({"thinking_mode": "max"},
            {"type": "enabled", "clear_thinking": False}, "max"),
    "deep": ({"thinking_mode": "deep"},
             {"type": "enabled", "clear_thinking": False}, "max"),
    "high": ({"thinking_mode": "high"},
             {"type": "enabled", "clear_thinking": False}, "high"),
    "unset": ({}, {"type": "enabled", "clear_thinking": False}, "high"),
    "quick": ({"thinking_mode": "quick"}, {"type": "disabled"}, None),
    "high-unpreserved": ({"thinking_mode": "high", "preserved_thinking": False},
                         {"type": "enabled"}, "high"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
@pytest.mark.parametrize("case", list(CASES))
def test_every_turn_carries_the_thinking_settings(wire: Any, case: str,
                                                  stream: bool) -> None:
    options, thinking, effort = CASES[case]
    bodies = wire("glm_52", options, stream)
    for body in bodies:
        assert body["thinking"] == thinking
        assert body.get("reasoning_effort") == effort
        assert body["messages"][0] == {"role": "system", "content": SYSTEM}
        assert [t["function"]["name"] for t in body["tools"]] == ["zeta_lookup",
                                                                   "alpha_note"]
    # The history keeps its roles and order, and grows only at the end.
    for before, after in zip(bodies, bodies[1:]):
        assert after["messages"][:len(before["messages"])] == before["messages"]
    assert [m["role"] for m in bodies[-1]["messages"]] == [
        "system", "user", "assistant", "tool", "assistant", "tool"]
    # Reasoning goes back with the tool-calling turns exactly when thinking is on.
    assistants = [m for m in bodies[-1]["messages"] if m["role"] == "assistant"]
    thinking_on = thinking["type"] == "enabled"
    assert all(bool(m.get("reasoning_content")) == thinking_on for m in assistants)

    # The same run through the default compiler carries no thinking settings.
    default = wire("default", {}, stream)
    assert json.dumps(default) != json.dumps(bodies)
    for body in default:
        assert "thinking" not in body and "reasoning_effort" not in body


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
def test_max_and_high_differ_on_the_wire(wire: Any, stream: bool) -> None:
    """High and Max are two depths of one model: only ``reasoning_effort`` tells them
    apart, so it must reach the server."""
    high = wire("glm_52", {"thinking_mode": "high"}, stream)
    top = wire("glm_52", {"thinking_mode": "max"}, stream)
    assert {b["reasoning_effort"] for b in high} == {"high"}
    assert {b["reasoning_effort"] for b in top} == {"max"}
