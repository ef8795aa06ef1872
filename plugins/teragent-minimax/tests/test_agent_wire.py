"""``minimax_m3`` on the wire: an AgentLoop's conversation passes through unchanged.

The ``minimax_m3`` compiler shapes single-shot requests (full-text documents,
multimodal parts, desktop instructions); for agent conversations it promises only the
kernel's default contract: every message keeps its role and order, tool calls stay
paired with their results, every tool is offered, and the history grows only at the
end. A real :class:`teragent.AgentLoop` (provider from :func:`teragent.create_provider`,
the ``minimax_native`` adapter, both of its interfaces) runs two tool turns against the
fake MiniMax server on loopback, and the request bodies show exactly that.

Since the compiler adds nothing to conversations, its bodies equal the ``default``
compiler's (asserted, so a future conversation feature must update this test); that
the compiler is on the path at all is shown by a spy on ``compile_conversation``,
called once per request.
"""

from __future__ import annotations

from typing import Any

import pytest

import teragent
from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
from teragent_testing.fake_minimax import FakeMiniMaxServer
from teragent_testing.agent_harness import (
    WIRE_SYSTEM, isolate_config, run_wire_agent, script_wire_turns, wire_bodies,
)
from teragent_minimax.compiler import MiniMaxM3Compiler

SYSTEM = WIRE_SYSTEM
KEY_ENV = "TERAGENT_MINIMAX_WIRE_TEST_KEY"


@pytest.fixture
def wire(loopback: tuple[FakeMiniMaxServer, str], tmp_path: Any,
         monkeypatch: pytest.MonkeyPatch) -> Any:
    """``run(compiler, interface, stream)`` → (request bodies, compile_conversation
    calls) of one agent run with two tool turns."""
    server, base_url = loopback
    isolate_config(tmp_path, monkeypatch, KEY_ENV, "minimax-wire-test")

    def run(compiler: str, interface: str, stream: bool
            ) -> tuple[list[dict[str, Any]], int]:
        script_wire_turns(server)
        calls = 0
        provider = teragent.create_provider(
            compiler=compiler, adapter="minimax_native", model="MiniMax-M3",
            base_url=base_url, api_key_env=KEY_ENV, timeout=10.0,
            adapter_options={"interface": interface})
        compile_conversation = provider.compiler.compile_conversation

        def spy(conversation: Any) -> Any:
            nonlocal calls
            calls += 1
            return compile_conversation(conversation)

        provider.compiler.compile_conversation = spy  # type: ignore[method-assign]
        run_wire_agent(provider, stream=stream, workspace=tmp_path)
        return wire_bodies(server), calls

    return run


def _tool_names(body: dict[str, Any]) -> list[str]:
    return [(t.get("function") or t)["name"] for t in body["tools"]]


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
@pytest.mark.parametrize("interface", ["openai", "anthropic"])
def test_conversation_passes_through_in_order(wire: Any, interface: str,
                                              stream: bool) -> None:
    bodies, calls = wire("minimax_m3", interface, stream)
    assert calls == len(bodies), "the minimax_m3 compiler compiled every call"
    for before, after in zip(bodies, bodies[1:]):
        assert after["messages"][:len(before["messages"])] == before["messages"]
    for body in bodies:
        assert _tool_names(body) == ["zeta_lookup", "alpha_note"]
    last = bodies[-1]["messages"]
    if interface == "openai":
        assert [m["role"] for m in last] == [
            "system", "user", "assistant", "tool", "assistant", "tool"]
        assert last[0]["content"] == SYSTEM
        calls_then_results = [(m["tool_calls"][0]["id"], last[i + 1]["tool_call_id"])
                              for i, m in enumerate(last) if m.get("tool_calls")]
    else:
        assert all(b["system"] in (SYSTEM, [{"type": "text", "text": SYSTEM}])
                   for b in bodies)
        assert [m["role"] for m in last] == ["user", "assistant", "user", "assistant",
                                             "user"]
        uses = [b["id"] for m in last if m["role"] == "assistant"
                for b in m["content"] if b.get("type") == "tool_use"]
        results = [b["tool_use_id"] for m in last if isinstance(m["content"], list)
                   for b in m["content"] if b.get("type") == "tool_result"]
        calls_then_results = list(zip(uses, results))
    assert calls_then_results == [("call_zeta", "call_zeta"), ("call_alpha", "call_alpha")]

    # minimax_m3 adds nothing to conversations: the default compiler's bodies are equal.
    default, default_calls = wire("default", interface, stream)
    assert default_calls == len(default)
    assert default == bodies


def test_minimax_m3_adds_nothing_to_conversations() -> None:
    """What the wire test relies on, at the compiler: no conversation override."""
    from teragent.core.compiler import TAPCompiler

    assert MiniMaxM3Compiler.compile_conversation is TAPCompiler.compile_conversation
    assert MiniMaxM3Compiler.conversation_extra is TAPCompiler.conversation_extra
