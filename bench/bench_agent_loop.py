"""Agent-loop overhead (issue 11): the same tool-calling task on TerAgent, a hand-written
httpx loop and a hand-written aiohttp loop, in one run, against one fake server.

One task = user ``"add N and 1"`` → the model calls tool ``add({"a": N, "b": 1})`` → the
tool runs → the model answers ``"The result is N+1."``: two chat-completion requests, a
fresh conversation per task; clients and agents are built once and reused.

The fake OpenAI-compatible server is a stdlib asyncio HTTP/1.1 protocol (the approach of
``../shared/bench/fake_openai_server.py``: keep-alive, no framework, so it costs the
client's two cores as little as possible) in a *separate process* on loopback with zero
model latency: what is left is client-side cost (HTTP client, JSON, provider, compiler,
loop, guard chain, tool orchestrator, events).

Each measurement runs in a fresh child process, the loops interleaved per repeat so drift
on the shared machine hits all alike. Per loop and mode:

* ``seq``: median ms/task over ``--tasks`` sequential tasks after 1 + 20 warm-up tasks,
  and client CPU ms/task (``process_time``, the least noise-sensitive number);
* ``stream``: the same with streaming (``stream: true``);
* ``concurrent``: ``--concurrency`` tasks at once (``asyncio.gather``), ``--tasks /
  concurrency`` rounds after a warm-up round; tasks/s = concurrency / median round wall;
* ``first``: in the fresh process, ``import`` + build + the first task (and each part).

Loops: ``aiohttp`` and ``httpx`` (hand-written, the floors), ``teragent``
(``teragent.build_agent(config={}, ...)``: default guard chain, breakers and recovery,
audit off) and ``teragent+audit`` (the same with the audit log on).

Run: ``.venv/bin/python bench/bench_agent_loop.py [--tasks 200 --repeats 3]``; prints a
table of ratios to the aiohttp and httpx loops and writes
``bench/results/agent_loop-<time>.json``. ``--profile LOOP`` runs cProfile on the
measured sequential phase of one loop instead. Not a test: it asserts only that each
answer names N+1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

T_PROCESS = time.perf_counter()  # before any heavy import (first-task latency)

HERE = Path(__file__).resolve().parent
MODEL = "fake-model"
KEY_ENV = "TERAGENT_BENCH_KEY"
KEY = "sk-fake-bench-key"
TOOLS = [{"type": "function", "function": {
    "name": "add", "description": "Add two integers.",
    "parameters": {"type": "object", "properties": {"a": {"type": "integer"},
                                                     "b": {"type": "integer"}},
                   "required": ["a", "b"]}}}]
LOOPS = ("aiohttp", "httpx", "teragent", "teragent+audit")
MODES = ("seq", "stream", "concurrent")


def prompt(n: int) -> str:
    return "add %d and 1" % n


# --- the fake server (stdlib only; runs as `bench_agent_loop.py --serve`) -------------

def _serve() -> None:
    import itertools
    import re

    int_re = re.compile(r"-?\d+")
    ids = itertools.count(1)
    stats = {"requests": 0, "connections": 0}

    def decide(body: dict[str, Any]) -> tuple[str, Any]:
        msgs = body.get("messages") or []
        last = msgs[-1] if msgs else {}
        if last.get("role") == "user":
            m = int_re.search(str(last.get("content") or ""))
            return "tool", int(m.group(0)) if m else 0
        if last.get("role") == "tool":
            return "final", "The result is %s." % str(last.get("content") or "").strip()
        return "final", "OK."

    def usage(body: dict[str, Any], c: int) -> dict[str, int]:
        p = 10 + len(body.get("messages") or [])
        return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}

    def dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"))

    def nonstream(body: dict[str, Any]) -> bytes:
        kind, val = decide(body)
        rid = next(ids)
        if kind == "tool":
            msg: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None,
                                   "tool_calls": [{"id": "call_%d" % rid, "type": "function",
                                                   "function": {"name": "add", "arguments":
                                                                json.dumps({"a": val, "b": 1})}}]}
            finish, ctoks = "tool_calls", 12
        else:
            msg = {"role": "assistant", "content": val, "refusal": None}
            finish, ctoks = "stop", 6
        return dumps({"id": "chatcmpl-%d" % rid, "object": "chat.completion",
                      "created": 1700000000, "model": body.get("model") or MODEL,
                      "choices": [{"index": 0, "message": msg, "logprobs": None,
                                   "finish_reason": finish}],
                      "usage": usage(body, ctoks)}).encode()

    def stream_events(body: dict[str, Any]) -> list[str]:
        kind, val = decide(body)
        rid = next(ids)
        base = {"id": "chatcmpl-%d" % rid, "object": "chat.completion.chunk",
                "created": 1700000000, "model": body.get("model") or MODEL}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
            return dumps({**base, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                               "finish_reason": finish}]})

        if kind == "tool":
            args = json.dumps({"a": val, "b": 1})
            half = len(args) // 2
            events = [chunk({"role": "assistant", "content": None, "refusal": None}),
                      chunk({"tool_calls": [{"index": 0, "id": "call_%d" % rid,
                                             "type": "function",
                                             "function": {"name": "add", "arguments": ""}}]}),
                      chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[:half]}}]}),
                      chunk({"tool_calls": [{"index": 0, "function": {"arguments": args[half:]}}]}),
                      chunk({}, "tool_calls")]
            ctoks = 12
        else:
            words = val.split(" ")
            events = [chunk({"role": "assistant", "content": "", "refusal": None})]
            events += [chunk({"content": w if i == 0 else " " + w}) for i, w in enumerate(words)]
            events.append(chunk({}, "stop"))
            ctoks = len(words)
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append(dumps({**base, "choices": [], "usage": usage(body, ctoks)}))
        return events + ["[DONE]"]

    def resp(status: str, body: bytes) -> bytes:
        return b"".join([b"HTTP/1.1 ", status.encode(), b"\r\ncontent-type: application/json"
                         b"\r\ncontent-length: ", str(len(body)).encode(), b"\r\n\r\n", body])

    class Proto(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.t = transport
            self.buf = bytearray()
            stats["connections"] += 1

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while True:
                idx = self.buf.find(b"\r\n\r\n")
                if idx < 0:
                    return
                lines = bytes(self.buf[:idx]).decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for ln in lines[1:]:
                    k, _, v = ln.partition(":")
                    headers[k.strip().lower()] = v.strip()
                if "chunked" in headers.get("transfer-encoding", ""):
                    self.t.write(resp("411 Length Required", b"{}"))
                    self.t.close()
                    return
                end = idx + 4 + int(headers.get("content-length") or 0)
                if len(self.buf) < end:
                    return
                body = bytes(self.buf[idx + 4:end])
                del self.buf[:end]
                self.handle(method, target.split("?", 1)[0], body)

        def handle(self, method: str, path: str, body: bytes) -> None:
            if path.endswith("/chat/completions") and method == "POST":
                stats["requests"] += 1
                data = json.loads(body or b"{}")
                if len(data.get("messages") or ()) > 6:  # each task is a fresh conversation
                    self.t.write(resp("400 Bad Request", b'{"error":{"message":"more than 6 '
                                      b'messages: the task did not start a fresh conversation"}}'))
                    return
                if not data.get("stream"):
                    self.t.write(resp("200 OK", nonstream(data)))
                    return
                parts = [b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8"
                         b"\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"]
                for ev in stream_events(data):
                    payload = ("data: " + ev + "\n\n").encode()
                    parts += [b"%x\r\n" % len(payload), payload, b"\r\n"]
                parts.append(b"0\r\n\r\n")
                self.t.write(b"".join(parts))
            elif path == "/_stats":
                self.t.write(resp("200 OK", json.dumps(stats).encode()))
            else:
                self.t.write(resp("404 Not Found", b'{"error":{"message":"not found"}}'))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Proto, "127.0.0.1", 0, backlog=1024)
        print("http://127.0.0.1:%d/v1" % server.sockets[0].getsockname()[1], flush=True)
        await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin
        server.close()

    asyncio.run(main())


# --- the loops: build(url, stream) -> (task(n) -> final text, close) ------------------

Task = Callable[[int], Awaitable[str]]


async def build_httpx(url: str, stream: bool, workspace: str) -> tuple[Task, Any]:
    import httpx

    client = httpx.AsyncClient(base_url=url, headers={"Authorization": "Bearer " + KEY},
                               timeout=30.0, limits=httpx.Limits(
                                   max_connections=200, max_keepalive_connections=100))

    async def chat(messages: list[dict[str, Any]]) -> dict[str, Any]:
        if not stream:
            r = await client.post("/chat/completions", json={
                "model": MODEL, "messages": messages, "tools": TOOLS})
            r.raise_for_status()
            return r.json()["choices"][0]["message"]  # type: ignore[no-any-return]
        acc = _Accumulator()
        async with client.stream("POST", "/chat/completions", json=_stream_body(messages)) as r:
            r.raise_for_status()
            async for line in r.aiter_lines():
                acc.line(line)
        return acc.message()

    return _tool_loop(chat), client.aclose


async def build_aiohttp(url: str, stream: bool, workspace: str) -> tuple[Task, Any]:
    import aiohttp

    session = aiohttp.ClientSession(headers={"Authorization": "Bearer " + KEY},
                                    timeout=aiohttp.ClientTimeout(total=30),
                                    connector=aiohttp.TCPConnector(limit=200))
    endpoint = url + "/chat/completions"

    async def chat(messages: list[dict[str, Any]]) -> dict[str, Any]:
        if not stream:
            async with session.post(endpoint, json={"model": MODEL, "messages": messages,
                                                    "tools": TOOLS}) as r:
                r.raise_for_status()
                return (await r.json())["choices"][0]["message"]  # type: ignore[no-any-return]
        acc = _Accumulator()
        async with session.post(endpoint, json=_stream_body(messages)) as r:
            r.raise_for_status()
            async for raw in r.content:
                acc.line(raw.decode().rstrip("\r\n"))
        return acc.message()

    return _tool_loop(chat), session.close


def _stream_body(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"model": MODEL, "messages": messages, "tools": TOOLS, "stream": True,
            "stream_options": {"include_usage": True}}


class _Accumulator:
    """The hand-written loops' SSE → assistant message (text + tool-call deltas)."""

    def __init__(self) -> None:
        self.content: list[str] = []
        self.calls: dict[int, dict[str, Any]] = {}

    def line(self, line: str) -> None:
        if not line.startswith("data: ") or line == "data: [DONE]":
            return
        for c in json.loads(line[6:]).get("choices") or ():
            d = c.get("delta") or {}
            if d.get("content"):
                self.content.append(d["content"])
            for tc in d.get("tool_calls") or ():
                slot = self.calls.setdefault(tc["index"], {
                    "id": None, "type": "function", "function": {"name": "", "arguments": ""}})
                if tc.get("id"):
                    slot["id"] = tc["id"]
                f = tc.get("function") or {}
                slot["function"]["name"] += f.get("name") or ""
                slot["function"]["arguments"] += f.get("arguments") or ""

    def message(self) -> dict[str, Any]:
        msg: dict[str, Any] = {"role": "assistant", "content": "".join(self.content) or None}
        if self.calls:
            msg["tool_calls"] = [self.calls[k] for k in sorted(self.calls)]
        return msg


def _tool_loop(chat: Callable[[list[dict[str, Any]]], Awaitable[dict[str, Any]]]) -> Task:
    async def task(n: int) -> str:
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt(n)}]
        for _ in range(10):
            msg = await chat(messages)
            messages.append(msg)
            if not msg.get("tool_calls"):
                return str(msg.get("content"))
            for tc in msg["tool_calls"]:
                args = json.loads(tc["function"]["arguments"])
                messages.append({"role": "tool", "tool_call_id": tc["id"],
                                 "content": str(args["a"] + args["b"])})
        raise RuntimeError("the loop did not finish")
    return task


def build_teragent(audit: bool, configure: Callable[[str], dict[str, Any]] | None = None,
                   ) -> Callable[[str, bool, str], Awaitable[tuple[Task, Any]]]:
    """A TerAgent agent with one ``add`` tool; ``configure(workspace)`` gives its config
    (default ``{}``)."""
    async def build(url: str, stream: bool, workspace: str) -> tuple[Task, Any]:
        import teragent
        from teragent.tools import tool

        @tool
        async def add(a: int, b: int) -> int:
            """Add two integers.

            Args:
                a: The first integer.
                b: The second integer.
            """
            return a + b

        provider = teragent.create_provider(compiler="default", adapter="openai_compatible",
                                            model=MODEL, base_url=url, api_key_env=KEY_ENV)
        config = configure(workspace) if configure is not None else {}
        agent = teragent.build_agent(config=config, workspace=workspace, provider=provider,
                                     tools=[add], audit=audit, stream=stream)

        async def task(n: int) -> str:
            # history=[]: a fresh conversation (run() otherwise continues agent.history)
            return (await agent.run(prompt(n), history=[])).final_text

        return task, agent.aclose
    return build


BUILDERS = {"httpx": build_httpx, "aiohttp": build_aiohttp,
            "teragent": build_teragent(audit=False),
            "teragent+audit": build_teragent(audit=True)}


# --- one measurement in this (fresh) process --------------------------------------------

def _check(n: int, answer: str) -> None:
    if str(n + 1) not in str(answer):
        raise RuntimeError(f"wrong answer for n={n}: {answer!r}")


async def _measure(loop: str, mode: str, url: str, tasks: int, concurrency: int,
                   workspace: str, profile: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"loop": loop, "mode": mode}
    t0 = time.perf_counter()
    build = BUILDERS[loop]
    task, close = await build(url, mode == "stream", workspace)
    t1 = time.perf_counter()
    _check(1, await task(1))
    t2 = time.perf_counter()
    out["build_ms"] = (t1 - t0) * 1000
    out["first_task_ms"] = (t2 - t1) * 1000
    out["import_build_first_ms"] = (t2 - T_PROCESS) * 1000
    try:
        if mode in ("seq", "stream"):
            for i in range(20):
                _check(2 + i, await task(2 + i))
            samples = []
            prof = None
            if profile:
                import cProfile

                prof = cProfile.Profile()
                prof.enable()
            cpu = time.process_time()
            for i in range(tasks):
                s = time.perf_counter()
                ans = await task(1000 + i)
                samples.append((time.perf_counter() - s) * 1000)
                _check(1000 + i, ans)
            out["cpu_ms_per_task"] = (time.process_time() - cpu) * 1000 / tasks
            if prof is not None:
                prof.disable()
                prof.dump_stats(profile)
            out["ms_per_task"] = statistics.median(samples)
        else:
            await asyncio.gather(*(task(10 + i) for i in range(concurrency)))  # warm the pool

            async def one(n: int) -> None:
                _check(n, await task(n))

            walls = []
            cpu = time.process_time()
            for r in range(max(1, tasks // concurrency)):
                s = time.perf_counter()
                await asyncio.gather(*(one(1000 + r * concurrency + i)
                                       for i in range(concurrency)))
                walls.append(time.perf_counter() - s)
            out["cpu_ms_per_task"] = (time.process_time() - cpu) * 1000 / (
                len(walls) * concurrency)
            out["tasks_per_s"] = concurrency / statistics.median(walls)
    finally:
        r = close()
        if asyncio.iscoroutine(r):
            await r
    return out


def _child(args: argparse.Namespace) -> None:
    os.environ[KEY_ENV] = KEY
    with tempfile.TemporaryDirectory(prefix="bench-agent-") as ws:
        res = asyncio.run(_measure(args.child, args.mode, args.url, args.tasks,
                                   args.concurrency, ws, args.profile_out))
    print(json.dumps(res), flush=True)


# --- the parent: server, interleaved children, table, JSON --------------------------------

def _run_child(loop: str, mode: str, url: str, args: argparse.Namespace,
               profile_out: str | None = None) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", loop, "--mode", mode,
           "--url", url, "--tasks", str(args.tasks), "--concurrency", str(args.concurrency)]
    if profile_out:
        cmd += ["--profile-out", profile_out]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "TERAGENT_"))}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=tempfile.gettempdir())
    if proc.returncode != 0:
        raise RuntimeError(f"{loop}/{mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _server() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError("the fake server did not start")
    return proc, url


def _med(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=50)
    ap.add_argument("--loops", default=",".join(LOOPS))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--profile", metavar="LOOP", help="cProfile LOOP's measured seq phase")
    ap.add_argument("--out", help="results JSON (default bench/results/agent_loop-<time>.json)")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--mode", default="seq", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--profile-out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        return _serve()
    if args.child:
        return _child(args)

    server, url = _server()
    try:
        if args.profile:
            out = args.out or str(Path(tempfile.gettempdir()) / "agent_loop.prof")
            res = _run_child(args.profile, args.mode, url, args, profile_out=out)
            import pstats

            print(json.dumps(res))
            pstats.Stats(out).sort_stats("tottime").print_stats(30)
            pstats.Stats(out).sort_stats("cumulative").print_stats(40)
            return None
        loops = args.loops.split(",")
        modes = args.modes.split(",")
        runs: dict[str, dict[str, list[dict[str, Any]]]] = {
            lp: {m: [] for m in modes} for lp in loops}
        for _ in range(args.repeats):  # interleaved: drift hits every loop alike
            for mode in modes:
                for lp in loops:
                    runs[lp][mode].append(_run_child(lp, mode, url, args))
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=15)

    summary: dict[str, dict[str, float]] = {}
    for lp in loops:
        s: dict[str, float] = {}
        for mode in modes:
            rs = runs[lp][mode]
            key = "tasks_per_s" if mode == "concurrent" else "ms_per_task"
            s[f"{mode}_{key}"] = _med([r[key] for r in rs])
            s[f"{mode}_cpu_ms_per_task"] = _med([r["cpu_ms_per_task"] for r in rs])
        every = [r for m in modes for r in runs[lp][m]]
        for k in ("first_task_ms", "import_build_first_ms", "build_ms"):
            s[k] = _med([r[k] for r in every])
        summary[lp] = s

    def ratio(lp: str, base: str, key: str) -> float:
        b = summary.get(base, {}).get(key)
        return summary[lp][key] / b if b else float("nan")

    print(f"tool-calling task (2 requests), {args.tasks} tasks, concurrency "
          f"{args.concurrency}, median of {args.repeats} fresh processes per cell")
    head = (f"{'loop':<16}{'seq ms':>8}{'x aio':>7}{'x httpx':>8}{'cpu ms':>8}"
            f"{'stream ms':>10}{'x aio':>7}{'x httpx':>8}"
            f"{'tasks/s@' + str(args.concurrency):>12}{'/aio':>7}{'/httpx':>8}"
            f"{'1st task':>9}{'imp+bld+1st':>12}")
    print(head)
    for lp in loops:
        s = summary[lp]
        cells = [f"{lp:<16}"]
        if "seq" in modes:
            cells += [f"{s['seq_ms_per_task']:>8.2f}", f"{ratio(lp, 'aiohttp', 'seq_ms_per_task'):>7.2f}",
                      f"{ratio(lp, 'httpx', 'seq_ms_per_task'):>8.2f}",
                      f"{s['seq_cpu_ms_per_task']:>8.2f}"]
        if "stream" in modes:
            cells += [f"{s['stream_ms_per_task']:>10.2f}",
                      f"{ratio(lp, 'aiohttp', 'stream_ms_per_task'):>7.2f}",
                      f"{ratio(lp, 'httpx', 'stream_ms_per_task'):>8.2f}"]
        if "concurrent" in modes:
            cells += [f"{s['concurrent_tasks_per_s']:>12.0f}",
                      f"{ratio(lp, 'aiohttp', 'concurrent_tasks_per_s'):>7.2f}",
                      f"{ratio(lp, 'httpx', 'concurrent_tasks_per_s'):>8.2f}"]
        cells += [f"{s['first_task_ms']:>9.1f}", f"{s['import_build_first_ms']:>12.1f}"]
        print("".join(cells))
    print("x aio / x httpx: time ratio (lower is faster); /aio, /httpx: throughput ratio "
          "(higher is faster); 1st task: the first run after build; imp+bld+1st: from "
          "process start (before imports) to the end of the first task, in ms")
    result = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "python": sys.version.split()[0],
              "tasks": args.tasks, "repeats": args.repeats, "concurrency": args.concurrency,
              "summary": summary,
              "ratios": {lp: {
                  "seq_vs_aiohttp": ratio(lp, "aiohttp", "seq_ms_per_task") if "seq" in modes else None,
                  "seq_vs_httpx": ratio(lp, "httpx", "seq_ms_per_task") if "seq" in modes else None,
                  "stream_vs_aiohttp": ratio(lp, "aiohttp", "stream_ms_per_task") if "stream" in modes else None,
                  "stream_vs_httpx": ratio(lp, "httpx", "stream_ms_per_task") if "stream" in modes else None,
                  "throughput_vs_aiohttp": ratio(lp, "aiohttp", "concurrent_tasks_per_s") if "concurrent" in modes else None,
                  "throughput_vs_httpx": ratio(lp, "httpx", "concurrent_tasks_per_s") if "concurrent" in modes else None,
              } for lp in loops},
              "runs": runs}
    out = Path(args.out) if args.out else HERE / "results" / time.strftime(
        "agent_loop-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")
    return None


if __name__ == "__main__":
    main()
