"""``anthropic`` on the wire: an AgentLoop's requests mark the repeated part for
Anthropic's prompt cache.

A real :class:`teragent.AgentLoop` (provider from :func:`teragent.create_provider`, the
``anthropic_native`` adapter) runs two tool turns against the fake Anthropic server on
loopback. On every request the server received, the system prompt is a text block with
``cache_control: {"type": "ephemeral"}`` and so is the last tool (and only it), so each
later turn reads system + tools from the cache. ``prompt_caching=False`` turns the
marks off; ``max_tokens`` reaches the body.

The same run through the ``default`` compiler sends no ``cache_control`` at all, so the
test fails if the compiler were bypassed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import teragent
from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
from teragent_testing.fake_anthropic import FakeAnthropicServer
from teragent_testing.agent_harness import (
    WIRE_SYSTEM, isolate_config, run_wire_agent, script_wire_turns, wire_bodies,
)

SYSTEM = WIRE_SYSTEM
KEY_ENV = "TERAGENT_ANTHROPIC_WIRE_TEST_KEY"
EPHEMERAL = {"type": "ephemeral"}


@pytest.fixture
def wire(loopback: tuple[FakeAnthropicServer, str], tmp_path: Any,
         monkeypatch: pytest.MonkeyPatch) -> Any:
    """``run(compiler, compiler_options, stream)`` → the request bodies of one agent
    run with two tool turns."""
    server, base_url = loopback
    isolate_config(tmp_path, monkeypatch, KEY_ENV, "anthropic-wire-test")

    def run(compiler: str, compiler_options: dict[str, Any], stream: bool
            ) -> list[dict[str, Any]]:
        script_wire_turns(server, id_prefix="toolu_")
        run_wire_agent(teragent.create_provider(
            compiler=compiler, adapter="anthropic_native", model="claude-wire-test",
            base_url=base_url, api_key_env=KEY_ENV, timeout=10.0,
            compiler_options=compiler_options), stream=stream, workspace=tmp_path)
        return wire_bodies(server, **{"x-api-key": "anthropic-wire-test"})

    return run


def _history_grows_at_the_end(bodies: list[dict[str, Any]]) -> None:
    for before, after in zip(bodies, bodies[1:]):
        assert after["messages"][:len(before["messages"])] == before["messages"]
    last = bodies[-1]["messages"]
    assert [m["role"] for m in last] == ["user", "assistant", "user", "assistant", "user"]
    results = [b["tool_use_id"] for m in last if isinstance(m["content"], list)
               for b in m["content"] if b.get("type") == "tool_result"]
    assert results == ["toolu_zeta", "toolu_alpha"]


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
@pytest.mark.parametrize("options", [{}, {"max_tokens": 321}], ids=["default", "max_tokens"])
def test_every_turn_marks_system_and_last_tool_for_the_cache(
        wire: Any, options: dict[str, Any], stream: bool) -> None:
    bodies = wire("anthropic", options, stream)
    for body in bodies:
        assert body["system"] == [{"type": "text", "text": SYSTEM,
                                   "cache_control": EPHEMERAL}]
        assert [t["name"] for t in body["tools"]] == ["zeta_lookup", "alpha_note"]
        assert body["tools"][-1]["cache_control"] == EPHEMERAL
        assert all("cache_control" not in t for t in body["tools"][:-1])
        if "max_tokens" in options:
            assert body["max_tokens"] == 321
    # The cached part (system + tools) is identical on every turn.
    assert all(json.dumps([b["system"], b["tools"]]) ==
               json.dumps([bodies[0]["system"], bodies[0]["tools"]]) for b in bodies)
    _history_grows_at_the_end(bodies)

    # The same run through the default compiler marks nothing.
    default = wire("default", {}, stream)
    assert json.dumps(default) != json.dumps(bodies)
    for body in default:
        assert "cache_control" not in json.dumps(body)


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
def test_prompt_caching_off_marks_nothing(wire: Any, stream: bool) -> None:
    bodies = wire("anthropic", {"prompt_caching": False}, stream)
    for body in bodies:
        assert "cache_control" not in json.dumps(body)
        assert [t["name"] for t in body["tools"]] == ["zeta_lookup", "alpha_note"]
    _history_grows_at_the_end(bodies)
