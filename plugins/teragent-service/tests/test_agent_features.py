"""The service's agent features end to end over the WebSocket: skills, the task graph,
background commands, subagents."""

from __future__ import annotations

import json
import time
from typing import Any

from teragent.testing.scripted import call_tool, reply

SKILL = """---
name: haiku-writer
description: Use when the user asks for a haiku.
---

# Haiku writer

Write three lines of 5, 7 and 5 syllables.
"""


def _turn(svc: Any, cid: str, text: str) -> list[dict[str, Any]]:
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": text}))
        seen: list[dict[str, Any]] = []
        svc.until(ws, "done", seen)
    return seen


def _tool_texts(svc: Any, cid: str, call: int) -> list[str]:
    msgs = svc.models[cid].requests[call].as_messages()
    return [m["content"] for m in msgs if m["role"] == "tool"]


def _read_until_status(svc: Any, ws: Any, seen: list[dict[str, Any]], status: str,
                       count: int = 1) -> None:
    """Read events into ``seen`` until it holds ``count`` teammate_status events with
    ``status``."""
    while sum(e["type"] == "teammate_status" and e["status"] == status for e in seen) < count:
        seen.append(svc.recv(ws))


def test_skills_upload_list_and_read(svc: Any) -> None:
    r = svc.a.post("/api/skills", json={"content": SKILL})
    assert r.status_code == 200 and r.json()["name"] == "haiku-writer"
    bad = svc.a.post("/api/skills", json={"content": "no front matter"})
    assert bad.status_code == 400 and "front matter" in bad.json()["detail"]
    assert [s["name"] for s in svc.a.get("/api/skills").json()] == ["haiku-writer"]
    assert svc.b.get("/api/skills").json() == []          # alice's skill is hers
    cid = svc.create([call_tool("list_skills", {}), call_tool("read_skill",
                                                              {"name": "haiku-writer"}),
                      reply("Here is a haiku.")])
    _turn(svc, cid, "write a haiku")
    listed = _tool_texts(svc, cid, 1)[0]
    assert "haiku-writer: Use when the user asks for a haiku." in listed
    assert "Write three lines" not in listed            # progressive: body only on read
    assert "Write three lines of 5, 7 and 5 syllables." in _tool_texts(svc, cid, 2)[1]


def test_task_graph_dependencies_cascade_and_persistence(svc: Any) -> None:
    cid = svc.create([
        call_tool("task_create", {"subject": "Design"}),
        call_tool("task_create", {"subject": "Build"}),
        call_tool("task_update", {"task_id": 1, "addBlocks": [2]}),
        call_tool("task_update", {"task_id": 2, "status": "in_progress"}),   # refused
        call_tool("task_update", {"task_id": 2, "addBlocks": [1]}),          # a cycle
        call_tool("task_update", {"task_id": 1, "status": "completed"}),
        call_tool("task_list", {}),
        reply("planned"),
    ])
    seen = _turn(svc, cid, "plan it")
    results = [e for e in seen if e["type"] == "tool_result"]
    assert [r["success"] for r in results] == [True, True, True, False, False, True, True]
    assert "blocked by 1" in results[3]["result"]
    assert "cycle" in results[4]["result"]
    assert "#2 [pending] Build" in results[6]["result"] and "blockedBy" not in \
        results[6]["result"].split("#2")[1]
    updates = [e["tasks"] for e in seen if e["type"] == "task_update"]
    assert updates[2][1]["blockedBy"] == [1] and updates[2][0]["blocks"] == [2]
    assert updates[-1][1]["blockedBy"] == []          # the cascade
    stored = json.loads((svc.root / "alice" / cid / ".tasks" / "task_2.json").read_text())
    assert stored["blockedBy"] == [] and stored["subject"] == "Build"
    listed = {f["path"] for f in svc.a.get(f"/api/conversations/{cid}/files").json()["files"]}
    assert not any(p.startswith(".tasks") for p in listed)


def test_background_command_result_arrives_and_is_injected_next_turn(svc: Any) -> None:
    cid = svc.create([
        call_tool("background_run", {"command": "echo built-ok > out.txt; cat out.txt"}),
        reply("Started it."),
        reply("The build said built-ok."),
    ], enable_approval=True)
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "build in the background"}))
        req = svc.until(ws, "tool_approval_request")     # it runs a command: asked
        assert req["tools"][0]["name"] == "background_run"
        ws.send(json.dumps({"type": "tool_approval_response", "decision": "approve"}))
        seen: list[dict[str, Any]] = []
        svc.until(ws, "done", seen)
        if not any(e["type"] == "background_result" for e in seen):
            svc.until(ws, "background_result", seen)
        note = next(e for e in seen if e["type"] == "background_result")["notifications"][0]
        assert note["status"] == "completed" and "built-ok" in note["result"]
        ws.send(json.dumps({"type": "message", "content": "how did it go?"}))
        svc.until(ws, "done")
    first_user = [m for m in svc.models[cid].requests[2].as_messages()
                  if m["role"] == "user"][-1]["content"]
    assert first_user.startswith("[Background commands finished")
    assert "built-ok" in first_user and first_user.endswith("how did it go?")
    assert (svc.root / "alice" / cid / "out.txt").read_text().strip() == "built-ok"


def test_background_command_is_checked_like_bash(svc: Any) -> None:
    cid = svc.create([call_tool("background_run", {"command": "cat .env"}),
                      reply("could not")], enable_approval=True)
    (svc.root / "alice" / cid / ".env").write_text("SECRET=1")
    seen = _turn(svc, cid, "read env")
    result = next(e for e in seen if e["type"] == "tool_result")
    assert result["denied"] is True and ".env" in result["result"]
    assert not any(e["type"] == "tool_approval_request" for e in seen)  # refused first


def test_subagent_runs_with_an_isolated_context_and_depth_limit(svc: Any) -> None:
    cid = svc.create([
        call_tool("task", {"input": "find the answer"}),          # main agent
        call_tool("task", {"input": "go deeper"}),                # subagent, depth 1
        call_tool("think", {"thought": "deepest"}),               # sub-subagent, depth 2
        reply("depth-2 report"),
        reply("depth-1 report: 42"),
        reply("The subagent found 42."),
    ])
    seen = _turn(svc, cid, "delegate please")
    starts = [e for e in seen if e["type"] == "subagent_start"]
    ends = [e for e in seen if e["type"] == "subagent_end"]
    assert [s["depth"] for s in starts] == [1, 2]
    assert [e["summary"] for e in ends] == ["depth-2 report", "depth-1 report: 42"]
    reqs = svc.models[cid].requests
    sub = reqs[1].as_messages()
    assert [m["role"] for m in sub] == ["system", "user"]          # isolated context
    assert sub[1]["content"] == "find the answer"
    assert "delegate please" not in json.dumps(sub)
    tool_names = lambda i: {t["function"]["name"] for t in reqs[i].tools or []}  # noqa: E731
    assert "task" in tool_names(1) and "task" not in tool_names(2)   # depth <= 2
    assert seen[-1]["final_text"] == "The subagent found 42."


def test_subagent_tool_calls_pass_the_conversations_approval_gate(svc: Any) -> None:
    cid = svc.create([
        call_tool("task", {"input": "write x.txt"}),
        call_tool("write_file", {"path": "x.txt", "content": "from sub"}),
        reply("sub done"),
        reply("main done"),
    ], enable_approval=True)
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "go"}))
        req = svc.until(ws, "tool_approval_request")
        assert req["tools"][0]["name"] == "write_file"
        ws.send(json.dumps({"type": "tool_approval_response", "decision": "deny"}))
        svc.until(ws, "done")
    assert not (svc.root / "alice" / cid / "x.txt").exists()


def test_teammate_works_reports_and_shuts_down(svc: Any) -> None:
    from teragent.testing import ScriptedModel

    cid = svc.create([
        call_tool("spawn_teammate", {"name": "ana", "role": "tester",
                                     "prompt": "check the build"}),
        reply("Ana is on it."),
        call_tool("shutdown_request", {"name": "ana", "reason": "done for today"}),
        reply("Asked Ana to stop."),
    ], enable_teams=True)
    svc.models[(cid, "ana")] = ScriptedModel([
        call_tool("write_file", {"path": "report.txt", "content": "build ok"}),
        reply("Build checked: ok."),
        call_tool("shutdown_response", {"request_id": "shutdown-1", "approve": True}),
        reply("Bye."),
    ])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "get ana to check the build"}))
        seen: list[dict[str, Any]] = []
        svc.until(ws, "done", seen)
        _read_until_status(svc, ws, seen, "idle")
        ws.send(json.dumps({"type": "message", "content": "what did ana say? then stop her"}))
        svc.until(ws, "done", seen)
        _read_until_status(svc, ws, seen, "shutdown")
    statuses = [(e["name"], e["role"], e["status"]) for e in seen
                if e["type"] == "teammate_status"]
    assert statuses[0] == ("ana", "tester", "working")
    assert ("ana", "tester", "idle") in statuses and statuses[-1][2] == "shutdown"
    assert (svc.root / "alice" / cid / "report.txt").read_text() == "build ok"
    # The lead got Ana's report at the top of its next turn.
    lead_input = [m for m in svc.models[cid].requests[2].as_messages()
                  if m["role"] == "user"][-1]["content"]
    assert "[Messages from your teammates]" in lead_input
    assert "from ana (report): Build checked: ok." in lead_input
    # Ana saw the shutdown request in her inbox, answered it, and the protocol is closed.
    ana_second = svc.models[(cid, "ana")].requests[2].as_messages()
    assert "shutdown_request, request shutdown-1" in ana_second[-1]["content"]
    protocols = json.loads((svc.root / "alice" / cid / ".team" / "protocols.json")
                           .read_text())
    assert protocols["shutdown-1"]["status"] == "approved"


def test_teammate_claims_a_task_from_the_board_and_mail_persists(svc: Any) -> None:
    from teragent.testing import ScriptedModel

    cid = svc.create([
        call_tool("task_create", {"subject": "Write docs"}),
        call_tool("spawn_teammate", {"name": "bo", "role": "writer", "prompt": "wait"}),
        reply("ok"),
    ], enable_teams=True)
    svc.models[(cid, "bo")] = ScriptedModel([
        reply("Waiting."),
        call_tool("task_update", {"task_id": 1, "status": "completed"}),
        reply("Docs written."),
    ])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "go"}))
        seen: list[dict[str, Any]] = []
        while not any(e["type"] == "task_update" and e["tasks"][0]["status"] == "completed"
                      for e in seen):
            seen.append(svc.recv(ws))
    claimed = [e["tasks"][0] for e in seen if e["type"] == "task_update"
               and e["tasks"][0]["owner"] == "bo"]
    assert claimed[0]["status"] == "in_progress"
    second = svc.models[(cid, "bo")].requests[1].as_messages()[-1]["content"]
    assert "You claimed task #1 from the board: Write docs" in second
    inbox = svc.root / "alice" / cid / ".team" / "inbox" / "lead.jsonl"
    lines = [json.loads(x) for x in inbox.read_text().splitlines()]
    assert [m["content"] for m in lines][:2] == ["Waiting.", "Docs written."]


def test_session_tools_talk_to_the_users_other_conversations(svc: Any) -> None:
    other = svc.create([reply("I am the other conversation.")])
    _turn(svc, other, "hello other")
    bobs = svc.b.post("/api/chat", json={}).json()["conversation_id"]
    cid = svc.create([
        call_tool("sessions_list", {}),
        call_tool("sessions_history", {"conversation_id": other}),
        call_tool("sessions_send", {"conversation_id": other, "content": "ping"}),
        call_tool("sessions_history", {"conversation_id": bobs}),
        call_tool("sessions_spawn", {"task": "start something", "title": "spawned"}),
        reply("done talking"),
    ])
    svc.models[other].add(reply("pong from other"))
    svc.pending.append(ScriptedModelFactory.single("spawned answer"))
    seen = _turn(svc, cid, "talk to the others")
    results = [e for e in seen if e["type"] == "tool_result"]
    assert other in results[0]["result"] and bobs not in results[0]["result"]
    assert "I am the other conversation." in results[1]["result"]
    sent = json.loads(results[2]["result"])
    assert sent["answer"] == "pong from other" and sent["stop_reason"] == "completed"
    assert results[3]["success"] is False and "no conversation" in results[3]["result"]
    assert "Started conversation" in results[4]["result"]
    titles = {c["title"] for c in svc.a.get("/api/conversations").json()}
    assert "spawned" in titles
    assert svc.b.get(f"/api/conversations/{other}").status_code == 404


class ScriptedModelFactory:
    @staticmethod
    def single(text: str) -> Any:
        from teragent.testing import ScriptedModel

        return ScriptedModel([reply(text)])


def test_teammate_plan_approval(svc: Any) -> None:
    from teragent.testing import ScriptedModel

    cid = svc.create([
        call_tool("spawn_teammate", {"name": "cy", "role": "planner", "prompt": "plan"}),
        reply("Cy is planning."),
        call_tool("plan_review", {"request_id": "plan-1", "approve": True,
                                  "feedback": "go ahead"}),
        reply("Approved Cy's plan."),
    ], enable_teams=True)
    svc.models[(cid, "cy")] = ScriptedModel([
        call_tool("submit_plan", {"plan": "1. read 2. write"}),
        reply("Plan submitted."),
        reply("Executing the approved plan."),
    ])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "have cy plan"}))
        seen: list[dict[str, Any]] = []
        svc.until(ws, "done", seen)
        _read_until_status(svc, ws, seen, "idle")
        ws.send(json.dumps({"type": "message", "content": "review the plan"}))
        svc.until(ws, "done", seen)
        _read_until_status(svc, ws, seen, "idle", 2)  # cy works on the decision, idles again
    lead_input = [m for m in svc.models[cid].requests[2].as_messages()
                  if m["role"] == "user"][-1]["content"]
    assert "from cy (plan_request, request plan-1): 1. read 2. write" in lead_input
    cy_third = svc.models[(cid, "cy")].requests[2].as_messages()[-1]["content"]
    assert "plan_decision, request plan-1): plan approved: go ahead" in cy_third
    protocols = json.loads((svc.root / "alice" / cid / ".team" / "protocols.json")
                           .read_text())
    assert protocols["plan-1"]["status"] == "approved"
