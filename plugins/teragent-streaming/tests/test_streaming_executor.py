"""StreamingToolExecutor: read-only tools start during the stream; the rest queue;
stream failure → retry → batch fallback without re-running completed calls."""

from __future__ import annotations

import asyncio
from typing import Any

from teragent import AgentLoop
from teragent.config import AgentLoopConfig
from teragent.core.types import ToolSafety
from teragent.errors import StreamError
from teragent.events import EventBus
from teragent.streaming import StreamingToolExecutor
from teragent.testing import ScriptedModel, Step, call_tools, reply
from teragent.tools.base import BaseTool, ToolResult
from teragent.tools.orchestrator import ToolOrchestrator
from teragent.tools.registry import ToolRegistry


class Peek(BaseTool):
    name = "peek"
    description = "Read something"
    parameters_schema = {"type": "object", "properties": {"path": {"type": "string"}}}
    _safety = ToolSafety.READ_ONLY
    _concurrency_safe = True

    def __init__(self) -> None:
        self.ran: list[dict[str, Any]] = []
        self.order: list[str] = []  # shared with the test's stream to record causal order

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        self.ran.append(dict(params))
        self.order.append(f"{self.name} {params.get('path')}")
        return ToolResult(data=f"content of {params.get('path')}")


class Write(Peek):
    name = "write"
    description = "Write something"
    _safety = ToolSafety.SAFE_WRITE
    _concurrency_safe = False


def _setup() -> tuple[Peek, Write, ToolRegistry, EventBus, list[tuple[str, float]]]:
    peek, write = Peek(), Write()
    registry = ToolRegistry([peek, write])
    bus = EventBus()
    log: list[tuple[str, float]] = []
    bus.on("tool_start", lambda tool_name, at, **_: log.append((f"start:{tool_name}", at)))
    return peek, write, registry, bus, log


def test_read_only_tool_starts_before_the_stream_ends() -> None:
    """Checked by causal order, not by clock readings: the tools and the stream write
    to one list, so a loaded machine cannot reorder what the assertions compare."""
    peek, write, registry, bus, log = _setup()
    order: list[str] = []
    peek.order = write.order = order
    orch = ToolOrchestrator(registry, bus=bus, safety_gate=None)  # writes allowed here
    executor = StreamingToolExecutor(tool_orchestrator=orch)
    model = ScriptedModel([call_tools(("peek", {"path": "a"}), ("write", {"path": "b"}),
                                      ("peek", {"path": "c"}), text="Looking now",
                                      chunk_delay=0.02)])
    deltas: list[int] = []

    async def marked(stream: Any) -> Any:
        async for event in stream:
            yield event
        order.append("stream ended")

    async def go() -> Any:
        stream = model.stream_chat([{"role": "user", "content": "x"}], registry.get_schemas())
        return await executor.execute_streaming(
            stream=marked(stream), on_text_delta=lambda t: deltas.append(len(t)))

    outcomes, response, stats = asyncio.run(go())
    assert [o.call.name for o in outcomes] == ["peek", "write", "peek"]
    assert all(o.success for o in outcomes)
    # the first peek ran while the model was still streaming; the write was queued until
    # the stream ended, and the peek after it too (a read never overtakes a write the
    # model asked for first)
    assert order == ["peek a", "stream ended", "write b", "peek c"]
    assert [name for name, _ in log] == ["start:peek", "start:write", "start:peek"]
    assert set(stats.tool_started_at) == {c.id for c in response.tool_calls}
    assert stats.early_started == 1 and stats.queued == 2
    assert peek.ran == [{"path": "a"}, {"path": "c"}] and write.ran == [{"path": "b"}]
    assert deltas  # text was forwarded


def test_unknown_tools_are_queued_and_refusals_still_apply() -> None:
    peek, write, registry, bus, log = _setup()
    executor = StreamingToolExecutor(registry)  # default SafetyGate: writes refused
    model = ScriptedModel([call_tools(("nope", {}), ("write", {"path": "b"}))])

    async def go() -> Any:
        return await executor.execute_streaming(
            stream=model.stream_chat([{"role": "user", "content": "x"}]))

    outcomes, _, stats = asyncio.run(go())
    assert stats.early_started == 0 and stats.queued == 2
    assert "Unknown tool" in outcomes[0].result.error
    assert outcomes[1].denied and write.ran == []
    assert executor.can_stream_with_tools(model)


def test_failed_stream_retry_then_batch_fallback_does_not_rerun_completed_call() -> None:
    peek, write, registry, bus, log = _setup()
    orch = ToolOrchestrator(registry, bus=bus, safety_gate=None)
    executor = StreamingToolExecutor(tool_orchestrator=orch, max_retries=1)
    calls = [("peek", {"path": "a"}), ("write", {"path": "b"})]
    broken = StreamError("connection reset", retryable=True)
    # events: 3 for peek, then the stream breaks before the write call is complete
    model = ScriptedModel([Step(tool_calls=calls, error=broken, stream_error_after=4),
                           Step(tool_calls=calls, error=broken, stream_error_after=1),
                           Step(tool_calls=calls)])
    messages = [{"role": "user", "content": "x"}]

    async def go() -> Any:
        return await executor.execute_streaming(
            stream=lambda: model.stream_chat(messages, registry.get_schemas()),
            batch_call=lambda: model.complete(messages, registry.get_schemas()))

    outcomes, response, stats = asyncio.run(go())
    assert stats.stream_failures == 2 and stats.retries == 1 and stats.fallback
    assert stats.reused == 1
    assert peek.ran == [{"path": "a"}]  # completed during the failed stream: not re-run
    assert write.ran == [{"path": "b"}]
    assert [o.call.id for o in outcomes] == [c.id for c in response.tool_calls]
    assert outcomes[0].metadata.get("reused_from")
    model.assert_consumed()


def test_agent_loop_seam_falls_back_without_rerunning() -> None:
    """Through AgentLoop's streaming_executor seam: stream fails after the read-only
    call completed; the loop's batch fallback reuses that result."""
    peek, write, registry, bus, log = _setup()
    executor = StreamingToolExecutor(registry)
    broken = StreamError("reset", retryable=True)
    model = ScriptedModel([
        Step(tool_calls=[("peek", {"path": "a"})], error=broken, stream_error_after=4),
        Step(tool_calls=[("peek", {"path": "a"})]),  # the loop's retry (new call id)
        reply("done")])
    loop = AgentLoop(model, registry, AgentLoopConfig(), streaming_executor=executor, bus=bus)
    assert executor.tool_orchestrator is loop.tool_orchestrator  # the loop's guarded path
    result = asyncio.run(loop.run("read a"))
    assert result.final_text == "done"
    assert peek.ran == [{"path": "a"}]
    assert [o.call.name for o in result.tool_outcomes] == ["peek"]
    assert [e.name for e in bus.get_event_history(name="stream_failed")]
    model.assert_consumed()


def test_agent_loop_with_executor_emits_model_events() -> None:
    """model_start/model_end fire on the streaming-executor path too (AgentHooks'
    on_model_start/on_model_end hang off them)."""
    peek, write, registry, bus, log = _setup()
    executor = StreamingToolExecutor(registry)
    model = ScriptedModel([Step(tool_calls=[("peek", {"path": "a"})]), reply("done")])
    loop = AgentLoop(model, registry, AgentLoopConfig(), streaming_executor=executor, bus=bus)
    assert asyncio.run(loop.run("read a")).final_text == "done"
    names = [e.name for e in bus.get_event_history(limit=100)
             if e.name in ("model_start", "model_end", "tool_start", "tool_end")]
    assert names == ["model_start", "tool_start", "tool_end", "model_end",
                     "model_start", "model_end"]
