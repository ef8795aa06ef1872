"""HTTP client cost of one tool-calling task against the fake OpenAI server.

A task is two ``chat/completions`` requests (the model asks for a tool, then answers
after the tool result), against ``FakeOpenAIServer(fast=True)`` served by uvicorn in a
*separate process* on loopback (so the server does not share the client's GIL), with
zero model latency: what is measured is the client side.

Loops compared, all in the same run:
  (a) a hand-written httpx loop (one reused ``AsyncClient``) -- the baseline,
  (b) a hand-written aiohttp loop (one reused ``ClientSession``),
  (c) our adapter with transport "httpx",
  (d) our adapter with transport "aiohttp".

Run: ``.venv/bin/python bench/bench_http.py`` (about 30-60 s). Not a test: it never
asserts correctness. The figures feed docs/decisions/http-transport.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Any, Awaitable, Callable, Iterator

SERVER_CODE = """
import sys
from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply, serve_in_thread

TOOL = ScriptedReply(tool_calls=[("read_file", {"path": "notes.txt"}, "call_1")],
                     usage={"prompt_tokens": 40, "completion_tokens": 10})
FINAL = ScriptedReply(text="The file says hello.",
                      usage={"prompt_tokens": 60, "completion_tokens": 6})

def responder(body):
    messages = body.get("messages") or []
    return FINAL if messages and messages[-1].get("role") == "tool" else TOOL

with serve_in_thread(FakeOpenAIServer(fast=True, responder=responder)) as url:
    print(url, flush=True)
    sys.stdin.read()  # run until the parent closes our stdin
"""

MODEL = "fake-model"
TOOLS = [{"type": "function", "function": {
    "name": "read_file", "description": "Read a file",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}}]
FIRST = [{"role": "system", "content": "You are a helpful assistant."},
         {"role": "user", "content": "What does notes.txt say?"}]


@contextmanager
def fake_server_process() -> Iterator[str]:
    """Start the fake server in a child process; yield its base URL once it listens."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER_CODE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()  # readiness: the child prints after startup
        if not url.startswith("http"):
            raise RuntimeError("the fake server process did not start")
        yield url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=15)


def follow_up(first: dict[str, Any]) -> list[dict[str, Any]]:
    msg = first["choices"][0]["message"]
    call = msg["tool_calls"][0]
    return FIRST + [msg, {"role": "tool", "tool_call_id": call["id"], "content": "hello"}]


# --- the four loops: each returns ``task()`` and ``close()`` ----------------------------

async def httpx_loop(url: str) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
    import httpx

    client = httpx.AsyncClient(base_url=url + "/", limits=httpx.Limits(
        max_connections=200, max_keepalive_connections=100))

    async def task() -> str:
        r = await client.post("chat/completions", json={"model": MODEL, "messages": FIRST,
                                                        "tools": TOOLS})
        r2 = await client.post("chat/completions", json={
            "model": MODEL, "messages": follow_up(r.json()), "tools": TOOLS})
        return str(r2.json()["choices"][0]["message"]["content"])

    return task, client.aclose


async def aiohttp_loop(url: str) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
    import aiohttp

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200))
    endpoint = url + "/chat/completions"

    async def task() -> str:
        async with session.post(endpoint, json={"model": MODEL, "messages": FIRST,
                                                "tools": TOOLS}) as r:
            first = await r.json()
        async with session.post(endpoint, json={"model": MODEL, "messages": follow_up(first),
                                                "tools": TOOLS}) as r2:
            data = await r2.json()
        return str(data["choices"][0]["message"]["content"])

    return task, session.close


def adapter_loop(transport: str) -> Callable[[str], Awaitable[tuple[Any, Any]]]:
    async def make(url: str) -> tuple[Callable[[], Awaitable[str]], Callable[[], Awaitable[None]]]:
        from teragent.core.tap import CompiledPrompt
        from teragent_openai.adapter import OpenAICompatibleAdapter

        adapter = OpenAICompatibleAdapter(base_url=url, transport=transport)

        async def task() -> str:
            first = await adapter.send(CompiledPrompt(messages=FIRST, tools=TOOLS), MODEL)
            call = first.tool_calls[0]
            messages = FIRST + [first.to_message(), {"role": "tool", "tool_call_id": call.id,
                                                     "content": "hello"}]
            final = await adapter.send(CompiledPrompt(messages=messages, tools=TOOLS), MODEL)
            return str(final.raw_text)

        return task, adapter.aclose
    return make


LOOPS = {
    "httpx (hand-written)": httpx_loop,
    "aiohttp (hand-written)": aiohttp_loop,
    "adapter, transport=httpx": adapter_loop("httpx"),
    "adapter, transport=aiohttp": adapter_loop("aiohttp"),
}


async def measure(make: Any, url: str, tasks: int, concurrency: int) -> tuple[float, float]:
    """(ms per task sequentially, tasks/s at ``concurrency``) for one loop."""
    task, close = await make(url)
    try:
        for _ in range(20):  # warm up connections and code paths
            assert await task() == "The file says hello."
        start = time.perf_counter()
        for _ in range(tasks):
            await task()
        seq_ms = (time.perf_counter() - start) * 1000 / tasks
        await asyncio.gather(*(task() for _ in range(concurrency)))  # warm the pool
        per_worker = max(1, tasks // concurrency)

        async def worker() -> None:
            for _ in range(per_worker):
                await task()

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        rate = per_worker * concurrency / (time.perf_counter() - start)
        return seq_ms, rate
    finally:
        await close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    args = parser.parse_args()

    results: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in LOOPS}
    with fake_server_process() as url:
        for _ in range(args.repeats):  # interleave loops so drift hits all alike
            for name, make in LOOPS.items():
                seq, rate = asyncio.run(measure(make, url, args.tasks, args.concurrency))
                results[name][0].append(seq)
                results[name][1].append(rate)

    base_seq = statistics.median(results["httpx (hand-written)"][0])
    base_rate = statistics.median(results["httpx (hand-written)"][1])
    print(f"tool-calling task (2 requests), {args.tasks} tasks, median of {args.repeats} "
          f"runs, server in a separate process on loopback")
    print(f"{'loop':<28} {'ms/task':>8} {'vs httpx':>9} {'tasks/s@' + str(args.concurrency):>12}"
          f" {'vs httpx':>9}")
    summary = {}
    for name, (seqs, rates) in results.items():
        seq, rate = statistics.median(seqs), statistics.median(rates)
        summary[name] = {"ms_per_task": round(seq, 3), "tasks_per_s": round(rate, 1),
                         "seq_ratio_vs_httpx": round(seq / base_seq, 3),
                         "rate_ratio_vs_httpx": round(rate / base_rate, 3)}
        print(f"{name:<28} {seq:>8.2f} {seq / base_seq:>8.2f}x {rate:>12.0f} "
              f"{rate / base_rate:>8.2f}x")
    print("(ms/task ratio < 1 is faster; tasks/s ratio > 1 is faster)")
    if args.json:
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
