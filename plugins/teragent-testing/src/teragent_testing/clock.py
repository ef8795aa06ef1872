"""A clock tests move by hand: cooldowns, expiries and back-offs without sleeping.

Pass a :class:`FakeClock` where code takes a ``clock`` callable (``time.monotonic`` by
default); the ``clock`` fixture of :mod:`teragent_testing.pytest_plugin` gives a fresh one.
"""

from __future__ import annotations

__all__ = ["FakeClock"]


class FakeClock:
    """Seconds that move only when the test says so (:meth:`advance`)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
