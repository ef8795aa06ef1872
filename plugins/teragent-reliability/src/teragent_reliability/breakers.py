"""The four agent-loop circuit breakers and :class:`CircuitBreakerManager`.

The manager is here; the :class:`Breaker` protocol and the four breakers are in
:mod:`teragent_reliability.loop_breakers` (re-exported).

=========================  ==========================================  ==================
breaker                    detects                                     effect
=========================  ==========================================  ==================
CostBudgetTracker          tokens used against ``token_budget``        advisory 70%,
                                                                       critical 90%,
                                                                       refuses at 100%
                                                                       with ``hard_stop``
ConsecutiveFailureBreaker  N failed model calls in a row               closed → open →
                                                                       half-open after
                                                                       the cooldown
LatencyBreaker             every one of the last N calls slow          advisory
ProgressDetector           ≥80% of the last N agent steps had no       advisory (refuses
                           effect                                      with block_on_stall)
=========================  ==========================================  ==================

This plugin registers the four through ``teragent_register_circuit_breakers`` (see
``teragent_reliability/__init__.py``); :class:`CircuitBreakerManager` instantiates every registered
breaker, so a plugin's breaker takes part without further wiring. A breaker is a
:class:`Breaker` subclass built as ``cls(config=..., clock=..., emit=...)``.

Who obeys them: :class:`~teragent.AgentLoop` (``circuit_breaker=manager``) and
:class:`~teragent.ModelProvider` (``provider.breakers.append(manager)``) call
:meth:`CircuitBreakerManager.check_before_call` before every model call and refuse the
call (raising the verdict's ``error_type``) when it is not ``allowed``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from teragent_reliability.config import CircuitBreakerConfig
from teragent_reliability.loop_breakers import (
    BUILTIN_BREAKERS,
    Breaker,
    BreakerState,
    BreakerVerdict,
    BudgetLevel,
    Clock,
    ConsecutiveFailureBreaker,
    CostBudgetTracker,
    LatencyBreaker,
    ProgressDetector,
)

__all__ = [
    "BreakerState",
    "BudgetLevel",
    "BreakerVerdict",
    "Breaker",
    "CostBudgetTracker",
    "ConsecutiveFailureBreaker",
    "LatencyBreaker",
    "ProgressDetector",
    "CircuitBreakerManager",
    "BUILTIN_BREAKERS",
]


def _registered_breakers() -> dict[str, Any]:
    from teragent.plugins import get_host

    registry = get_host().registry("circuit_breakers")
    return {name: registry.get(name) for name in registry.names()}


@dataclass
class _Totals:
    calls: int = 0
    successes: int = 0
    failures: int = 0
    refusals: int = 0
    steps: int = 0
    history: list[str] = field(default_factory=list)


class CircuitBreakerManager:
    """Feeds and consults every circuit breaker.

    Args:
        bus: An :class:`~teragent.EventBus`; breakers emit ``budget_advisory``,
            ``budget_critical``, ``budget_exhausted``, ``circuit_open``,
            ``circuit_half_open``, ``circuit_closed``, ``latency_warning`` and
            ``progress_stall`` on it.
        config: Thresholds (:class:`~teragent.config.circuit_breaker_config.
            CircuitBreakerConfig`), or a dict of them.
        breakers: ``{name: Breaker subclass or instance}``; default: every breaker
            registered through ``teragent_register_circuit_breakers``.
        clock: Monotonic seconds (tests pass a fake clock to skip cooldowns).
    """

    def __init__(self, bus: Any = None, config: CircuitBreakerConfig | dict[str, Any] |
                 None = None, *, breakers: dict[str, Any] | None = None,
                 clock: Clock = time.monotonic) -> None:
        if isinstance(config, dict):
            config = CircuitBreakerConfig(**config)
        if config is None:
            from teragent.config.loader import table_defaults

            config = table_defaults(CircuitBreakerConfig)  # no schema built for defaults
        self.config = config
        self.bus = bus
        self.clock = clock
        self._lock = threading.RLock()
        self._totals = _Totals()
        chosen = breakers if breakers is not None else _registered_breakers()
        self.breakers: dict[str, Breaker] = {}
        for name, spec in chosen.items():
            if isinstance(spec, Breaker):
                spec.emit = self._emit
                self.breakers[name] = spec
            else:
                self.breakers[name] = spec(config=self.config, clock=clock, emit=self._emit)

    # --- access ------------------------------------------------------------------------

    def get(self, name: str) -> Breaker | None:
        return self.breakers.get(name)

    @property
    def cost_budget(self) -> CostBudgetTracker | None:
        return self.breakers.get(CostBudgetTracker.name)  # type: ignore[return-value]

    @property
    def failures(self) -> ConsecutiveFailureBreaker | None:
        return self.breakers.get(ConsecutiveFailureBreaker.name)  # type: ignore[return-value]

    @property
    def latency(self) -> LatencyBreaker | None:
        return self.breakers.get(LatencyBreaker.name)  # type: ignore[return-value]

    @property
    def progress(self) -> ProgressDetector | None:
        return self.breakers.get(ProgressDetector.name)  # type: ignore[return-value]

    # --- events --------------------------------------------------------------------------

    def _emit(self, name: str, **kwargs: Any) -> None:
        self._totals.history.append(name)
        if self.bus is None:
            return
        try:
            self.bus.emit_nowait(name, **kwargs)
        except RuntimeError:  # no running event loop: keep the record only
            pass

    # --- feeding ---------------------------------------------------------------------

    def record_model_call(self, prompt_tokens: int = 0, completion_tokens: int = 0,
                          stage: str = "", latency_ms: float = 0.0) -> dict[str, Any]:
        """Record one finished model call's usage; returns the budget status and any
        warnings."""
        with self._lock:
            self._totals.calls += 1
            for breaker in self.breakers.values():
                breaker.on_model_call(prompt_tokens, completion_tokens, latency_ms, stage)
            budget = self.cost_budget
            return {"tokens_used": budget.tokens_used if budget else 0,
                    "budget_level": budget.level.value if budget else BudgetLevel.OK.value,
                    "utilization": budget.utilization if budget else 0.0,
                    "warnings": self._warnings()}

    def record_success(self) -> None:
        with self._lock:
            self._totals.successes += 1
            for breaker in self.breakers.values():
                breaker.on_success()

    def record_failure(self, reason: str = "") -> None:
        with self._lock:
            self._totals.failures += 1
            for breaker in self.breakers.values():
                breaker.on_failure(reason)

    def record_agent_step(self, tool_name: str, had_effect: bool = True) -> dict[str, Any]:
        with self._lock:
            self._totals.steps += 1
            for breaker in self.breakers.values():
                breaker.on_agent_step(tool_name, had_effect)
            progress = self.progress
            return {"stalled": bool(progress and progress.stalled),
                    "warnings": self._warnings()}

    # --- consulting ------------------------------------------------------------------

    def _warnings(self) -> list[str]:
        out: list[str] = []
        for breaker in self.breakers.values():
            out.extend(breaker.warnings())
        return out

    def check_before_call(self, estimated_prompt_tokens: int = 0) -> BreakerVerdict:
        """Whether a model call may be made now; the first refusing breaker wins.

        An allowed call is admitted to every breaker (a half-open breaker counts its
        probe), so call this exactly once per model call.
        """
        with self._lock:
            for breaker in self.breakers.values():
                verdict = breaker.check(estimated_prompt_tokens)
                if verdict is not None and not verdict.allowed:
                    self._totals.refusals += 1
                    return verdict
            for breaker in self.breakers.values():
                breaker.admit()
            return BreakerVerdict(True, warnings=tuple(self._warnings()))

    def get_status(self) -> dict[str, Any]:
        with self._lock:
            t = self._totals
            return {
                "breakers": {name: b.status() for name, b in self.breakers.items()},
                "calls": t.calls, "successes": t.successes, "failures": t.failures,
                "refusals": t.refusals, "agent_steps": t.steps,
                "events": list(t.history), "warnings": self._warnings(),
            }

    def reset(self) -> None:
        with self._lock:
            self._totals = _Totals()
            for breaker in self.breakers.values():
                breaker.reset()
