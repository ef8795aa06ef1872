"""``deepseek_v4`` on the wire: an AgentLoop's requests keep DeepSeek's cache prefix.

A real :class:`teragent.AgentLoop` (provider from :func:`teragent.create_provider`,
the ``openai_compatible`` adapter) runs two tool turns against the fake DeepSeek server
on loopback. The assertions are on the raw request bytes the server received:

- the tools are offered in canonical order (by name, keys sorted) and serialise to the
  same bytes on every request;
- the system message (the loop's prompt plus the variant's strategy) is byte-identical
  on every request, and each request's message list starts with the previous request's
  message list, byte for byte (the history only grows at the end);
- ``thinking`` is set as the variant / ``thinking_mode`` says, on every request.

The same run through the ``default`` compiler must produce different bodies (tools in
registration order, no strategy, no ``thinking``), so the test fails if the compiler
were bypassed.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

import pytest

import teragent
from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
from teragent_testing.fake_deepseek import FakeDeepSeekServer
from teragent_testing.fake_openai import serve_in_thread
from teragent_testing.agent_harness import (
    WIRE_SYSTEM, isolate_config, run_wire_agent, script_wire_turns,
)
from teragent_deepseek.compilers import VARIANTS

SYSTEM = WIRE_SYSTEM
KEY_ENV = "TERAGENT_DEEPSEEK_WIRE_TEST_KEY"


class RawBodies:
    """ASGI middleware: keeps every request body exactly as the client sent it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/chat/completions"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording_receive() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.bodies.append(b"".join(chunks).decode("utf-8"))
            return message  # type: ignore[no-any-return]

        await self.app(scope, recording_receive, send)


_WS = re.compile(r"\s*")
_DECODER = json.JSONDecoder()


def _items(raw: str, start: int, close: str) -> tuple[list[tuple[str | None, str]], int]:
    """The raw text of each member of the JSON object/array opening at ``start``."""
    out: list[tuple[str | None, str]] = []
    i = _WS.match(raw, start + 1).end()  # type: ignore[union-attr]
    while raw[i] != close:
        key = None
        if close == "}":
            key, i = _DECODER.raw_decode(raw, i)
            i = _WS.match(raw, i).end()  # type: ignore[union-attr]
            assert raw[i] == ":"
            i = _WS.match(raw, i + 1).end()  # type: ignore[union-attr]
        _, end = _DECODER.raw_decode(raw, i)
        out.append((key, raw[i:end]))
        i = _WS.match(raw, end).end()  # type: ignore[union-attr]
        if raw[i] == ",":
            i = _WS.match(raw, i + 1).end()  # type: ignore[union-attr]
    return out, i


def top_level(raw: str) -> dict[str, str]:
    """Top-level key → the exact bytes of its value in the request body."""
    members, _ = _items(raw, raw.index("{"), "}")
    return {str(k): v for k, v in members}


def array_items(raw_array: str) -> list[str]:
    items, _ = _items(raw_array, 0, "]")
    return [v for _, v in items]


def keys_sorted(value: Any) -> bool:
    if isinstance(value, dict):
        return list(value) == sorted(value) and all(keys_sorted(v) for v in value.values())
    if isinstance(value, list):
        return all(keys_sorted(v) for v in value)
    return True


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeDeepSeekServer, RawBodies, str]]:
    server = FakeDeepSeekServer()
    raw = RawBodies(server)
    with serve_in_thread(raw) as base_url:
        yield server, raw, base_url


@pytest.fixture
def wire(served: tuple[FakeDeepSeekServer, RawBodies, str], tmp_path: Any,
         monkeypatch: pytest.MonkeyPatch) -> Any:
    """``run(compiler, compiler_options, stream)`` → the raw request bodies of one
    agent run with two tool turns."""
    server, raw, base_url = served
    isolate_config(tmp_path, monkeypatch, KEY_ENV, "sk-wire-test")

    def run(compiler: str, compiler_options: dict[str, Any], stream: bool) -> list[str]:
        raw.bodies.clear()
        script_wire_turns(server)
        # The harness registers zeta_lookup before alpha_note: not the canonical
        # (by name) order the cache-aware compiler must produce.
        run_wire_agent(teragent.create_provider(
            compiler=compiler, adapter="openai_compatible", model="deepseek-v4-flash",
            base_url=base_url, api_key_env=KEY_ENV, timeout=10.0,
            compiler_options=compiler_options), stream=stream, workspace=tmp_path)
        assert server.rejected == [] and server.unconsumed == 0
        assert len(raw.bodies) == 3, "two tool turns and the answer"
        return list(raw.bodies)

    return run


THINKING_CASES = {
    "flash": ({"variant": "flash"}, "flash", "disabled"),
    "pro": ({"variant": "pro"}, "pro", "enabled"),
    "flash-max": ({"variant": "flash", "thinking_mode": "max"}, "flash", "enabled"),
    "pro-quick": ({"variant": "pro", "thinking_mode": "quick"}, "pro", "disabled"),
}


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
@pytest.mark.parametrize("case", list(THINKING_CASES))
def test_every_turn_keeps_a_byte_stable_cache_prefix(wire: Any, case: str,
                                                      stream: bool) -> None:
    options, variant, thinking = THINKING_CASES[case]
    bodies = wire("deepseek_v4", options, stream)
    spans = [top_level(b) for b in bodies]
    messages = [array_items(s["messages"]) for s in spans]

    # The tools: canonical order, sorted keys, the same bytes on every request.
    tools = json.loads(spans[0]["tools"])
    assert [t["function"]["name"] for t in tools] == ["alpha_note", "zeta_lookup"]
    assert keys_sorted(tools)
    assert all(s["tools"] == spans[0]["tools"] for s in spans[1:])

    # The system message: the loop's prompt plus the variant's strategy, byte-stable.
    system = json.loads(messages[0][0])
    assert system == {"role": "system", "content": f"{SYSTEM}\n\n{VARIANTS[variant][0]}"}
    assert all(m[0] == messages[0][0] for m in messages[1:])

    # Each request's messages are the previous request's, byte for byte, plus new ones;
    # in the raw body everything up to the end of the previous history is a prefix.
    for n in range(1, len(bodies)):
        before, after = messages[n - 1], messages[n]
        assert after[:len(before)] == before
        assert len(after) == len(before) + 2  # the assistant's tool call + its result
        history = spans[n - 1]["messages"][:-1]  # without the closing bracket
        history_end = bodies[n - 1].index(history) + len(history)
        assert bodies[n].startswith(bodies[n - 1][:history_end])
    assert [json.loads(m)["role"] for m in messages[-1]] == [
        "system", "user", "assistant", "tool", "assistant", "tool"]

    # Thinking as configured, on every request (in the body, not in the text).
    for body in bodies:
        assert json.loads(body)["thinking"] == {"type": thinking}
    # With thinking on, the fake answers with reasoning and refuses a later request
    # that lost it: the tool-calling turns carry it back.
    assistants = [json.loads(m) for m in messages[-1] if '"assistant"' in m]
    assert all(("reasoning_content" in a) == (thinking == "enabled") for a in assistants)

    # The same run through the default compiler looks different on the wire.
    default = [json.loads(b) for b in wire("default", {}, stream)]
    assert [json.loads(b) for b in bodies] != default
    for body in default:
        assert [t["function"]["name"] for t in body["tools"]] == ["zeta_lookup",
                                                                   "alpha_note"]
        assert body["messages"][0] == {"role": "system", "content": SYSTEM}
        assert "thinking" not in body
