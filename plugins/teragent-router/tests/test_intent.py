"""IntentClassifier (keyword pre-pass, model only when unsure), ConfirmationGate, and
the AgentLoop's use of both (tool filtering, CREATE_PROJECT delegation)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from teragent import AgentLoop, hookimpl
from teragent.config import AgentLoopConfig
from teragent.errors import ModelAPIError
from teragent.testing import ScriptedModel, Step, reply

from teragent_router.intent import ConfirmationGate, IntentClassifier, IntentType


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_keyword_prepass_needs_no_model() -> None:
    model = ScriptedModel([])  # any model call would fail the test
    c = IntentClassifier(model)
    assert run(c.classify("Build me a web app")) == IntentType.CREATE_PROJECT
    assert run(c.classify("What does this code do?")) == IntentType.CHAT
    assert run(c.classify("Fix the bug in main.py")) == IntentType.DEBUG
    assert c.model_calls == 0


def test_model_is_asked_only_when_unsure() -> None:
    model = ScriptedModel([reply("DEBUG"), Step(error=ModelAPIError("down", status=500))])
    c = IntentClassifier(model)
    result = run(c.classify_detailed("the numbers look off"))
    assert result.intent == IntentType.DEBUG and result.source == "model"
    fallback = run(c.classify_detailed("hmm"))  # model fails: default, no exception
    assert fallback.intent == IntentType.CHAT and c.model_calls == 2
    model.assert_consumed()


def test_confirmation_gate() -> None:
    asked: list[str] = []

    async def ui(question: str) -> bool:
        asked.append(question)
        return True

    assert run(ConfirmationGate(ui).confirm_create_project("a web app")) is True
    assert "a web app" in asked[0]
    assert run(ConfirmationGate(auto_confirm=True).confirm_create_project("x")) is True
    assert run(ConfirmationGate(lambda q: False).confirm_create_project("x")) is False


def test_agent_loop_delegates_create_project_to_an_orchestrator(router_host: Any) -> None:
    # the delegation needs an orchestrator: the teragent-orchestration plugin
    teragent_orchestration = pytest.importorskip("teragent_orchestration")
    from teragent.orchestration import Agent, Orchestrator, Pattern

    class OnlyFirst(Pattern):
        async def run(self, ctx: Any, task: str) -> str:
            return (await ctx.run_agent(ctx.agent_list[0], task)).output

    class Plugin:
        @hookimpl
        def teragent_register_patterns(self, register: Any) -> None:
            register("only_first", OnlyFirst)

    # the orchestration plugin brings the teragent_register_patterns spec
    router_host.add_plugin(teragent_orchestration, name="orchestration")
    router_host.add_plugin(Plugin(), name="test-patterns")
    team = Orchestrator([Agent(name="builder", provider=ScriptedModel([reply("scaffolded")]))],
                        mode="only_first")
    loop = AgentLoop(ScriptedModel([]), intent_classifier=IntentClassifier(),
                     orchestrator=team)
    result = run(loop.run("Build me a web app"))
    assert result.intent == "create_project" and result.stop_reason == "delegated"
    assert result.final_text == "scaffolded"


def test_agent_loop_filters_tools_by_intent() -> None:
    from teragent_testing.security import PeekTool
    from teragent.tools.registry import ToolRegistry

    def no_tools(messages: Any, tools: Any) -> bool:
        return not tools

    loop = AgentLoop(ScriptedModel([reply("It prints hello.", expect=no_tools)]),
                     ToolRegistry([PeekTool()]),
                     AgentLoopConfig(intent_tools={"chat": []}),
                     intent_classifier=IntentClassifier())
    result = run(loop.run("What does this code do?"))
    assert result.intent == "chat" and result.final_text == "It prints hello."


def test_loop_asks_the_confirmation_gate_before_creating_a_project():
    import asyncio

    from teragent import AgentLoop, ToolRegistry
    from teragent.testing import ScriptedModel

    class Fixed:
        async def classify(self, text):
            return "create_project"

    class Orchestrator:
        def __init__(self):
            self.runs = []

        async def run(self, task):
            self.runs.append(task)
            return "built"

    asked = []
    orch = Orchestrator()
    refuse = ConfirmationGate(handler=lambda q: asked.append(q) or False)
    loop = AgentLoop(ScriptedModel([]), ToolRegistry(), intent_classifier=Fixed(),
                     confirmation_gate=refuse, orchestrator=orch)
    result = asyncio.run(loop.run("make me a web app"))
    assert result.stop_reason == "not_confirmed" and orch.runs == []
    assert asked == ["Create a new project: make me a web app"]

    loop = AgentLoop(ScriptedModel([]), ToolRegistry(), intent_classifier=Fixed(),
                     confirmation_gate=ConfirmationGate(auto_confirm=True), orchestrator=orch)
    assert asyncio.run(loop.run("make me a web app")).stop_reason == "delegated"
    assert orch.runs == ["make me a web app"]
