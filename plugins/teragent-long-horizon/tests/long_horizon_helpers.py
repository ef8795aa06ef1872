"""Helpers shared by the long-horizon tests."""

from __future__ import annotations

import json
from typing import Any

from teragent_testing.clock import FakeClock

__all__ = ["plan", "evaluation", "FakeClock"]


def plan(*goals: tuple[str, list[str]]) -> str:
    """A decomposition reply: ``plan(("sg_1", []), ("sg_2", ["sg_1"]))``."""
    return json.dumps({"sub_goals": [
        {"id": gid, "description": f"do {gid}", "completion_criteria": f"{gid} done",
         "estimated_steps": 2, "dependencies": deps} for gid, deps in goals]})


def evaluation(alignment: Any = 4, quality: Any = 4, switch: bool = False) -> str:
    return json.dumps({"goal_alignment": alignment, "output_quality": quality,
                       "bottleneck_identified": "none", "strategy_review": "fine",
                       "next_step_plan": "go on", "should_switch_strategy": switch})
