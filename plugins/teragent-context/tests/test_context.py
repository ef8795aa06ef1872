"""The documented calls (001 "Context Management") as written, the estimator, the
[context] table, the compact tool, stats and the kernel seam."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from teragent.compose import build_agent
from teragent.config.loader import load_full_config
from teragent.errors import ConfigError
from teragent.testing.scripted import ScriptedModel, Step

from context_testkit import SummaryModel


def _conversation(n_tools: int, size: int = 1200) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"role": "system", "content": "sys"},
                                 {"role": "user", "content": "the task"}]
    for i in range(n_tools):
        out.append({"role": "assistant", "content": "", "tool_calls": [
            {"id": f"c{i}", "type": "function",
             "function": {"name": "read_file", "arguments": f'{{"path": "f{i}.py"}}'}}]})
        out.append({"role": "tool", "tool_call_id": f"c{i}", "content": f"r{i} " + "x" * size})
    return out


def test_documented_context_window_calls() -> None:
    from teragent.context import ContextWindow

    window = ContextWindow(model_token_limit=128_000)
    messages = _conversation(3)
    tokens = window.estimate(messages)
    assert isinstance(tokens, int) and tokens > 3 * 1200 / 4
    if window.should_compact(messages):
        pytest.fail("three small tool results do not fill 128k tokens")
    assert window.last_estimated_tokens == tokens
    assert window.available_budget == 128_000 - tokens
    assert window.utilization == pytest.approx(tokens / 128_000)


def test_documented_auto_compactor_calls() -> None:
    from teragent.context import AutoCompactor, ContextWindow

    window = ContextWindow(model_token_limit=2_000)
    provider = SummaryModel()
    compactor = AutoCompactor(context_window=window, model=provider, retain_count=8,
                              max_compacts=5)
    messages = _conversation(8, size=3000)  # the last three results alone pass 80%
    compacted = asyncio.run(compactor.maybe_compact(messages, "sys"))
    assert compacted is not None and len(compacted) < len(messages)
    stats = compactor.get_stats()
    assert stats["compactions"] == 1 and stats["max_compacts"] == 5
    assert stats["tokens_saved"] > 0 and stats["history"][0]["kind"] == "auto"
    # The summary came from one model call, marked as a compaction call.
    (asked, extra), = provider.calls
    assert extra["purpose"] == "compaction" and "read_file" in asked[1]["content"]
    assert messages == _conversation(8, size=3000), "the input list is not modified"
    assert window.estimate(compacted) <= window.threshold_tokens


def test_context_management_config_is_documented_and_strict(tmp_path: Path,
                                                           context_host: Any) -> None:
    from teragent.config.context_management_config import ContextManagementConfig

    assert ContextManagementConfig().compact_threshold == 0.8
    toml = tmp_path / "agent.toml"
    toml.write_text("[context]\nmodel_token_limit = 2000\nretain_cuont = 4\n")
    with pytest.raises(ConfigError) as err:
        load_full_config(toml)
    text = str(err.value)
    assert "agent.toml:3" in text and "retain_count" in text  # line and did-you-mean
    toml.write_text("[context]\nmicro_threshold = 0.9\ncompact_threshold = 0.7\n")
    with pytest.raises(ConfigError, match="micro_threshold"):
        load_full_config(toml)


def test_cjk_text_counts_more_tokens_per_character_than_latin() -> None:
    from teragent.context import ContextWindow, heuristic_tokens

    assert heuristic_tokens("abcd" * 100) == 130  # 100 tokens x 1.3
    assert heuristic_tokens("漢字" * 100) == 260  # one token per CJK character x 1.3
    assert heuristic_tokens("こんにちは、世界") == 11
    mixed = "读取文件 read the file"
    assert heuristic_tokens(mixed) == 10  # ceil((4 CJK + 14 others / 4) x 1.3)
    window = ContextWindow(model_token_limit=1000, safety_factor=1.0)
    assert window.estimate([{"role": "user", "content": "漢" * 100}]) == 104


def test_the_models_tokenizer_is_used_when_the_provider_has_one() -> None:
    from teragent.context import ContextWindow

    seen: list[str] = []

    def count(text: str) -> int:
        seen.append(text)
        return len(text.split())

    window = ContextWindow(model_token_limit=1000, count_tokens=count)
    assert window.estimate([{"role": "user", "content": "one two three"}]) == 3 + 4
    assert window.tokenizer_used and seen == ["one two three"]
    window.estimate([{"role": "user", "content": "one two three"}])
    assert seen == ["one two three"], "counts are cached per text"
    # A provider without a tokenizer answers None: the heuristic is used.
    window = ContextWindow(model_token_limit=1000, count_tokens=lambda text: None)
    assert window.estimate([{"role": "user", "content": "abcd" * 10}]) == 13 + 4
    assert not window.tokenizer_used


def test_summary_failure_keeps_the_run_going_with_a_digest() -> None:
    from teragent.context import AutoCompactor, ContextWindow

    compactor = AutoCompactor(ContextWindow(2_000), SummaryModel(fail=True), retain_count=2)
    out = asyncio.run(compactor.maybe_compact(_conversation(8, size=3000), "sys"))
    assert out is not None
    assert "read_file" in out[2]["content"]
    assert compactor.history[-1].summary_error.startswith("RuntimeError")


def test_max_compacts_bounds_the_summaries() -> None:
    from teragent.context import AutoCompactor, ContextWindow

    model = SummaryModel()
    compactor = AutoCompactor(ContextWindow(2_000), model, retain_count=2, max_compacts=1)
    asyncio.run(compactor.maybe_compact(_conversation(8, size=3000), "sys"))
    asyncio.run(compactor.maybe_compact(_conversation(8, size=3000), "sys"))
    assert len(model.calls) == 1 and compactor.get_stats()["remaining"] == 0


def test_microcompaction_alone_when_trimming_is_enough() -> None:
    from teragent.context import AutoCompactor, ContextWindow

    model = SummaryModel()
    compactor = AutoCompactor(ContextWindow(5_000), model)
    out = asyncio.run(compactor.maybe_compact(_conversation(8, size=1600), "sys"))
    assert out is not None and len(out) == len(_conversation(8))
    assert out[3]["content"] == "[Previous: used read_file]"
    assert out[-1]["content"].startswith("r7 ")  # the latest results stay whole
    assert model.calls == [] and compactor.history[-1].kind == "micro"


def test_compact_tool_asks_the_running_agent_to_compact_with_a_focus(
        context_host: Any, tmp_path: Path) -> None:
    """The model calls ``compact``; before its next step the conversation is summarised
    (kind ``tool``) with the focus in the summary request, well under the threshold."""
    summary_asks: list[str] = []

    def summary_request(messages: list[dict[str, Any]], tools: Any) -> bool:
        summary_asks.append(messages[-1]["content"])
        return True

    model = ScriptedModel([
        Step(tool_calls=[("compact", {"focus": "the checksum of page 3"})]),
        Step(text="summary: page 3 checksum is 33", expect=summary_request),
        Step(text="done"),
    ])
    history = [{"role": "user", "content": f"earlier question {i}"} if i % 2 == 0 else
               {"role": "assistant", "content": f"earlier answer {i}"} for i in range(10)]
    events: list[dict[str, Any]] = []

    async def main() -> Any:
        agent = build_agent({"agent": {"stream": False}}, workspace=tmp_path, provider=model,
                            tool_names=["compact"])
        agent.bus.on("compaction", lambda *a, **kw: events.append(kw))
        return await agent.run("go", history=history)

    result = asyncio.run(main())
    assert result.final_text == "done"
    assert [e["kind"] for e in events] == ["tool"]
    assert events[0]["focus"] == "the checksum of page 3" and events[0]["removed"] > 0
    assert "Focus the summary on: the checksum of page 3" in summary_asks[0]
    model.assert_consumed()


def test_kernel_alone_builds_agents_without_context_management(tmp_path: Path) -> None:
    from teragent.testing.hosts import isolated_host

    with isolated_host():
        agent = build_agent({}, workspace=tmp_path, provider=ScriptedModel([]), tools=[])
        assert agent.auto_compactor is None and agent.context_window is None


def test_build_agent_gets_context_management_from_the_table(context_host: Any,
                                                            tmp_path: Path) -> None:
    from teragent.context import AutoCompactor, ContextWindow

    agent = build_agent({"context": {"model_token_limit": 4096, "retain_count": 3}},
                        workspace=tmp_path, provider=ScriptedModel([]), tools=[])
    assert isinstance(agent.context_window, ContextWindow)
    assert isinstance(agent.auto_compactor, AutoCompactor)
    assert agent.context_window.model_token_limit == 4096
    assert agent.auto_compactor.retain_count == 3
    off = build_agent({"context": {"enabled": False}}, workspace=tmp_path,
                      provider=ScriptedModel([]), tools=[])
    assert off.auto_compactor is None
    own = ContextWindow(model_token_limit=999)
    mine = build_agent({}, workspace=tmp_path, provider=ScriptedModel([]), tools=[],
                       context_window=own)
    assert mine.context_window is own and mine.auto_compactor is None


def test_compact_tool_does_not_reach_a_finished_runs_compactor(context_host: Any,
                                                              tmp_path: Path) -> None:
    async def main() -> Any:
        first = build_agent({}, workspace=tmp_path, provider=ScriptedModel(
            [Step(text="one")]), tools=[])
        await first.run("first")  # its loop ran maybe_compact in this context
        model = ScriptedModel([Step(tool_calls=[("compact", {})]), Step(text="two")])
        second = build_agent({"context": {"enabled": False}}, workspace=tmp_path,
                             provider=model, tool_names=["compact"])
        return await second.run("second")

    result = asyncio.run(main())
    (outcome,) = result.tool_outcomes
    assert not outcome.success and "context management is off" in outcome.result.to_text()


def test_a_hand_built_loop_gets_context_management_from_agent_toml(
        context_host: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from teragent import AgentLoop, ToolRegistry
    from teragent.context import AutoCompactor, ContextWindow

    toml = tmp_path / "agent.toml"
    toml.write_text("[context]\nmodel_token_limit = 3000\nmax_compacts = 2\n")
    monkeypatch.setenv("TERAGENT_CONFIG", str(toml))
    loop = AgentLoop(ScriptedModel([]), ToolRegistry(), workspace=tmp_path)
    assert loop.context_window.model_token_limit == 3000
    assert loop.auto_compactor.max_compacts == 2
    # The documented construction (000 README): the caller's own components win.
    window = ContextWindow(model_token_limit=128_000)
    mine = AgentLoop(ScriptedModel([]), ToolRegistry(), workspace=tmp_path,
                     context_window=window,
                     auto_compactor=AutoCompactor(context_window=window, model=None))
    assert mine.context_window is window and mine.auto_compactor.context_window is window


def test_an_earlier_summary_is_carried_whole_into_the_next_one() -> None:
    from teragent.context import AutoCompactor, ContextWindow

    first = "FIRST SUMMARY " + "fact " * 150  # ~900 characters
    model = SummaryModel(first)
    compactor = AutoCompactor(ContextWindow(2_000), model, retain_count=2)
    out = asyncio.run(compactor.maybe_compact(_conversation(8, size=3000), "sys"))
    more = _conversation(8, size=3000)[2:]
    more = [{**m, "tool_call_id": "n" + m["tool_call_id"]} if m["role"] == "tool" else
            {**m, "tool_calls": [{**c, "id": "n" + c["id"]} for c in m["tool_calls"]]}
            for m in more]
    model.text = "SECOND"
    asyncio.run(compactor.maybe_compact(out + more, "sys"))
    asked = model.calls[-1][0][1]["content"]
    assert f"earlier summary: [Summary of" in asked and first.strip() in asked


@pytest.mark.parametrize("name,module,dist", [
    ("CodeIndexer", "teragent_code_index", "teragent-code-index"),
    ("ReferenceGraph", "teragent_code_graph", "teragent-code-graph"),
    ("load_agent_md", "teragent_memory", "teragent-memory"),
])
def test_names_from_a_missing_plugin_say_what_to_install(name: str, module: str,
                                                         dist: str) -> None:
    import subprocess
    import sys

    code = (f"import sys; sys.modules[{module!r}] = None\n"
            "from teragent.errors import MissingPluginError\n"
            "try:\n"
            f"    from teragent.context import {name}\n"
            "except MissingPluginError as exc:\n"
            "    print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert f"pip install {dist}" in out.stdout, out.stderr
