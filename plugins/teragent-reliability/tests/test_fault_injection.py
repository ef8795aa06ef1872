"""Real agent runs (AgentLoop + the openai_compatible provider over loopback HTTP)
through the fault-injection server.

The fake model is a pure function of the conversation: with no tool result yet it
asks for the ``record`` tool, after that it answers with text. So a retried request
gets the same answer as the failed one, as with a real model, and the tool's own
execution counter shows whether any tool ran twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import teragent
from teragent import AgentLoop, AgentLoopConfig, ToolRegistry
from teragent.errors import (
    BudgetExceeded, CircuitOpenError, ModelAPIError, ModelTimeoutError, TerAgentError,
)
from teragent.tools import tool
from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply
from teragent_testing.fault_server import Fault, FaultServer

from teragent_reliability import (
    AdaptiveRateLimiter, CircuitBreakerManager, RateLimitConfig, RecoveryManager, RecoveryType,
)
from teragent_reliability.config import CircuitBreakerConfig


def model(body: dict[str, Any]) -> ScriptedReply:
    messages = body.get("messages") or []
    if any(m.get("role") == "tool" for m in messages):
        return ScriptedReply(text="done: the value was recorded",
                             usage={"prompt_tokens": 20, "completion_tokens": 10})
    return ScriptedReply(tool_calls=[("record", {"key": "alpha"}, "call_alpha")],
                         usage={"prompt_tokens": 20, "completion_tokens": 10})


class Counter:
    def __init__(self) -> None:
        self.executions: dict[str, int] = {}

    def registry(self) -> ToolRegistry:
        counter = self

        @tool
        def record(key: str) -> str:
            """Record a key.

            Args:
                key: The key.
            """
            counter.executions[key] = counter.executions.get(key, 0) + 1
            return f"recorded {key}"

        return ToolRegistry([record])


@pytest.fixture(scope="module")
def served():
    server = FaultServer(FakeOpenAIServer(responder=model))
    with server.serve() as base_url:
        yield server, base_url


@pytest.fixture
def fault(served):
    server, base_url = served
    server.reset_counters()
    yield server, base_url
    server.reset_counters()


def provider_for(base_url: str, **kwargs: Any) -> Any:
    return teragent.create_provider(adapter="openai_compatible", base_url=base_url,
                                    model="fake-model", timeout=kwargs.pop("timeout", 5.0),
                                    **kwargs)


def recovery(**kwargs: Any) -> RecoveryManager:
    kwargs.setdefault("base_delay", 0.005)
    kwargs.setdefault("max_delay", 0.05)
    return RecoveryManager(**kwargs)


async def run_agent(base_url: str, counter: Counter, *, stream: bool,
                    breaker: Any = None, rec: RecoveryManager | None = None,
                    provider: Any = None, **provider_kwargs: Any) -> Any:
    provider = provider or provider_for(base_url, **provider_kwargs)
    try:
        loop = AgentLoop(provider, counter.registry(),
                         AgentLoopConfig(stream=stream, max_steps=5),
                         circuit_breaker=breaker, recovery_manager=rec)
        return await loop.run("Record alpha, then say done.")
    finally:
        await provider.close()


FAULTS = {
    "429+retry-after": lambda: Fault.rate_limited(retry_after=0.02),
    "500": lambda: Fault.error(500),
    "502": lambda: Fault.error(502),
    "503": lambda: Fault.error(503),
    "slow": lambda: Fault.slow(0.05),
    "reset": Fault.reset,
    "cut-stream": lambda: Fault.cut_stream(after_events=3),
    "malformed-sse": Fault.malformed_sse,
    "truncated-json": Fault.truncated_json,
}


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
@pytest.mark.parametrize("position", [0, 1], ids=["first-call", "after-tool"])
@pytest.mark.parametrize("name", list(FAULTS))
def test_each_fault_is_recovered_and_no_tool_runs_twice(fault, name, position, stream):
    server, base_url = fault
    counter = Counter()
    faults = [FAULTS[name]()]
    if position == 1:
        server.inject(Fault.slow(0))  # the first call passes: a zero-delay pass-through
    server.inject(*faults)
    rec = recovery()
    result = asyncio.run(run_agent(base_url, counter, stream=stream, rec=rec,
                                   breaker=CircuitBreakerManager()))
    assert result.stop_reason == "completed"
    assert result.final_text.startswith("done")
    assert counter.executions == {"alpha": 1}
    assert server.pending_faults == 0
    assert FAULTS[name]().kind in server.faults_served
    if name != "slow":
        assert sum(rec.counts.values()) >= 1, rec.get_stats()


def test_429_waits_for_retry_after(fault):
    server, base_url = fault
    server.inject(Fault.rate_limited(retry_after=0.15))
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)

    asyncio.run(run_agent(base_url, Counter(), stream=False, rec=recovery(sleep=sleep)))
    assert delays == [pytest.approx(0.15)]


def test_persistent_503_fails_with_typed_error_naming_the_status(fault):
    server, base_url = fault
    server.inject(*[Fault.error(503) for _ in range(10)])
    counter = Counter()
    with pytest.raises(ModelAPIError) as info:
        asyncio.run(run_agent(base_url, counter, stream=False, rec=recovery(max_retries=2)))
    assert info.value.status == 503
    assert "HTTP 503" in str(info.value) and "overloaded" in str(info.value)
    assert counter.executions == {}
    assert len(server.requests) == 3  # the first attempt + two retries


def test_timeout_fails_with_model_timeout_error(fault):
    server, base_url = fault
    server.inject(Fault.slow(0.4), Fault.slow(0.4))
    with pytest.raises(ModelTimeoutError, match="timed out"):
        asyncio.run(run_agent(base_url, Counter(), stream=False,
                              rec=recovery(max_retries=1), timeout=0.1))


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
def test_every_run_completes_or_fails_typed(fault, stream):
    """Mixed faults, many runs: each one ends completed or with a TerAgentError."""
    server, base_url = fault
    kinds = list(FAULTS.values())
    outcomes: list[str] = []
    for i in range(12):
        server.reset_counters()
        server.inject(*[kinds[(i * 3 + j) % len(kinds)]() for j in range(i % 5)])
        counter = Counter()
        try:
            result = asyncio.run(run_agent(base_url, counter, stream=stream,
                                           rec=recovery(max_retries=2)))
            outcomes.append(result.stop_reason)
        except TerAgentError as exc:
            outcomes.append(type(exc).__name__)
        assert counter.executions.get("alpha", 0) <= 1
    assert set(outcomes) <= {"completed", "ModelAPIError", "StreamError", "RateLimitError",
                             "ModelTimeoutError"}
    assert "completed" in outcomes


def test_failure_breaker_opens_stops_calls_and_closes_after_cooldown(fault, clock):
    server, base_url = fault
    cb = CircuitBreakerManager(config=CircuitBreakerConfig(
        max_consecutive_failures=2, cooldown_seconds=30), clock=clock)
    server.inject(*[Fault.error(503) for _ in range(5)])
    counter = Counter()
    with pytest.raises(CircuitOpenError, match="circuit open after 2 consecutive failures"):
        asyncio.run(run_agent(base_url, counter, stream=False, breaker=cb,
                              rec=recovery(max_retries=5)))
    assert len(server.requests) == 2  # the open breaker stopped the third attempt
    assert cb.failures.state.value == "open"

    # Still open: the next run is refused before any request is sent.
    with pytest.raises(CircuitOpenError):
        asyncio.run(run_agent(base_url, counter, stream=False, breaker=cb, rec=recovery()))
    assert len(server.requests) == 2

    # After the cooldown the breaker is half-open; a failed probe opens it again.
    clock.advance(30)
    assert cb.failures.state.value == "half_open"
    with pytest.raises(CircuitOpenError):
        asyncio.run(run_agent(base_url, counter, stream=False, breaker=cb,
                              rec=recovery(max_retries=5)))
    assert len(server.requests) == 3
    assert cb.failures.state.value == "open"

    # Next cooldown: the server is healthy again, the probe succeeds, it closes.
    server.faults.clear()
    clock.advance(30)
    result = asyncio.run(run_agent(base_url, counter, stream=False, breaker=cb,
                                   rec=recovery()))
    assert result.stop_reason == "completed"
    assert cb.failures.state.value == "closed"
    assert counter.executions == {"alpha": 1}
    assert cb.get_status()["events"].count("circuit_open") == 2


def test_breaker_on_the_provider_is_obeyed_too(fault, clock):
    server, base_url = fault
    cb = CircuitBreakerManager(config=CircuitBreakerConfig(
        max_consecutive_failures=1, cooldown_seconds=30), clock=clock)
    provider = provider_for(base_url)
    provider.breakers.append(cb)
    server.inject(Fault.error(500), Fault.error(500))
    with pytest.raises(CircuitOpenError, match="refused"):
        asyncio.run(run_agent(base_url, Counter(), stream=True, provider=provider,
                              rec=recovery(max_retries=3)))
    assert len(server.requests) == 1


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
@pytest.mark.parametrize("where", ["loop", "provider"])
def test_rate_limits_do_not_open_the_circuit_but_errors_do(fault, clock, where, stream):
    """A 429 is back-pressure from a healthy server: the backoff waits it out. Six in a
    row must not open a breaker that opens after two failures; two 503s must."""
    server, base_url = fault
    cb = CircuitBreakerManager(config=CircuitBreakerConfig(
        max_consecutive_failures=2, cooldown_seconds=30), clock=clock)
    loop_breaker = cb if where == "loop" else None

    def agent_run() -> Any:
        provider = provider_for(base_url)
        if where == "provider":
            provider.breakers.append(cb)
        return asyncio.run(run_agent(base_url, counter, stream=stream, provider=provider,
                                     breaker=loop_breaker, rec=recovery(max_retries=8)))

    counter = Counter()
    server.inject(*[Fault.rate_limited(retry_after=0.001) for _ in range(6)])
    result = agent_run()
    assert result.stop_reason == "completed" and counter.executions == {"alpha": 1}
    assert server.pending_faults == 0
    assert cb.failures.state.value == "closed"
    assert "circuit_open" not in cb.get_status()["events"]

    server.inject(*[Fault.error(503) for _ in range(4)])
    with pytest.raises(CircuitOpenError):
        agent_run()
    assert cb.failures.state.value == "open"


def test_token_budget_hard_stop_stops_the_run(fault):
    server, base_url = fault
    cb = CircuitBreakerManager(config=CircuitBreakerConfig(token_budget=30, hard_stop=True))
    counter = Counter()
    with pytest.raises(BudgetExceeded, match="token budget exhausted"):
        asyncio.run(run_agent(base_url, counter, stream=False, breaker=cb, rec=recovery()))
    # One call used 30 tokens (100%); the second call was refused before it was sent.
    assert len(server.requests) == 1
    assert counter.executions == {"alpha": 1}
    assert cb.get_status()["breakers"]["cost_budget"]["level"] == "exhausted"
    assert "budget_exhausted" in cb.get_status()["events"]


def test_budget_levels_are_advisory_without_hard_stop(fault):
    server, base_url = fault
    cb = CircuitBreakerManager(config=CircuitBreakerConfig(token_budget=40))
    result = asyncio.run(run_agent(base_url, Counter(), stream=False, breaker=cb))
    assert result.stop_reason == "completed"
    events = cb.get_status()["events"]
    assert events == ["budget_advisory", "budget_exhausted"]  # 30/40 = 75%, then 60/40


def test_fallback_provider_after_retries_are_exhausted(fault):
    server, base_url = fault
    fallback_fake = FaultServer(FakeOpenAIServer(responder=model))
    counter = Counter()
    with fallback_fake.serve() as fallback_url:
        primary = provider_for(base_url)
        fallback = provider_for(fallback_url)
        primary.set_fallback(fallback)
        server.inject(Fault.error(502), Fault.error(502))
        rec = recovery(max_retries=1)

        async def go() -> Any:
            try:
                return await run_agent(base_url, counter, stream=False, provider=primary,
                                       rec=rec)
            finally:
                await fallback.close()

        result = asyncio.run(go())
    assert result.stop_reason == "completed"
    assert rec.counts[RecoveryType.FALLBACK] == 1
    assert len(fallback_fake.requests) >= 1
    assert counter.executions == {"alpha": 1}


def test_adaptive_limiter_keeps_concurrent_tasks_under_the_server_limit():
    """20 concurrent agent runs share one provider (40 requests) against a server that
    allows 10 requests per 0.5 s: the limiter learns the limit from the headers."""
    counter = Counter()
    server = FaultServer(FakeOpenAIServer(responder=model), rate_limit=(10, 0.5))

    async def go(limiter: Any) -> list[Any]:
        provider = provider_for(base_url)
        provider.rate_limiter = limiter
        try:
            loops = [AgentLoop(provider, counter.registry(),
                               AgentLoopConfig(stream=False, max_steps=4),
                               recovery_manager=recovery(max_retries=20, max_delay=0.2))
                     for _ in range(20)]
            return await asyncio.gather(*(lp.run("Record alpha.") for lp in loops))
        finally:
            await provider.close()

    with server.serve() as base_url:
        limiter = AdaptiveRateLimiter(RateLimitConfig(strategy="adaptive", max_tokens=4,
                                                      refill_rate=8, window_seconds=0.5))
        results = asyncio.run(go(limiter))
        assert all(r.stop_reason == "completed" for r in results)
        assert server.violations == 0
        assert limiter.server_limit == 10 and limiter.allowance == 9
        assert counter.executions == {"alpha": 20}

        # The control: the same load without a limiter breaks the server's limit.
        server.reset_counters()
        counter.executions.clear()
        results = asyncio.run(go(None))
        assert all(r.stop_reason == "completed" for r in results)
        assert server.violations > 0
        assert counter.executions == {"alpha": 20}


@pytest.mark.parametrize("name", ["reset", "cut-stream", "malformed-sse", "truncated-json",
                                  "503"])
def test_faults_with_the_httpx_transport(fault, name):
    server, base_url = fault
    counter = Counter()
    server.inject(FAULTS[name]())
    result = asyncio.run(run_agent(base_url, counter, stream=True, rec=recovery(),
                                   transport="httpx"))
    assert result.stop_reason == "completed" and counter.executions == {"alpha": 1}
