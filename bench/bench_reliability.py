"""Per-call cost of the reliability hot paths: rate-limiter ``acquire`` and
``ModelRouter.route`` (plus the breaker check the loop makes before every call).

Each figure is the median over ``--repeats`` batches of ``--calls`` calls, in
nanoseconds per call. Limiters are measured with capacity to spare (the cost of
saying yes), and ``wait_and_acquire`` inside a running event loop.

Run: .venv/bin/python bench/bench_reliability.py [--calls 20000 --repeats 7]
(needs the teragent-reliability and teragent-router plugins, which ``./dev`` installs).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any, Callable


def per_call_ns(fn: Callable[[], Any], calls: int, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter_ns() - start) / calls)
    return statistics.median(samples)


def async_per_call_ns(make: Callable[[], Any], calls: int, repeats: int) -> float:
    async def batch() -> float:
        start = time.perf_counter_ns()
        for _ in range(calls):
            await make()
        return (time.perf_counter_ns() - start) / calls

    return statistics.median(asyncio.run(batch()) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    n, r = args.calls, args.repeats

    from teragent import LongHorizonConfig, MultimodalContent, TAPRequest
    from teragent_reliability import (
        CircuitBreakerManager, RateLimitConfig, create_rate_limiter,
    )
    from teragent_reliability.breakers import BUILTIN_BREAKERS
    from teragent_reliability.budget import CrossModelCostTracker, MonthlyBudgetConfig
    from teragent_router import ModelRouter

    import json

    big = 10 ** 12  # never runs dry during the measurement
    rows: list[tuple[str, float]] = []
    # Baseline measured in the same run: serialising the smallest chat request body,
    # which every model call pays anyway.
    body = {"model": "m", "messages": [{"role": "user", "content": "hello"}], "stream": True}
    baseline = per_call_ns(lambda: json.dumps(body), n, r)
    for strategy in ("token_bucket", "sliding_window", "adaptive"):
        limiter = create_rate_limiter(RateLimitConfig(strategy=strategy, max_tokens=big,
                                                      refill_rate=big, window_seconds=1e-3))
        rows.append((f"{strategy}.acquire()", per_call_ns(limiter.acquire, n, r)))
        limiter = create_rate_limiter(RateLimitConfig(strategy=strategy, max_tokens=big,
                                                      refill_rate=big, window_seconds=1e-3))
        rows.append((f"{strategy}.wait_and_acquire()",
                     async_per_call_ns(limiter.wait_and_acquire, n, r)))
    adaptive = create_rate_limiter(RateLimitConfig(strategy="adaptive"))
    headers = {"x-ratelimit-limit-requests": "500", "x-ratelimit-remaining-requests": "499",
               "x-ratelimit-reset-requests": "120ms"}
    rows.append(("adaptive.update_from_headers()",
                 per_call_ns(lambda: adaptive.update_from_headers(headers, 200), n, r)))

    cb = CircuitBreakerManager(breakers=BUILTIN_BREAKERS)
    rows.append(("CircuitBreakerManager.check_before_call()",
                 per_call_ns(lambda: cb.check_before_call(estimated_prompt_tokens=1000), n, r)))

    router = ModelRouter()
    plain = TAPRequest(instruction="Implement the login module", meta={"intent": "execute"})
    image = TAPRequest(instruction="What is on screen?", meta={"intent": "chat"},
                       multimodal_context=[MultimodalContent(type="image_url", url="http://x")])
    longh = TAPRequest(instruction="Refactor the repo", long_horizon=LongHorizonConfig(),
                       meta={"intent": "execute", "context_tokens": 300_000})
    for label, req in (("intent", plain), ("multimodal", image), ("long context+horizon", longh)):
        router._log.clear()
        rows.append((f"ModelRouter.route() [{label}]", per_call_ns(lambda: router.route(req),
                                                                   n // 4, r)))
    tracker = CrossModelCostTracker(pricing=router.table.model_pricing,
                                    budget=MonthlyBudgetConfig(limit_cny=1.0))
    tracker.record_from_tap_response("openai_compatible.glm_52", prompt_tokens=300_000,
                                     completion_tokens=1000)
    budgeted = ModelRouter(cost_tracker=tracker)
    rows.append(("ModelRouter.route() [budget critical, 1 record]",
                 per_call_ns(lambda: budgeted.route(plain), n // 4, r)))
    rows.append(("ModelRouter.route_for_stage()",
                 per_call_ns(lambda: router.route_for_stage("plan", plain), n // 4, r)))

    rows.insert(0, ("baseline: json.dumps(minimal chat request)", baseline))
    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  {'median per call':>15}  {'x baseline':>10}")
    for name, ns in rows:
        shown = f"{ns:,.0f} ns" if ns < 10_000 else f"{ns / 1000:,.1f} µs"
        print(f"{name:<{width}}  {shown:>15}  {ns / baseline:>9.1f}x")


if __name__ == "__main__":
    main()
