"""What the desktop tool types may be a password: the X display receives it, no record
does (audit log, events, the trace, the session and its transcript)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import teragent
from teragent.events import EventBus
from teragent.testing import ScriptedModel, call_tool, reply
from teragent.tools.desktop import DesktopSafetyConfig, DesktopTool

#: Letters and digits only: each arrives as one KeyPress with that keysym.
SECRET = "hunter7pw9zq"


def _records(ws: Path) -> dict[str, str]:
    """Every file the run wrote under .teragent (audit, traces, sessions, transcripts),
    as text: the SQLite session database as its bytes."""
    from teragent_traces.tracer import flush_all

    flush_all()
    out = {}
    for path in sorted((ws / ".teragent").rglob("*")):
        if path.is_file():
            out[str(path.relative_to(ws))] = path.read_bytes().decode("utf-8", "replace")
    return out


def test_typed_secret_reaches_the_display_and_no_record(xev: Any, tmp_path: Path) -> None:
    tool = DesktopTool(DesktopSafetyConfig(min_interval=0), display=xev.display)
    model = ScriptedModel([
        call_tool("desktop", {"action": "move_mouse", "x": 100, "y": 100}),
        call_tool("desktop", {"action": "type_text", "text": SECRET}),
        reply("logged in")])
    bus = EventBus(history_size=1000)
    seen: list[tuple[str, dict[str, Any]]] = []
    bus.on("*", lambda name, *args, **kwargs: seen.append((name, kwargs)))
    config = {"traces": {}, "session": {}}
    agent = teragent.build_agent(config, workspace=tmp_path, provider=model, tools=[tool],
                                 stream=False, allow_destructive=True, bus=bus,
                                 session_id="login")

    async def go() -> Any:
        try:
            return await agent.run("log in with the password from the note")
        finally:
            await agent.aclose()

    result = asyncio.run(go())
    assert [o.result.success for o in result.tool_outcomes] == [True, True], \
        [o.result.error for o in result.tool_outcomes]

    # the tool received the real text: X saw every character of it
    evs = xev.wait_for(lambda evs: len([e for e in evs if e.type == "KeyRelease"])
                       >= len(SECRET), "the typed text")
    assert "".join(e.keysym or "?" for e in evs if e.type == "KeyPress") == SECRET

    # the audit log, the trace, the session database and its transcript were written,
    # and none holds the text
    files = _records(tmp_path)
    assert {".teragent/audit.jsonl", ".teragent/traces/traces.jsonl",
            ".teragent/transcripts/login.jsonl"} <= set(files), sorted(files)
    assert any(name.startswith(".teragent/sessions.db") for name in files)
    for name, text in files.items():
        assert SECRET not in text, name
    audit = [json.loads(x) for x in files[".teragent/audit.jsonl"].splitlines()]
    typed = [e for e in audit if e["params"].get("action") == "type_text"]
    assert typed and typed[0]["params"]["text"] == f"[redacted: {len(SECRET)} chars]"
    assert typed[0]["outcome"] == "executed"

    # the events (tool_start, model_end's response, agent_done's result, ...)
    assert {name for name, _ in seen} >= {"tool_start", "model_end", "agent_done"}
    for name, kwargs in seen:
        assert SECRET not in json.dumps(kwargs, default=repr), name
    starts = [kw["params"] for name, kw in seen if name == "tool_start"]
    assert starts[1] == {"action": "type_text", "text": f"[redacted: {len(SECRET)} chars]"}

    # the conversation the run keeps (later model calls, the session) and its summary
    assert SECRET not in json.dumps(list(result)) and SECRET not in json.dumps(
        result.as_dict(), default=repr)
