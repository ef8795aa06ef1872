"""TAPTracer: the 001 example as written, auto-tracing of every model call of an agent
run from agent.toml (library loop, build_agent, streaming, the CLI), redaction, and the
traces CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import teragent
from teragent import AgentLoop, AgentLoopConfig, TAPRequest, TAPResponse, ToolRegistry
from teragent.testing.scripted import ScriptedModel, call_tool, reply
from teragent.tools import tool

CLI = [sys.executable, "-m", "teragent.cli"]
SECRET = "sk-test-0123456789abcdefghijklmnop"


@tool
def lookup(term: str) -> str:
    """Look a term up.

    Args:
        term: What to look up.
    """
    return f"{term} means 42"


def _raw(trace_dir: Path) -> list[dict]:
    from teragent_traces.tracer import flush_all

    flush_all()  # a request line waits for its response
    path = trace_dir / "traces.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _records(trace_dir: Path) -> list[dict]:
    """The records as the tracer reads them (delta-stored prompts made whole)."""
    from teragent import TAPTracer

    _raw(trace_dir)
    return TAPTracer(trace_dir=trace_dir)._records()


def test_001_example(tmp_path: Path) -> None:
    from teragent import TAPTracer

    async def main() -> None:
        provider = teragent.create_provider(adapter="mock", model="m")
        tap_request = TAPRequest(meta={"task_id": "1.1", "intent": "code_generation"},
                                 instruction="Implement user login module")
        tracer = TAPTracer(trace_dir=str(tmp_path / "project/.agent/traces"))
        # Auto-tracing via ModelProvider
        provider.set_tracer(tracer)
        await provider.execute_tap(tap_request)  # FAIL below
        await tracer.record_checklist("1.1", {"passed": False})
        tap_response = await provider.execute_tap(tap_request)
        # Manual tracing
        trace_id = await tracer.record_request(tap_request)
        await tracer.record_response(tap_response, task_id="1.1", trace_id=trace_id)
        checklist_data = {"syntax": "PASS", "imports": "PASS"}
        await tracer.record_checklist("1.1", checklist_data)
        # Export
        pairs = tracer.export_dpo_pairs()
        path = tracer.export_dpo_pairs_jsonl()
        traces = tracer.export_traces()
        stats = tracer.get_trace_stats()
        assert stats.total_requests == 3 and stats.passed == 2 and stats.failed == 1
        assert len(traces) == 3 and path.exists()
        # The auto-traced calls hash the compiled prompt, the manual one the request:
        # only the two auto-traced answers are answers to the same prompt, and they
        # are the same text (the mock echoes), so they teach nothing: no pair.
        assert pairs == []
        assert {t["request"]["basis"] for t in traces} == {"compiled", "request"}

    asyncio.run(main())


def _config(tmp_path: Path) -> dict:
    return {"traces": {"dir": str(tmp_path / "traces")}, "audit": {"enabled": False}}


@pytest.mark.parametrize("stream", [False, True], ids=["batch", "stream"])
def test_build_agent_traces_every_call_of_a_run(tmp_path: Path, stream: bool) -> None:
    model = ScriptedModel([call_tool("lookup", {"term": "x"}), reply("x means 42")])

    async def main() -> None:
        agent = teragent.build_agent(_config(tmp_path), workspace=tmp_path, provider=model,
                                     tools=[lookup], stream=stream)
        async with agent:
            await agent.run("What does x mean?")

    asyncio.run(main())
    recs = _records(tmp_path / "traces")
    assert [r["type"] for r in recs] == ["request", "response"] * 2
    first, second = recs[0], recs[2]
    assert first["basis"] == "compiled" and first["provider"] == "scripted"
    assert [m["role"] for m in second["prompt"]["messages"]][-2:] == ["assistant", "tool"]
    assert recs[1]["tool_calls"][0]["name"] == "lookup"
    assert recs[3]["text"] == "x means 42"
    assert first["prompt_hash"] != second["prompt_hash"]
    # On disk the second call stores only what it adds to the first (the history
    # grows by the assistant's tool call and the tool's result), and its hash is the
    # hash of the whole prompt.
    raw = _raw(tmp_path / "traces")
    assert "prompt" in raw[0] and "prompt" not in raw[2]
    assert raw[2]["prompt_ref"] == {"trace_id": first["trace_id"], "messages": 2,
                                    "tools": True}
    assert [m["role"] for m in raw[2]["prompt_delta"]["messages"]] == ["assistant", "tool"]
    from teragent_traces.tracer import prompt_hash

    assert prompt_hash(second["prompt"]) == second["prompt_hash"]
    assert prompt_hash(first["prompt"]) == first["prompt_hash"]


def test_hand_built_loop_and_task_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from teragent_traces.config import tracer_for

    (tmp_path / "agent.toml").write_text(f'[traces]\ndir = "{tmp_path / "traces"}"\n'
                                         '[audit]\nenabled = false\n')
    monkeypatch.setenv("TERAGENT_CONFIG", str(tmp_path / "agent.toml"))
    model = ScriptedModel([reply("hello")])
    tracer = tracer_for({"traces": {"dir": str(tmp_path / "traces")}}, tmp_path)

    async def main() -> None:
        loop = AgentLoop(model, ToolRegistry([lookup]), AgentLoopConfig(stream=False),
                         workspace=tmp_path)
        with tracer.task("7.1"):
            await loop.run("hi")

    asyncio.run(main())
    recs = _records(tmp_path / "traces")
    assert [(r["type"], r["task_id"]) for r in recs] == [("request", "7.1"), ("response", "7.1")]


def test_no_traces_table_no_tracing(tmp_path: Path) -> None:
    model = ScriptedModel([reply("hello")])

    async def main() -> None:
        agent = teragent.build_agent({"audit": {"enabled": False}}, workspace=tmp_path,
                                     provider=model, tools=[])
        assert agent.runtime.tracers == []
        async with agent:
            await agent.run("hi")

    asyncio.run(main())
    assert not (tmp_path / ".teragent" / "traces").exists()


def test_secrets_are_redacted_before_writing(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "opaque-value-without-a-known-shape")
    from teragent import TAPTracer

    model = ScriptedModel([reply(f"your key {SECRET} and opaque-value-without-a-known-shape")])
    tracer = TAPTracer(trace_dir=tmp_path / "t")
    model.set_tracer(tracer)

    async def main() -> None:
        await model.execute_tap(TAPRequest(
            instruction=f"use {SECRET} and opaque-value-without-a-known-shape"))

    asyncio.run(main())
    tracer.flush()
    raw = (tmp_path / "t" / "traces.jsonl").read_text()
    assert SECRET not in raw and "opaque-value-without-a-known-shape" not in raw
    assert raw.count("***") >= 4
    assert oct((tmp_path / "t" / "traces.jsonl").stat().st_mode & 0o777) == "0o600"


def test_unknown_strategy_and_format_are_refused(tmp_path: Path) -> None:
    from teragent import TAPTracer
    from teragent.errors import UserError

    tracer = TAPTracer(trace_dir=tmp_path)
    with pytest.raises(UserError, match="same_task_retry"):
        tracer.export_dpo_pairs("intent")
    with pytest.raises(UserError, match="'chat'"):
        tracer.export_dpo_pairs_jsonl(format="csv")


def _cli(args: list[str], cwd: Path,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env=env or dict(os.environ, TERAGENT_CONFIG=str(cwd / "agent.toml")))


def test_cli_run_traces_tool_turns_and_traces_commands(tmp_path: Path) -> None:
    pytest.importorskip("teragent_openai")
    from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply, serve_in_thread

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "notes.txt").write_text("x means 42\n")
    server = FakeOpenAIServer(strict=True).script(
        ScriptedReply(tool_calls=[("read_file", {"path": "notes.txt"})]),
        ScriptedReply(text="x means 42"))
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"),
               FAKE_KEY=SECRET)
    env.pop("TERAGENT_CONFIG", None)
    with serve_in_thread(server) as url:
        (ws / "agent.toml").write_text(
            f'[drivers.openai_compatible.fake]\nbase_url = "{url}"\nmodel = "fake-model"\n'
            'api_key_env = "FAKE_KEY"\n[traces]\n')
        out = _cli(["run", "what does x mean?", "--json", "--no-stream"], ws, env)
    assert out.returncode == 0, out.stderr
    recs = _records(ws / ".teragent" / "traces")
    assert [r["type"] for r in recs] == ["request", "response"] * 2
    assert recs[2]["prompt"]["messages"][-1]["role"] == "tool"
    assert SECRET not in (ws / ".teragent" / "traces" / "traces.jsonl").read_text()

    listed = _cli(["traces", "list"], ws, env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert len(lines) == 2 and "read_file()" in lines[0] and "x means 42" in lines[1]
    trace_id = lines[1].split()[0]
    shown = json.loads(_cli(["traces", "show", trace_id], ws, env).stdout)
    assert shown["response"]["text"] == "x means 42"
    stats = json.loads(_cli(["traces", "--json", "stats"], ws, env).stdout)
    assert stats["total_requests"] == 2 and stats["unlabelled"] == 2
    exported = _cli(["traces", "export-dpo", "--out", str(tmp_path / "p.jsonl")], ws, env)
    assert exported.returncode == 0 and "wrote 0 pair(s)" in exported.stdout
    missing = _cli(["traces", "--dir", str(tmp_path / "none"), "stats"], ws, env)
    assert missing.returncode != 0 and "no traces in" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_nested_run_is_traced_once(tmp_path: Path) -> None:
    """An agent run inside a tool of another run: the inner calls are traced once
    (one tracer per directory, inherited and de-duplicated by the nested runtime)."""
    config = _config(tmp_path)
    inner_model = ScriptedModel([reply("inner answer")])

    @tool
    async def ask_helper(question: str) -> str:
        """Ask the helper agent.

        Args:
            question: The question.
        """
        helper = teragent.build_agent(config, workspace=tmp_path, provider=inner_model,
                                      tools=[])
        return (await helper.run(question)).final_text

    outer = ScriptedModel([call_tool("ask_helper", {"question": "why?"}), reply("done")])

    async def main() -> None:
        agent = teragent.build_agent(config, workspace=tmp_path, provider=outer,
                                     tools=[ask_helper])
        async with agent:
            result = await agent.run("ask the helper")
        assert result.tool_outcomes[0].result.to_text() == "inner answer"

    asyncio.run(main())
    recs = [r for r in _records(tmp_path / "traces") if r["type"] == "response"]
    assert sorted(r["text"] or "" for r in recs) == ["", "done", "inner answer"]


def test_cross_task_pairs_need_identical_prompts(tmp_path: Path) -> None:
    from teragent import TAPTracer

    tracer = TAPTracer(trace_dir=tmp_path)

    async def answer(task: str, instruction: str, text: str, passed: bool) -> str:
        request = TAPRequest(meta={"task_id": task, "intent": "code_generation"},
                             instruction=instruction)
        trace_id = await tracer.record_request(request)
        await tracer.record_response(TAPResponse(raw_text=text), trace_id=trace_id)
        await tracer.record_checklist(task, {"passed": passed})
        return trace_id

    async def main() -> None:
        await answer("A", "Write add()", "def add(a, b): return a + b", True)
        await answer("B", "Write add()", "def add(a, b): return a - b", False)  # same prompt
        await answer("C", "Write sub()", "def sub(a, b): return a + b", False)  # another

    asyncio.run(main())
    pairs = tracer.export_dpo_pairs("cross_task")
    assert [(p.chosen_task_id, p.rejected_task_id) for p in pairs] == [("A", "B")]
    assert tracer.export_dpo_pairs("same_task_retry") == []
    assert [(r["chosen_task_id"], r["rejected_task_id"]) for r in tracer.refused_pairs] == \
        [("A", "C")]
    assert "different prompts" in tracer.refused_pairs[0]["reason"]


def test_agent_runs_redacted_and_sharing_their_first_messages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled calls of agent runs: every line with a secret is redacted (prompt
    delta, tool call, answer), lines without one in the same batch are left as they
    are; a second run that starts with the same system prompt and tools stores only
    what differs (``prompt_ref`` to the last call, 1 message), and readers get its
    whole prompt back, with the hash of that whole prompt."""
    from teragent_traces.tracer import prompt_hash

    monkeypatch.setenv("MY_SERVICE_TOKEN", "opaque-value-without-a-known-shape")
    model = ScriptedModel([call_tool("lookup", {"term": SECRET}), reply(f"it is {SECRET}"),
                           reply("a plain answer")])

    async def main() -> None:
        agent = teragent.build_agent(_config(tmp_path), workspace=tmp_path, provider=model,
                                     tools=[lookup], system_prompt="You look things up.")
        async with agent:
            await agent.run(f"look up {SECRET} or opaque-value-without-a-known-shape",
                            history=[])
            await agent.run("say something plain", history=[])

    asyncio.run(main())
    raw = _raw(tmp_path / "traces")
    text = (tmp_path / "traces" / "traces.jsonl").read_text()
    assert SECRET not in text and "opaque-value-without-a-known-shape" not in text
    assert text.count("***") >= 4
    assert '"say something plain"' in text and '"a plain answer"' in text
    requests = [r for r in raw if r["type"] == "request"]
    assert len(requests) == 3
    assert "prompt" in requests[0] and requests[1]["prompt_ref"]["messages"] == 2
    third = requests[2]
    assert "prompt" not in third
    assert third["prompt_ref"] == {"trace_id": requests[1]["trace_id"], "messages": 1,
                                   "tools": True}
    assert [m["content"] for m in third["prompt_delta"]["messages"]] == ["say something plain"]
    whole = [r for r in _records(tmp_path / "traces") if r["type"] == "request"]
    assert [m["role"] for m in whole[2]["prompt"]["messages"]] == ["system", "user"]
    assert whole[2]["prompt"]["messages"][0]["content"] == "You look things up."
    assert whole[2]["prompt"]["tools"][0]["function"]["name"] == "lookup"
    # The hash is of what the model saw (before redaction): the clean call's matches.
    assert prompt_hash(whole[2]["prompt"]) == whole[2]["prompt_hash"]
    assert prompt_hash(whole[0]["prompt"]) != whole[0]["prompt_hash"]


def test_delta_stored_prompts_hash_and_read_back_whole(tmp_path: Path) -> None:
    """Every way a compiled call can share messages with the last one (continuation,
    first message only, a longer shared prefix, none, other tools): the hash is
    the SHA-256 of the whole prompt and readers get the whole prompt back."""
    from teragent.core.tap import CompiledPrompt
    from teragent_traces.tracer import TAPTracer, prompt_hash

    sys_msg = {"role": "system", "content": "You help."}
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    other_tools = [{"type": "function", "function": {"name": "g", "parameters": {}}}]

    def user(text: str) -> dict:
        return {"role": "user", "content": text}

    prompts = [
        ([sys_msg, user("a")], tools),                                  # new
        ([sys_msg, user("a"), {"role": "assistant", "content": "b"}, user("c")], tools),
        ([sys_msg, user("a"), {"role": "assistant", "content": "x"}], tools),  # 2 shared
        ([dict(sys_msg), user("d")], tools),                            # 1 shared, a copy
        ([dict(sys_msg), user("d"), user("e")], other_tools),           # other tools
        ([{"role": "system", "content": "Other."}, user("d")], None),   # nothing shared
        ([dict(sys_msg), user("d"), user("e")], other_tools),           # identical prompt
    ]
    tracer = TAPTracer(trace_dir=tmp_path)

    async def main() -> None:
        for messages, tl in prompts:
            compiled = CompiledPrompt(messages=messages, tools=tl)
            tid = await tracer.record_request(None, compiled=compiled, provider="p", model="m")
            await tracer.record_response("ok", trace_id=tid)

    asyncio.run(main())
    tracer.flush()
    raw = [r for r in _raw(tmp_path) if r["type"] == "request"]
    assert [r.get("prompt_ref", {}).get("messages") for r in raw] == [None, 2, 2, 1, 2, None, 3]
    read = [r for r in tracer._records() if r["type"] == "request"]
    for rec, (messages, tl) in zip(read, prompts):
        whole = {"messages": messages, "tools": tl}
        assert rec["prompt"] == whole
        assert rec["prompt_hash"] == prompt_hash(whole)
    assert read[4]["prompt_hash"] == read[6]["prompt_hash"]


def test_a_secret_in_a_head_string_is_redacted_too(tmp_path: Path) -> None:
    """The look for secrets covers the strings of a line's head a caller chose (task
    id, provider, model, finish reason), not only the prompt and the answer."""
    from teragent.core.tap import CompiledPrompt
    from teragent_traces.tracer import TAPTracer

    tracer = TAPTracer(trace_dir=tmp_path)

    async def main() -> None:
        compiled = CompiledPrompt(messages=[{"role": "user", "content": "hi"}])
        with tracer.task(f"task {SECRET}"):
            tid = await tracer.record_request(None, compiled=compiled, provider="p",
                                              model="m")
        await tracer.record_response(TAPResponse(raw_text="hello", model=f"m {SECRET}"),
                                     trace_id=tid)

    asyncio.run(main())
    tracer.flush()
    text = (tmp_path / "traces.jsonl").read_text()
    assert SECRET not in text and text.count("***") == 3
    assert '"hi"' in text and '"hello"' in text
