"""The pattern contract suite (teragent-testing) on this plugin's five patterns."""

from __future__ import annotations

from typing import Any

from teragent.orchestration import Agent
from teragent.testing import ScriptedModel, call_tool, reply
from teragent_testing.pattern_contract import WIPE, PatternContract


def _b(fx: Any) -> Agent:
    steps = [call_tool(*WIPE), reply("b done")] if fx else [reply("b done")]
    return Agent(name="b", provider=ScriptedModel(steps), tools=fx.registry if fx else None)


class TestSequential(PatternContract):
    mode = "sequential"


class TestParallel(PatternContract):
    mode = "parallel"


class TestSwarm(PatternContract):
    mode = "swarm"

    def agents(self, fx: Any) -> list[Agent]:  # the call comes after a handoff
        return [Agent(name="a", provider=ScriptedModel([call_tool("transfer_to_b")]),
                      handoffs=["b"]), _b(fx)]


class TestConditional(PatternContract):
    mode = "conditional"

    def agents(self, fx: Any) -> list[Agent]:  # the router picks b
        return [Agent(name="router", provider=ScriptedModel([call_tool("transfer_to_b")])),
                _b(fx), Agent(name="c", provider=ScriptedModel([reply("c done")]))]


class TestLoop(PatternContract):
    mode = "loop"

    def agents(self, fx: Any) -> list[Agent]:  # the critic approves the first draft
        steps = [call_tool(*WIPE), reply("draft")] if fx else [reply("draft")]
        return [Agent(name="gen", provider=ScriptedModel(steps),
                      tools=fx.registry if fx else None),
                Agent(name="critic", provider=ScriptedModel([reply("APPROVED")]))]
