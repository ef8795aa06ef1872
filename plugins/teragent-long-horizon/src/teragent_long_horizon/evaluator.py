"""Periodic self-evaluation: the model scores the task's progress as JSON."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from teragent_long_horizon.models import PhaseResult, extract_json

__all__ = ["SelfEvaluator", "SelfEvaluationResult", "describe_results"]

#: overall_score = ALIGNMENT_WEIGHT * goal_alignment + (1 - ALIGNMENT_WEIGHT) * output_quality
ALIGNMENT_WEIGHT = 0.6
#: Below this overall score a switch of strategy is advised even if the model did not say so.
SWITCH_BELOW = 2.5

_PROMPT = """You are reviewing the progress of a long-running autonomous task.
Goal: {goal}
Progress: {progress}
Recent results:
{results}

Answer with one JSON object and nothing else:
{{"goal_alignment": <1-5>, "output_quality": <1-5>, "bottleneck_identified": "<text>",
"strategy_review": "<text>", "next_step_plan": "<text>", "should_switch_strategy": <true|false>}}"""


@dataclass
class SelfEvaluationResult:
    """The model's assessment.

    Attributes:
        goal_alignment: 1-5 (0 when the reply could not be read: see ``parsed``).
        output_quality: 1-5 (0 when unparsed).
        bottleneck_identified: The bottleneck the model names.
        strategy_review: How well the current strategy works.
        next_step_plan: Recommended next steps.
        overall_score: ``0.6 * goal_alignment + 0.4 * output_quality`` (0.0 when unparsed).
        should_switch_strategy: The model advises a switch, or the overall score is below
            2.5 (never set by an unparsed reply).
        raw_response: The model's reply as received.
        parsed: ``False`` when the reply held no usable JSON scores.
    """

    goal_alignment: int
    output_quality: int
    bottleneck_identified: str
    strategy_review: str
    next_step_plan: str
    overall_score: float
    should_switch_strategy: bool
    raw_response: str
    parsed: bool = True


def describe_results(results: Sequence[Any], limit: int = 5, width: int = 400) -> str:
    """Recent results as short lines for a prompt (PhaseResults, strings, anything)."""
    lines = []
    for item in list(results)[-limit:]:
        if isinstance(item, PhaseResult):
            state = "ok" if item.success else "failed"
            text = f"[{item.sub_goal_id} {state}, {item.steps_taken} steps] {item.result_text}"
            if item.errors:
                text += f" errors: {'; '.join(item.errors)}"
        else:
            text = str(item)
        lines.append("- " + " ".join(text.split())[:width])
    return "\n".join(lines) or "- (none yet)"


def _progress_text(report: Any) -> str:
    if report is None:
        return "(unknown)"
    keys = ("completed_sub_goals", "total_sub_goals", "current_phase", "steps_completed",
            "elapsed_minutes", "strategy_switches", "estimated_remaining_minutes")
    return json.dumps({k: getattr(report, k) for k in keys if hasattr(report, k)})


def _score(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = round(float(value))
    except ValueError:
        return None
    return min(5, max(1, number))


class SelfEvaluator:
    """Asks the model, every so often, how the task is going.

    Args:
        model_provider: A :class:`~teragent.ModelProvider`.
        evaluation_interval_steps: Evaluate after this many steps...
        evaluation_interval_minutes: ... or this many minutes, whichever comes first.
        clock: Monotonic seconds (tests pass a fake clock).
    """

    def __init__(self, model_provider: Any, evaluation_interval_steps: int = 10,
                 evaluation_interval_minutes: float = 30.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.model_provider = model_provider
        self.evaluation_interval_steps = evaluation_interval_steps
        self.evaluation_interval_minutes = evaluation_interval_minutes
        self._clock = clock
        self.last_evaluation_steps = 0
        self.last_evaluation_time = clock()
        self.history: list[SelfEvaluationResult] = []

    def should_evaluate(self, steps_since_last: int, minutes_since_last: float) -> bool:
        """True once either interval has passed."""
        return (steps_since_last >= self.evaluation_interval_steps
                or minutes_since_last >= self.evaluation_interval_minutes)

    def steps_since_last(self, current_steps: int) -> int:
        return current_steps - self.last_evaluation_steps

    def minutes_since_last(self) -> float:
        return (self._clock() - self.last_evaluation_time) / 60.0

    def is_due(self, current_steps: int) -> bool:
        """:meth:`should_evaluate` measured from the last :meth:`reset_evaluation_timer`."""
        return self.should_evaluate(self.steps_since_last(current_steps),
                                    self.minutes_since_last())

    def reset_evaluation_timer(self, current_steps: int = 0) -> None:
        """Start counting both intervals again from now and ``current_steps``."""
        self.last_evaluation_steps = current_steps
        self.last_evaluation_time = self._clock()

    async def evaluate(self, goal: str, progress_report: Any,
                       recent_results: Sequence[Any] = ()) -> SelfEvaluationResult:
        """Ask the model for scores. A reply without usable JSON gives a result with
        ``parsed=False``, zero scores and no advice to switch (it does not raise)."""
        prompt = _PROMPT.format(goal=goal, progress=_progress_text(progress_report),
                                results=describe_results(recent_results))
        response = await self.model_provider.complete(
            [{"role": "system", "content": "You evaluate progress and answer in JSON."},
             {"role": "user", "content": prompt}])
        raw = response.raw_text or ""
        result = self.parse(raw)
        self.history.append(result)
        return result

    @staticmethod
    def parse(raw: str) -> SelfEvaluationResult:
        """Read a reply; see :meth:`evaluate` for the fallback."""
        try:
            data = extract_json(raw)
            if not isinstance(data, dict):
                raise ValueError("the JSON is not an object")
            alignment, quality = _score(data, "goal_alignment"), _score(data, "output_quality")
            if alignment is None or quality is None:
                raise ValueError("goal_alignment and output_quality must be numbers 1-5")
        except ValueError as exc:
            return SelfEvaluationResult(
                goal_alignment=0, output_quality=0,
                bottleneck_identified=f"unparsed evaluation reply: {exc}",
                strategy_review="", next_step_plan="", overall_score=0.0,
                should_switch_strategy=False, raw_response=raw, parsed=False)
        overall = round(ALIGNMENT_WEIGHT * alignment + (1 - ALIGNMENT_WEIGHT) * quality, 2)
        advised = data.get("should_switch_strategy")
        switch = (advised is True or str(advised).lower() == "true") or overall < SWITCH_BELOW
        return SelfEvaluationResult(
            goal_alignment=alignment, output_quality=quality,
            bottleneck_identified=str(data.get("bottleneck_identified") or ""),
            strategy_review=str(data.get("strategy_review") or ""),
            next_step_plan=str(data.get("next_step_plan") or ""),
            overall_score=overall, should_switch_strategy=switch, raw_response=raw)
