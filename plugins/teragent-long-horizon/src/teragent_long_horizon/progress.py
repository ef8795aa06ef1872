"""Progress of a long-horizon task and an estimate of the time left from the pace so far."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["ProgressTracker", "ProgressReport"]

PHASES = ("planning", "executing", "evaluating", "stagnant", "stopped", "finished")


@dataclass
class ProgressReport:
    """A snapshot of a task's progress.

    Attributes:
        task_id: Task identifier.
        goal: The original goal.
        total_sub_goals: Sub-goals planned (0 before planning).
        completed_sub_goals: Sub-goals completed.
        current_phase: ``planning`` | ``executing`` | ``evaluating`` | ``stagnant``
            (also ``stopped``/``finished``).
        steps_completed: Steps taken.
        elapsed_minutes: Working time (including earlier runs of a resumed task).
        strategy_switches: Strategy switches so far.
        estimated_remaining_minutes: Time left at the pace so far: minutes per completed
            sub-goal times the sub-goals left; before any completes, minutes per step times
            the estimated steps left; ``0.0`` when nothing is known yet or all is done.
        current_sub_goal: The sub-goal in progress, if any.
        recent_steps: The last few step descriptions.
    """

    task_id: str
    goal: str
    total_sub_goals: int = 0
    completed_sub_goals: int = 0
    current_phase: str = "planning"
    steps_completed: int = 0
    elapsed_minutes: float = 0.0
    strategy_switches: int = 0
    estimated_remaining_minutes: float = 0.0
    current_sub_goal: str | None = None
    recent_steps: list[str] = field(default_factory=list)


class ProgressTracker:
    """Counts sub-goals, steps and switches of one task.

    Args:
        task_id: Task identifier.
        goal: The goal.
        clock: Monotonic seconds (tests pass a fake clock).
    """

    RECENT = 10

    def __init__(self, task_id: str, goal: str, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.task_id, self.goal = task_id, goal
        self._clock = clock
        self._started = clock()
        self.previous_minutes = 0.0  # elapsed before this run (a resumed task)
        self.phase = "planning"
        self.planned: dict[str, int] = {}  # sub-goal id -> estimated steps
        self.descriptions: dict[str, str] = {}
        self.completed: dict[str, str] = {}  # id -> summary
        self.failed: dict[str, str] = {}
        self.current_sub_goal: str | None = None
        self.steps_completed = 0
        self.steps_in_current = 0
        self.strategy_switches = 0
        self.recent_steps: list[str] = []

    # -- recording ---------------------------------------------------------------

    def set_plan(self, estimated_steps: dict[str, int]) -> None:
        """Declare the planned sub-goals (id -> estimated steps)."""
        self.planned = {k: max(1, int(v)) for k, v in estimated_steps.items()}

    def set_phase(self, phase: str) -> None:
        if phase not in PHASES:
            raise ValueError(f"phase {phase!r} is not one of {', '.join(PHASES)}")
        self.phase = phase

    def start_sub_goal(self, sub_goal_id: str, description: str = "") -> None:
        """Mark ``sub_goal_id`` as the one in progress."""
        self.current_sub_goal = sub_goal_id
        self.descriptions[sub_goal_id] = description
        self.planned.setdefault(sub_goal_id, 1)
        self.steps_in_current = 0
        self.phase = "executing"

    def record_step(self, description: str, steps: int = 1) -> None:
        """Count ``steps`` step(s) (default one) described by ``description``."""
        self.steps_completed += steps
        self.steps_in_current += steps
        self.recent_steps = (self.recent_steps + [description])[-self.RECENT:]

    def complete_sub_goal(self, sub_goal_id: str, summary: str = "") -> None:
        """Mark ``sub_goal_id`` completed with a short summary."""
        self.completed[sub_goal_id] = summary
        self.failed.pop(sub_goal_id, None)
        self.planned.setdefault(sub_goal_id, 1)
        if self.current_sub_goal == sub_goal_id:
            self.current_sub_goal = None

    def fail_sub_goal(self, sub_goal_id: str, reason: str = "") -> None:
        self.failed[sub_goal_id] = reason
        if self.current_sub_goal == sub_goal_id:
            self.current_sub_goal = None

    def record_strategy_switch(self) -> None:
        self.strategy_switches += 1

    # -- reading -----------------------------------------------------------------

    def elapsed_minutes(self) -> float:
        return self.previous_minutes + (self._clock() - self._started) / 60.0

    def _remaining(self, elapsed: float) -> float:
        total = len(self.planned)
        done = len(self.completed)
        if total and done >= total:
            return 0.0
        if done:
            return elapsed / done * (total - done)
        if self.steps_completed and self.planned:
            left = sum(s for k, s in self.planned.items() if k not in self.completed)
            return elapsed / self.steps_completed * max(0, left - self.steps_in_current)
        return 0.0

    def get_report(self) -> ProgressReport:
        elapsed = self.elapsed_minutes()
        return ProgressReport(
            task_id=self.task_id, goal=self.goal, total_sub_goals=len(self.planned),
            completed_sub_goals=len(self.completed), current_phase=self.phase,
            steps_completed=self.steps_completed, elapsed_minutes=round(elapsed, 4),
            strategy_switches=self.strategy_switches,
            estimated_remaining_minutes=round(self._remaining(elapsed), 4),
            current_sub_goal=self.current_sub_goal, recent_steps=list(self.recent_steps))
