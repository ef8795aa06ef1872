"""The task manager's state: its status (``TAPResponse.long_horizon_status``), its
checkpoints and recovery from them. A mixin of
:class:`~teragent_long_horizon.manager.LongHorizonTaskManager`, which holds the
attributes used here (tracker, switcher, sub-goals, phase results, checkpoint store).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Callable, Mapping

from teragent.errors import TerAgentError

from teragent_long_horizon.checkpoint import Checkpoint, CheckpointStore
from teragent_long_horizon.models import LongHorizonError, PhaseResult, SubGoal
from teragent_long_horizon.progress import ProgressTracker

if TYPE_CHECKING:
    from teragent.core.tap import LongHorizonConfig

    from teragent_long_horizon.evaluator import SelfEvaluator
    from teragent_long_horizon.strategy import StrategySwitcher

__all__ = ["TaskState"]

log = logging.getLogger("teragent_long_horizon.manager")


class TaskState:
    """Status, checkpoints and recovery of a long task (see the module docstring)."""

    goal: str
    task_id: str
    config: "LongHorizonConfig"
    checkpoint_store: CheckpointStore
    tracker: ProgressTracker
    evaluator: "SelfEvaluator"
    switcher: "StrategySwitcher"
    sub_goals: list[SubGoal]
    phase_results: list[PhaseResult]
    notifications: list[str]
    checkpoints_saved: int
    last_checkpoint_id: str | None
    last_checkpoint_at: str | None
    _clock: Callable[[], float]
    _last_checkpoint_at: float

    if TYPE_CHECKING:
        def set_sub_goals(self, goals: list[SubGoal]) -> None: ...

    @property
    def long_horizon_status(self) -> dict[str, Any]:
        """What ``TAPResponse.long_horizon_status`` carries on every model call of the
        task's phases (and ``LongHorizonResult.status``): checkpoint info, sub-goal
        progress, strategy switch notifications.

        Keys: ``task_id``, ``phase``, ``sub_goal`` (the one in progress: ``index``
        1-based, ``total``, ``id``, ``title``; ``None`` between phases),
        ``progress_percent`` (completed / planned sub-goals), ``sub_goals`` (``total``,
        ``completed``, ``current``, ``failed``), ``steps_completed``,
        ``elapsed_minutes``, ``estimated_remaining_minutes``, ``checkpoint``
        (``last_id``, ``last_at`` ISO time, ``saved`` count), ``strategy``
        (``current``, ``switches``, ``last_switch``: the newest switch record or
        ``None``), ``notifications`` (the last 10)."""
        report = self.tracker.get_report()
        history = self.switcher.get_switch_history()
        total = report.total_sub_goals
        current = None
        for index, goal in enumerate(self.sub_goals, 1):
            if goal.id == report.current_sub_goal:
                current = {"index": index, "total": total, "id": goal.id,
                           "title": goal.description}
                break
        return {
            "task_id": self.task_id, "phase": report.current_phase,
            "sub_goal": current,
            "progress_percent": round(100.0 * report.completed_sub_goals / total, 1)
            if total else 0.0,
            "sub_goals": {"total": total,
                          "completed": report.completed_sub_goals,
                          "current": report.current_sub_goal,
                          "failed": [g.id for g in self.sub_goals if g.status == "failed"]},
            "steps_completed": report.steps_completed,
            "elapsed_minutes": report.elapsed_minutes,
            "estimated_remaining_minutes": report.estimated_remaining_minutes,
            "checkpoint": {"last_id": self.last_checkpoint_id,
                           "last_at": self.last_checkpoint_at,
                           "saved": self.checkpoints_saved},
            "strategy": {"current": self.switcher.current_strategy, "switches": len(history),
                         "last_switch": history[-1].to_dict() if history else None},
            "notifications": list(self.notifications[-10:]),
        }

    async def save_checkpoint(self) -> str:
        """Save the current state; return the checkpoint id. Keeps the newest
        ``keep_checkpoints`` (default 5) of this task."""
        report = self.tracker.get_report()
        checkpoint = Checkpoint(
            checkpoint_id=self.checkpoint_store.generate_checkpoint_id(), task_id=self.task_id,
            timestamp=self.checkpoint_store.now_iso(), phase=report.current_phase,
            completed_sub_goals=[g.id for g in self.sub_goals if g.status == "completed"],
            current_sub_goal=report.current_sub_goal, steps_completed=report.steps_completed,
            elapsed_minutes=report.elapsed_minutes,
            strategy_switches=len(self.switcher.get_switch_history()),
            state_data={
                "goal": self.goal,
                "sub_goals": [g.to_dict() for g in self.sub_goals],
                "phase_results": [r.to_dict() for r in self.phase_results],
                "strategy": self.switcher.current_strategy,
                "switch_history": [r.to_dict() for r in self.switcher.get_switch_history()],
                "notifications": self.notifications[-50:],
            })
        self._last_checkpoint_at = self._clock()
        checkpoint_id = await self.checkpoint_store.save(checkpoint)
        self.checkpoints_saved += 1
        self.last_checkpoint_id = checkpoint_id
        self.last_checkpoint_at = checkpoint.timestamp
        keep = int(getattr(self.config, "keep_checkpoints", 5) or 5)
        await self.checkpoint_store.cleanup(self.task_id, keep_last=keep)
        return checkpoint_id

    async def recover_from_checkpoint(self, checkpoint_id: str | None = None) -> bool:
        """Resume from checkpoint ``checkpoint_id`` (default: the newest) of this task:
        completed sub-goals are not run again. ``False`` when there is none."""
        if checkpoint_id is None:
            checkpoint = await self.checkpoint_store.load_latest(self.task_id)
        else:
            checkpoint = await self.checkpoint_store.load(self.task_id, checkpoint_id)
        if checkpoint is None:
            return False
        return self.restore_from_checkpoint(checkpoint)

    def restore_from_checkpoint(self, data: Checkpoint | Mapping[str, Any]) -> bool:
        """Load a checkpoint's state (what :class:`LongHorizonRecoveryManager` calls)."""
        checkpoint = data if isinstance(data, Checkpoint) else Checkpoint.from_dict(dict(data))
        if checkpoint.task_id != self.task_id:
            raise LongHorizonError(f"checkpoint {checkpoint.checkpoint_id} belongs to task "
                                   f"{checkpoint.task_id!r}, not {self.task_id!r}; create the "
                                   f"manager with task_id={checkpoint.task_id!r}.")
        state = checkpoint.state_data
        if state.get("goal") not in (None, self.goal):
            raise LongHorizonError(f"checkpoint {checkpoint.checkpoint_id} is for the goal "
                                   f"{state.get('goal')!r}, not {self.goal!r}; create the "
                                   "manager with that goal.")
        goals = [SubGoal.from_dict(g) for g in state.get("sub_goals", [])]
        done = set(checkpoint.completed_sub_goals)
        for g in goals:
            g.status = "completed" if g.id in done else (
                "pending" if g.status == "in_progress" else g.status)
            if g.status == "failed":  # a resumed task gets another try
                g.status = "pending"
        self.tracker = ProgressTracker(self.task_id, self.goal, clock=self._clock)
        self.tracker.previous_minutes = float(checkpoint.elapsed_minutes)
        self.tracker.steps_completed = int(checkpoint.steps_completed)
        self.set_sub_goals(goals)
        self.phase_results = [PhaseResult.from_dict(r) for r in state.get("phase_results", [])]
        self.switcher.restore(state.get("strategy") or self.switcher.current_strategy,
                              state.get("switch_history", []))
        self.tracker.strategy_switches = len(self.switcher.get_switch_history())
        self.notifications = list(state.get("notifications", []))
        self.notifications.append(f"resumed from checkpoint {checkpoint.checkpoint_id}")
        self.evaluator.reset_evaluation_timer(self.tracker.steps_completed)
        self.last_checkpoint_id = checkpoint.checkpoint_id
        self.last_checkpoint_at = checkpoint.timestamp
        return True

    async def _periodic_checkpoints(self) -> None:
        interval = self.config.checkpoint_interval_minutes * 60
        if interval <= 0:
            return
        while True:
            wait = interval - (self._clock() - self._last_checkpoint_at)
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            try:
                await self.save_checkpoint()
            except (OSError, TerAgentError) as exc:  # next try at the next interval
                log.warning("task %s: periodic checkpoint failed: %s", self.task_id, exc)
                self._last_checkpoint_at = self._clock()
