"""The agent loop, driven by the scripted model."""

from __future__ import annotations

import asyncio
import json

import pytest

from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
from teragent.core.types import ToolSafety
from teragent.errors import RunCancelled, UserError
from teragent.events import EventBus
from teragent.budget import StepBudget
from teragent.testing import ScriptedModel, ScriptError, Step, call_tool, call_tools, reply
from teragent.tools import BaseTool, ToolResult, tool
from teragent_testing.agent_harness import add


class Recorder:
    """Tools that record when they ran, so tests can check overlap and order."""

    def __init__(self) -> None:
        self.spans: dict[str, tuple[float, float]] = {}
        self.order: list[str] = []
        self.started = asyncio.Event()

    def tools(self) -> list[BaseTool]:
        rec = self

        class Slow(BaseTool):
            name = "slow_read"
            description = "Read slowly"
            parameters_schema = {"type": "object", "properties": {"key": {"type": "string"}},
                                 "required": ["key"], "additionalProperties": False}
            _safety = ToolSafety.READ_ONLY
            _concurrency_safe = True

            async def execute(self, params, progress_callback=None):
                loop = asyncio.get_running_loop()
                start = loop.time()
                rec.order.append("start:" + params["key"])
                # Each call waits until at least two have started: only possible if they
                # run concurrently (a serial run would deadlock and hit the timeout).
                if sum(1 for o in rec.order if o.startswith("start:")) >= 2:
                    rec.started.set()
                await asyncio.wait_for(rec.started.wait(), 2)
                rec.order.append("end:" + params["key"])
                rec.spans[params["key"]] = (start, loop.time())
                return ToolResult(data=f"value of {params['key']}")

        class Write(BaseTool):
            name = "write_note"
            description = "Write a note"
            parameters_schema = {"type": "object", "properties": {"text": {"type": "string"}},
                                 "required": ["text"], "additionalProperties": False}
            _safety = ToolSafety.SAFE_WRITE
            _concurrency_safe = False

            async def execute(self, params, progress_callback=None):
                rec.order.append("write-start:" + params["text"])
                await asyncio.sleep(0)
                rec.order.append("write-end:" + params["text"])
                return ToolResult(data="written", safety=ToolSafety.SAFE_WRITE)

        return [Slow(), Write()]


def run(coro):
    return asyncio.run(coro)


def test_multi_step_tool_use_feeds_results_back():
    def sees_result(messages, tools):
        tool_msgs = [m for m in messages if m["role"] == "tool"]
        assert tool_msgs and tool_msgs[-1]["content"] == "5"
        assert tools and tools[0]["function"]["name"] == "add"

    model = ScriptedModel([
        call_tool("add", {"a": 2, "b": 3}),
        Step(tool_calls=[("add", {"a": 5, "b": 0})], expect=sees_result),
        reply("The sum is 5."),
    ])
    result = run(AgentLoop(model, ToolRegistry([add])).run("add 2 and 3"))
    model.assert_consumed()
    assert result.final_text == "The sum is 5."
    assert result.stop_reason == "completed"
    assert result.steps == 3
    assert [o.result.to_text() for o in result.tool_outcomes] == ["5", "5"]
    roles = [m["role"] for m in result]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]


@pytest.mark.parametrize("stream", [True, False])
def test_parallel_read_only_calls_overlap_in_time(stream):
    rec = Recorder()
    model = ScriptedModel([call_tools(("slow_read", {"key": "a"}), ("slow_read", {"key": "b"}),
                                      ("slow_read", {"key": "c"})),
                           reply("done")])
    cfg = AgentLoopConfig(stream=stream)
    result = run(AgentLoop(model, ToolRegistry(rec.tools()), cfg).run("read"))
    assert result.final_text == "done"
    (a0, a1), (b0, b1) = rec.spans["a"], rec.spans["b"]
    assert a0 < b1 and b0 < a1, "the read-only calls did not overlap"
    # Results come back in call order, whatever order they finished in.
    assert [o.call.arguments["key"] for o in result.tool_outcomes] == ["a", "b", "c"]


def test_writes_run_serially_in_model_order():
    rec = Recorder()
    model = ScriptedModel([call_tools(("write_note", {"text": "1"}), ("write_note", {"text": "2"}),
                                      ("write_note", {"text": "3"})), reply("ok")])
    cfg = AgentLoopConfig(allow_writes=True)
    run(AgentLoop(model, ToolRegistry(rec.tools()), cfg).run("write"))
    assert rec.order == ["write-start:1", "write-end:1", "write-start:2", "write-end:2",
                         "write-start:3", "write-end:3"]


def test_writes_are_refused_unless_allowed():
    rec = Recorder()
    model = ScriptedModel([call_tool("write_note", {"text": "x"}), reply("could not write")])
    result = run(AgentLoop(model, ToolRegistry(rec.tools())).run("write"))
    outcome = result.tool_outcomes[0]
    assert outcome.denied and "writes are not allowed" in outcome.result.error
    assert rec.order == []


def test_truncated_reply_is_continued():
    def asked_to_continue(messages, tools):
        assert messages[-1]["content"].startswith("Your reply was cut off")
        assert messages[-2] == {"role": "assistant", "content": "The answer is"}

    model = ScriptedModel([reply("The answer is", finish_reason="length"),
                           Step(text=" forty-two.", expect=asked_to_continue)])
    result = run(AgentLoop(model, ToolRegistry()).run("what is it?"))
    assert result.final_text == "The answer is forty-two."
    assert result.continuations == 1
    # the partial turn and the continue request are folded into one answer
    assert [m["role"] for m in result] == ["system", "user", "assistant"]


def test_budget_exhaustion_ends_with_a_summary_and_a_wrap_up_nudge():
    def no_tools_offered(messages, tools):
        assert tools is None
        assert "used all your steps" in messages[-1]["content"]

    def nudged(messages, tools):
        assert any("step(s) left" in (m.get("content") or "") for m in messages)

    model = ScriptedModel([
        call_tool("add", {"a": 1, "b": 1}),
        Step(tool_calls=[("add", {"a": 2, "b": 2})], expect=nudged),
        Step(text="I added numbers twice.", expect=no_tools_offered),
    ])
    bus = EventBus()
    loop = AgentLoop(model, ToolRegistry([add]), AgentLoopConfig(max_steps=2, wrap_up_steps=1),
                     bus=bus)
    result = run(loop.run("keep adding"))
    model.assert_consumed()
    assert result.stop_reason == "max_steps"
    assert result.final_text == "I added numbers twice."
    assert [e.name for e in bus.get_event_history(name="budget_exhausted")] == ["budget_exhausted"]


def test_step_budget_can_be_resumed():
    budget = StepBudget(max_steps=1)
    model = ScriptedModel([call_tool("add", {"a": 1, "b": 2}), reply("summary")])
    loop = AgentLoop(model, ToolRegistry([add]), step_budget=budget)
    assert run(loop.run("go")).stop_reason == "max_steps"
    budget.resume(extra_steps=1)
    model.add(reply("finished"))
    assert run(loop.run("continue")).final_text == "finished"


@pytest.mark.parametrize("args, expected", [
    ('{"a": 1}', "missing required argument 'b'"),
    ('{"a": "x", "b": 2}', "argument 'a'"),
    ('{"a": 1, "b": 2, "c": 3}', "unexpected argument(s) 'c'"),
    ('{"a": 1, "b": ', "not valid JSON"),
    ('[1, 2]', "must be a JSON object"),
])
def test_invalid_tool_arguments_are_answered_with_an_error(args, expected):
    def error_reported(messages, tools):
        content = messages[-1]["content"]
        assert messages[-1]["role"] == "tool" and content.startswith("Error: Invalid arguments")
        assert expected in content

    model = ScriptedModel([Step(tool_calls=[("add", args)]),
                           Step(text="sorry", expect=error_reported)])
    result = run(AgentLoop(model, ToolRegistry([add])).run("add"))
    assert result.final_text == "sorry"
    assert not result.tool_outcomes[0].success


def test_unknown_tool_is_reported_not_raised():
    model = ScriptedModel([call_tool("nope", {}), Step(
        text="ok", expect=lambda m, t: "Unknown tool 'nope'" in m[-1]["content"])])
    assert run(AgentLoop(model, ToolRegistry([add])).run("x")).final_text == "ok"


def test_tool_exception_becomes_tool_error():
    @tool
    def boom() -> str:
        """Always fails."""
        raise RuntimeError("disk on fire")

    model = ScriptedModel([call_tool("boom"), Step(
        text="handled", expect=lambda m, t: "disk on fire" in m[-1]["content"])])
    assert run(AgentLoop(model, ToolRegistry([boom])).run("x")).final_text == "handled"


def test_stream_failure_falls_back_to_batch_without_rerunning_tools():
    from teragent.errors import StreamError

    calls = []

    @tool
    def once() -> str:
        """Count calls."""
        calls.append(1)
        return "ran"

    model = ScriptedModel([
        call_tool("once"),
        Step(text="partial", error=StreamError("cut"), stream_error_after=1),
        reply("final"),
    ])
    cfg = AgentLoopConfig(streaming_retries=0)
    result = run(AgentLoop(model, ToolRegistry([once]), cfg).run("x"))
    assert result.final_text == "final"
    assert calls == [1]


def test_events_are_emitted_in_order():
    bus = EventBus()
    seen = []
    bus.on("*", lambda name, **kw: seen.append(name))
    model = ScriptedModel([call_tool("add", {"a": 1, "b": 1}), reply("two")])
    run(AgentLoop(model, ToolRegistry([add]), bus=bus).run("x"))
    order = [n for n in seen if n in ("agent_start", "model_start", "tool_start", "tool_end",
                                      "model_end", "agent_done")]
    assert order == ["agent_start", "model_start", "model_end", "tool_start", "tool_end",
                     "model_start", "model_end", "agent_done"]
    assert "text_delta" in seen


def test_cancel_stops_between_steps():
    model = ScriptedModel([call_tool("add", {"a": 1, "b": 1}), reply("never")])
    loop = AgentLoop(model, ToolRegistry([add]))
    loop.bus.on("tool_end", lambda **kw: loop.cancel())
    with pytest.raises(RunCancelled):
        run(loop.run("x"))
    assert len(model.script.steps) == 1  # the second model call never happened


def test_task_cancellation_propagates():
    async def main():
        gate = asyncio.Event()

        @tool
        async def wait_forever() -> str:
            """Block."""
            gate.set()
            await asyncio.Event().wait()
            return "unreachable"

        model = ScriptedModel([call_tool("wait_forever")])
        loop = AgentLoop(model, ToolRegistry([wait_forever]))
        task = asyncio.ensure_future(loop.run("x"))
        await gate.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())


def test_empty_task_is_a_user_error():
    with pytest.raises(UserError, match="task is empty"):
        run(AgentLoop(ScriptedModel([]), ToolRegistry()).run("  "))


def test_scripted_model_fails_on_unexpected_call():
    model = ScriptedModel([call_tool("add", {"a": 1, "b": 1})])
    with pytest.raises(ScriptError, match="unexpected model call #2"):
        run(AgentLoop(model, ToolRegistry([add])).run("x"))


def test_scripted_model_fails_on_unconsumed_steps():
    model = ScriptedModel([reply("a"), reply("b")])
    run(AgentLoop(model, ToolRegistry()).run("x"))
    with pytest.raises(ScriptError, match="1 scripted step"):
        model.assert_consumed()


def test_intent_tools_filter_and_delegation():
    class Classifier:
        def __init__(self, intent):
            self.intent = intent

        async def classify(self, text):
            return self.intent

    @tool
    def other() -> str:
        """Another tool."""
        return "x"

    model = ScriptedModel([Step(text="chatting", expect=lambda m, t: [
        s["function"]["name"] for s in t] == ["add"])])
    cfg = AgentLoopConfig(intent_tools={"chat": ["add"]})
    loop = AgentLoop(model, ToolRegistry([add, other]), cfg, intent_classifier=Classifier("CHAT"))
    result = run(loop.run("hello"))
    assert result.intent == "chat" and result.final_text == "chatting"

    class Orchestrator:
        async def run(self, task):
            return f"built: {task}"

    loop = AgentLoop(ScriptedModel([]), ToolRegistry([add]), cfg,
                     intent_classifier=Classifier("create_project"), orchestrator=Orchestrator())
    result = run(loop.run("make an app"))
    assert result.stop_reason == "delegated" and result.final_text == "built: make an app"


def test_breaker_refusal_stops_the_run():
    from teragent.errors import BudgetExceeded

    class Breaker:
        def __init__(self):
            self.calls = 0

        def check_before_call(self, estimated_prompt_tokens=0):
            self.calls += 1
            return self.calls < 2

        def record_model_call(self, **kw):
            pass

    model = ScriptedModel([call_tool("add", {"a": 1, "b": 1})])
    with pytest.raises(BudgetExceeded, match="refused"):
        run(AgentLoop(model, ToolRegistry([add]), circuit_breaker=Breaker()).run("x"))


def test_tool_output_is_truncated_with_a_note():
    @tool
    def big() -> str:
        """Big output."""
        return "x" * 5000

    model = ScriptedModel([call_tool("big"), Step(text="ok", expect=lambda m, t: (
        "output truncated" in m[-1]["content"] and len(m[-1]["content"]) < 1200))])
    cfg = AgentLoopConfig(max_tool_output_chars=1000)
    result = run(AgentLoop(model, ToolRegistry([big]), cfg).run("x"))
    assert result.tool_outcomes[0].truncated


def test_result_is_json_serialisable():
    model = ScriptedModel([call_tool("add", {"a": 1, "b": 1}), reply("2")])
    result = run(AgentLoop(model, ToolRegistry([add])).run("x"))
    payload = json.loads(json.dumps(result.as_dict()))
    assert payload["tool_calls"][0] == {"name": "add", "arguments": {"a": 1, "b": 1},
                                        "success": True, "denied": False, "output": "2"}


def test_streaming_executor_path_filters_by_intent_and_feeds_breakers():
    """The streaming executor takes the same path as batch: the intent's tool set
    applies to calls started mid-stream, and every model call and step reaches the
    breakers (consecutive failures, token budget, stall detection)."""
    from teragent.streaming import StreamingToolExecutor

    class Classifier:
        async def classify(self, text):
            return "chat"

    @tool
    def other() -> str:
        """Another tool."""
        return "ran"

    class Recorder:
        def __init__(self):
            self.calls, self.steps, self.successes = [], [], 0

        def check_before_call(self, estimated_prompt_tokens=0):
            return True

        def record_success(self):
            self.successes += 1

        def record_failure(self, reason=""):
            pass

        def record_model_call(self, **kw):
            self.calls.append(kw)

        def record_agent_step(self, name, had_effect=False):
            self.steps.append((name, had_effect))

    breaker = Recorder()
    model = ScriptedModel([call_tool("other", {}), reply("done")])
    loop = AgentLoop(model, ToolRegistry([add, other]),
                     AgentLoopConfig(intent_tools={"chat": ["add"]}),
                     intent_classifier=Classifier(), streaming_executor=StreamingToolExecutor(),
                     circuit_breaker=breaker)
    result = run(loop.run("hello"))
    outcome = result.tool_outcomes[0]
    assert not outcome.success and "Unknown tool 'other'" in outcome.result.error
    assert len(breaker.calls) == 2 and breaker.successes == 2
    assert breaker.calls[0]["prompt_tokens"] > 0
    assert breaker.steps == [("other", False)]
