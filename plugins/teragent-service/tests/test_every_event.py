"""One conversation, scripted so that every server event type of the seed's table is
produced, through a real server and a real WebSocket client."""

from __future__ import annotations

import json
from typing import Any

from teragent.testing import ScriptedModel
from teragent.testing.scripted import Step, call_tool, reply

from teragent_service.events import EVENT_FIELDS


def test_every_event_type(svc: Any) -> None:
    long_text = " ".join(f"word{i}" for i in range(300))
    cid = svc.create([
        call_tool("task_create", {"subject": "Ship it"}),                     # task_update
        call_tool("write_file", {"path": "a.txt", "content": "A"}),           # approval
        call_tool("task", {"input": "look around"}),                          # subagent
        reply("nothing to see"),                                              #   its answer
        call_tool("background_run", {"command": "echo from-background"}),     # background
        call_tool("spawn_teammate", {"name": "kim", "role": "helper",
                                     "prompt": "say hi"}),                    # teammate
        call_tool("compact", {"focus": "the task list"}),                     # compaction
        reply("Summary: a task was created and a.txt written."),              #   its summary
        reply("First turn done."),
        Step(text=long_text, chunk_delay=0.02),                               # interrupted
        reply("Short answer."),
        Step(error=RuntimeError("the model broke")),                          # error
    ], enable_teams=True, enable_tracing=True, enable_approval=True)
    svc.models[(cid, "kim")] = ScriptedModel([reply("hi from kim")])
    seen: list[dict[str, Any]] = []
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "do everything"}))
        svc.until(ws, "tool_approval_request", seen)
        ws.send(json.dumps({"type": "tool_approval_response", "decision": "auto_approve"}))
        svc.until(ws, "done", seen)
        while not any(e["type"] == "background_result" for e in seen):
            seen.append(svc.recv(ws))
        ws.send(json.dumps({"type": "message", "content": "tell me more"}))
        while not (seen[-1]["type"] == "text_delta" and "word5" in seen[-1]["content"]):
            seen.append(svc.recv(ws))
        ws.send(json.dumps({"type": "interrupt", "content": "shorter please"}))
        svc.until(ws, "done", seen)
        ws.send(json.dumps({"type": "message", "content": "and now?"}))
        svc.until(ws, "done", seen)
    kinds = {e["type"] for e in seen}
    missing = set(EVENT_FIELDS) - {"ready"} - kinds
    assert not missing, f"never produced: {sorted(missing)}"
    seqs = [e["seq"] for e in seen]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    traced = [e for e in seen if e["type"] == "llm_request"]
    assert {"lead", "kim"} <= {e["agent"] for e in traced}       # teammates traced too
    calls = [e["call"] for e in traced]
    assert len(calls) == len(set(calls))                         # pairing stays unique
    for e in seen:   # every event carries the documented fields
        assert set(EVENT_FIELDS[e["type"]]) - {"kind", "before_tokens", "after_tokens",
                                               "depth"} <= set(e), e
