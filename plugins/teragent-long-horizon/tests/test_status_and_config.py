"""``TAPResponse.long_horizon_status`` on the model calls of a long task's phases, and
the ``[long_horizon]`` table of ``agent.toml``: real agents from the composition root,
the scripted model, real checkpoint files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import teragent
from teragent.core.tap import LongHorizonConfig
from teragent.errors import ConfigError
from teragent.events import EventBus
from teragent.testing import ScriptedModel, Step, call_tool, reply

from long_horizon_helpers import evaluation, plan

pytest.importorskip("teragent_tools")
pytest.importorskip("teragent_permissions")

from teragent.long_horizon import LongHorizonTaskManager  # noqa: E402

NEW = "research_first: read the failing code before editing"


def _phase(sub_goal: str, *steps: Step) -> list[Step]:
    def check(messages: list[dict[str, Any]], tools: Any) -> bool:
        return f"This phase ({sub_goal})" in json.dumps(messages)

    steps = steps or (reply(f"{sub_goal} done"),)
    steps[0].expect = check
    return list(steps)


def _checkpoint(ws: Path, checkpoint_id: str, base: str = ".teragent/checkpoints") -> dict:
    return json.loads((ws / base / "task_1" / f"{checkpoint_id}.json").read_text())


def test_every_phase_model_call_carries_the_task_status(isolated: Path) -> None:
    model = ScriptedModel([
        reply(plan(("sg_1", []), ("sg_2", ["sg_1"]))),
        # sg_1, attempt 1: a tool call, then out of steps (max_steps=1): the summary
        *_phase("sg_1", call_tool("read_file", {"path": "missing.txt"}),
                reply("out of steps: summary")),
        reply(json.dumps({"new_strategy": NEW, "risk_assessment": "costs a step"})),
        *_phase("sg_1", reply("sg_1 done the new way")),
        *_phase("sg_2", reply("sg_2 done")),
    ])
    bus = EventBus(history_size=1000)
    responses: list[Any] = []
    bus.on("model_end", lambda **kw: responses.append(kw["response"]))
    manager = LongHorizonTaskManager(
        goal="Build the thing", model_provider=model, workspace=isolated, task_id="task_1",
        agent_config={}, config=LongHorizonConfig(),
        agent_options={"tool_names": ["read_file"], "stream": False, "max_steps": 1,
                       "bus": bus})
    result = asyncio.run(manager.execute_long_task())
    model.assert_consumed()
    assert result.success and result.strategy_switches == 1

    # the four phase-agent calls (the plan and the switch are the manager's own)
    status = [r.long_horizon_status for r in responses]
    assert len(status) == 4 and all(isinstance(s, dict) for s in status), status
    first, summary, retry, second = status
    sg_1 = {"index": 1, "total": 2, "id": "sg_1", "title": "do sg_1"}
    assert first["sub_goal"] == summary["sub_goal"] == retry["sub_goal"] == sg_1
    assert second["sub_goal"] == {"index": 2, "total": 2, "id": "sg_2", "title": "do sg_2"}
    assert [s["progress_percent"] for s in status] == [0.0, 0.0, 0.0, 50.0]
    assert first["task_id"] == "task_1" and first["phase"] == "executing"

    # the checkpoint named is the last one saved before the call, a file on disk
    planned = _checkpoint(isolated, first["checkpoint"]["last_id"])
    assert planned["completed_sub_goals"] == [] and planned["phase"] == "planning"
    assert first["checkpoint"]["last_at"] == planned["timestamp"]
    after_sg_1 = _checkpoint(isolated, second["checkpoint"]["last_id"])
    assert after_sg_1["completed_sub_goals"] == ["sg_1"]
    assert second["checkpoint"]["last_at"] == after_sg_1["timestamp"]
    assert second["checkpoint"]["saved"] > first["checkpoint"]["saved"]

    # the strategy switch shows from the retry on
    assert first["strategy"]["last_switch"] is None and first["strategy"]["switches"] == 0
    switch = retry["strategy"]["last_switch"]
    assert switch["new_strategy"] == NEW and "phase sg_1 failed" in switch["reason"]
    assert retry["strategy"]["current"] == NEW == second["strategy"]["current"]


def test_no_status_outside_a_long_task(isolated: Path) -> None:
    import teragent_long_horizon.status  # noqa: F401 - imported, yet no task runs

    bus = EventBus()
    responses: list[Any] = []
    bus.on("model_end", lambda **kw: responses.append(kw["response"]))
    agent = teragent.build_agent({}, workspace=isolated, provider=ScriptedModel([reply("hi")]),
                                 bus=bus, stream=False)
    asyncio.run(agent.run("hello"))
    assert [r.long_horizon_status for r in responses] == [None]


_TOML = """\
[long_horizon]
max_duration_hours = 2.5
checkpoint_interval_minutes = 0
evaluation_interval_steps = 1
max_strategy_switches = 0
keep_checkpoints = 2
max_phase_attempts = 1
checkpoint_dir = ".teragent/lh"
"""


def test_a_manager_built_from_agent_toml_uses_the_long_horizon_table(isolated: Path) -> None:
    path = isolated / "agent.toml"
    path.write_text(_TOML)
    model = ScriptedModel([
        reply(plan(("sg_1", []), ("sg_2", ["sg_1"]))),
        *_phase("sg_1"), reply(evaluation(4, 4)),  # evaluated after every step
        *_phase("sg_2"), reply(evaluation(5, 5)),
    ])
    manager = LongHorizonTaskManager(goal="Build the thing", model_provider=model,
                                     workspace=isolated, task_id="task_1",
                                     agent_config=str(path),
                                     agent_options={"stream": False, "tool_names": []})
    cfg = manager.config
    assert (cfg.max_duration_hours, cfg.checkpoint_interval_minutes,
            cfg.evaluation_interval_steps, cfg.max_strategy_switches) == (2.5, 0, 1, 0)
    assert manager.max_phase_attempts == 1
    assert manager.checkpoint_store.base_dir == isolated / ".teragent" / "lh"
    result = asyncio.run(manager.execute_long_task())
    model.assert_consumed()
    assert result.success and len(manager.evaluations) == 2
    # keep_checkpoints = 2: the newest two of this task's checkpoints are left
    files = sorted((isolated / ".teragent" / "lh" / "task_1").glob("*.json"))
    assert len(files) == 2 and result.checkpoints_saved > 2
    assert not (isolated / ".teragent" / "checkpoints").exists()


def test_without_the_table_the_defaults_hold(isolated: Path) -> None:
    (isolated / "agent.toml").write_text("[agent]\nmax_steps = 3\n")
    manager = LongHorizonTaskManager(goal="g", model_provider=ScriptedModel([]),
                                     workspace=isolated,
                                     agent_config=str(isolated / "agent.toml"))
    assert manager.config == LongHorizonConfig() and manager.max_phase_attempts == 2
    assert manager.checkpoint_store.base_dir == isolated / ".teragent" / "checkpoints"


@pytest.mark.parametrize("line, words", [
    ("max_duration_hour = 2", ["max_duration_hour", "unknown key",
                               "did you mean 'max_duration_hours'"]),
    ("checkpoint_interval_minutes = -1", ["checkpoint_interval_minutes",
                                          "greater than or equal to 0"]),
    ("keep_checkpoints = \"all\"", ["keep_checkpoints", "valid integer"]),
])
def test_a_bad_table_is_named_with_file_line_and_key(isolated: Path, line: str,
                                                     words: list[str]) -> None:
    path = isolated / "agent.toml"
    path.write_text(f"[agent]\nmax_steps = 3\n\n[long_horizon]\nmax_duration_hours = 1\n{line}\n")
    for build in (lambda: teragent.load_full_config(path),
                  lambda: LongHorizonTaskManager(goal="g", model_provider=ScriptedModel([]),
                                                 workspace=isolated, agent_config=str(path))):
        with pytest.raises(ConfigError) as err:
            build()
        text = str(err.value)
        assert f"{path}:6" in text and "[long_horizon]" in text, text
        for word in words:
            assert word in text, text


def test_the_table_has_the_fields_and_defaults_of_long_horizon_config() -> None:
    from teragent_long_horizon.config import LongHorizonSettings

    tap = LongHorizonConfig().model_dump()
    mine = LongHorizonSettings().tap_config().model_dump()
    assert {k: mine[k] for k in tap} == tap
    assert mine["keep_checkpoints"] == 5 and mine["max_phase_attempts"] == 2
