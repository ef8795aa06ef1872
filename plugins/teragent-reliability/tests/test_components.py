"""Unit tests: limiters, error classification, recovery, cost tracking, per-model
helpers, and breaker registration through the hook."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from teragent import AgentLoop, AgentLoopConfig, ToolRegistry, hookimpl
from teragent.errors import (
    ContextOverflowError, GuardrailTripped, ModelAPIError, RateLimitError, StreamError,
)
from teragent.testing import ScriptedModel, call_tool, reply
from teragent.tools import tool

from teragent_reliability import (
    AdaptiveRateLimiter, CircuitBreakerManager, CostRecord, CrossModelCostTracker,
    DegradationChain, ErrorClass, LongHorizonRecoveryManager, ModelBreakerConfig,
    ModelCircuitBreakerManager, MonthlyBudgetConfig, RateLimitConfig, RateLimitHandler,
    RecoveryManager, RecoveryType, SlidingWindowRateLimiter, TokenBucketRateLimiter,
    classify_error, create_rate_limiter,
)
from teragent_reliability.breakers import Breaker, BreakerVerdict
from teragent_reliability.config import CircuitBreakerConfig

# --- rate limiters --------------------------------------------------------------------


def test_token_bucket(clock):
    lim = TokenBucketRateLimiter(RateLimitConfig(max_tokens=3, refill_rate=2), clock=clock)
    assert [lim.acquire() for _ in range(4)] == [True, True, True, False]
    assert lim.status().is_limited and lim.status().wait_seconds == pytest.approx(0.5)
    clock.advance(0.5)
    assert lim.acquire() and not lim.acquire()
    clock.advance(100)
    assert lim.status().available == 3  # capped at capacity


def test_sliding_window(clock):
    lim = SlidingWindowRateLimiter(RateLimitConfig(strategy="sliding_window", max_tokens=2,
                                                   window_seconds=10), clock=clock)
    assert lim.acquire() and lim.acquire() and not lim.acquire()
    clock.advance(9.9)
    assert not lim.acquire()
    clock.advance(0.2)
    assert lim.acquire()


def test_adaptive_learns_headers_and_backs_off(clock):
    lim = AdaptiveRateLimiter(RateLimitConfig(strategy="adaptive", max_tokens=100,
                                              refill_rate=100), clock=clock)
    lim.update_from_headers({"x-ratelimit-limit-requests": "10",
                             "x-ratelimit-remaining-requests": "9",
                             "x-ratelimit-reset-requests": "0.9s"}, 200)
    assert (lim.server_limit, lim.allowance) == (10, 9)
    assert lim.server_window == pytest.approx(1.0)
    assert sum(lim.acquire() for _ in range(20)) == 9
    clock.advance(1.01)
    assert lim.acquire()
    lim.update_from_headers({"retry-after": "2"}, 429)
    assert not lim.acquire() and lim.status().wait_seconds == pytest.approx(2, abs=0.01)
    assert lim.allowance == 4  # halved
    clock.advance(2.1)
    assert lim.acquire()
    lim.update_from_headers({"x-ratelimit-remaining-requests": "0",
                             "x-ratelimit-reset-requests": "3s"})
    assert not lim.acquire()


def test_wait_and_acquire_is_shared_and_fifo():
    lim = create_rate_limiter(RateLimitConfig(max_tokens=1, refill_rate=200))
    order: list[int] = []

    async def task(i: int) -> None:
        await lim.wait_and_acquire()
        order.append(i)

    async def main() -> None:
        await asyncio.gather(*(task(i) for i in range(6)))

    asyncio.run(main())
    assert order == list(range(6)) and lim.acquired == 6


# --- error classification per vendor -------------------------------------------------------

VENDOR_ERRORS = [
    ("openai overflow", 400, {"error": {"message": "This model's maximum context length is "
                                        "128000 tokens.", "code": "context_length_exceeded"}},
     ErrorClass.CONTEXT_OVERFLOW),
    ("openai rate", 429, {"error": {"message": "Rate limit reached for requests",
                                    "code": "rate_limit_exceeded"}}, ErrorClass.RATE_LIMIT),
    ("anthropic overflow", 400, {"type": "error", "error": {
        "type": "invalid_request_error", "message": "prompt is too long: 210000 tokens > "
        "200000 maximum"}}, ErrorClass.CONTEXT_OVERFLOW),
    ("anthropic 413", 413, {"type": "error", "error": {"type": "request_too_large",
                                                       "message": "Request exceeds the "
                                                       "maximum size"}},
     ErrorClass.CONTEXT_OVERFLOW),
    ("anthropic rate", 429, {"type": "error", "error": {"type": "rate_limit_error",
                                                        "message": "Number of request tokens "
                                                        "has exceeded your rate limit"}},
     ErrorClass.RATE_LIMIT),
    ("anthropic overloaded", 529, {"type": "error", "error": {"type": "overloaded_error",
                                                              "message": "Overloaded"}},
     ErrorClass.TRANSIENT),
    ("glm overflow", 400, {"error": {"code": "1261", "message": "Prompt 超长"}},
     ErrorClass.CONTEXT_OVERFLOW),
    ("glm concurrency", 429, {"error": {"code": "1302", "message": "您当前使用该API的并发数过高"}},
     ErrorClass.RATE_LIMIT),
    ("glm frequency", 400, {"error": {"code": "1303", "message": "您当前使用该API的频率过高"}},
     ErrorClass.RATE_LIMIT),
    ("glm bad token", 401, {"error": {"code": "1002", "message": "Authorization Token非法"}},
     ErrorClass.AUTH),
    ("deepseek overflow", 400, {"error": {"message": "This model's maximum context length "
                                          "is 65536 tokens. However, you requested 70000 "
                                          "tokens", "type": "invalid_request_error"}},
     ErrorClass.CONTEXT_OVERFLOW),
    ("deepseek rate", 429, {"error": {"message": "Rate Limit Reached"}},
     ErrorClass.RATE_LIMIT),
    ("minimax rpm in a 200", 200, {"base_resp": {"status_code": 1002,
                                                 "status_msg": "rate limit exceeded(RPM)"}},
     ErrorClass.RATE_LIMIT),
    ("minimax tpm", 200, {"base_resp": {"status_code": 1039,
                                        "status_msg": "rate limit exceeded(TPM)"}},
     ErrorClass.RATE_LIMIT),
    ("minimax overflow", 400, {"base_resp": {"status_code": 2013, "status_msg":
                                             "invalid params, context window exceeds limit"}},
     ErrorClass.CONTEXT_OVERFLOW),
]


@pytest.mark.parametrize("name,status,body,expected", VENDOR_ERRORS,
                         ids=[v[0] for v in VENDOR_ERRORS])
def test_vendor_errors_are_classified(name, status, body, expected):
    exc = ModelAPIError("failed", provider="p", model="m", status=status,
                        body=json.dumps(body, ensure_ascii=False), retryable=status >= 429)
    assert classify_error(exc) is expected


def test_typed_kernel_errors_and_transport_failures():
    assert classify_error(ContextOverflowError("x", status=400)) is ErrorClass.CONTEXT_OVERFLOW
    assert classify_error(RateLimitError("x", status=429)) is ErrorClass.RATE_LIMIT
    assert classify_error(StreamError("cut", retryable=True)) is ErrorClass.TRANSIENT
    assert classify_error(ModelAPIError("reset", retryable=True)) is ErrorClass.TRANSIENT
    assert classify_error(ModelAPIError("bad", status=400)) is ErrorClass.BAD_REQUEST


# --- recovery in the loop (scripted model) ---------------------------------------------


class OverflowOnce:
    """A model that rejects the first long conversation with a GLM-style overflow."""

    def __init__(self, inner: ScriptedModel) -> None:
        self.inner, self.sizes, self.fallback_provider = inner, [], None

    async def complete(self, messages, tools=None, **kw):
        self.sizes.append(len(messages))
        if len(self.sizes) == 1:
            raise ModelAPIError("rejected", status=400, body=json.dumps(
                {"error": {"code": "1261", "message": "Prompt 超长"}}))
        return await self.inner.complete(messages, tools, **kw)


def test_context_overflow_compacts_and_retries():
    model = OverflowOnce(ScriptedModel([reply("short answer")]))
    rec = RecoveryManager(retain_messages=2)
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"m{i}" * 50}
               for i in range(10)]
    loop = AgentLoop(model, config=AgentLoopConfig(stream=False), recovery_manager=rec)
    result = asyncio.run(loop.run("And now?", history=history))
    assert result.final_text == "short answer"
    assert rec.counts[RecoveryType.CONTEXT_OVERFLOW] == 1
    assert model.sizes[1] < model.sizes[0]
    assert any("were removed" in str(m.get("content")) for m in result)


def test_overflow_that_cannot_shrink_raises_context_overflow():
    class Always:
        fallback_provider = None

        async def complete(self, messages, tools=None, **kw):
            raise ModelAPIError("no", status=400, body='{"error": {"message": "prompt is '
                                'too long: 9 tokens > 1 maximum"}}')

    loop = AgentLoop(Always(), config=AgentLoopConfig(stream=False),
                     recovery_manager=RecoveryManager())
    with pytest.raises(ContextOverflowError, match="prompt is too long"):
        asyncio.run(loop.run("hi"))


def test_length_continuation_and_tool_repair_are_recorded():
    @tool
    def divide(a: int, b: int) -> float:
        """Divide.

        Args:
            a: Numerator.
            b: Denominator.
        """
        return a / b

    model = ScriptedModel([
        call_tool("divide", {"a": 1, "b": 0}),
        reply("part one ", finish_reason="length"),
        reply("part two"),
    ])
    rec = RecoveryManager(max_continuations=1)
    loop = AgentLoop(model, ToolRegistry([divide]), AgentLoopConfig(stream=False),
                     recovery_manager=rec)
    result = asyncio.run(loop.run("divide 1 by 0"))
    assert result.final_text == "part one part two"
    assert rec.counts[RecoveryType.LENGTH] == 1
    assert rec.counts[RecoveryType.TOOL_REPAIR] == 1
    tool_msg = next(m for m in result if m.get("role") == "tool")
    assert "call it again with corrected arguments" in tool_msg["content"]


def test_recovery_manager_queries():
    rec = RecoveryManager(max_continuations=2, max_streaming_retries=1)
    assert rec.should_continue_after_truncation("length", 1)
    assert not rec.should_continue_after_truncation("length", 2)
    assert not rec.should_continue_after_truncation("stop", 0)
    assert rec.should_retry_streaming(0) and not rec.should_retry_streaming(1)
    assert rec.is_retryable(RateLimitError("x", status=429))
    assert not rec.is_retryable(ModelAPIError("x", status=401))
    rec.record_recovery(RecoveryType.FALLBACK, "test")
    assert rec.get_stats()["counts"]["fallback"] == 1


# --- per-model breakers, degradation, rate-limit handler, long horizon -------------------


def test_model_breakers_and_degradation_chain(clock):
    mgr = ModelCircuitBreakerManager(default_config=ModelBreakerConfig(
        max_consecutive_failures=2, cooldown_seconds=5, half_open_max_calls=1), clock=clock)
    assert mgr.record_failure("deepseek_v4_pro", "timeout") is None
    assert mgr.record_failure("deepseek_v4_pro", "timeout") == "glm_5"
    assert mgr.get_all_states() == {"deepseek_v4_pro": "open"}
    assert not mgr.can_call("deepseek_v4_pro")
    chain = mgr.degradation_chain
    assert chain.get_full_chain("heavy") == ["deepseek_v4_pro", "glm_5", "deepseek_v4_flash"]
    mgr.record_failure("glm_5")
    mgr.record_failure("glm_5")
    assert chain.get_fallback("deepseek_v4_pro", "heavy") == "deepseek_v4_flash"
    chain.add_chain("light", ["deepseek_v4_flash", "glm_5"])
    assert chain.get_fallback("deepseek_v4_flash", "light") is None  # glm_5 is open
    clock.advance(5)
    assert mgr.get_state("glm_5") == "half_open" and mgr.can_call("glm_5")
    assert not mgr.can_call("glm_5")  # the single probe is taken
    mgr.record_success("glm_5")
    assert mgr.get_state("glm_5") == "closed"
    mgr.reset()
    assert mgr.get_all_states() == {}
    assert DegradationChain(chains={"default": ["a", "b"]}).get_fallback("a") == "b"


def test_windowed_failure_rate_opens(clock):
    mgr = ModelCircuitBreakerManager(default_config=ModelBreakerConfig(
        max_consecutive_failures=10, failure_threshold_percent=0.5, min_calls_in_window=4,
        window_seconds=60), clock=clock)
    for ok in (True, False, True, False):
        mgr.record_success("m") if ok else mgr.record_failure("m")
    assert mgr.get_state("m") == "closed"  # 50% is not more than 50%
    mgr.record_failure("m")
    assert mgr.get_state("m") == "open"  # 3/5 = 60%


def test_rate_limit_handler_normalises_vendors():
    mgr = ModelCircuitBreakerManager()
    handler = RateLimitHandler(breaker_manager=mgr, clock=lambda: 1000.0)
    info = handler.parse_rate_limit_response("deepseek_v4_pro", 429, {"Retry-After": "30"})
    assert info.retry_after == 30 and handler.should_retry("deepseek_v4_pro", info)
    assert handler.get_backoff_delay("deepseek_v4_pro", 1, info) == 30
    info = handler.parse_rate_limit_response(
        "gpt", 200, {"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "6m0s",
                     "x-ratelimit-remaining-tokens": "1234"})
    assert (info.requests_remaining, info.tokens_remaining) == (0, 1234)
    assert info.reset_time == 1360.0 and info.retry_after == 360.0
    info = handler.parse_rate_limit_response("minimax_m3", 200, None,
                                             {"base_resp": {"status_code": 1002}})
    assert info.vendor_code == "base_resp:1002" and info.is_rate_limited
    assert handler.parse_rate_limit_response("x", 429, {"retry-after-ms": "250"}).retry_after \
        == 0.25
    assert not handler.should_retry("x", handler.parse_rate_limit_response(
        "x", 429, {"retry-after": "9999"}))


def test_long_horizon_recovery():
    mgr = LongHorizonRecoveryManager(base_delay=1, max_delay=10, jitter=0.25, rng=lambda: 1.0)
    assert [mgr.get_reconnection_delay(a) for a in range(5)] == [1.25, 2.5, 5.0, 10.0, 10.0]
    mgr.rng = lambda: 0.0
    assert mgr.get_reconnection_delay(1) == 1.5
    assert mgr.should_downgrade_to_standard(3, 0) and mgr.should_downgrade_to_standard(0, 3600)
    assert not mgr.should_downgrade_to_standard(1, 60)
    assert asyncio.run(mgr.recover_from_checkpoint(object())) is False

    class Store:
        def load_latest(self, task_id):
            return {"task_id": task_id, "step": 7}

    class Task:
        task_id = "t1"
        restored = None

        async def restore_from_checkpoint(self, data):
            Task.restored = data

    mgr.checkpoint_store = Store()
    assert asyncio.run(mgr.recover_from_checkpoint(Task())) is True
    assert Task.restored == {"task_id": "t1", "step": 7}


# --- cross-model costs -------------------------------------------------------------------------

PRICING = {"pro": {"input": 4.0, "output": 16.0, "cache_hit": 1.0},
           "flash": {"input": 1.0, "output": 2.0, "cache_hit": 0.2}}


def test_cost_tracker_pricing_reports_and_persistence(tmp_path):
    now = [dt.datetime(2026, 3, 30, 12).timestamp()]
    path = tmp_path / "costs.jsonl"
    tracker = CrossModelCostTracker(PRICING, MonthlyBudgetConfig(limit_cny=0.11),
                                    storage_path=path, clock=lambda: now[0])
    s = tracker.record_from_tap_response("pro", "deepseek_v4", "m", "design", 5000, 2000, 3000)
    assert s["spent_cny"] == pytest.approx((2000 * 4 + 3000 * 1 + 2000 * 16) / 1e6)
    assert tracker.get_cache_savings()["total_saved_cny"] == pytest.approx(3000 * 3 / 1e6)
    tracker.record_from_tap_response("flash", intent="chat", prompt_tokens=10_000,
                                     completion_tokens=1000)
    now[0] += 86400
    status = tracker.record_from_tap_response("pro", intent="design", prompt_tokens=10_000)
    assert status["level"] == "warning" and tracker.is_budget_warning  # 0.095 of 0.11
    report = tracker.generate_report("intent")
    assert set(report["groups"]) == {"chat", "design"}
    assert report["groups"]["design"]["calls"] == 2
    assert set(tracker.generate_report("date")["groups"]) == {"2026-03-30", "2026-03-31"}
    assert tracker.generate_report("model", start_date="2026-03-31")["total"]["calls"] == 1
    assert tracker.get_model_stats("flash")["calls"] == 1
    assert set(tracker.get_all_model_stats()) == {"pro", "flash"}

    # A restart reads the file: the month is not reset.
    again = CrossModelCostTracker(PRICING, MonthlyBudgetConfig(limit_cny=0.11),
                                  storage_path=path, clock=lambda: now[0])
    assert again.total_records == 3
    assert again.check_budget()["spent_cny"] == pytest.approx(tracker.month_spent())
    # A torn last line (crash mid-write) is skipped, not fatal.
    with path.open("a") as fh:
        fh.write('{"driver_name": "pro", "cost_')
    assert CrossModelCostTracker(PRICING, storage_path=path).total_records == 3
    # Next month starts from zero.
    now[0] = dt.datetime(2026, 4, 1, 12).timestamp()
    assert again.check_budget() | {} and again.check_budget()["level"] == "ok"
    assert again.check_budget()["month"] == "2026-04"


def test_monthly_hard_stop_as_a_provider_breaker():
    tracker = CrossModelCostTracker(PRICING, MonthlyBudgetConfig(limit_cny=0.001,
                                                                 hard_stop=True))
    assert tracker.check_before_call().allowed
    tracker.record(CostRecord(driver_name="pro", cost_cny=0.002))
    verdict = tracker.check_before_call()
    assert not verdict.allowed and "monthly budget exhausted" in verdict.reason
    with pytest.raises(ValueError):
        MonthlyBudgetConfig(warning_threshold=0.9, critical_threshold=0.8)


# --- registration through the hook ----------------------------------------------------------


def test_the_four_breakers_are_registered_through_the_hook(reliability_host):
    registry = reliability_host.registry("circuit_breakers")
    assert registry.names() == ["consecutive_failure", "cost_budget", "latency", "progress"]
    assert registry.entry("cost_budget").plugin == "teragent_reliability"


def test_a_plugin_breaker_is_obeyed_by_the_loop(reliability_host):
    class NoNightCalls(Breaker):
        name = "no_night_calls"

        def check(self, estimated_prompt_tokens=0):
            return BreakerVerdict(False, "calls are not allowed at night", self.name,
                                  GuardrailTripped)

    class Plugin:
        @hookimpl
        def teragent_register_circuit_breakers(self, register):
            register("no_night_calls", NoNightCalls)

    reliability_host.add_plugin(Plugin(), name="night")
    manager = CircuitBreakerManager()
    assert "no_night_calls" in manager.breakers
    loop = AgentLoop(ScriptedModel([]),
                     config=AgentLoopConfig(stream=False), circuit_breaker=manager)
    with pytest.raises(GuardrailTripped, match="not allowed at night"):
        asyncio.run(loop.run("hello"))


def test_latency_and_progress_are_advisory():
    cb = CircuitBreakerManager(config=CircuitBreakerConfig(latency_threshold_ms=100,
                                                           latency_window=3, stall_window=5))
    for _ in range(3):
        cb.record_model_call(prompt_tokens=1, completion_tokens=1, latency_ms=500)
    for i in range(5):
        out = cb.record_agent_step("read_file", had_effect=(i == 0))
    assert out["stalled"] and cb.check_before_call().allowed
    assert set(cb.get_status()["events"]) == {"latency_warning", "progress_stall"}
    assert len(cb.check_before_call().warnings) == 2
    blocking = CircuitBreakerManager(config=CircuitBreakerConfig(stall_window=2,
                                                                 block_on_stall=True))
    blocking.record_agent_step("ls", had_effect=False)
    blocking.record_agent_step("ls", had_effect=False)
    assert not blocking.check_before_call().allowed
