"""The circuit-breaker contract suite: every breaker plugin runs it against its breakers.

A breaker is a :class:`teragent_reliability.breakers.Breaker` subclass registered
through ``teragent_register_circuit_breakers``; the
:class:`~teragent_reliability.breakers.CircuitBreakerManager` builds it as
``cls(config=..., clock=..., emit=...)``, asks ``check_before_call`` before every model
call and feeds it ``record_model_call``/``record_success``/``record_failure``/
``record_agent_step``. The opt-in is one subclass::

    from teragent_testing.breaker_contract import BreakerContract

    class TestMyBreaker(BreakerContract):
        breaker_class = MyBreaker
        config = {"cooldown_seconds": 30}   # CircuitBreakerConfig fields
        trips_on_failures = True            # it opens after failed calls

What every breaker must do (the manager runs it alone, on an injected clock):

- **protocol**: every ``record_*`` call and ``check_before_call`` work in any order,
  never raise, and answer the documented shapes (a ``BreakerVerdict``; a refusal names
  the breaker, a reason and a ``RunError`` subclass to raise); ``status()`` is a dict,
  ``warnings()`` strings; ``check`` has no side effects (asking twice answers the same);
  ``reset()`` brings back a breaker that allows calls;
- **the cycle** (``trips_on_failures``): failures open it (calls refused with
  :class:`~teragent.errors.CircuitOpenError`-like errors), it stays open until the
  cooldown has passed on the clock, then lets one probe through (half-open) while
  refusing others, a failed probe opens it again, and a successful one closes it.

This module needs teragent-reliability (the breaker base class and manager).
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from teragent.errors import RunError
from teragent_reliability.breakers import Breaker, BreakerVerdict, CircuitBreakerManager
from teragent_testing.clock import FakeClock

__all__ = ["BreakerContract", "FakeClock"]


class BreakerContract:
    """Properties every breaker must have; subclasses set ``breaker_class``."""

    breaker_class: ClassVar[type[Breaker]]
    #: ``CircuitBreakerConfig`` fields for the manager.
    config: ClassVar[dict[str, Any]] = {}
    #: The breaker opens after failed calls (closed → open → half-open → closed).
    trips_on_failures: ClassVar[bool] = False
    #: At most this many failures in a row open it.
    max_failures_to_trip: ClassVar[int] = 50

    def manager(self, clock: FakeClock | None = None) -> tuple[CircuitBreakerManager, Any]:
        clock = clock or FakeClock()
        cls = getattr(self, "breaker_class", None)
        assert isinstance(cls, type) and issubclass(cls, Breaker), \
            "set BreakerContract.breaker_class to a Breaker subclass"
        mgr = CircuitBreakerManager(config=dict(self.config), breakers={cls.name: cls},
                                    clock=clock)
        return mgr, mgr.breakers[cls.name]

    @staticmethod
    def verdict(mgr: CircuitBreakerManager) -> BreakerVerdict:
        v = mgr.check_before_call(100)
        assert isinstance(v, BreakerVerdict), f"check_before_call answered {v!r}"
        assert isinstance(v.allowed, bool) and all(isinstance(w, str) for w in v.warnings)
        if not v.allowed:
            assert v.reason.strip() and v.breaker, f"a refusal without reason/breaker: {v}"
            assert isinstance(v.error_type, type) and issubclass(v.error_type, RunError), \
                f"error_type must be a RunError subclass, got {v.error_type!r}"
        return v

    def test_protocol_in_any_order(self) -> None:
        mgr, breaker = self.manager()
        assert self.verdict(mgr).allowed, "a new breaker must allow calls"
        steps = [lambda: mgr.record_model_call(1000, 200, "execute", 2500.0),
                 lambda: mgr.record_success(), lambda: mgr.record_failure("HTTP 503"),
                 lambda: mgr.record_agent_step("read_file", False),
                 lambda: mgr.record_agent_step("write_file", True),
                 lambda: self.verdict(mgr)]
        for i in range(60):  # a fixed interleaving: every pair of steps occurs
            steps[(i * 7 + i // 6) % len(steps)]()
        status = breaker.status()
        assert isinstance(status, dict)
        json.dumps(status, default=str)
        assert all(isinstance(w, str) for w in breaker.warnings())
        assert isinstance(mgr.get_status()["breakers"][breaker.name], dict)

    def test_check_has_no_side_effects(self) -> None:
        mgr, breaker = self.manager()
        for i in range(self.max_failures_to_trip):
            mgr.record_failure(f"failure {i}")
            first, second = breaker.check(100), breaker.check(100)
            assert (first is None) == (second is None), "check changed the breaker"
            if first is not None:
                assert (first.allowed, first.reason) == (second.allowed, second.reason)

    def test_reset_allows_calls_again(self) -> None:
        mgr, breaker = self.manager()
        for i in range(self.max_failures_to_trip):
            mgr.record_model_call(10_000_000, 10_000_000, "execute", 600_000.0)
            mgr.record_failure(f"failure {i}")
            mgr.record_agent_step("think", False)
        mgr.reset()
        assert self.verdict(mgr).allowed, "reset() must bring back a breaker that allows"

    def test_open_half_open_closed_cycle(self) -> None:
        if not self.trips_on_failures:
            return  # an advisory breaker: no cycle to check
        clock = FakeClock()
        mgr, breaker = self.manager(clock)
        cooldown = float(mgr.config.cooldown_seconds)
        failures = 0
        while self.verdict(mgr).allowed:
            mgr.record_failure("HTTP 503")
            failures += 1
            assert failures <= self.max_failures_to_trip, "failures never opened it"
        refused = self.verdict(mgr)
        assert refused.breaker == breaker.name
        # open: refused until the cooldown has passed on the clock
        clock.advance(cooldown * 0.5)
        assert not self.verdict(mgr).allowed, "opened, then let a call through early"
        clock.advance(cooldown * 0.5 + 0.01)
        assert self.verdict(mgr).allowed, "no probe let through after the cooldown"
        assert not self.verdict(mgr).allowed, "half-open let a second call through"
        # a failed probe opens it again, for another cooldown
        mgr.record_failure("HTTP 503")
        assert not self.verdict(mgr).allowed, "a failed probe did not open it again"
        clock.advance(cooldown + 0.01)
        assert self.verdict(mgr).allowed, "no probe after the second cooldown"
        # a successful probe closes it: calls flow again, and one failure does not reopen
        mgr.record_success()
        for _ in range(3):
            assert self.verdict(mgr).allowed, "a successful probe did not close it"
        if failures > 1:
            mgr.record_failure("HTTP 503")
            assert self.verdict(mgr).allowed, "closed again, yet one failure opened it"
