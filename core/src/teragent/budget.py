"""``StepBudget``: the agent loop's step count against ``max_steps``.

The kernel's only budget. Token budgets, circuit breakers and the monthly money budget
are the reliability plugin's (``pip install teragent-reliability``); the documented
``teragent.reliability.StepBudget`` is this class.
"""

from __future__ import annotations

__all__ = ["StepBudget"]


class StepBudget:
    """Counts steps against ``max_steps``.

    Example::

        budget = StepBudget(max_steps=50)
        if budget.consume():
            ...
        budget.resume(extra_steps=10)
    """

    def __init__(self, max_steps: int = 50) -> None:
        if max_steps < 1:
            raise ValueError(f"max_steps must be at least 1, got {max_steps}")
        self.max_steps = max_steps
        self.current_steps = 0

    def consume(self, n: int = 1) -> bool:
        """Take ``n`` steps; ``False`` (and nothing taken) if that would overrun."""
        if self.current_steps + n > self.max_steps:
            return False
        self.current_steps += n
        return True

    @property
    def remaining(self) -> int:
        return self.max_steps - self.current_steps

    @property
    def exhausted(self) -> bool:
        return self.current_steps >= self.max_steps

    def resume(self, extra_steps: int = 10) -> None:
        """Grant ``extra_steps`` more (e.g. after the user confirms continuing)."""
        if extra_steps < 1:
            raise ValueError(f"extra_steps must be at least 1, got {extra_steps}")
        self.max_steps = max(self.max_steps, self.current_steps) + extra_steps

    def reset(self) -> None:
        self.current_steps = 0

    def __repr__(self) -> str:
        return f"StepBudget({self.current_steps}/{self.max_steps})"
