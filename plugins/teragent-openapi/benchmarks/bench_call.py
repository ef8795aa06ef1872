"""The cost of an OpenAPI tool call over a bare httpx request, and of a cache hit.

    .venv/bin/python plugins/teragent-openapi/benchmarks/bench_call.py

Against one Starlette app under uvicorn on loopback (``GET /pets/{id}`` returning a
small JSON object), in one event loop, sequentially, after a warm-up:

- baseline: a bare ``httpx.AsyncClient.get`` on a kept-open client, ``.json()``;
- tool: ``OpenAPITool.execute`` (argument -> URL, auth flow, response -> ToolResult),
  same transport (httpx's own pool), no credential;
- tool + bearer: the same with a bearer credential applied by teragent-auth;
- cache hit: the read-only tool wrapped by a ``ResultCache``, answered from it.

Reported as microseconds per call and as ratios to the baseline measured in the same
run. Never asserts anything; loopback timings on a shared machine are noisy, so read
the ratios, not the absolute figures.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from typing import Any, Awaitable, Callable

SPEC = {
    "openapi": "3.0.3", "info": {"title": "bench", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {"/pets/{id}": {"get": {
        "operationId": "getPet",
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok"}}}}},
}


def app() -> Any:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def pet(request: Any) -> JSONResponse:
        return JSONResponse({"id": int(request.path_params["id"]), "name": "Rex",
                             "tags": ["good", "dog"]})

    return Starlette(routes=[Route("/pets/{id}", pet)])


async def timed(fn: Callable[[int], Awaitable[Any]], n: int) -> float:
    for i in range(50):
        await fn(i)
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for i in range(n):
            await fn(i)
        rounds.append((time.perf_counter() - start) / n)
    return statistics.median(rounds) * 1e6


async def main(url: str, n: int) -> None:
    import httpx

    from teragent_auth import BearerCredential
    from teragent_cache import ResultCache
    from teragent_openapi import OpenAPIToolset

    os.environ.setdefault("BENCH_TOKEN", "bench-token-0123456789")
    results: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=url) as client:
        async def bare(i: int) -> Any:
            return (await client.get(f"/pets/{i % 7}")).json()

        results["baseline (bare httpx)"] = await timed(bare, n)

    plain = OpenAPIToolset(SPEC, name="b", base_url=url, transport="httpx")
    authed = OpenAPIToolset(SPEC, name="b", base_url=url, transport="httpx",
                            auth=BearerCredential(token_env="BENCH_TOKEN"))
    cache = ResultCache(ttl=600)
    cached = OpenAPIToolset(SPEC, name="b", base_url=url, transport="httpx", cache=cache)
    for label, ts in (("tool", plain), ("tool + bearer", authed),
                      ("cache hit", cached)):
        (tool,) = ts.get_tools()
        results[label] = await timed(lambda i, t=tool: t.execute({"id": i % 7}), n)
        await ts.stop()
    base = results["baseline (bare httpx)"]
    print(f"{'':24} {'us/call':>10} {'ratio':>8}")
    for label, us in results.items():
        print(f"{label:24} {us:10.1f} {us / base:8.2f}")
    print(f"(cache: {cache.stats.hits} hits, {cache.stats.misses} misses)")


if __name__ == "__main__":
    from teragent_testing.fake_openai import serve_in_thread

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with serve_in_thread(app(), path="") as url:
        asyncio.run(main(url, n))
