"""Framework overhead of one ``provider.execute_tap`` round trip vs a bare httpx request.

Both talk to ``FakeOpenAIServer(fast=True)`` in a separate process on loopback, so the
difference is what TerAgent adds: compiling the TAPRequest, building the body, the
adapter's parsing into a TAPResponse, cost records. The provider is built exactly as
users build it::

    teragent.create_provider(adapter="openai_compatible", compiler="default",
                             base_url=..., model=...)

with the default transport, plus once with ``transport="httpx"`` so the ratio against
the hand-written httpx request is like for like.

Run: ``.venv/bin/python bench/bench_execute_tap.py`` (about 10-20 s). Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from typing import Any, Awaitable, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_http import MODEL, fake_server_process  # noqa: E402

REQUEST_TEXT = "What does notes.txt say?"


async def bare_httpx(url: str) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]:
    import httpx

    client = httpx.AsyncClient(base_url=url + "/")

    async def call() -> str:
        r = await client.post("chat/completions", json={
            "model": MODEL, "messages": [
                {"role": "system", "content": "You are a careful software engineer."},
                {"role": "user", "content": REQUEST_TEXT}]})
        return str(r.json()["choices"][0]["message"])

    return call, client.aclose


def provider_loop(transport: str | None) -> Callable[[str], Awaitable[Any]]:
    async def make(url: str) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]:
        import teragent

        provider = teragent.create_provider(adapter="openai_compatible", compiler="default",
                                            base_url=url, model=MODEL, transport=transport)
        request = teragent.TAPRequest(meta={"task_id": "1", "intent": "execute"},
                                      instruction=REQUEST_TEXT)

        async def call() -> Any:
            return await provider.execute_tap(request)

        return call, provider.close
    return make


LOOPS = {
    "httpx request (hand-written)": bare_httpx,
    "execute_tap, transport=httpx": provider_loop("httpx"),
    "execute_tap, default transport": provider_loop(None),
}


async def measure(make: Any, url: str, calls: int) -> float:
    call, close = await make(url)
    try:
        for _ in range(20):
            await call()
        start = time.perf_counter()
        for _ in range(calls):
            await call()
        return (time.perf_counter() - start) * 1000 / calls
    finally:
        await close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    import_start = time.perf_counter()
    import teragent

    teragent.get_host().registry("adapters").get("openai_compatible")
    import_ms = (time.perf_counter() - import_start) * 1000

    results: dict[str, list[float]] = {name: [] for name in LOOPS}
    with fake_server_process() as url:
        for _ in range(args.repeats):
            for name, make in LOOPS.items():
                results[name].append(asyncio.run(measure(make, url, args.calls)))
    base = statistics.median(results["httpx request (hand-written)"])
    print(f"one round trip, {args.calls} calls, median of {args.repeats} runs "
          f"(import teragent + plugin discovery: {import_ms:.0f} ms)")
    print(f"{'loop':<34} {'ms/call':>8} {'vs httpx':>9}")
    for name, values in results.items():
        ms = statistics.median(values)
        print(f"{name:<34} {ms:>8.3f} {ms / base:>8.2f}x")


if __name__ == "__main__":
    main()
