"""Reliability: circuit breakers, recovery, rate limiters and budgets.

Names are imported on first use, so ``import teragent.reliability`` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from teragent.reliability.budget import StepBudget

_EXPORTS: dict[str, str] = {
    "StepBudget": "teragent.reliability.budget",
    "CostRecord": "teragent.reliability.budget",
    "MonthlyBudgetConfig": "teragent.reliability.budget",
    "CrossModelCostTracker": "teragent.reliability.budget",
    "CircuitBreakerManager": "teragent.reliability.breakers",
    "CostBudgetTracker": "teragent.reliability.breakers",
    "ConsecutiveFailureBreaker": "teragent.reliability.breakers",
    "LatencyBreaker": "teragent.reliability.breakers",
    "ProgressDetector": "teragent.reliability.breakers",
    "Breaker": "teragent.reliability.breakers",
    "BreakerState": "teragent.reliability.breakers",
    "BreakerVerdict": "teragent.reliability.breakers",
    "BudgetLevel": "teragent.reliability.breakers",
    "ModelCircuitBreakerManager": "teragent.reliability.circuit_breaker",
    "ModelBreakerConfig": "teragent.reliability.circuit_breaker",
    "RecoveryManager": "teragent.reliability.recovery",
    "RecoveryType": "teragent.reliability.recovery",
    "DegradationChain": "teragent.reliability.recovery",
    "RateLimitHandler": "teragent.reliability.recovery",
    "RateLimitInfo": "teragent.reliability.recovery",
    "LongHorizonRecoveryManager": "teragent.reliability.recovery",
    "ErrorClass": "teragent.reliability.classify",
    "classify_error": "teragent.reliability.classify",
    "TokenBucketRateLimiter": "teragent.reliability.rate_limit",
    "SlidingWindowRateLimiter": "teragent.reliability.rate_limit",
    "AdaptiveRateLimiter": "teragent.reliability.rate_limit",
    "RateLimitConfig": "teragent.reliability.rate_limit",
    "RateLimitStrategy": "teragent.reliability.rate_limit",
    "RateLimitStatus": "teragent.reliability.rate_limit",
    "create_rate_limiter": "teragent.reliability.rate_limit",
    "Reliability": "teragent.reliability.wiring",
    "build_reliability": "teragent.reliability.wiring",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'teragent.reliability' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
