"""Sessions through every entry point: build_agent (library), the CLI as a subprocess
(`run --session`, `chat`, `sessions list|show|export|delete`), continued runs."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from teragent import build_agent
from teragent.errors import MissingPluginError
from teragent.testing import ScriptedModel, call_tool, isolated_host, reply
from teragent.tools import tool
from teragent_sessions import SessionPersistence


@tool
def lookup(key: str) -> str:
    """Look a key up.

    Args:
        key: The key.
    """
    return f"value-of-{key}"


def _texts(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages)


def _build(tmp_path: Path, model: Any, **kw: Any) -> Any:
    return build_agent({}, workspace=tmp_path, provider=model, tools=[lookup], audit=False,
                       **kw)


def test_build_agent_saves_a_run_and_a_continued_run_sees_it(tmp_path: Path) -> None:
    first = ScriptedModel([call_tool("lookup", {"key": "alpha"}), reply("alpha is known")])
    agent = _build(tmp_path, first, session_id="work")
    asyncio.run(agent.run("What is alpha?"))
    store = agent.session
    assert isinstance(store, SessionPersistence)
    saved = store.restore("work")
    assert [m["role"] for m in saved] == ["user", "assistant", "tool", "assistant"]
    assert saved[2]["content"] == "value-of-alpha"
    info = store.get_session("work")
    assert info.title == "What is alpha?" and info.step_count == 2 and info.intent == "run"

    seen: list[list[dict[str, Any]]] = []
    second = ScriptedModel([reply("it was alpha", expect=lambda m, t: seen.append(m))])
    again = _build(tmp_path, second, session_id="work")
    assert [m["role"] for m in again.history] == ["user", "assistant", "tool", "assistant"]
    asyncio.run(again.run("Which key did I ask about?"))
    sent = seen[0]
    assert sent[0]["role"] == "system"
    assert [m.get("content") for m in sent[1:]] == [
        "What is alpha?", "", "value-of-alpha", "alpha is known",
        "Which key did I ask about?"]
    assert len(store.restore("work")) == 6

    # the transcript mirrors every entry, run boundaries included, one JSON per line
    lines = [json.loads(x) for x in
             (tmp_path / ".teragent/transcripts/work.jsonl").read_text().splitlines()]
    kinds = [(x["type"], x.get("event") or x["message"]["role"]) for x in lines]
    assert kinds[:6] == [("message", "user"), ("event", "run_start"), ("message", "assistant"),
                         ("message", "tool"), ("message", "assistant"), ("event", "run_end")]
    assert [x["seq"] for x in lines] == list(range(1, len(lines) + 1))
    assert lines[1]["data"]["task"] == "What is alpha?"


def test_session_table_saves_every_agent_in_a_new_session(tmp_path: Path) -> None:
    agent = build_agent({"session": {"transcripts": False}}, workspace=tmp_path,
                        provider=ScriptedModel([reply("hi")]), tools=[], audit=False)
    asyncio.run(agent.run("hello"))
    assert agent.session_id is not None
    assert agent.session.restore(agent.session_id)[0]["content"] == "hello"
    assert not (tmp_path / ".teragent/transcripts").exists()
    off = build_agent({"session": {"enabled": False}}, workspace=tmp_path,
                      provider=ScriptedModel([]), tools=[], audit=False)
    assert off.session is None and off.session_id is None


def test_compaction_events_reach_the_transcript(tmp_path: Path) -> None:
    agent = _build(tmp_path, ScriptedModel([reply("ok")]), session_id="c1")

    async def main() -> None:
        await agent.bus.emit("compaction", before_tokens=2300, after_tokens=900,
                             removed=[{"role": "tool", "tool_call_id": "call_1"}])
        await agent.run("go")
    asyncio.run(main())
    events = [e for e in agent.session.entries("c1") if e.kind == "event"]
    assert events[0].data == {"event": "compaction", "before_tokens": 2300,
                              "after_tokens": 900,
                              "removed": [{"role": "tool", "tool_call_id": "call_1"}]}


def test_a_crashed_run_leaves_no_orphaned_tool_call(tmp_path: Path) -> None:
    store = SessionPersistence(tmp_path / "s.db")
    sid = store.create(title="t", intent="run", session_id="half")
    store.save_message(sid, {"role": "user", "content": "q"})
    store.save_message(sid, {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c9", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}]})
    # the process died before the tool result was saved
    agent = _build(tmp_path, ScriptedModel([reply("a")]), session=store, session_id="half")
    assert agent.history == [{"role": "user", "content": "q"}]


def test_without_the_plugin_a_session_names_the_install(tmp_path: Path) -> None:
    with isolated_host():
        with pytest.raises(MissingPluginError, match="pip install teragent-sessions"):
            build_agent({}, workspace=tmp_path, provider=ScriptedModel([]), tools=[],
                        audit=False, session_id="x")


# --- the CLI --------------------------------------------------------------------------

pytest.importorskip("teragent_openai")
from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply, serve_in_thread  # noqa: E402

CLI = [sys.executable, "-m", "teragent.cli"]


def _project(tmp_path: Path, url: str) -> dict[str, str]:
    (tmp_path / ".git").mkdir(exist_ok=True)
    (tmp_path / "agent.toml").write_text(
        f'[drivers.openai_compatible.fake]\nbase_url = "{url}"\nmodel = "fake-model"\n')
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    env.pop("TERAGENT_CONFIG", None)
    return env


def _cli(tmp_path: Path, env: dict[str, str], *args: str, stdin: str | None = None,
         ok: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([*CLI, *args], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=60, input=stdin)
    if ok:
        assert out.returncode == 0, out.stderr
    return out


def test_cli_run_session_then_continue_then_manage(tmp_path: Path) -> None:
    server = FakeOpenAIServer(strict=True).script(
        ScriptedReply(text="Noted: the code word is heron."),
        ScriptedReply(text="The code word was heron."))
    with serve_in_thread(server) as url:
        env = _project(tmp_path, url)
        _cli(tmp_path, env, "run", "--session", "bird", "Remember the code word heron.",
             "--json")
        out = _cli(tmp_path, env, "run", "--session", "bird", "What was the code word?",
                   "--json")
    assert json.loads(out.stdout)["final_text"] == "The code word was heron."
    assert json.loads(out.stdout)["session"] == "bird"
    sent = server.requests[1].messages
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[1]["content"] == "Remember the code word heron."
    assert sent[2]["content"] == "Noted: the code word is heron."

    listed = json.loads(_cli(tmp_path, env, "sessions", "list", "--json").stdout)
    assert [(s["id"], s["message_count"], s["step_count"]) for s in listed] == [("bird", 4, 2)]
    shown = _cli(tmp_path, env, "sessions", "show", "bird").stdout
    assert "[user] Remember the code word heron." in shown
    exported = _cli(tmp_path, env, "sessions", "export", "bird").stdout.splitlines()
    messages = [json.loads(x)["message"] for x in exported if '"type": "message"' in x]
    assert [m["content"] for m in messages][-1] == "The code word was heron."
    # the live transcript and the export from the database agree
    live = (tmp_path / ".teragent/transcripts/bird.jsonl").read_text().splitlines()
    assert [json.loads(x)["seq"] for x in live] == [json.loads(x)["seq"] for x in exported]
    _cli(tmp_path, env, "sessions", "delete", "bird")
    assert json.loads(_cli(tmp_path, env, "sessions", "list", "--json").stdout) == []
    gone = _cli(tmp_path, env, "sessions", "show", "bird", ok=False)
    assert gone.returncode == 2 and "no session 'bird'" in gone.stderr
    assert "Traceback" not in gone.stderr
    bad = _cli(tmp_path, env, "run", "--session", "../escape", "hi", ok=False)
    assert bad.returncode == 2 and "session id '../escape' is not valid" in bad.stderr
    assert len(server.requests) == 2  # refused before any model call


def test_cli_chat_resumes_where_it_left_off(tmp_path: Path) -> None:
    server = FakeOpenAIServer(strict=True).script(
        ScriptedReply(text="Hello Ada."), ScriptedReply(text="Your name is Ada."),
        ScriptedReply(text="I do not know your name."))
    with serve_in_thread(server) as url:
        env = _project(tmp_path, url)
        _cli(tmp_path, env, "chat", "--no-stream", stdin="My name is Ada.\n/exit\n")
        second = _cli(tmp_path, env, "chat", "--no-stream", stdin="What is my name?\n")
        fresh = _cli(tmp_path, env, "chat", "--no-stream", "--new",
                     stdin="What is my name?\n")
    assert "Your name is Ada." in second.stdout
    assert "2 earlier message(s) continued" in second.stderr
    assert [m["content"] for m in server.requests[1].messages[1:]] == [
        "My name is Ada.", "Hello Ada.", "What is my name?"]
    assert [m["content"] for m in server.requests[2].messages[1:]] == ["What is my name?"]
    assert "I do not know your name." in fresh.stdout


def test_a_hand_built_loop_saves_and_continues_like_build_agent(tmp_path: Path) -> None:
    from teragent import AgentLoop, ToolRegistry

    store = SessionPersistence(tmp_path / "s.db")
    loop = AgentLoop(ScriptedModel([reply("one")]), ToolRegistry(), session=store,
                     session_id="hand", workspace=tmp_path)
    asyncio.run(loop.run("first"))
    seen: list[list[dict[str, Any]]] = []
    again = AgentLoop(ScriptedModel([reply("two", expect=lambda m, t: seen.append(m))]),
                      ToolRegistry(), session=store, session_id="hand", workspace=tmp_path)
    asyncio.run(again.run("second"))
    assert [m["content"] for m in seen[0][1:]] == ["first", "one", "second"]
    assert [m["content"] for m in store.restore("hand")] == ["first", "one", "second", "two"]


def test_a_continued_reply_is_saved_once(tmp_path: Path) -> None:
    model = ScriptedModel([reply("The answer is", finish_reason="length"),
                           reply(" 42.")])
    agent = _build(tmp_path, model, session_id="cut")
    result = asyncio.run(agent.run("answer"))
    assert result.final_text == "The answer is 42."
    assert [m["content"] for m in agent.session.restore("cut")] == ["answer",
                                                                    "The answer is 42."]


class _KeepLastTwo:
    """A compactor (the loop's ``maybe_compact`` protocol) that replaces everything but
    the system prompt and the last two messages with a summary, once."""

    def __init__(self) -> None:
        self.done = False

    async def maybe_compact(self, messages: list[dict[str, Any]],
                            system_prompt: str) -> list[dict[str, Any]] | None:
        if self.done or len(messages) < 6:
            return None
        self.done = True
        return [messages[0], {"role": "user", "content": "[summary of earlier work]"},
                *messages[-2:]]


def test_a_continued_session_starts_from_its_last_compaction(tmp_path: Path) -> None:
    steps = [call_tool("lookup", {"key": k}) for k in ("a", "b", "c")] + [reply("done")]
    agent = _build(tmp_path, ScriptedModel(steps), session_id="long",
                   auto_compactor=_KeepLastTwo())
    asyncio.run(agent.run("look up a, b and c"))
    store = agent.session
    assert len(store.restore("long")) == 8  # every message is kept
    seen: list[list[dict[str, Any]]] = []
    again = _build(tmp_path, ScriptedModel([reply("ok", expect=lambda m, t: seen.append(m))]),
                   session_id="long")
    asyncio.run(again.run("and now?"))
    contents = [m.get("content") for m in seen[0][1:]]
    assert contents[0] == "[summary of earlier work]"
    assert "look up a, b and c" not in contents and contents[-1] == "and now?"
    roles = [m["role"] for m in seen[0][1:]]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant", "user"]


def test_sessions_export_formats_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from teragent.cli import main
    from teragent_sessions.wiring import build_session_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TERAGENT_CONFIG", raising=False)
    store = build_session_store({}, str(tmp_path))
    sid = store.create(title="Export me", session_id="ex")
    store.save_message(sid, {"role": "user", "content": "token=abcdef123456 please"})
    store.save_message(sid, {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "lookup",
                                                      "arguments": "{\"key\": \"k\"}"}}]})
    store.save_message(sid, {"role": "tool", "tool_call_id": "c1", "name": "lookup",
                             "content": "value"})
    store.save_event(sid, "compaction", {"before_tokens": 10, "after_tokens": 5})

    assert main(["sessions", "export", "ex", "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# Export me")
    assert "token=***" in md and "abcdef123456" not in md  # redacted
    assert "- call `lookup` {\"key\": \"k\"}" in md and "### tool (lookup)" in md
    assert "*compaction*" in md

    assert main(["sessions", "export", "ex", "--format", "json", "-o", "out.json"]) == 0
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["session"]["id"] == "ex" and len(doc["entries"]) == 4
    assert doc["entries"][3]["event"] == "compaction"

    assert main(["sessions"]) == 2
    assert "teragent sessions list|show" in capsys.readouterr().err
    assert main(["sessions", "delete", "ex", "nope"]) == 2
    assert "no session 'nope'" in capsys.readouterr().err
    assert store.list_sessions() == []


def test_an_agent_that_fails_to_build_opens_no_session(tmp_path: Path) -> None:
    from teragent.errors import UserError

    with pytest.raises(UserError):
        build_agent({}, workspace=tmp_path, model="nosuchvendor:some-model", tools=[], audit=False,
                    session_id="never")
    store = SessionPersistence(tmp_path / ".teragent/sessions.db")
    assert store.list_sessions() == []
    store.close()
