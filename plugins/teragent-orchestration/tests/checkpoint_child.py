"""Child process for the kill-and-resume test (run as a script, not collected).

usage: checkpoint_child.py CHECKPOINT_DIR COUNT_FILE first|resume

``first`` runs a three-agent sequential orchestration whose last agent blocks in a tool
(printing BLOCKED) until the parent kills the process; ``resume`` reruns the same run id
with models that fail on any call for the agents that already completed.
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import teragent_orchestration
from patterns_helpers import BlockTool

from teragent.orchestration import Agent, AgentHooks, OrchestrationCheckpoint, Orchestrator
from teragent.testing import ScriptedModel, call_tool, reply
from teragent.testing.hosts import isolated_host


class Count(AgentHooks):
    def __init__(self, path: str) -> None:
        self.path = path

    async def on_start(self, ctx: Any, agent: Any) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(agent.name + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    async def on_tool_start(self, ctx: Any, agent: Any, tool_name: str, arguments: Any) -> None:
        if tool_name == "block":
            print("BLOCKED", flush=True)


async def main(ckdir: str, counts: str, phase: str) -> None:
    if phase == "first":
        models = [ScriptedModel([reply("A done")]), ScriptedModel([reply("B done")]),
                  ScriptedModel([call_tool("block"), reply("never")])]
    else:  # the completed agents must not be asked again: empty scripts fail on a call
        models = [ScriptedModel([]), ScriptedModel([]), ScriptedModel([reply("C done")])]
    agents = [Agent(name="a", provider=models[0]), Agent(name="b", provider=models[1]),
              Agent(name="c", provider=models[2], tools=[BlockTool()])]
    orch = Orchestrator(agents, mode="sequential", checkpoint=OrchestrationCheckpoint(ckdir),
                        hooks=Count(counts))
    result = await orch.run("three steps", run_id="job-1")
    print("FINAL", result.final_output,
          ",".join(f"{r.agent}:{r.source}" for r in result.agent_results), flush=True)


if __name__ == "__main__":
    with isolated_host(teragent_orchestration):
        asyncio.run(main(*sys.argv[1:4]))
