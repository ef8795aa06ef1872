"""ProgressTracker, SelfEvaluator, StrategySwitcher and the plan parser on their own."""

from __future__ import annotations

import asyncio
import json

import pytest

from teragent.long_horizon import PhaseResult, SelfEvaluator, StrategySwitcher, SubGoal
from teragent.long_horizon.progress import ProgressTracker
from teragent.testing import ScriptedModel, reply
from teragent_long_horizon.plan import dependency_order

from long_horizon_helpers import FakeClock, evaluation


def test_remaining_time_follows_the_pace() -> None:
    clock = FakeClock()
    tracker = ProgressTracker("t", "g", clock=clock)
    tracker.set_plan({"a": 4, "b": 4, "c": 2})
    tracker.start_sub_goal("a")
    tracker.record_step("s1", steps=2)
    clock.advance(4 * 60)
    # no sub-goal done yet: 2 min per step, 10 - 2 steps left
    assert tracker.get_report().estimated_remaining_minutes == 16.0
    tracker.record_step("s2", steps=2)
    tracker.complete_sub_goal("a", "ok")
    clock.advance(4 * 60)
    report = tracker.get_report()  # 8 min per sub-goal, 2 left
    assert (report.completed_sub_goals, report.elapsed_minutes) == (1, 8.0)
    assert report.estimated_remaining_minutes == 16.0
    tracker.previous_minutes = 10.0  # a resumed task counts its earlier time
    assert tracker.get_report().elapsed_minutes == 18.0
    with pytest.raises(ValueError, match="not one of"):
        tracker.set_phase("dreaming")


def test_evaluator_intervals_and_timer() -> None:
    clock = FakeClock()
    evaluator = SelfEvaluator(None, evaluation_interval_steps=10,
                              evaluation_interval_minutes=30.0, clock=clock)
    assert not evaluator.should_evaluate(steps_since_last=9, minutes_since_last=29.9)
    assert evaluator.should_evaluate(10, 0) and evaluator.should_evaluate(0, 30.0)
    evaluator.reset_evaluation_timer(current_steps=25)
    assert not evaluator.is_due(34) and evaluator.is_due(35)
    clock.advance(1800)
    assert evaluator.is_due(25)


@pytest.mark.parametrize("raw,parsed,score,switch", [
    (evaluation(5, 5), True, 5.0, False),
    ("Here you go:\n```json\n" + evaluation(4, 2) + "\n```", True, 3.2, False),
    (evaluation(2, 2), True, 2.0, True),  # below 2.5: advise a switch
    (evaluation(9, "3"), True, 4.2, False),  # clamped to 5, "3" read as 3
    (evaluation("high", 3), False, 0.0, False),
    ("Going well, keep it up.", False, 0.0, False),
    ("", False, 0.0, False),
    ("[1, 2]", False, 0.0, False),
])
def test_evaluation_replies(raw: str, parsed: bool, score: float, switch: bool) -> None:
    model = ScriptedModel([reply(raw)])
    result = asyncio.run(SelfEvaluator(model).evaluate("g", None, []))
    model.assert_consumed()
    assert (result.parsed, result.overall_score, result.should_switch_strategy) == \
        (parsed, score, switch)
    assert result.raw_response == raw
    if not parsed:
        assert result.goal_alignment == result.output_quality == 0
        assert result.bottleneck_identified.startswith("unparsed evaluation reply")


def test_stagnation_detection_is_deterministic() -> None:
    switcher = StrategySwitcher(None, stagnation_threshold=3, no_progress_threshold=4,
                                similarity_threshold=0.8)
    same = ["ImportError: no module named foo (attempt 1)",
            "ImportError: no module named foo (attempt 2)",
            "ImportError: no module named foo (attempt 3)"]
    stuck, reason = switcher.detect_stagnation(same, [])
    assert stuck and "near-identical" in reason
    assert switcher.detect_stagnation(same[:2], []) == (False, "")
    varied = ["wrote the schema", "added login tests", "refactored session storage"]
    assert switcher.detect_stagnation(varied, [1, 2, 3]) == (False, "")
    stuck, reason = switcher.detect_stagnation(varied, [3, 3, 3, 3, 3])
    assert stuck and reason == "no progress in the last 4 steps"
    assert switcher.detect_stagnation(varied, [False, False, False, True])[0] is False
    assert switcher.detect_stagnation(varied, [False] * 4)[0] is True
    failed = [PhaseResult("a", False, "", errors=["boom: disk full"])] * 3
    assert switcher.detect_stagnation(failed, [])[0] is True


def test_switch_falls_back_to_an_untried_builtin_on_bad_output() -> None:
    model = ScriptedModel([reply("no idea"), reply(json.dumps({"risk_assessment": "x"}))])
    switcher = StrategySwitcher(model)
    first, record = asyncio.run(switcher.switch_strategy(switcher.current_strategy, "stuck",
                                                         "g", None))
    second, _ = asyncio.run(switcher.switch_strategy(first, "still stuck", "g", None))
    model.assert_consumed()
    assert first.startswith("decompose_further:") and second.startswith("alternative_approach:")
    assert "unusable" in record.risk_assessment
    assert switcher.assess_switch_effectiveness(0, [PhaseResult("a", False)]) == "ineffective"
    assert switcher.assess_switch_effectiveness(1, [PhaseResult("a", True),
                                                    PhaseResult("b", False)]) == "effective"
    assert switcher.assess_switch_effectiveness(1, []) == "unknown"
    with pytest.raises(IndexError, match="2 recorded"):
        switcher.assess_switch_effectiveness(5, [])


def test_dependency_order_is_stable_and_refuses_self_loops() -> None:
    goals = [SubGoal("c", "c", dependencies=["a"]), SubGoal("a", "a"), SubGoal("b", "b")]
    assert [g.id for g in dependency_order(goals)] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="itself"):
        dependency_order([SubGoal("a", "a", dependencies=["a"])])
    with pytest.raises(ValueError, match="status"):
        SubGoal("a", "a", status="done")
