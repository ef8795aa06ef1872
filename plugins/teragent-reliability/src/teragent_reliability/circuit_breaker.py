"""Per-model circuit breakers: :class:`ModelCircuitBreakerManager`.

Each model (or driver) name gets its own breaker:

- **closed**: calls go through; it opens after ``max_consecutive_failures`` failures in
  a row, or when more than ``failure_threshold_percent`` of the calls in the last
  ``window_seconds`` failed (once at least ``min_calls_in_window`` were made);
- **open**: calls are refused for ``cooldown_seconds``;
- **half-open**: up to ``half_open_max_calls`` probe calls go through; that many
  successes close it, any failure opens it again.

When a breaker opens, :meth:`ModelCircuitBreakerManager.record_failure` returns the
fallback from a :class:`~teragent.reliability.recovery.DegradationChain`.

The agent-loop breakers (budget, consecutive failures, latency, progress) are in
:mod:`teragent.reliability.breakers`; they are re-exported here for convenience.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, cast

from teragent_reliability.breakers import (
    BreakerState, BreakerVerdict, CircuitBreakerManager, ConsecutiveFailureBreaker,
    CostBudgetTracker, LatencyBreaker, ProgressDetector,
)

__all__ = [
    "ModelBreakerConfig",
    "ModelCircuitBreakerManager",
    "BreakerState",
    "BreakerVerdict",
    "CircuitBreakerManager",
    "CostBudgetTracker",
    "ConsecutiveFailureBreaker",
    "LatencyBreaker",
    "ProgressDetector",
]


@dataclass
class ModelBreakerConfig:
    """Thresholds of one model's breaker."""

    model_name: str = ""
    max_consecutive_failures: int = 5
    window_seconds: float = 300.0
    cooldown_seconds: float = 60.0
    failure_threshold_percent: float = 0.5
    half_open_max_calls: int = 3
    min_calls_in_window: int = 5

    def __post_init__(self) -> None:
        if self.max_consecutive_failures < 1 or self.half_open_max_calls < 1:
            raise ValueError("max_consecutive_failures and half_open_max_calls must be >= 1")
        if not 0 < self.failure_threshold_percent <= 1:
            raise ValueError("failure_threshold_percent is a fraction in (0, 1], e.g. 0.5")


class _ModelBreaker:
    def __init__(self, config: ModelBreakerConfig, clock: Callable[[], float]) -> None:
        self.config = config
        self.clock = clock
        self._state = BreakerState.CLOSED
        self.consecutive = 0
        self.calls: deque[tuple[float, bool]] = deque()
        self.opened_at = 0.0
        self.probes = 0          # probe calls admitted while half-open
        self.probe_successes = 0
        self.last_reason = ""

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and \
                self.clock() - self.opened_at >= self.config.cooldown_seconds:
            self._state = BreakerState.HALF_OPEN
            self.probes = self.probe_successes = 0
        return self._state

    def _prune(self) -> None:
        cutoff = self.clock() - self.config.window_seconds
        while self.calls and self.calls[0][0] < cutoff:
            self.calls.popleft()

    def failure_rate(self) -> float:
        self._prune()
        if not self.calls:
            return 0.0
        return sum(1 for _, ok in self.calls if not ok) / len(self.calls)

    def available(self) -> bool:
        state = self.state
        return state is BreakerState.CLOSED or (
            state is BreakerState.HALF_OPEN and self.probes < self.config.half_open_max_calls)

    def admit(self) -> bool:
        if not self.available():
            return False
        if self._state is BreakerState.HALF_OPEN:
            self.probes += 1
        return True

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self.opened_at = self.clock()
        self.probes = self.probe_successes = 0

    def failure(self, reason: str) -> bool:
        """Record a failure; ``True`` if this opened the breaker."""
        self.last_reason = reason
        self.consecutive += 1
        self.calls.append((self.clock(), False))
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self._open()
            return True
        if state is BreakerState.OPEN:
            return False
        self._prune()
        windowed = (len(self.calls) >= self.config.min_calls_in_window and
                    self.failure_rate() > self.config.failure_threshold_percent)
        if self.consecutive >= self.config.max_consecutive_failures or windowed:
            self._open()
            return True
        return False

    def success(self) -> None:
        self.consecutive = 0
        self.calls.append((self.clock(), True))
        state = self.state
        if state is BreakerState.HALF_OPEN:
            self.probe_successes += 1
            if self.probe_successes >= self.config.half_open_max_calls:
                self._state = BreakerState.CLOSED
                self.calls.clear()  # a fresh window after recovery

    def status(self) -> dict[str, Any]:
        return {"state": self.state.value, "consecutive_failures": self.consecutive,
                "failure_rate": self.failure_rate(), "calls_in_window": len(self.calls),
                "last_reason": self.last_reason}


class ModelCircuitBreakerManager:
    """One breaker per model name.

    Args:
        configs: ``{model_name: ModelBreakerConfig}`` for models with their own
            thresholds.
        default_config: For every other model.
        degradation_chain: Where fallbacks come from (default: a
            :class:`~teragent.reliability.recovery.DegradationChain` over the shipped
            chains, consulting this manager).
        clock: Monotonic seconds.
    """

    def __init__(self, configs: dict[str, ModelBreakerConfig] | None = None,
                 default_config: ModelBreakerConfig | None = None, *,
                 degradation_chain: Any = None, clock: Callable[[], float] = time.monotonic,
                 bus: Any = None) -> None:
        self.configs = dict(configs or {})
        self.default_config = default_config or ModelBreakerConfig()
        self.clock = clock
        self.bus = bus
        self._breakers: dict[str, _ModelBreaker] = {}
        self._lock = threading.RLock()
        if degradation_chain is None:
            from teragent_reliability.recovery import DegradationChain

            degradation_chain = DegradationChain(breaker_manager=self)
        self.degradation_chain = degradation_chain
        self.opened: list[str] = []

    def _get(self, model: str) -> _ModelBreaker:
        breaker = self._breakers.get(model)
        if breaker is None:
            config = self.configs.get(model) or ModelBreakerConfig(
                **{**self.default_config.__dict__, "model_name": model})
            breaker = self._breakers[model] = _ModelBreaker(config, self.clock)
        return breaker

    def can_call(self, model: str) -> bool:
        """Whether a call to ``model`` may go now; a half-open breaker counts the call
        as one of its probes."""
        with self._lock:
            return self._get(model).admit()

    def is_available(self, model: str) -> bool:
        """Like :meth:`can_call` without taking a probe slot (or creating a breaker)."""
        with self._lock:
            breaker = self._breakers.get(model)
            return breaker is None or breaker.available()

    def record_failure(self, model: str, reason: str = "") -> str | None:
        """Record a failed call; returns the fallback model if the breaker just opened."""
        with self._lock:
            opened = self._get(model).failure(reason)
        if not opened:
            return None
        self.opened.append(model)
        if self.bus is not None:
            try:
                self.bus.emit_nowait("model_circuit_open", model=model, reason=reason)
            except RuntimeError:
                pass
        return self.get_fallback(model)

    def record_success(self, model: str) -> None:
        with self._lock:
            self._get(model).success()

    def get_fallback(self, model: str, task_type: str = "default") -> str | None:
        return cast("str | None", self.degradation_chain.get_fallback(model, task_type))

    def get_state(self, model: str) -> str:
        with self._lock:
            return self._get(model).state.value

    def get_all_states(self) -> dict[str, str]:
        with self._lock:
            return {name: b.state.value for name, b in self._breakers.items()}

    def get_status(self, model: str) -> dict[str, Any]:
        with self._lock:
            return self._get(model).status()

    def reset(self, model: str | None = None) -> None:
        with self._lock:
            if model is None:
                self._breakers.clear()
            else:
                self._breakers.pop(model, None)
