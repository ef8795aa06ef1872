"""An agent whose tool results overflow a 2,000-token window completes: the composition
root gives it context management from ``[context]``, compactions are announced on the
bus, and the fake OpenAI server on loopback, which enforces the API's tool-call/result
pairing and a 2,000-token context (HTTP 400 with OpenAI's error bodies), refuses no
request. Without context management the same run is refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

import teragent
from teragent.compose import build_agent
from teragent.errors import ModelAPIError
from teragent.tools.base import BaseTool, ToolResult
from teragent_context.compactor import SUMMARY_PROMPT
from teragent_context.structure import pairing_problem
from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply, serve_in_thread

LIMIT = 2000
TASK = "Read the twelve log pages with dump_page and tell me the last page's checksum."
ANSWER = "The checksum of page 11 is c0ffee11."


class DumpPage(BaseTool):
    name = "dump_page"
    description = "Return one page of the log (about 1,500 characters)."
    parameters_schema = {"type": "object", "properties": {"page": {"type": "integer"}},
                         "required": ["page"], "additionalProperties": False}
    data_params = ("page",)
    _concurrency_safe = True

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        page = int(params["page"])
        body = " ".join(f"entry{page}-{i}" for i in range(150))[:1500]
        return ToolResult(data=f"page {page} checksum c0ffee{page:02d}\n{body}")


def responder(pages: int, parallel_last: bool = True) -> Any:
    """Summary requests get a summary; agent requests get the next page call (two in
    parallel at the end), then the answer."""
    state = {"step": 0}

    def answer(body: dict[str, Any]) -> ScriptedReply:
        messages = body.get("messages") or []
        if messages and messages[0].get("content") == SUMMARY_PROMPT:
            return ScriptedReply(text="Pages 0 to N were read; each had a checksum line.")
        step = state["step"]
        state["step"] += 1
        if step < pages - 2:
            return ScriptedReply(tool_calls=[("dump_page", {"page": step}, f"call_{step}")])
        if step == pages - 2 and parallel_last:
            return ScriptedReply(tool_calls=[
                ("dump_page", {"page": step}, f"call_{step}"),
                ("dump_page", {"page": step + 1}, f"call_{step + 1}")])
        return ScriptedReply(text=ANSWER)
    return answer


def _config(base_url: str, context: dict[str, Any]) -> dict[str, Any]:
    return {"drivers": {"fake": {"adapter": "openai_compatible", "identity": "fake",
                                 "model": "gpt-test", "base_url": base_url,
                                 "api_key_env": "FAKE_OPENAI_KEY"}},
            "agent": {"driver": "fake", "max_steps": 30, "stream": False},
            "context": context}


def _run(config: dict[str, Any], workspace: Path) -> tuple[Any, list[dict]]:
    """The paging task on an agent built from ``config``; its result and the compaction
    events."""
    events: list[dict[str, Any]] = []

    async def main() -> Any:
        agent = build_agent(config, workspace=workspace, tools=[DumpPage()])
        agent.bus.on("compaction", lambda *a, **kw: events.append(kw))
        try:
            return await agent.run(TASK)
        finally:
            await agent.aclose()

    return asyncio.run(main()), events


@pytest.fixture()
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-test-not-a-secret")


@pytest.mark.parametrize("stream", [False, True], ids=["send", "stream"])
def test_overflowing_run_completes_with_compactions_and_no_refused_request(
        context_host: Any, key: None, tmp_path: Path, stream: bool) -> None:
    server = FakeOpenAIServer(responder=responder(12), check_tool_pairing=True,
                              context_limit=LIMIT)
    with serve_in_thread(server) as base_url:
        config = _config(base_url, {"model_token_limit": LIMIT, "retain_count": 4})
        config["agent"]["stream"] = stream
        result, events = _run(config, tmp_path)
    assert result.stop_reason == "completed", result.as_dict()
    assert result.final_text == ANSWER
    assert len(result.tool_outcomes) == 12
    assert server.rejected == [], server.rejected[0][1]
    agent_requests = [r.body for r in server.requests
                      if r.body["messages"][0]["content"] != SUMMARY_PROMPT]
    summary_requests = [r.body for r in server.requests
                        if r.body["messages"][0]["content"] == SUMMARY_PROMPT]
    # Every request the agent sent kept its system prompt and its task, and the pairs.
    for body in agent_requests:
        assert body["messages"][0]["role"] == "system"
        assert body["messages"][1] == {"role": "user", "content": TASK}
        assert pairing_problem(body["messages"]) is None
    kinds = {e["kind"] for e in events}
    assert "micro" in kinds and "auto" in kinds, events
    assert summary_requests, "the summary is written by a model call"
    for e in events:
        assert e["after_tokens"] < e["before_tokens"]
        assert {"removed", "trimmed", "summary_chars", "kind"} <= set(e)
    auto = [e for e in events if e["kind"] == "auto"]
    assert all(e["removed"] > 0 and e["summary_chars"] > 0 for e in auto)


def test_without_context_management_the_same_run_is_refused(
        context_host: Any, key: None, tmp_path: Path) -> None:
    server = FakeOpenAIServer(responder=responder(12), check_tool_pairing=True,
                              context_limit=LIMIT)
    with serve_in_thread(server) as base_url:
        with pytest.raises(ModelAPIError) as err:
            _run(_config(base_url, {"enabled": False}), tmp_path)
    assert "context length" in str(err.value) or "context_length" in str(err.value)
    assert server.rejected and server.rejected[0][1]["error"]["code"] == \
        "context_length_exceeded"


def test_the_fake_refuses_an_orphaned_tool_result_like_the_api(
        context_host: Any, key: None) -> None:
    server = FakeOpenAIServer(check_tool_pairing=True)
    with serve_in_thread(server) as base_url:
        provider = teragent.create_provider(adapter="openai_compatible", model="gpt-test",
                                            base_url=base_url, api_key_env="FAKE_OPENAI_KEY")

        async def main() -> Any:
            try:
                return await provider.complete([
                    {"role": "user", "content": "hi"},
                    {"role": "tool", "tool_call_id": "call_9", "content": "orphan"}])
            finally:
                await provider.close()

        with pytest.raises(ModelAPIError) as err:
            asyncio.run(main())
    assert err.value.status == 400
    assert "must be a response to a preceeding message with 'tool_calls'" in str(err.value)
    assert server.rejected[0][1]["error"]["param"] == "messages.[1].role"


def test_an_overflow_the_estimate_missed_is_compacted_through_recovery(
        key: None, tmp_path: Path) -> None:
    """The window believes 50,000 tokens fit; the server allows 2,000. The reliability
    plugin's recovery sees context_length_exceeded and asks the compactor to compact
    now (``compact_on_overflow``); the run completes."""
    import teragent_context
    import teragent_openai
    teragent_reliability = pytest.importorskip("teragent_reliability")
    from teragent.testing.hosts import isolated_host

    server = FakeOpenAIServer(responder=responder(8), check_tool_pairing=True,
                              context_limit=LIMIT)
    with isolated_host(teragent_context, teragent_openai, teragent_reliability), \
            serve_in_thread(server) as base_url:
        result, events = _run(_config(base_url, {"model_token_limit": 50_000,
                                                 "retain_count": 4}), tmp_path)
    assert result.stop_reason == "completed", result.as_dict()
    refused = [problem["error"]["code"] for _, problem in server.rejected]
    assert refused and set(refused) == {"context_length_exceeded"}  # none for pairing
    assert events and all(e["kind"] == "auto" for e in events)


def test_compactions_are_recorded_in_the_session_transcript(key: None, tmp_path: Path) -> None:
    """With the sessions plugin, the same overflowing run leaves its compactions in the
    session's JSONL transcript, next to the messages."""
    import teragent_context
    import teragent_openai
    teragent_sessions = pytest.importorskip("teragent_sessions")
    from teragent.testing.hosts import isolated_host

    server = FakeOpenAIServer(responder=responder(12), check_tool_pairing=True,
                              context_limit=LIMIT)
    with isolated_host(teragent_context, teragent_openai, teragent_sessions), \
            serve_in_thread(server) as base_url:

        async def main() -> Any:
            agent = build_agent(_config(base_url, {"model_token_limit": LIMIT,
                                                   "retain_count": 4}),
                                workspace=tmp_path, tools=[DumpPage()], session_id="long")
            try:
                return await agent.run(TASK)
            finally:
                await agent.aclose()

        result = asyncio.run(main())
    assert result.stop_reason == "completed" and server.rejected == []
    import json

    lines = [json.loads(x) for x in
             (tmp_path / ".teragent/transcripts/long.jsonl").read_text().splitlines()]
    compactions = [x for x in lines if x["type"] == "event" and x["event"] == "compaction"]
    assert compactions, [x.get("event") for x in lines]
    kinds = {c["data"]["kind"] for c in compactions}
    assert kinds >= {"micro", "auto"}
    for c in compactions:
        assert c["data"]["after_tokens"] < c["data"]["before_tokens"]
    # Every message of the run is in the transcript too (compaction trims what is sent,
    # not what is saved): twelve tool results.
    assert sum(1 for x in lines if x["type"] == "message"
               and x["message"]["role"] == "tool") == 12


def test_anthropic_wire_stays_valid_through_compactions(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The same overflowing run on the Anthropic Messages API (its fake refuses a
    tool_result without its tool_use in the previous message, and turns that do not
    alternate): compacted conversations still compile into valid requests."""
    import teragent_context
    teragent_anthropic = pytest.importorskip("teragent_anthropic")
    from teragent.testing.hosts import isolated_host
    from teragent_testing.fake_anthropic import FakeAnthropicServer

    def answer(body: dict[str, Any]) -> ScriptedReply:
        if "compress the middle" in json.dumps(body.get("system")):
            return ScriptedReply(text="Pages were read; each had a checksum line.")
        return pages(body)

    pages = responder(10)
    server = FakeAnthropicServer(responder=answer)
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "anthropic-test-not-a-secret")
    with isolated_host(teragent_context, teragent_anthropic), \
            serve_in_thread(server) as base_url:
        config = {"drivers": {"claude": {
                      "adapter": "anthropic_native", "compiler": "anthropic",
                      "identity": "claude", "model": "claude-test", "base_url": base_url,
                      "api_key_env": "FAKE_ANTHROPIC_KEY"}},
                  "agent": {"driver": "claude", "max_steps": 30, "stream": False},
                  "context": {"model_token_limit": LIMIT, "retain_count": 4}}
        result, events = _run(config, tmp_path)
    assert result.stop_reason == "completed", result.as_dict()
    assert len(result.tool_outcomes) == 10
    assert {e["kind"] for e in events} >= {"auto"}
