"""LongHorizonTaskManager end to end: real agents from the composition root, the
scripted model, real files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from teragent.core.tap import LongHorizonConfig
from teragent.testing import ScriptedModel, Step, call_tool, reply

from long_horizon_helpers import FakeClock, evaluation, plan

pytest.importorskip("teragent_tools")
pytest.importorskip("teragent_permissions")

from teragent.long_horizon import LongHorizonError, LongHorizonTaskManager  # noqa: E402

WRITE = {"tool_names": ["write_file", "read_file"], "allow_writes": True, "stream": False,
         "max_steps": 4}


def phase(sub_goal: str, *steps: Step) -> list[Step]:
    """The agent's steps for one phase; the first checks it is that phase's prompt."""
    def check(messages: list[dict[str, Any]], tools: Any) -> bool:
        return f"This phase ({sub_goal})" in json.dumps(messages)

    steps = steps or (reply(f"{sub_goal} done"),)
    first = steps[0]
    first.expect = check
    return list(steps)


def manager(ws: Path, model: ScriptedModel, **kw: Any) -> LongHorizonTaskManager:
    kw.setdefault("agent_config", {})
    kw.setdefault("agent_options", WRITE)
    kw.setdefault("task_id", "task_1")
    return LongHorizonTaskManager(goal="Build the thing", model_provider=model,
                                  workspace=ws, **kw)


def test_decomposition_runs_sub_goals_in_dependency_order(isolated: Path) -> None:
    model = ScriptedModel([
        reply(plan(("sg_3", ["sg_2"]), ("sg_1", []), ("sg_2", ["sg_1"]))),
        *phase("sg_1", call_tool("write_file", {"path": "one.txt", "content": "1"}),
               reply("wrote one.txt")),
        *phase("sg_2", call_tool("write_file", {"path": "one.txt", "content": "11"}),
               reply("changed one.txt")),
        *phase("sg_3"),
    ])
    result = asyncio.run(manager(isolated, model).execute_long_task())
    model.assert_consumed()
    assert [r.sub_goal_id for r in result.phase_results] == ["sg_1", "sg_2", "sg_3"]
    assert result.success and result.completed_sub_goals == 3 == result.total_sub_goals
    first, second, _ = result.phase_results
    assert first.files_created == ["one.txt"] and second.files_modified == ["one.txt"]
    assert (isolated / "one.txt").read_text() == "11"
    assert result.total_steps == sum(r.steps_taken for r in result.phase_results) > 0
    # plan + one per phase + the final one
    assert result.checkpoints_saved == 5 and result.status["checkpoint"]["saved"] == 5
    assert result.final_summary == "All 3 sub-goals completed"
    # what a later phase is told about the earlier ones
    assert "wrote one.txt" in json.dumps(model.requests[-1].as_messages())


def test_a_guard_refuses_a_tool_inside_a_phase(isolated: Path) -> None:
    """The agent.toml [permission] deny rule and the audit log apply: the phase agent is
    built by teragent.compose.build_agent."""
    config = {"permission": {"rules": {"deny": ["write_file:**/secret*"]}}}
    model = ScriptedModel([
        reply(plan(("sg_1", []))),
        *phase("sg_1", call_tool("write_file", {"path": "secret.txt", "content": "x"}),
               reply("could not write")),
    ])
    result = asyncio.run(manager(isolated, model, agent_config=config).execute_long_task())
    model.assert_consumed()
    assert not (isolated / "secret.txt").exists()
    [phase_result] = result.phase_results
    assert any("write_file refused" in e for e in phase_result.errors), phase_result.errors
    from teragent.audit import read_audit_log

    audit = read_audit_log(isolated / ".teragent" / "audit.jsonl")
    assert [r["tool_name"] for r in audit if r["outcome"] == "denied"] == ["write_file"]


def test_protected_path_refused_in_phase_without_any_config(isolated: Path) -> None:
    (isolated / ".env").write_text("TOKEN=sk-live-123")
    model = ScriptedModel([reply(plan(("sg_1", []))),
                           *phase("sg_1", call_tool("read_file", {"path": ".env"}),
                                  reply("no access"))])
    result = asyncio.run(manager(isolated, model).execute_long_task())
    model.assert_consumed()
    assert "sk-live-123" not in json.dumps(model.requests[-1].as_messages())
    assert any("read_file refused" in e for e in result.phase_results[0].errors)


@pytest.mark.parametrize("bad,expected", [
    (plan(("a", ["b"]), ("b", ["a"])), "cycle"),
    (plan(("a", ["zz"])), "unknown id"),
    (plan(("a", []), ("a", [])), "used twice"),
    ("Sure! First design, then build.", "no JSON"),
    (json.dumps({"sub_goals": []}), "at least one"),
])
def test_bad_decomposition_is_refused_clearly(isolated: Path, bad: str, expected: str) -> None:
    model = ScriptedModel([reply(bad), reply(bad)])
    with pytest.raises(LongHorizonError, match=expected) as info:
        asyncio.run(manager(isolated, model).execute_long_task())
    assert "task_1" in str(info.value)
    model.assert_consumed()
    # the second request told the model what was wrong
    assert "not usable" in model.requests[1].as_messages()[-1]["content"]


def test_one_bad_plan_is_corrected_by_the_model(isolated: Path) -> None:
    model = ScriptedModel([reply("```json\n{\"sub_goals\": [}\n```"),
                           reply("```json\n" + plan(("sg_1", [])) + "\n```"), *phase("sg_1")])
    result = asyncio.run(manager(isolated, model).execute_long_task())
    model.assert_consumed()
    assert result.success


def test_stopped_mid_task_resumes_without_redoing_completed_phases(isolated: Path) -> None:
    holder: dict[str, asyncio.Task[Any]] = {}

    def stop_here(messages: Any, tools: Any) -> bool:
        holder["task"].cancel()  # stop the task while phase sg_2 is running
        return True

    first = ScriptedModel([reply(plan(("sg_1", []), ("sg_2", ["sg_1"]), ("sg_3", ["sg_2"]))),
                           *phase("sg_1", call_tool("write_file", {"path": "a.txt",
                                                                   "content": "A"}),
                                  reply("a.txt written")),
                           Step(text="half of sg_2", expect=stop_here)])

    async def run_until_stopped() -> None:
        holder["task"] = asyncio.create_task(manager(isolated, first).execute_long_task())
        with pytest.raises(asyncio.CancelledError):
            await holder["task"]

    asyncio.run(run_until_stopped())
    first.assert_consumed()
    # A new process: a new manager and a new model that knows only sg_2 and sg_3.
    second = ScriptedModel([*phase("sg_2"), *phase("sg_3")])

    async def resume() -> Any:
        resumed = manager(isolated, second)
        assert await resumed.recover_from_checkpoint() is True
        assert [g.status for g in resumed.sub_goals] == ["completed", "pending", "pending"]
        return await resumed.execute_long_task()

    result = asyncio.run(resume())
    second.assert_consumed()
    assert result.success and result.completed_sub_goals == 3
    assert [r.sub_goal_id for r in result.phase_results] == ["sg_1", "sg_2", "sg_3"]
    assert result.final_summary == "All 3 sub-goals completed"
    assert "a.txt written" in json.dumps(second.requests[0].as_messages())


def test_recover_from_a_named_checkpoint_and_unknown_ones(isolated: Path) -> None:
    model = ScriptedModel([reply(plan(("sg_1", []), ("sg_2", ["sg_1"])))])

    async def main() -> None:
        m = manager(isolated, model)
        await m.decompose_goal()
        planned = await m.save_checkpoint()
        m.sub_goals[0].status = "completed"
        await m.save_checkpoint()
        other = manager(isolated, model)
        assert await other.recover_from_checkpoint(planned) is True
        assert [g.status for g in other.sub_goals] == ["pending", "pending"]
        assert await other.recover_from_checkpoint("ckpt_nope") is False
        assert await manager(isolated, model, task_id="task_2").recover_from_checkpoint() \
            is False
        wrong_goal = LongHorizonTaskManager(goal="Another goal", model_provider=model,
                                            workspace=isolated, task_id="task_1")
        with pytest.raises(LongHorizonError, match="create the manager with that goal"):
            await wrong_goal.recover_from_checkpoint()

    asyncio.run(main())


def test_failed_phase_switches_strategy_and_retries(isolated: Path) -> None:
    new = "research_first: read the failing code before editing"
    model = ScriptedModel([
        reply(plan(("sg_1", []), ("sg_2", ["sg_1"]))),
        # sg_1, attempt 1: the agent runs out of steps (max_steps=1)
        *phase("sg_1", call_tool("read_file", {"path": "missing.txt"}),
               reply("out of steps: summary")),
        reply(json.dumps({"new_strategy": new, "risk_assessment": "costs a step"})),
        *phase("sg_1", Step(text="done the new way",
                            expect=lambda m, t: new in json.dumps(m))),
        *phase("sg_2", Step(text="sg_2 done")),
    ])
    options = {**WRITE, "max_steps": 1}
    result = asyncio.run(manager(isolated, model, agent_options=options).execute_long_task())
    model.assert_consumed()
    assert result.success and result.strategy_switches == 1
    assert [r.success for r in result.phase_results] == [False, True, True]
    assert "agent stopped: max_steps" in result.phase_results[0].errors
    last = result.status["strategy"]["last_switch"]
    assert last["new_strategy"] == new and last["effectiveness"] == "effective"
    assert "phase sg_1 failed" in last["reason"]


def test_switches_are_capped_and_dependants_are_not_run(isolated: Path) -> None:
    model = ScriptedModel([reply(plan(("sg_1", []), ("sg_2", ["sg_1"]))),
                           *phase("sg_1", call_tool("read_file", {"path": "missing.txt"}),
                                  reply("out of steps: summary"))])
    m = manager(isolated, model, agent_options={**WRITE, "max_steps": 1},
                config=LongHorizonConfig(max_strategy_switches=0))
    result = asyncio.run(m.execute_long_task())
    model.assert_consumed()
    assert not result.success and result.strategy_switches == 0
    assert result.final_summary == "0 of 2 sub-goals completed; failed: sg_1, sg_2"
    assert "did not complete" in result.phase_results[-1].errors[0]
    assert any("limit of 0" in n for n in result.status["notifications"])


def test_evaluates_every_n_steps_and_survives_an_unparseable_evaluation(isolated: Path) -> None:
    model = ScriptedModel([
        reply(plan(("sg_1", []), ("sg_2", ["sg_1"]))),
        *phase("sg_1"), reply("I think it is going well!"),  # evaluation: not JSON
        *phase("sg_2"), reply(evaluation(5, 4)),
    ])
    m = manager(isolated, model, config=LongHorizonConfig(evaluation_interval_steps=1))
    result = asyncio.run(m.execute_long_task())
    model.assert_consumed()
    assert result.success
    assert [e.parsed for e in m.evaluations] == [False, True]
    assert m.evaluations[0].overall_score == 0.0 and not m.evaluations[0].should_switch_strategy
    assert m.evaluations[1].overall_score == 4.6


def test_max_duration_stops_the_task(isolated: Path) -> None:
    clock = FakeClock()

    def slow(messages: Any, tools: Any) -> bool:
        clock.advance(2 * 3600)  # this phase takes two hours
        return "This phase (sg_1)" in json.dumps(messages)

    model = ScriptedModel([reply(plan(("sg_1", []), ("sg_2", ["sg_1"]))),
                           Step(text="sg_1 done", expect=slow)])
    m = manager(isolated, model, clock=clock, config=LongHorizonConfig(max_duration_hours=1))
    result = asyncio.run(m.execute_long_task())
    model.assert_consumed()
    assert not result.success and result.completed_sub_goals == 1
    assert "stopped: max_duration_hours (1.0) reached" in result.final_summary
    assert result.total_elapsed_minutes == 120.0
    assert result.status["phase"] == "stopped"


def test_a_long_phase_is_checkpointed_every_interval(isolated: Path) -> None:
    from teragent.compose import build_agent

    model = ScriptedModel([reply(plan(("sg_1", []))), *phase("sg_1")])
    seen: list[Any] = []

    class LongPhase:
        """The real agent, started only once the timer has saved a checkpoint."""

        def __init__(self, m: LongHorizonTaskManager) -> None:
            self.m = m
            self.agent = build_agent({}, workspace=isolated, provider=model, **WRITE)

        async def run(self, task: str) -> Any:
            for _ in range(400):  # up to 20 s on a busy machine
                latest = await self.m.checkpoint_store.load_latest("task_1")
                if latest is not None and latest.current_sub_goal == "sg_1":
                    seen.append(latest)
                    break
                await asyncio.sleep(0.05)
            return await self.agent.run(task)

        async def close(self) -> None:
            await self.agent.close()

    m = manager(isolated, model, config=LongHorizonConfig(checkpoint_interval_minutes=0.002))
    m.agent_factory = lambda sub_goal: LongPhase(m)
    result = asyncio.run(m.execute_long_task())
    model.assert_consumed()
    assert result.success and seen and seen[0].phase == "executing"
    assert seen[0].completed_sub_goals == []
