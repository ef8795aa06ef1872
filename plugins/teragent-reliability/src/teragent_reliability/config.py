"""``CircuitBreakerConfig``: thresholds of the four agent-loop circuit breakers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["CircuitBreakerConfig"]


class CircuitBreakerConfig(BaseModel):
    """Settings of :class:`~teragent.reliability.CircuitBreakerManager`
    (``[circuit_breaker]`` in ``agent.toml``).

    Budget (``CostBudgetTracker``): ``token_budget`` tokens per run (0 = unlimited);
    advisory at ``advisory_threshold``, critical at ``critical_threshold``, and with
    ``hard_stop`` no model call is allowed once 100% is used.

    Failures (``ConsecutiveFailureBreaker``): opens after ``max_consecutive_failures``
    failed calls in a row, refuses calls for ``cooldown_seconds``, then lets
    ``half_open_max_calls`` probe calls through; a successful probe closes it, a failed
    one opens it again.

    Latency (``LatencyBreaker``, advisory): warns when each of the last
    ``latency_window`` calls took longer than ``latency_threshold_ms``.

    Progress (``ProgressDetector``, advisory unless ``block_on_stall``): a stall is
    at least ``stall_threshold`` of the last ``stall_window`` agent steps having had
    no effect.
    """

    model_config = ConfigDict(extra="forbid", defer_build=True)  # built on first use

    token_budget: int = Field(default=0, ge=0)
    advisory_threshold: float = Field(default=0.7, gt=0, le=1)
    critical_threshold: float = Field(default=0.9, gt=0, le=1)
    hard_stop: bool = False

    max_consecutive_failures: int = Field(default=5, ge=1)
    cooldown_seconds: float = Field(default=60.0, ge=0)
    half_open_max_calls: int = Field(default=1, ge=1)

    latency_threshold_ms: float = Field(default=30_000.0, gt=0)
    latency_window: int = Field(default=5, ge=1)

    stall_window: int = Field(default=10, ge=1)
    stall_threshold: float = Field(default=0.8, gt=0, le=1)
    block_on_stall: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> "CircuitBreakerConfig":
        if self.advisory_threshold >= self.critical_threshold:
            raise ValueError(
                f"advisory_threshold ({self.advisory_threshold}) must be below "
                f"critical_threshold ({self.critical_threshold}); e.g. 0.7 and 0.9")
        return self
