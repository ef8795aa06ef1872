"""The agent-loop breakers: the :class:`Breaker` protocol (with its verdict and states)
and the four built-in breakers, :data:`BUILTIN_BREAKERS`.

What each one detects and does is tabled in :mod:`teragent_reliability.breakers`, whose
:class:`~teragent_reliability.breakers.CircuitBreakerManager` builds, feeds and consults
them (and re-exports every name here).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

from teragent.errors import BudgetExceeded, CircuitOpenError, RunError

from teragent_reliability.config import CircuitBreakerConfig

Clock = Callable[[], float]
Emit = Callable[..., None]


class BreakerState(str, Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class BudgetLevel(str, Enum):
    OK = "ok"
    ADVISORY = "advisory"
    CRITICAL = "critical"
    EXHAUSTED = "exhausted"


@dataclass(frozen=True)
class BreakerVerdict:
    """The answer of :meth:`CircuitBreakerManager.check_before_call`.

    Attributes:
        allowed: Whether the model call may go ahead.
        reason: Why not (empty when allowed).
        breaker: The name of the breaker that refused.
        error_type: The error the caller raises when refused.
        warnings: Advisory messages (budget levels, slow calls, stalls).
    """

    allowed: bool = True
    reason: str = ""
    breaker: str = ""
    error_type: type[RunError] = BudgetExceeded
    warnings: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return self.allowed


def _no_emit(name: str, **kwargs: Any) -> None:
    return None


class Breaker:
    """Base class of a breaker registered through ``teragent_register_circuit_breakers``.

    Every method has a no-op default; override what the breaker watches.
    """

    name: str = "breaker"

    def __init__(self, config: CircuitBreakerConfig | None = None, *,
                 clock: Clock = time.monotonic, emit: Emit = _no_emit) -> None:
        if config is None:
            from teragent.config.loader import table_defaults

            config = table_defaults(CircuitBreakerConfig)  # no schema built for defaults
        self.config = config
        self.clock = clock
        self.emit = emit

    def check(self, estimated_prompt_tokens: int = 0) -> BreakerVerdict | None:
        """Refuse with a verdict, or return ``None`` (no objection). No side effects."""
        return None

    def admit(self) -> None:
        """The call was allowed by every breaker and is about to be made."""

    def on_model_call(self, prompt_tokens: int, completion_tokens: int,
                      latency_ms: float, stage: str) -> None:
        """A model call finished with this usage."""

    def on_success(self) -> None:
        """A model call succeeded."""

    def on_failure(self, reason: str) -> None:
        """A model call failed."""

    def on_agent_step(self, tool_name: str, had_effect: bool) -> None:
        """The agent loop ran a tool."""

    def warnings(self) -> list[str]:
        return []

    def status(self) -> dict[str, Any]:
        return {}

    def reset(self) -> None:
        """Back to the initial state."""


class CostBudgetTracker(Breaker):
    """Tokens used against ``config.token_budget`` (0 = unlimited)."""

    name = "cost_budget"

    def __init__(self, config: CircuitBreakerConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.tokens_used = 0
        self.by_stage: dict[str, int] = {}
        self._announced = BudgetLevel.OK

    @property
    def utilization(self) -> float:
        budget = self.config.token_budget
        return self.tokens_used / budget if budget else 0.0

    @property
    def level(self) -> BudgetLevel:
        u = self.utilization
        if not self.config.token_budget or u < self.config.advisory_threshold:
            return BudgetLevel.OK
        if u < self.config.critical_threshold:
            return BudgetLevel.ADVISORY
        if u < 1.0:
            return BudgetLevel.CRITICAL
        return BudgetLevel.EXHAUSTED

    def check(self, estimated_prompt_tokens: int = 0) -> BreakerVerdict | None:
        if self.config.hard_stop and self.level is BudgetLevel.EXHAUSTED:
            return BreakerVerdict(
                False, f"token budget exhausted ({self.tokens_used}/"
                f"{self.config.token_budget} tokens used; hard stop at 100%)",
                self.name, BudgetExceeded)
        return None

    def on_model_call(self, prompt_tokens: int, completion_tokens: int,
                      latency_ms: float, stage: str) -> None:
        used = max(0, int(prompt_tokens)) + max(0, int(completion_tokens))
        self.tokens_used += used
        if stage:
            self.by_stage[stage] = self.by_stage.get(stage, 0) + used
        level = self.level
        if level is self._announced:  # the common case: nothing new to announce
            return
        order = list(BudgetLevel)
        if order.index(level) > order.index(self._announced):
            self._announced = level
            self.emit(f"budget_{level.value}", tokens_used=self.tokens_used,
                      token_budget=self.config.token_budget, utilization=self.utilization)

    def warnings(self) -> list[str]:
        level = self.level
        if level is BudgetLevel.OK:
            return []
        return [f"token budget {level.value}: {self.utilization:.0%} of "
                f"{self.config.token_budget} used"]

    def status(self) -> dict[str, Any]:
        return {"tokens_used": self.tokens_used, "token_budget": self.config.token_budget,
                "utilization": self.utilization, "level": self.level.value,
                "hard_stop": self.config.hard_stop, "by_stage": dict(self.by_stage)}

    def reset(self) -> None:
        self.tokens_used = 0
        self.by_stage.clear()
        self._announced = BudgetLevel.OK


class ConsecutiveFailureBreaker(Breaker):
    """closed → (N failures in a row) → open → (cooldown) → half-open → closed/open."""

    name = "consecutive_failure"

    def __init__(self, config: CircuitBreakerConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.opened_at: float | None = None
        self.probes_in_flight = 0
        self.times_opened = 0
        self.last_reason = ""

    @property
    def state(self) -> BreakerState:
        """The current state; an open breaker whose cooldown has passed is half-open."""
        if (self._state is BreakerState.OPEN and self.opened_at is not None
                and self.clock() - self.opened_at >= self.config.cooldown_seconds):
            self._state = BreakerState.HALF_OPEN
            self.probes_in_flight = 0
            self.emit("circuit_half_open", breaker=self.name)
        return self._state

    def check(self, estimated_prompt_tokens: int = 0) -> BreakerVerdict | None:
        state = self.state
        if state is BreakerState.OPEN:
            wait = self.config.cooldown_seconds - (self.clock() - (self.opened_at or 0.0))
            return BreakerVerdict(
                False, f"circuit open after {self.consecutive_failures} consecutive "
                f"failures (last: {self.last_reason or 'unknown'}); retry in {wait:.1f}s",
                self.name, CircuitOpenError)
        if state is BreakerState.HALF_OPEN and \
                self.probes_in_flight >= self.config.half_open_max_calls:
            return BreakerVerdict(
                False, "circuit half-open: a probe call is already in flight",
                self.name, CircuitOpenError)
        return None

    def admit(self) -> None:
        if self.state is BreakerState.HALF_OPEN:
            self.probes_in_flight += 1

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self.opened_at = self.clock()
        self.probes_in_flight = 0
        self.times_opened += 1
        self.emit("circuit_open", breaker=self.name, failures=self.consecutive_failures,
                  reason=self.last_reason)

    def on_failure(self, reason: str) -> None:
        self.last_reason = reason
        self.consecutive_failures += 1
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self._open()
        elif state is BreakerState.CLOSED and \
                self.consecutive_failures >= self.config.max_consecutive_failures:
            self._open()

    def on_success(self) -> None:
        if self.state is not BreakerState.CLOSED:
            self.emit("circuit_closed", breaker=self.name)
        self._state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.probes_in_flight = 0
        self.opened_at = None

    def status(self) -> dict[str, Any]:
        return {"state": self.state.value, "consecutive_failures": self.consecutive_failures,
                "times_opened": self.times_opened, "last_reason": self.last_reason}

    def reset(self) -> None:
        self._state = BreakerState.CLOSED
        self.consecutive_failures = 0
        self.opened_at = None
        self.probes_in_flight = 0


class LatencyBreaker(Breaker):
    """Advisory: warns when each of the last ``latency_window`` calls was slow."""

    name = "latency"

    def __init__(self, config: CircuitBreakerConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.latencies: deque[float] = deque(maxlen=self.config.latency_window)
        self._warned = False

    @property
    def slow(self) -> bool:
        return (len(self.latencies) == self.latencies.maxlen and
                all(lat > self.config.latency_threshold_ms for lat in self.latencies))

    def on_model_call(self, prompt_tokens: int, completion_tokens: int,
                      latency_ms: float, stage: str) -> None:
        self.latencies.append(float(latency_ms))
        if self.slow and not self._warned:
            self._warned = True
            self.emit("latency_warning", latencies_ms=list(self.latencies),
                      threshold_ms=self.config.latency_threshold_ms)
        elif not self.slow:
            self._warned = False

    def warnings(self) -> list[str]:
        if not self.slow:
            return []
        return [f"the last {len(self.latencies)} model calls each took longer than "
                f"{self.config.latency_threshold_ms:.0f} ms"]

    def status(self) -> dict[str, Any]:
        avg = sum(self.latencies) / len(self.latencies) if self.latencies else 0.0
        return {"slow": self.slow, "average_ms": avg, "window": list(self.latencies)}

    def reset(self) -> None:
        self.latencies.clear()
        self._warned = False


class ProgressDetector(Breaker):
    """A stall: ≥ ``stall_threshold`` of the last ``stall_window`` steps had no effect."""

    name = "progress"

    def __init__(self, config: CircuitBreakerConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self.steps: deque[tuple[str, bool]] = deque(maxlen=self.config.stall_window)
        self._warned = False

    @property
    def stalled(self) -> bool:
        if len(self.steps) < self.config.stall_window:
            return False
        idle = sum(1 for _, effect in self.steps if not effect)
        return idle / len(self.steps) >= self.config.stall_threshold

    def on_agent_step(self, tool_name: str, had_effect: bool) -> None:
        self.steps.append((tool_name, bool(had_effect)))
        if self.stalled and not self._warned:
            self._warned = True
            self.emit("progress_stall", recent=[n for n, _ in self.steps])
        elif not self.stalled:
            self._warned = False

    def check(self, estimated_prompt_tokens: int = 0) -> BreakerVerdict | None:
        if self.config.block_on_stall and self.stalled:
            return BreakerVerdict(False, "no progress: most recent agent steps had no "
                                  "effect", self.name, BudgetExceeded)
        return None

    def warnings(self) -> list[str]:
        return ["the agent seems stuck: most recent steps had no effect"] \
            if self.stalled else []

    def status(self) -> dict[str, Any]:
        return {"stalled": self.stalled, "recent_steps": len(self.steps),
                "idle_steps": sum(1 for _, e in self.steps if not e)}

    def reset(self) -> None:
        self.steps.clear()
        self._warned = False


#: The four breakers by name (what this plugin registers).
BUILTIN_BREAKERS: dict[str, type[Breaker]] = {
    CostBudgetTracker.name: CostBudgetTracker,
    ConsecutiveFailureBreaker.name: ConsecutiveFailureBreaker,
    LatencyBreaker.name: LatencyBreaker,
    ProgressDetector.name: ProgressDetector,
}
