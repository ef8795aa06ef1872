"""``ScriptedModel``: a provider that plays a fixed script and fails on surprises.

Every model call consumes the next :class:`Step`. A call with no step left fails the
test ("unexpected model call"), and :meth:`ScriptedModel.assert_consumed` (called on
``close()`` and by the pytest fixture) fails when steps were left unplayed. A step may
check the request it answers (``expect=``) so a test can assert on what the loop sent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Callable

from teragent.core.adapter import TAPAdapter
from teragent.core.compilers.default import DefaultCompiler
from teragent.core.provider import ModelProvider
from teragent.core.tap import CompiledPrompt, TAPResponse, estimate_tokens
from teragent.core.types import (
    StreamEvent, StreamFinished, TextDelta, ToolCall, ToolCallDelta, ToolCallReady,
    ToolCallStarted, UsageUpdate,
)

__all__ = ["Step", "reply", "call_tool", "call_tools", "ScriptedAdapter", "ScriptedModel",
           "ScriptError"]


class ScriptError(AssertionError):
    """The code under test did not follow the script."""


@dataclass
class Step:
    """One scripted model answer.

    Args:
        text: The reply text.
        tool_calls: ``[(name, arguments_dict_or_raw_json_string), ...]``.
        finish_reason: Defaults to ``"tool_calls"`` when there are calls, else ``"stop"``.
        error: An exception to raise instead of answering.
        expect: ``expect(messages, tools)`` called with the request; raise (or return
            ``False``) to fail the test.
        chunk_delay: Seconds between streamed chunks (to test overlap with tools).
        stream_error_after: Raise ``error`` after this many streamed events.
    """

    text: str = ""
    tool_calls: list[tuple[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: dict[str, int] | None = None
    error: BaseException | None = None
    expect: Callable[[list[dict[str, Any]], list[dict[str, Any]] | None], Any] | None = None
    chunk_delay: float = 0.0
    stream_error_after: int | None = None
    thinking: str | None = None


def reply(text: str, finish_reason: str = "stop", **kw: Any) -> Step:
    return Step(text=text, finish_reason=finish_reason, **kw)


def call_tool(name: str, arguments: Any = None, text: str = "", **kw: Any) -> Step:
    return Step(text=text, tool_calls=[(name, arguments if arguments is not None else {})], **kw)


def call_tools(*calls: tuple[str, Any], text: str = "", **kw: Any) -> Step:
    return Step(text=text, tool_calls=list(calls), **kw)


class ScriptedAdapter(TAPAdapter):
    """An adapter that answers from a list of :class:`Step` s."""

    name = "scripted"

    def __init__(self, steps: list[Step] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.steps = list(steps or [])
        self.requests: list[CompiledPrompt] = []
        self._ids = itertools.count(1)

    @property
    def capabilities(self) -> dict[str, Any]:
        return {**super().capabilities, "network": False}

    def add(self, *steps: Step) -> None:
        self.steps.extend(steps)

    def _next(self, compiled: CompiledPrompt) -> Step:
        self.requests.append(compiled)
        n = len(self.requests)
        if not self.steps:
            last = compiled.as_messages()[-1:] if compiled.as_messages() else []
            raise ScriptError(f"unexpected model call #{n}: the script has no step left "
                              f"(last message: {json.dumps(last, default=str)[:300]})")
        step = self.steps.pop(0)
        if step.expect is not None:
            ok = step.expect(compiled.as_messages(), compiled.tools)
            if ok is False:
                raise ScriptError(f"model call #{n} did not match the script's expectation")
        return step

    def _response(self, step: Step, compiled: CompiledPrompt) -> TAPResponse:
        calls = []
        for name, args in step.tool_calls:
            raw = args if isinstance(args, str) else json.dumps(args)
            calls.append(ToolCall.from_raw(f"call_{next(self._ids)}", name, raw))
        prompt = sum(estimate_tokens(str(m.get("content") or "")) for m in compiled.as_messages())
        usage = step.usage or {"prompt_tokens": prompt,
                               "completion_tokens": max(1, estimate_tokens(step.text))}
        usage.setdefault("total_tokens", usage["prompt_tokens"] + usage["completion_tokens"])
        return TAPResponse(raw_text=step.text, tool_calls=calls, usage=usage,
                           finish_reason=step.finish_reason or ("tool_calls" if calls else "stop"),
                           thinking_content=step.thinking, model="scripted")

    async def send(self, compiled: CompiledPrompt, model: str) -> TAPResponse:
        step = self._next(compiled)
        if step.error is not None:
            raise step.error
        return self._response(step, compiled)

    async def stream_events(self, compiled: CompiledPrompt,
                            model: str) -> AsyncIterator[StreamEvent]:
        step = self._next(compiled)
        if step.error is not None and step.stream_error_after is None:
            raise step.error
        response = self._response(step, compiled)
        events: list[StreamEvent] = []
        words = step.text.split(" ")
        for i, word in enumerate(words):
            if word or i == 0:
                events.append(TextDelta(text=word if i == 0 else " " + word))
        for i, call in enumerate(response.tool_calls):
            events.append(ToolCallStarted(index=i, id=call.id, name=call.name))
            events.append(ToolCallDelta(index=i, arguments_delta=call.raw_arguments))
            events.append(ToolCallReady(index=i, call=call))
        events.append(UsageUpdate(usage=response.usage))
        for n, event in enumerate(events):
            if step.stream_error_after is not None and n >= step.stream_error_after:
                raise step.error or RuntimeError("scripted stream failure")
            if step.chunk_delay:
                await asyncio.sleep(step.chunk_delay)
            yield event
        yield StreamFinished(response=response)


class ScriptedModel(ModelProvider):
    """A :class:`ModelProvider` whose adapter plays ``steps``.

    Example::

        model = ScriptedModel([call_tool("read_file", {"path": "a.txt"}), reply("done")])
        result = await AgentLoop(model, tools).run("read a.txt")
        model.assert_consumed()
    """

    def __init__(self, steps: list[Step] | None = None, *, name: str = "scripted") -> None:
        super().__init__(DefaultCompiler(), ScriptedAdapter(steps), "scripted", name=name)

    @property
    def script(self) -> ScriptedAdapter:
        return self.adapter  # type: ignore[return-value]

    @property
    def requests(self) -> list[CompiledPrompt]:
        return self.script.requests

    def add(self, *steps: Step) -> None:
        self.script.add(*steps)

    def assert_consumed(self) -> None:
        left = self.script.steps
        if left:
            raise ScriptError(f"{len(left)} scripted step(s) were never used; the first: "
                              f"{left[0]!r}")

    async def close(self) -> None:
        await super().close()
        self.assert_consumed()
