"""Every example of the API reference (001) for ``teragent.long_horizon``, as written."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from teragent.testing import ScriptedModel, reply

from long_horizon_helpers import evaluation, plan


def test_sub_goal_phase_result_and_result_examples() -> None:
    from teragent.long_horizon import LongHorizonResult, PhaseResult, SubGoal

    goal = SubGoal(
        id="sg_1",
        description="Design database schema",
        completion_criteria="All tables defined with proper constraints",
        estimated_steps=10,
        dependencies=["sg_0"],  # Depends on sg_0
        status="pending",  # pending | in_progress | completed | failed
    )
    assert (goal.id, goal.dependencies, goal.status, goal.estimated_steps) == \
        ("sg_1", ["sg_0"], "pending", 10)
    result = PhaseResult(
        sub_goal_id="sg_1",
        success=True,
        result_text="Database schema designed with 5 tables...",
        steps_taken=8,
        files_created=["src/models/user.py", "src/models/role.py"],
        files_modified=["src/db/init.py"],
        errors=[],
    )
    assert result.success and result.steps_taken == 8 and result.files_modified == \
        ["src/db/init.py"]
    final = LongHorizonResult(
        task_id="task_001",
        goal="Implement user management system",
        success=True,
        total_steps=120,
        total_elapsed_minutes=95.5,
        completed_sub_goals=5,
        total_sub_goals=5,
        strategy_switches=1,
        phase_results=[result],
        final_summary="All sub-goals completed successfully",
        checkpoints_saved=6,
    )
    assert final.checkpoints_saved == 6 and final.phase_results[0] is result


def test_task_manager_example(isolated, monkeypatch) -> None:
    from teragent.core.tap import LongHorizonConfig
    from teragent.long_horizon import LongHorizonResult, LongHorizonTaskManager

    monkeypatch.chdir(isolated)
    glm_provider = ScriptedModel([reply(plan(("sg_1", []))), reply("sg_1 finished")])

    async def main() -> LongHorizonResult:
        manager = LongHorizonTaskManager(
            goal="Implement a complete user management system",
            model_provider=glm_provider,
            config=LongHorizonConfig(max_duration_hours=4),
        )
        result = await manager.execute_long_task()
        return result

    result = asyncio.run(main())
    glm_provider.assert_consumed()
    assert result.success and result.completed_sub_goals == result.total_sub_goals == 1
    assert result.checkpoints_saved >= 2
    assert (isolated / ".teragent" / "checkpoints" / result.task_id).is_dir()


def test_checkpoint_store_example(isolated) -> None:
    from teragent.long_horizon.checkpoint import Checkpoint, CheckpointStore

    async def main() -> tuple[Any, ...]:
        store = CheckpointStore(base_dir=".teragent/checkpoints")
        # Save checkpoint
        checkpoint = Checkpoint(
            checkpoint_id=store.generate_checkpoint_id(),
            task_id="task_001",
            timestamp=store.now_iso(),
            phase="executing",
            completed_sub_goals=["sg_0", "sg_1"],
            current_sub_goal="sg_2",
            steps_completed=50,
            elapsed_minutes=30.0,
            strategy_switches=0,
            state_data={},
        )
        checkpoint_id = await store.save(checkpoint)
        # Load latest
        latest = await store.load_latest("task_001")
        # List all
        checkpoints = await store.list_checkpoints("task_001")
        # Cleanup old (keep last 5)
        deleted = await store.cleanup("task_001", keep_last=5)
        return checkpoint, checkpoint_id, latest, checkpoints, deleted

    checkpoint, checkpoint_id, latest, checkpoints, deleted = asyncio.run(main())
    assert checkpoint_id == checkpoint.checkpoint_id and latest == checkpoint
    assert checkpoints == [checkpoint] and deleted == 0
    on_disk = json.loads((isolated.parent / ".teragent" / "checkpoints" / "task_001" /
                          f"{checkpoint_id}.json").read_text())
    assert on_disk["current_sub_goal"] == "sg_2" and on_disk["steps_completed"] == 50


def test_self_evaluator_example() -> None:
    from teragent.long_horizon import SelfEvaluationResult, SelfEvaluator
    from teragent.long_horizon.progress import ProgressTracker

    provider = ScriptedModel([reply(evaluation(2, 1, switch=True))])
    goal = "Implement user system"
    progress_report = ProgressTracker(task_id="t", goal=goal).get_report()
    recent_results = ["created user table", "created user table again"]
    switched = []

    async def main() -> SelfEvaluationResult | None:
        evaluator = SelfEvaluator(
            model_provider=provider,
            evaluation_interval_steps=10,
            evaluation_interval_minutes=30.0,
        )
        if evaluator.should_evaluate(steps_since_last=10, minutes_since_last=30.0):
            result = await evaluator.evaluate(goal, progress_report, recent_results)
            if result.should_switch_strategy:
                # Trigger strategy switch
                switched.append(True)
            return result
        return None

    result = asyncio.run(main())
    provider.assert_consumed()
    assert result is not None and switched == [True]
    assert (result.goal_alignment, result.output_quality) == (2, 1)
    assert result.overall_score == 1.6 and result.parsed
    assert "created user table again" in provider.requests[0].as_messages()[-1]["content"]


def test_strategy_switcher_example() -> None:
    from teragent.long_horizon import StrategySwitcher, StrategySwitchRecord
    from teragent.long_horizon.progress import ProgressTracker

    provider = ScriptedModel([reply(json.dumps({
        "new_strategy": "test_driven: write the failing check first",
        "risk_assessment": "slower at first"}))])
    goal = "Implement user system"
    progress_report = ProgressTracker(task_id="t", goal=goal).get_report()
    recent_results = ["Error: table exists", "Error: table exists", "Error: table exists!"]
    recent_steps = [1, 1, 1, 1, 1]

    async def main() -> tuple[Any, ...]:
        switcher = StrategySwitcher(
            model_provider=provider,
            stagnation_threshold=3,
            no_progress_threshold=5,
            similarity_threshold=0.8,
        )
        current_strategy = switcher.current_strategy
        is_stagnant, reason = switcher.detect_stagnation(recent_results, recent_steps)
        if is_stagnant:
            new_strategy, record = await switcher.switch_strategy(
                current_strategy, reason, goal, progress_report
            )
            return switcher, new_strategy, record
        return switcher, None, None

    switcher, new_strategy, record = asyncio.run(main())
    provider.assert_consumed()
    assert new_strategy == "test_driven: write the failing check first"
    assert isinstance(record, StrategySwitchRecord) and record.risk_assessment == "slower at first"
    assert "near-identical" in record.reason
    assert switcher.current_strategy == new_strategy
    assert switcher.get_switch_history() == [record]
    assert switcher.assess_switch_effectiveness(0, ["new approach: tests pass"]) == "effective"


def test_progress_tracker_example() -> None:
    from teragent.long_horizon.progress import ProgressReport, ProgressTracker

    tracker = ProgressTracker(task_id="task_1", goal="Implement user system")
    tracker.start_sub_goal("sg_1", "Design database")
    tracker.record_step("Create User table")
    tracker.complete_sub_goal("sg_1", "User table created")
    report = tracker.get_report()
    assert isinstance(report, ProgressReport)
    assert (report.task_id, report.goal, report.total_sub_goals, report.completed_sub_goals,
            report.steps_completed, report.strategy_switches) == \
        ("task_1", "Implement user system", 1, 1, 1, 0)
    assert report.current_phase == "executing" and report.estimated_remaining_minutes == 0.0


def test_recovery_manager_example(isolated, monkeypatch) -> None:
    from teragent.long_horizon import LongHorizonTaskManager
    from teragent.long_horizon.checkpoint import CheckpointStore
    from teragent.reliability.recovery import LongHorizonRecoveryManager

    monkeypatch.chdir(isolated)
    first = ScriptedModel([reply(plan(("sg_1", []), ("sg_2", ["sg_1"])))])

    async def main() -> tuple[bool, Any]:
        store = CheckpointStore()
        planner = LongHorizonTaskManager(goal="g", model_provider=first, task_id="task_9",
                                         checkpoint_store=store)
        await planner.decompose_goal()
        planner.sub_goals[0].status = "completed"
        await planner.save_checkpoint()
        task_manager = LongHorizonTaskManager(goal="g", model_provider=first,
                                              task_id="task_9", checkpoint_store=store)
        recovery_mgr = LongHorizonRecoveryManager(checkpoint_store=store)
        # Recover from latest checkpoint
        success = await recovery_mgr.recover_from_checkpoint(task_manager)
        # Check if should downgrade to standard mode
        assert recovery_mgr.should_downgrade_to_standard(recovery_attempts=3, elapsed_time=1800)
        # Get reconnection delay (exponential backoff with jitter)
        delay = recovery_mgr.get_reconnection_delay(attempt=2)
        assert delay > 0
        return success, task_manager

    success, task_manager = asyncio.run(main())
    assert success is True
    assert [(g.id, g.status) for g in task_manager.sub_goals] == \
        [("sg_1", "completed"), ("sg_2", "pending")]
