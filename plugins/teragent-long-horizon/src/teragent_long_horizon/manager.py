"""``LongHorizonTaskManager``: plan a goal into sub-goals, run each as an agent built by
the kernel's composition root, checkpoint, evaluate, switch strategy, resume.

One agent, one path: a phase is ``teragent.compose.build_agent(agent_config,
workspace=..., provider=model_provider, **agent_options)`` (or the caller's
``agent_factory``), so the guard chain, breakers, recovery, traces and audit log of a
normal agent apply to every tool call of a long task.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from pathlib import Path
from typing import Any, Callable, Mapping

from teragent.core.tap import LongHorizonConfig
from teragent.errors import TerAgentError

from teragent_long_horizon.checkpoint import CheckpointStore
from teragent_long_horizon.evaluator import SelfEvaluationResult, SelfEvaluator
from teragent_long_horizon.models import LongHorizonError, LongHorizonResult, PhaseResult, SubGoal
from teragent_long_horizon.plan import dependency_order, parse_sub_goals
from teragent_long_horizon.progress import ProgressTracker
from teragent_long_horizon.state import TaskState
from teragent_long_horizon.status import running_task
from teragent_long_horizon.strategy import StrategySwitcher

__all__ = ["LongHorizonTaskManager"]


_DECOMPOSE = """Break this goal into sub-goals that an autonomous coding agent can do one
at a time. Goal: {goal}

Answer with one JSON object and nothing else:
{{"sub_goals": [{{"id": "sg_1", "description": "...", "completion_criteria": "...",
"estimated_steps": 5, "dependencies": []}}]}}
"dependencies" lists ids of sub-goals that must be finished first (no cycles)."""

_PHASE = """You are doing one phase of a long task.
Overall goal: {goal}
Strategy: {strategy}
This phase ({id}): {description}
Done when: {criteria}
Finished earlier:
{done}
Do this phase now with your tools, then reply with a short summary of what you did."""

_SKIP_DIRS = {"__pycache__", "node_modules"}
_SNAPSHOT_LIMIT = 20000


def _snapshot(root: Path) -> dict[str, tuple[int, int]] | None:
    """relative path -> (mtime_ns, size) of the workspace's files (hidden and cache
    directories left out); ``None`` past ``_SNAPSHOT_LIMIT`` files."""
    out: dict[str, tuple[int, int]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.stat(path)
            except OSError:
                continue
            out[os.path.relpath(path, root)] = (st.st_mtime_ns, st.st_size)
            if len(out) > _SNAPSHOT_LIMIT:
                return None
    return out


class LongHorizonTaskManager(TaskState):
    """Runs one long task to its end (or its time limit), resumably.

    Args:
        goal: What to achieve.
        model_provider: The :class:`~teragent.ModelProvider` for planning, evaluation,
            strategy switches and every phase's agent.
        config: :class:`~teragent.core.tap.LongHorizonConfig` (``max_duration_hours``,
            ``checkpoint_interval_minutes``, ``evaluation_interval_steps``,
            ``evaluation_interval_minutes``, ``max_strategy_switches``; extra
            ``keep_checkpoints``, default 5). Default: the ``[long_horizon]`` table of
            ``agent_config`` (:class:`~teragent_long_horizon.config.LongHorizonSettings`;
            ``LongHorizonConfig()`` defaults when it is absent).
        task_id: Stable id (checkpoints are filed under it); a new one by default.
        checkpoint_store: Default ``CheckpointStore(<workspace>/<checkpoint_dir>)``
            (``[long_horizon] checkpoint_dir``, default ``.teragent/checkpoints``).
        workspace: The agents' directory (default: the current one).
        agent_config: ``agent.toml`` for the phase agents (path, dict, or ``None`` to
            load it as the CLI does).
        agent_options: More :func:`teragent.compose.build_agent` arguments (``tools=``,
            ``allow_writes=``, ``max_steps=``, ``guards=``...).
        agent_factory: ``agent_factory(sub_goal) -> agent`` replacing ``build_agent``
            (the agent needs ``async run(task)``; build it with ``build_agent`` to keep
            the guarantees).
        max_phase_attempts: Tries per sub-goal; a retry happens only after a strategy
            switch. Default: ``[long_horizon] max_phase_attempts``, else 2.
        clock: Monotonic seconds (tests pass a fake clock).
    """

    def __init__(self, goal: str, model_provider: Any, config: LongHorizonConfig | None = None,
                 *, task_id: str | None = None, checkpoint_store: CheckpointStore | None = None,
                 workspace: str | os.PathLike[str] | None = None, agent_config: Any = None,
                 agent_options: Mapping[str, Any] | None = None,
                 agent_factory: Callable[[SubGoal], Any] | None = None,
                 evaluator: SelfEvaluator | None = None,
                 switcher: StrategySwitcher | None = None,
                 max_phase_attempts: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not isinstance(goal, str) or not goal.strip():
            raise LongHorizonError("The goal is empty; pass what the task should achieve, "
                                   "e.g. LongHorizonTaskManager(goal=\"Implement ...\", ...).")
        self.goal = goal
        self.model_provider = model_provider
        checkpoint_dir = ".teragent/checkpoints"
        if config is None:
            # Built from config: agent.toml (loaded once, here, and handed to every
            # phase agent) says how long, how often, how many.
            if agent_config is None or isinstance(agent_config, (str, os.PathLike)):
                from teragent.config.loader import load_full_config

                agent_config = load_full_config(
                    None if agent_config is None else Path(agent_config))
            config = LongHorizonConfig()
            if isinstance(agent_config, Mapping) and agent_config.get("long_horizon"):
                from teragent_long_horizon.config import long_horizon_settings

                settings = long_horizon_settings(agent_config)
                config = settings.tap_config()
                checkpoint_dir = settings.checkpoint_dir
        self.config = config
        if max_phase_attempts is None:
            max_phase_attempts = int(getattr(config, "max_phase_attempts", 2) or 2)
        self.task_id = task_id or f"task_{secrets.token_hex(6)}"
        self.workspace = Path(workspace or os.getcwd()).resolve()
        self.checkpoint_store = checkpoint_store or CheckpointStore(
            self.workspace / os.path.expanduser(checkpoint_dir))
        self.checkpoint_store.task_dir(self.task_id)  # refuses an unsafe task id now
        self.agent_config = agent_config
        self.agent_options = dict(agent_options or {})
        self.agent_factory = agent_factory
        self.max_phase_attempts = max(1, max_phase_attempts)
        self._clock = clock
        self.tracker = ProgressTracker(self.task_id, goal, clock=clock)
        self.evaluator = evaluator or SelfEvaluator(
            model_provider, self.config.evaluation_interval_steps,
            self.config.evaluation_interval_minutes, clock=clock)
        self.switcher = switcher or StrategySwitcher(model_provider)
        self.sub_goals: list[SubGoal] = []
        self.phase_results: list[PhaseResult] = []
        self.checkpoints_saved = 0
        self.last_checkpoint_id: str | None = None
        self.last_checkpoint_at: str | None = None  # its ISO time
        self._last_checkpoint_at = clock()
        self._stalled: list[PhaseResult] = []  # failed attempts since the last completion
        self._marks: list[int] = []  # completed count after each such attempt
        self._since_switch: list[PhaseResult] = []
        self.notifications: list[str] = []

    # -- planning ----------------------------------------------------------------

    async def decompose_goal(self) -> list[SubGoal]:
        """Ask the model for sub-goals (JSON, a DAG by ``dependencies``), in dependency
        order. An unusable reply is answered once with what is wrong; a second one raises
        :class:`LongHorizonError` naming the problem."""
        self.tracker.set_phase("planning")
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": "You plan work and answer in JSON."},
            {"role": "user", "content": _DECOMPOSE.format(goal=self.goal)}]
        problem = ""
        for _ in range(2):
            response = await self.model_provider.complete(messages)
            raw = response.raw_text or ""
            try:
                goals = parse_sub_goals(raw)
                break
            except ValueError as exc:
                problem = f"{exc} (reply starts {raw[:120]!r})"
                messages += [{"role": "assistant", "content": raw},
                             {"role": "user", "content": f"That plan is not usable: {exc}. "
                              "Answer again with the JSON object only."}]
        else:
            raise LongHorizonError(f"task {self.task_id}: the model gave no usable plan for "
                                   f"{self.goal!r}: {problem}. Check the model (it must answer "
                                   "JSON) or set manager.sub_goals yourself.",
                                   state={"task_id": self.task_id})
        self.set_sub_goals(goals)
        return list(self.sub_goals)

    def set_sub_goals(self, goals: list[SubGoal]) -> None:
        """Use ``goals`` as the plan (ordered by dependencies; raises on a cycle)."""
        try:
            self.sub_goals = dependency_order(list(goals))
        except ValueError as exc:
            raise LongHorizonError(f"task {self.task_id}: {exc}; fix the plan.") from None
        self.tracker.set_plan({g.id: g.estimated_steps for g in self.sub_goals})
        for g in self.sub_goals:
            if g.status == "completed":
                self.tracker.complete_sub_goal(g.id)

    # -- one phase -------------------------------------------------------------------

    def _make_agent(self, sub_goal: SubGoal) -> Any:
        if self.agent_factory is not None:
            return self.agent_factory(sub_goal)
        from teragent.compose import build_agent

        return build_agent(self.agent_config, workspace=self.workspace,
                           provider=self.model_provider, **self.agent_options)

    def _phase_prompt(self, sub_goal: SubGoal) -> str:
        done = [f"- {r.sub_goal_id}: {' '.join(r.result_text.split())[:300]}"
                for r in self.phase_results if r.success]
        return _PHASE.format(goal=self.goal, strategy=self.switcher.current_strategy,
                             id=sub_goal.id, description=sub_goal.description,
                             criteria=sub_goal.completion_criteria or "(not stated)",
                             done="\n".join(done) or "- (nothing yet)")

    def _seconds_left(self) -> float:
        return self.config.max_duration_hours * 3600 - self.tracker.elapsed_minutes() * 60

    async def _run_with_deadline(self, agent: Any, prompt: str) -> Any:
        # Not asyncio.wait_for: on 3.10/3.11 it can swallow a cancellation that arrives
        # as the run finishes, and a stopped task must stop.
        left = self._seconds_left()
        if left <= 0:
            raise asyncio.TimeoutError
        inner = asyncio.ensure_future(agent.run(prompt))
        try:
            done, _ = await asyncio.wait({inner}, timeout=left)
        except asyncio.CancelledError:
            inner.cancel()
            await asyncio.gather(inner, return_exceptions=True)
            raise
        if not done:
            inner.cancel()
            await asyncio.gather(inner, return_exceptions=True)
            raise asyncio.TimeoutError
        return inner.result()

    async def execute_phase(self, sub_goal: SubGoal) -> PhaseResult:
        """Run ``sub_goal`` as one agent run; never raises for a failed run (the
        :class:`PhaseResult` says what went wrong)."""
        sub_goal.status = "in_progress"
        self.tracker.start_sub_goal(sub_goal.id, sub_goal.description)
        before = await asyncio.to_thread(_snapshot, self.workspace)
        errors: list[str] = []
        run: Any = None
        agent = self._make_agent(sub_goal)
        try:
            run = await self._run_with_deadline(agent, self._phase_prompt(sub_goal))
        except asyncio.TimeoutError:
            errors.append(f"max_duration_hours ({self.config.max_duration_hours}) reached "
                          "during the phase")
        except TerAgentError as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            close = getattr(agent, "close", None)  # not aclose: the provider is shared
            if close is not None:
                await close()
        after = await asyncio.to_thread(_snapshot, self.workspace)
        steps = int(getattr(run, "steps", 0) or 0)
        for outcome in getattr(run, "tool_outcomes", []) or []:
            if getattr(outcome, "denied", False):
                errors.append(f"tool {outcome.call.name} refused: "
                              f"{outcome.result.to_text()[:300]}")
        stop = getattr(run, "stop_reason", "") if run is not None else ""
        if run is not None and stop != "completed":
            errors.append(f"agent stopped: {stop or 'unknown reason'}")
        created, modified = [], []
        if before is not None and after is not None:
            created = sorted(set(after) - set(before))
            modified = sorted(p for p in set(after) & set(before) if after[p] != before[p])
        result = PhaseResult(sub_goal_id=sub_goal.id, success=run is not None and stop == "completed",
                             result_text=str(getattr(run, "final_text", "") or ""),
                             steps_taken=steps, files_created=created, files_modified=modified,
                             errors=errors)
        names = [o.call.name for o in getattr(run, "tool_outcomes", []) or []]
        self.tracker.record_step(f"{sub_goal.id}: {', '.join(names) or 'no tools'}",
                                 steps=steps)
        return result

    # -- the whole task ---------------------------------------------------------------

    async def execute_long_task(self) -> LongHorizonResult:
        """Plan (unless resumed), run every sub-goal in dependency order, checkpoint after
        each phase and every ``checkpoint_interval_minutes``, evaluate every
        ``evaluation_interval_steps`` steps, switch strategy on stagnation (at most
        ``max_strategy_switches``), stop at ``max_duration_hours``."""
        with running_task(self):  # the phases' model calls carry long_horizon_status
            return await self._execute_long_task()

    async def _execute_long_task(self) -> LongHorizonResult:
        stopped = ""
        timer = asyncio.create_task(self._periodic_checkpoints())
        try:
            if not self.sub_goals:
                await self.decompose_goal()
                await self.save_checkpoint()
            by_id = {g.id: g for g in self.sub_goals}
            for sub_goal in self.sub_goals:
                if sub_goal.status == "completed":
                    continue
                if self._seconds_left() <= 0:
                    stopped = f"max_duration_hours ({self.config.max_duration_hours}) reached"
                    break
                blocked = [d for d in sub_goal.dependencies if by_id[d].status != "completed"]
                if blocked:
                    sub_goal.status = "failed"
                    self.tracker.fail_sub_goal(sub_goal.id, "dependencies failed")
                    self.phase_results.append(PhaseResult(
                        sub_goal.id, False, errors=[f"not run: dependencies {blocked} did not "
                                                    "complete"]))
                    continue
                await self._run_sub_goal(sub_goal)
                await self.save_checkpoint()
                await self._maybe_evaluate()
            self.tracker.set_phase("stopped" if stopped else "finished")
            await self.save_checkpoint()
        except asyncio.CancelledError:
            # Stopped from outside: keep what is done (the phase in progress is redone).
            self.tracker.set_phase("stopped")
            await asyncio.shield(self.save_checkpoint())
            raise
        finally:
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)  # no save left half-way
        return self._result(stopped)

    async def _run_sub_goal(self, sub_goal: SubGoal) -> None:
        attempts = 0
        while True:
            attempts += 1
            result = await self.execute_phase(sub_goal)
            self.phase_results.append(result)
            if self.switcher.get_switch_history():
                self._since_switch.append(result)
                self.switcher.assess_switch_effectiveness(-1, self._since_switch)
            if result.success:
                sub_goal.status = "completed"
                self.tracker.complete_sub_goal(sub_goal.id, result.result_text[:300])
                self._stalled, self._marks = [], []
                return
            self._stalled.append(result)
            self._marks.append(sum(g.status == "completed" for g in self.sub_goals))
            stuck, reason = self.switcher.detect_stagnation(self._stalled, self._marks)
            if stuck:
                self.tracker.set_phase("stagnant")
            reason = reason or (f"phase {sub_goal.id} failed: "
                                f"{'; '.join(result.errors)[:300] or result.result_text[:300]}")
            if attempts < self.max_phase_attempts and await self._switch(reason):
                continue
            sub_goal.status = "failed"
            self.tracker.fail_sub_goal(sub_goal.id, reason)
            return

    async def _switch(self, reason: str) -> bool:
        if len(self.switcher.get_switch_history()) >= self.config.max_strategy_switches:
            self.notifications.append(f"no strategy switch ({reason}): the limit of "
                                      f"{self.config.max_strategy_switches} is reached")
            return False
        new, _ = await self.switcher.switch_strategy(self.switcher.current_strategy, reason,
                                                     self.goal, self.tracker.get_report())
        self.tracker.record_strategy_switch()
        self._since_switch = []
        self.notifications.append(f"strategy switched ({reason}) to: {new}")
        return True

    async def _maybe_evaluate(self) -> None:
        if self._seconds_left() <= 0 or not self.evaluator.is_due(self.tracker.steps_completed):
            return  # out of time: no evaluation would change what happens next
        try:
            evaluation = await self.evaluate_progress()
        except TerAgentError as exc:  # an evaluation that fails must not end the task
            self.notifications.append(f"self-evaluation failed: {exc}")
            return
        if evaluation.should_switch_strategy:
            await self._switch(f"self-evaluation (score {evaluation.overall_score}): "
                               f"{evaluation.bottleneck_identified or evaluation.strategy_review}")

    async def evaluate_progress(self) -> SelfEvaluationResult:
        """Ask the model to score progress; resets the evaluation timer."""
        phase = self.tracker.phase
        self.tracker.set_phase("evaluating")
        try:
            result = await self.evaluator.evaluate(self.goal, self.tracker.get_report(),
                                                   self.phase_results[-5:])
        finally:
            self.tracker.set_phase(phase)
        self.evaluator.reset_evaluation_timer(self.tracker.steps_completed)
        return result

    @property
    def evaluations(self) -> list[SelfEvaluationResult]:
        """Every self-evaluation of this task so far, oldest first (the evaluator's
        history)."""
        return self.evaluator.history

    def _result(self, stopped: str) -> LongHorizonResult:
        done = [g for g in self.sub_goals if g.status == "completed"]
        failed = [g.id for g in self.sub_goals if g.status == "failed"]
        total = len(self.sub_goals)
        if len(done) == total and total:
            summary = f"All {total} sub-goals completed"
        else:
            summary = f"{len(done)} of {total} sub-goals completed"
            if failed:
                summary += f"; failed: {', '.join(failed)}"
            if stopped:
                summary += f"; stopped: {stopped}"
        return LongHorizonResult(
            task_id=self.task_id, goal=self.goal, success=bool(total) and len(done) == total,
            total_steps=self.tracker.steps_completed,
            total_elapsed_minutes=round(self.tracker.elapsed_minutes(), 4),
            completed_sub_goals=len(done), total_sub_goals=total,
            strategy_switches=len(self.switcher.get_switch_history()),
            phase_results=list(self.phase_results), final_summary=summary,
            checkpoints_saved=self.checkpoints_saved, status=self.long_horizon_status)
