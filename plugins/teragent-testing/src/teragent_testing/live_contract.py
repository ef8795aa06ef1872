"""The adapter contract for adapters whose replies cannot be scripted: local models.

:class:`~teragent_testing.contract.AdapterContract` drives an adapter against a fake
vendor server that plays scripted replies. An adapter that runs a model in-process
(``llama_cpp``) has no server to fake: its replies are whatever the model says. This
suite checks the properties that hold for *any* reply, against the real model. The
opt-in is one subclass::

    from teragent_testing.live_contract import LiveAdapterContract

    class TestMyLocalAdapter(LiveAdapterContract):
        model = "my-model"
        @staticmethod
        def make_adapter():
            return MyLocalAdapter(temperature=0.0, seed=7, max_tokens=32)

What it checks:

- **stream shape**: text deltas, then one usage update and exactly one
  ``StreamFinished``, last; the deltas join to the response's text; usage counts are
  positive;
- **send and stream agree** (``deterministic``: temperature 0, fixed seed) on text,
  finish reason and usage;
- **tool calls are well-formed**: with tools offered and ``tool_choice="required"``,
  every call names an offered tool, has an id and arguments that validate against the
  tool's schema, and is announced by a ``ToolCallReady`` event;
- **an abandoned stream leaves the adapter usable**: closing a stream after a few
  events, then sending again, answers.

Synchronous tests (:func:`asyncio.run`); each builds its own adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, ClassVar

from teragent.core.adapter import TAPAdapter
from teragent.core.tap import CompiledPrompt
from teragent.core.types import StreamFinished, TextDelta, ToolCallReady, UsageUpdate
from teragent.tools.base import validate_arguments
from teragent_testing.contract import collect_stream

__all__ = ["LiveAdapterContract", "TOOLS"]

#: Tools offered in the tool-call test.
TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "read_file", "description": "Read a text file from the workspace",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                       "required": ["path"]}}},
    {"type": "function", "function": {
        "name": "get_time", "description": "The current time in a time zone",
        "parameters": {"type": "object", "properties": {"zone": {"type": "string"}},
                       "required": ["zone"]}}},
]
_SCHEMAS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}


def _prompt(text: str, **extra: Any) -> CompiledPrompt:
    tools = extra.pop("tools", None)
    return CompiledPrompt(messages=[{"role": "user", "content": text}], tools=tools,
                          extra=extra)


class LiveAdapterContract:
    """Properties of any reply; subclasses set ``model`` and ``make_adapter``."""

    model: ClassVar[str] = ""
    #: Temperature 0 and a fixed seed: send and stream give the same reply.
    deterministic: ClassVar[bool] = True
    #: The adapter honours ``tool_choice="required"`` (constrained or native).
    supports_tools: ClassVar[bool] = True

    @staticmethod
    def make_adapter() -> TAPAdapter:
        raise NotImplementedError("set LiveAdapterContract.make_adapter")

    def test_stream_shape(self) -> None:
        events, response = asyncio.run(collect_stream(
            self.make_adapter(), _prompt("Name three colours."), self.model))
        deltas = [e for e in events if isinstance(e, TextDelta)]
        assert deltas, "no text was streamed"
        assert isinstance(events[-2], UsageUpdate), "usage must come before the end"
        assert "".join(d.text for d in deltas) == response.raw_text
        assert response.prompt_tokens > 0 and response.completion_tokens > 0
        assert response.finish_reason in ("stop", "length")

    def test_send_and_stream_agree(self) -> None:
        adapter, compiled = self.make_adapter(), _prompt("Name three fruits.")
        sent = asyncio.run(adapter.send(compiled, self.model))
        _, streamed = asyncio.run(collect_stream(adapter, compiled, self.model))
        assert sent.finish_reason == streamed.finish_reason
        assert sent.prompt_tokens == streamed.prompt_tokens
        if self.deterministic:
            assert sent.raw_text == streamed.raw_text
            assert sent.completion_tokens == streamed.completion_tokens

    def test_tool_calls_are_well_formed(self) -> None:
        if not self.supports_tools:
            return
        compiled = _prompt("Show me the contents of the file README.md", tools=TOOLS,
                           tool_choice="required")
        events, response = asyncio.run(collect_stream(self.make_adapter(), compiled,
                                                      self.model))
        assert response.finish_reason == "tool_calls" and response.tool_calls
        ready = [e.call for e in events if isinstance(e, ToolCallReady)]
        for call in response.tool_calls:
            assert call.id and call.parse_error is None, call
            assert call.name in _SCHEMAS, f"called a tool never offered: {call.name}"
            assert validate_arguments(_SCHEMAS[call.name], call.arguments) is None, call
            assert call in ready, f"{call.name}: no ToolCallReady event"

    def test_abandoned_stream_leaves_the_adapter_usable(self) -> None:
        adapter = self.make_adapter()

        async def go() -> Any:
            stream = adapter.stream_events(
                _prompt("Write a long story about a lighthouse."), self.model)
            async with contextlib.aclosing(stream):  # type: ignore[type-var]
                seen = 0
                async for _ in stream:
                    seen += 1
                    if seen >= 3:
                        break
            return await adapter.send(_prompt("Say hello."), self.model)

        answer = asyncio.run(go())
        assert answer.raw_text.strip() or answer.tool_calls
        assert not isinstance(answer, StreamFinished)
