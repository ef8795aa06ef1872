"""TerAgent plugin: circuit breakers, recovery, rate limiters and the monthly budget.

Only hookimpls live here. The package is served as the documented
``teragent.reliability`` (``from teragent.reliability import CircuitBreakerManager``);
its names are imported on first use, so discovering this plugin stays cheap.
"""

from __future__ import annotations

from typing import Any

from teragent import hookimpl
from teragent.lazy import lazy_exports
from teragent.hookspecs import Register

_BREAKERS = "teragent_reliability.breakers"

_EXPORTS: dict[str, str] = {
    "StepBudget": "teragent.budget",  # the kernel's, re-exported where it was documented
    "CostRecord": "teragent_reliability.budget",
    "MonthlyBudgetConfig": "teragent_reliability.budget",
    "CrossModelCostTracker": "teragent_reliability.budget",
    "CircuitBreakerManager": _BREAKERS,
    "CostBudgetTracker": _BREAKERS,
    "ConsecutiveFailureBreaker": _BREAKERS,
    "LatencyBreaker": _BREAKERS,
    "ProgressDetector": _BREAKERS,
    "Breaker": _BREAKERS,
    "BreakerState": _BREAKERS,
    "BreakerVerdict": _BREAKERS,
    "BudgetLevel": _BREAKERS,
    "CircuitBreakerConfig": "teragent_reliability.config",
    "RecoveryConfig": "teragent_reliability.recovery_config",
    "ModelCircuitBreakerManager": "teragent_reliability.circuit_breaker",
    "ModelBreakerConfig": "teragent_reliability.circuit_breaker",
    "RecoveryManager": "teragent_reliability.recovery",
    "RecoveryType": "teragent_reliability.recovery",
    "DegradationChain": "teragent_reliability.recovery",
    "RateLimitHandler": "teragent_reliability.recovery",
    "RateLimitInfo": "teragent_reliability.recovery",
    "LongHorizonRecoveryManager": "teragent_reliability.recovery",
    "ErrorClass": "teragent_reliability.classify",
    "classify_error": "teragent_reliability.classify",
    "TokenBucketRateLimiter": "teragent_reliability.rate_limit",
    "SlidingWindowRateLimiter": "teragent_reliability.rate_limit",
    "AdaptiveRateLimiter": "teragent_reliability.rate_limit",
    "RateLimitConfig": "teragent_reliability.rate_limit",
    "RateLimitStrategy": "teragent_reliability.rate_limit",
    "RateLimitStatus": "teragent_reliability.rate_limit",
    "create_rate_limiter": "teragent_reliability.rate_limit",
    "Reliability": "teragent_reliability.wiring",
    "build_reliability": "teragent_reliability.wiring",
}

__all__ = sorted(_EXPORTS)


@hookimpl
def teragent_register_circuit_breakers(register: Register) -> None:
    register("cost_budget", f"{_BREAKERS}:CostBudgetTracker",
             description="Token budget: advisory 70%, critical 90%, optional hard stop")
    register("consecutive_failure", f"{_BREAKERS}:ConsecutiveFailureBreaker",
             description="Opens after N failed calls in a row; half-open after cooldown")
    register("latency", f"{_BREAKERS}:LatencyBreaker",
             description="Advisory warning when recent calls are all slow")
    register("progress", f"{_BREAKERS}:ProgressDetector",
             description="Stall warning when most recent agent steps had no effect")


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("circuit_breaker", "teragent_reliability.config:CircuitBreakerConfig",
             description="Budget, failure, latency and stall breakers")
    register("recovery", "teragent_reliability.recovery_config:RecoveryConfig",
             description="Retries, continuations, compaction, fallback")
    register("rate_limit", "teragent_reliability.rate_limit:RateLimitConfig",
             description="Client-side rate limiting of model calls")


@hookimpl
def teragent_build_reliability(config: dict[str, Any], loop_config: Any, bus: Any) -> Any:
    from teragent_reliability.wiring import build_reliability

    return build_reliability(config, loop_config, bus)


# Only the public names: the host probes this module for hook names it lacks.
__getattr__ = lazy_exports("teragent.reliability", _EXPORTS, globals())

