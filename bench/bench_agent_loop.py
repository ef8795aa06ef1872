"""Agent-loop overhead: one tool-calling task (model asks for a tool → the tool runs →
the model answers) through ``AgentLoop``, as a ratio to a hand-written httpx loop doing
the same two requests, sequentially and with 50 concurrent tasks. Target ≤ 1.15×.

The fake OpenAI server runs in a separate process on loopback with zero model latency
(see bench_http.py), so what is measured is client-side cost: HTTP, JSON, the provider,
the loop, the tool orchestrator, events.

Run: .venv/bin/python bench/bench_agent_loop.py [--tasks 200 --repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable

sys.path.insert(0, str(Path(__file__).parent))
from bench_http import aiohttp_loop, fake_server_process, httpx_loop, measure  # noqa: E402


def agent_loop(transport: str | None, stream: bool) -> Callable[[str], Awaitable[tuple[Any, Any]]]:
    async def make(url: str) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
        import teragent
        from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
        from teragent.tools import tool

        @tool
        def read_file(path: str) -> str:
            """Read a file.

            Args:
                path: The file.
            """
            return "hello"

        kwargs: dict[str, Any] = {"transport": transport} if transport else {}
        provider = teragent.create_provider(adapter="openai_compatible", compiler="default",
                                            base_url=url, model="fake-model", **kwargs)
        tools = ToolRegistry([read_file])
        config = AgentLoopConfig(stream=stream, max_steps=8)  # no wrap-up nudge in 2 steps

        async def task() -> str:
            result = await AgentLoop(provider, tools, config).run("What does notes.txt say?")
            return result.final_text

        return task, provider.close
    return make


LOOPS = {
    "httpx (hand-written)": httpx_loop,
    "aiohttp (hand-written)": aiohttp_loop,
    "AgentLoop batch, default transport": agent_loop(None, stream=False),
    "AgentLoop batch, transport=httpx": agent_loop("httpx", stream=False),
    "AgentLoop streaming, default transport": agent_loop(None, stream=True),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=50)
    args = ap.parse_args()
    results: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in LOOPS}
    with fake_server_process() as url:
        for _ in range(args.repeats):
            for name, make in LOOPS.items():
                seq, rate = asyncio.run(measure(make, url, args.tasks, args.concurrency))
                results[name][0].append(seq)
                results[name][1].append(rate)
    base_seq = statistics.median(results["httpx (hand-written)"][0])
    base_rate = statistics.median(results["httpx (hand-written)"][1])
    print(f"one tool round trip per task, {args.tasks} tasks, median of {args.repeats} runs")
    print(f"{'loop':<40} {'ms/task':>8} {'x httpx':>8} {'tasks/s@' + str(args.concurrency):>12}"
          f" {'httpx/it':>9}")
    for name, (seqs, rates) in results.items():
        seq, rate = statistics.median(seqs), statistics.median(rates)
        print(f"{name:<40} {seq:>8.2f} {seq / base_seq:>7.2f}x {rate:>12.0f} "
              f"{base_rate / rate:>8.2f}x")
    print("(both ratio columns: time relative to the hand-written httpx loop; < 1 is faster)")


if __name__ == "__main__":
    main()
