"""The records of a long-horizon task: sub-goals, phase results, the overall result,
plus the one error type and the helper that reads JSON out of a model's reply."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from teragent.errors import RunError

__all__ = ["SubGoal", "PhaseResult", "LongHorizonResult", "LongHorizonError",
           "SUB_GOAL_STATUSES", "extract_json", "known_fields"]

SUB_GOAL_STATUSES = ("pending", "in_progress", "completed", "failed")


def known_fields(cls: type, data: dict[str, Any]) -> dict[str, Any]:
    """The items of ``data`` that are fields of dataclass ``cls`` (a saved record read by
    a version with fewer fields still loads)."""
    known = {f.name for f in fields(cls)}
    return {k: v for k, v in data.items() if k in known}


class LongHorizonError(RunError):
    """A long-horizon task cannot go on (bad decomposition, unknown checkpoint...)."""


@dataclass
class SubGoal:
    """One node of the task's plan (a DAG by ``dependencies``).

    Attributes:
        id: Unique identifier.
        description: What to do.
        completion_criteria: How to tell it is done.
        estimated_steps: Estimated number of agent steps.
        dependencies: Ids of sub-goals that must complete first.
        status: ``pending`` | ``in_progress`` | ``completed`` | ``failed``.
    """

    id: str
    description: str
    completion_criteria: str = ""
    estimated_steps: int = 10
    dependencies: list[str] = field(default_factory=list)
    status: str = "pending"

    def __post_init__(self) -> None:
        if self.status not in SUB_GOAL_STATUSES:
            raise ValueError(f"SubGoal {self.id!r}: status {self.status!r} is not one of "
                             f"{', '.join(SUB_GOAL_STATUSES)}.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SubGoal":
        return cls(**known_fields(cls, data))


@dataclass
class PhaseResult:
    """What one phase (one sub-goal's agent run) produced."""

    sub_goal_id: str
    success: bool
    result_text: str = ""
    steps_taken: int = 0
    files_created: list[str] = field(default_factory=list)
    files_modified: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "PhaseResult":
        return cls(**known_fields(cls, data))


@dataclass
class LongHorizonResult:
    """The outcome of :meth:`LongHorizonTaskManager.execute_long_task`.

    ``status`` (beyond the documented attributes) is the task's
    ``long_horizon_status``: checkpoint info, sub-goal progress and strategy switches.
    """

    task_id: str
    goal: str
    success: bool
    total_steps: int = 0
    total_elapsed_minutes: float = 0.0
    completed_sub_goals: int = 0
    total_sub_goals: int = 0
    strategy_switches: int = 0
    phase_results: list[PhaseResult] = field(default_factory=list)
    final_summary: str = ""
    checkpoints_saved: int = 0
    status: dict[str, Any] = field(default_factory=dict)


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def extract_json(text: str | None) -> Any:
    """The JSON value in a model reply: the whole text, a fenced block, or the first
    ``{...}``/``[...]`` span. Raises ``ValueError`` when there is none."""
    text = (text or "").strip()
    if not text:
        raise ValueError("the reply is empty")
    candidates = [text] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    for open_, close in (("{", "}"), ("[", "]")):
        start, end = text.find(open_), text.rfind(close)
        if 0 <= start < end:
            candidates.append(text[start:end + 1])
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    raise ValueError(f"no JSON found in the reply (starts {text[:120]!r})")
