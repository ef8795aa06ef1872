"""The breaker contract suite (teragent-testing) on this plugin's four breakers."""

from __future__ import annotations

from teragent_reliability.breakers import (
    ConsecutiveFailureBreaker, CostBudgetTracker, LatencyBreaker, ProgressDetector,
)
from teragent_testing.breaker_contract import BreakerContract


class TestConsecutiveFailureBreaker(BreakerContract):
    breaker_class = ConsecutiveFailureBreaker
    config = {"max_consecutive_failures": 3, "cooldown_seconds": 30}
    trips_on_failures = True


class TestCostBudgetTracker(BreakerContract):
    breaker_class = CostBudgetTracker
    config = {"token_budget": 50_000, "hard_stop": True}


class TestLatencyBreaker(BreakerContract):
    breaker_class = LatencyBreaker


class TestProgressDetector(BreakerContract):
    breaker_class = ProgressDetector
    config = {"block_on_stall": True}
