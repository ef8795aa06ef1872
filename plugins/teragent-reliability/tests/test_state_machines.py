"""Hypothesis stateful tests: breaker state machines and budget levels against
simple reference models."""

from __future__ import annotations

import datetime as dt

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from pytest import approx

from teragent.errors import BudgetExceeded, CircuitOpenError

from teragent_reliability.breakers import BUILTIN_BREAKERS, CircuitBreakerManager
from teragent_reliability.budget import CrossModelCostTracker, MonthlyBudgetConfig
from teragent_reliability.circuit_breaker import ModelBreakerConfig, ModelCircuitBreakerManager
from teragent_reliability.config import CircuitBreakerConfig

SETTINGS = settings(max_examples=40, stateful_step_count=30, deadline=None)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FailureBreakerMachine(RuleBasedStateMachine):
    """ConsecutiveFailureBreaker (through the manager) vs a reference model."""

    @initialize(n=st.integers(1, 4), cooldown=st.sampled_from([1.0, 5.0]),
                probes=st.integers(1, 2))
    def setup(self, n: int, cooldown: float, probes: int) -> None:
        self.clock = Clock()
        self.n, self.cooldown, self.probes = n, cooldown, probes
        self.cb = CircuitBreakerManager(
            config=CircuitBreakerConfig(max_consecutive_failures=n, cooldown_seconds=cooldown,
                                        half_open_max_calls=probes),
            breakers=BUILTIN_BREAKERS, clock=self.clock)
        self.state, self.fails, self.opened_at, self.in_flight = "closed", 0, 0.0, 0

    def _model_state(self) -> str:
        if self.state == "open" and self.clock.now - self.opened_at >= self.cooldown:
            self.state, self.in_flight = "half_open", 0
        return self.state

    @rule(seconds=st.sampled_from([0.5, 1.0, 5.0]))
    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    @rule()
    def call(self) -> None:
        verdict = self.cb.check_before_call(estimated_prompt_tokens=10)
        state = self._model_state()
        expected = state == "closed" or (state == "half_open" and self.in_flight < self.probes)
        assert verdict.allowed == expected
        if not verdict.allowed:
            assert verdict.error_type is CircuitOpenError
        elif state == "half_open":
            self.in_flight += 1

    @rule()
    def success(self) -> None:
        self.cb.record_success()
        self.state, self.fails, self.in_flight = "closed", 0, 0

    @rule()
    def failure(self) -> None:
        self.cb.record_failure("boom")
        self.fails += 1
        state = self._model_state()
        if state == "half_open" or (state == "closed" and self.fails >= self.n):
            self.state, self.opened_at, self.in_flight = "open", self.clock.now, 0

    @invariant()
    def states_agree(self) -> None:
        if hasattr(self, "cb"):
            assert self.cb.failures.state.value == self._model_state()


class TokenBudgetMachine(RuleBasedStateMachine):
    """CostBudgetTracker levels, events and the hard stop."""

    @initialize(budget=st.integers(1, 5000), hard=st.booleans())
    def setup(self, budget: int, hard: bool) -> None:
        self.budget, self.hard, self.used = budget, hard, 0
        self.cb = CircuitBreakerManager(
            config=CircuitBreakerConfig(token_budget=budget, hard_stop=hard),
            breakers=BUILTIN_BREAKERS)

    def _level(self) -> str:
        u = self.used / self.budget
        return "ok" if u < 0.7 else "advisory" if u < 0.9 else "critical" if u < 1 \
            else "exhausted"

    @rule(prompt=st.integers(0, 800), completion=st.integers(0, 400))
    def model_call(self, prompt: int, completion: int) -> None:
        out = self.cb.record_model_call(prompt_tokens=prompt, completion_tokens=completion,
                                        latency_ms=5)
        self.used += prompt + completion
        assert out["budget_level"] == self._level()

    @rule()
    def check(self) -> None:
        verdict = self.cb.check_before_call()
        blocked = self.hard and self._level() == "exhausted"
        assert verdict.allowed is not blocked
        if blocked:
            assert verdict.error_type is BudgetExceeded

    @invariant()
    def events_follow_levels(self) -> None:
        if not hasattr(self, "cb"):
            return
        events = [e for e in self.cb.get_status()["events"] if e.startswith("budget_")]
        order = ["budget_advisory", "budget_critical", "budget_exhausted"]
        assert events == sorted(set(events), key=order.index)  # each level once, in order
        level = self._level()
        if level != "ok":
            assert events and events[-1] == f"budget_{level}"


class ModelBreakerMachine(RuleBasedStateMachine):
    """Per-model breakers: consecutive and windowed failure rate, half-open probes."""

    @initialize(n=st.integers(2, 5), probes=st.integers(1, 3))
    def setup(self, n: int, probes: int) -> None:
        self.clock = Clock()
        self.cfg = ModelBreakerConfig(max_consecutive_failures=n, window_seconds=10,
                                      cooldown_seconds=3, failure_threshold_percent=0.5,
                                      half_open_max_calls=probes, min_calls_in_window=4)
        self.mgr = ModelCircuitBreakerManager(default_config=self.cfg, clock=self.clock)
        self.state, self.consec, self.calls = "closed", 0, []
        self.opened_at, self.admitted, self.successes = 0.0, 0, 0

    def _state(self) -> str:
        if self.state == "open" and self.clock.now - self.opened_at >= 3:
            self.state, self.admitted, self.successes = "half_open", 0, 0
        return self.state

    def _open(self) -> None:
        self.state, self.opened_at, self.admitted, self.successes = "open", self.clock.now, 0, 0

    @rule(seconds=st.sampled_from([0.5, 2.0, 3.0, 11.0]))
    def wait(self, seconds: float) -> None:
        self.clock.now += seconds

    @rule()
    def can_call(self) -> None:
        state = self._state()
        expected = state == "closed" or (state == "half_open" and
                                         self.admitted < self.cfg.half_open_max_calls)
        assert self.mgr.can_call("m") == expected
        if expected and state == "half_open":
            self.admitted += 1

    @rule()
    def success(self) -> None:
        self.mgr.record_success("m")
        self.consec = 0
        self.calls.append((self.clock.now, True))
        if self._state() == "half_open":
            self.successes += 1
            if self.successes >= self.cfg.half_open_max_calls:
                self.state, self.calls = "closed", []

    @rule()
    def failure(self) -> None:
        fallback = self.mgr.record_failure("m", "err")
        self.consec += 1
        self.calls.append((self.clock.now, False))
        state = self._state()
        opened = False
        if state == "half_open":
            opened = True
        elif state == "closed":
            window = [ok for t, ok in self.calls if t >= self.clock.now - 10]
            rate = window.count(False) / len(window)
            opened = self.consec >= self.cfg.max_consecutive_failures or (
                len(window) >= 4 and rate > 0.5)
        if opened:
            self._open()
        assert (fallback is not None) == opened  # "m" is in no chain: the chain's head

    @invariant()
    def agree(self) -> None:
        if hasattr(self, "mgr"):
            assert self.mgr.get_state("m") == self._state()


class MonthlyBudgetMachine(RuleBasedStateMachine):
    """CrossModelCostTracker levels over a month boundary."""

    @initialize(limit=st.sampled_from([1.0, 10.0, 0.0]))
    def setup(self, limit: float) -> None:
        self.t = dt.datetime(2026, 1, 20, 12).timestamp()
        self.tracker = CrossModelCostTracker(
            pricing={"d": {"input": 1000.0, "output": 2000.0, "cache_hit": 100.0}},
            budget=MonthlyBudgetConfig(limit_cny=limit), clock=lambda: self.t)
        self.limit = limit
        self.spent: dict[str, float] = {}

    def _month(self) -> str:
        return dt.datetime.fromtimestamp(self.t).strftime("%Y-%m")

    @rule(p=st.integers(0, 3000), c=st.integers(0, 1000), cached=st.integers(0, 3000))
    def call(self, p: int, c: int, cached: int) -> None:
        status = self.tracker.record_from_tap_response("d", prompt_tokens=p,
                                                       completion_tokens=c,
                                                       cache_hit_tokens=cached)
        cached = min(cached, p)
        cost = ((p - cached) * 1000 + cached * 100 + c * 2000) / 1e6
        self.spent[self._month()] = self.spent.get(self._month(), 0.0) + cost
        assert status["spent_cny"] == approx(self.spent[self._month()], rel=1e-9, abs=1e-12)

    @rule(days=st.integers(1, 20))
    def later(self, days: int) -> None:
        self.t += days * 86400

    @invariant()
    def level(self) -> None:
        if not hasattr(self, "tracker"):
            return
        spent = self.spent.get(self._month(), 0.0)
        status = self.tracker.check_budget()
        if self.limit == 0:
            assert status["level"] == "ok"
            return
        u = spent / self.limit
        expected = "ok" if u < 0.8 else "warning" if u < 0.95 else "critical" if u < 1 \
            else "exhausted"
        # Float sums may differ in the last bits exactly at a threshold.
        if all(abs(u - edge) > 1e-9 for edge in (0.8, 0.95, 1.0)):
            assert status["level"] == expected
        assert self.tracker.should_auto_downgrade == (status["level"] in ("critical",
                                                                          "exhausted"))


TestFailureBreaker = FailureBreakerMachine.TestCase
TestFailureBreaker.settings = SETTINGS
TestTokenBudget = TokenBudgetMachine.TestCase
TestTokenBudget.settings = SETTINGS
TestModelBreaker = ModelBreakerMachine.TestCase
TestModelBreaker.settings = SETTINGS
TestMonthlyBudget = MonthlyBudgetMachine.TestCase
TestMonthlyBudget.settings = SETTINGS
