"""The tracer's CPU per call on a long conversation (issue 19, beside bench_tracing.py).

``bench_tracing.py`` measures the agent-loop benchmark's task: two calls per
conversation. A real agent run goes on for many calls, its history growing each time.
Here: 5 conversations of 100 calls each (a system prompt of about 1.8 KB, 15 tool
schemas), every call adding an assistant tool call and a tool result of about 2 KB,
so the last prompt is about 200 KB. The tracer records each call with its compiled
prompt, as the provider does in an agent run; min over 3 rounds of the CPU per call,
batches and writes included.

Run: ``.venv/bin/python bench/bench_tracing_long.py``. Not a test.
"""

from __future__ import annotations

import asyncio
import tempfile
import time

from teragent.core.tap import CompiledPrompt, TAPResponse
from teragent_traces.tracer import TAPTracer

CALLS, RUNS, ROUNDS = 100, 5, 3


def conversation() -> list[CompiledPrompt]:
    system = {"role": "system", "content": "You are an agent. " * 100}
    tools = [{"type": "function", "function": {
        "name": f"t{i}", "description": "d" * 200, "parameters": {"type": "object"}}}
        for i in range(15)]
    messages = [system, {"role": "user", "content": "do the thing"}]
    out = []
    for i in range(CALLS):
        out.append(CompiledPrompt(messages=list(messages), tools=tools))
        messages = messages + [
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": f"c{i}", "type": "function",
                 "function": {"name": "t1", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": f"c{i}",
             "content": ("line of output %d\n" % i) * 100}]
    return out


def main() -> None:
    runs = [conversation() for _ in range(RUNS)]
    answer = TAPResponse(raw_text="ok", usage={"prompt_tokens": 1}, finish_reason="stop")
    best = float("inf")
    with tempfile.TemporaryDirectory(prefix="bench-tracing-long-") as d:
        tracer = TAPTracer(d)

        async def record() -> None:
            for run in runs:
                for compiled in run:
                    tid = await tracer.record_request(None, compiled=compiled,
                                                      provider="p", model="m")
                    await tracer.record_response(answer, trace_id=tid)
            tracer.flush()

        for _ in range(ROUNDS):
            c = time.process_time()
            asyncio.run(record())
            best = min(best, (time.process_time() - c) * 1e6 / (CALLS * RUNS))
        tracer.close()
    size = sum(len(str(m)) for m in runs[0][-1].messages) // 1000
    print(f"long conversation ({CALLS} calls, last prompt about {size} KB): "
          f"{best:.1f} us CPU per traced call (min of {ROUNDS} rounds)")


if __name__ == "__main__":
    main()
