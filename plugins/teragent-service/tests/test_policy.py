"""Tool policies and profiles (004) per conversation."""

from __future__ import annotations

import json
from typing import Any

from teragent.testing.scripted import call_tool, call_tools, reply


def _offered(svc: Any, cid: str, call: int = 0) -> set[str]:
    return {t["function"]["name"] for t in svc.models[cid].requests[call].tools or []}


def _run(svc: Any, cid: str) -> list[dict[str, Any]]:
    last = svc.a.get(f"/api/conversations/{cid}").json()["last_seq"]
    with svc.connect(cid, last_seq=last) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "go"}))
        seen: list[dict[str, Any]] = []
        svc.until(ws, "done", seen)
    return seen


def test_profiles_choose_the_offered_tools(svc: Any) -> None:
    minimal = svc.create([reply("ok")], tool_profile="minimal")
    coding = svc.create([reply("ok")], tool_profile="coding", denied_tools=["bash"])
    full = svc.create([reply("ok")])
    for cid in (minimal, coding, full):
        _run(svc, cid)
    assert {"read_file", "think", "list_skills"} <= _offered(svc, minimal)
    assert not {"write_file", "bash", "task", "background_run"} & _offered(svc, minimal)
    assert {"write_file", "edit_file", "task", "task_create"} <= _offered(svc, coding)
    assert "bash" not in _offered(svc, coding)
    assert {"bash", "write_file", "task"} <= _offered(svc, full)
    r = svc.a.post("/api/chat", json={"tool_profile": "everything"})
    assert r.status_code == 400 and "minimal" in r.json()["detail"]


def test_allow_list_and_calls_outside_the_policy_are_refused(svc: Any) -> None:
    cid = svc.create([call_tool("write_file", {"path": "a.txt", "content": "x"}),
                      reply("ok")], allowed_tools=["read_*", "think"])
    seen = _run(svc, cid)
    assert _offered(svc, cid) == {"read_file", "read_skill", "think"}
    call = next(e for e in seen if e["type"] == "tool_call")     # shown though never run
    result = next(e for e in seen if e["type"] == "tool_result")
    assert call["tool"] == "write_file" and call["input"]["path"] == "a.txt"
    assert result["success"] is False and "Unknown tool 'write_file'" in result["result"]
    answer = [m for m in svc.models[cid].requests[1].as_messages() if m["role"] == "tool"]
    assert "Unknown tool 'write_file'" in answer[0]["content"]
    assert not (svc.root / "alice" / cid / "a.txt").exists()


def test_policy_guard_refuses_what_the_policy_leaves_out() -> None:
    import asyncio

    from teragent.core.types import ToolCall

    from teragent_service.policy import ToolPolicy, ToolPolicyGuard

    guard = ToolPolicyGuard(ToolPolicy(profile="messaging", denied_tools=["broadcast"]))

    async def check(name: str) -> Any:
        return await guard.check(ToolCall.from_raw("c1", name, "{}"), None)

    assert asyncio.run(check("send_message")) is None
    for name in ("bash", "write_file", "broadcast"):
        decision = asyncio.run(check(name))
        assert decision is not None and not decision.allowed and "messaging" in decision.reason


def test_max_tool_calls_per_turn(svc: Any) -> None:
    cid = svc.create([
        call_tools(("think", {"thought": "1"}), ("think", {"thought": "2"}),
                   ("think", {"thought": "3"})),
        reply("ok"),
        call_tool("think", {"thought": "next turn"}),
        reply("ok again"),
    ], max_tool_calls_per_turn=2)
    seen = _run(svc, cid)
    results = [e for e in seen if e["type"] == "tool_result"]
    assert sorted(r["success"] for r in results) == [False, True, True]
    refused = next(r for r in results if not r["success"])
    assert refused["denied"] is True and "limit of 2 tool calls" in refused["result"]
    seen = _run(svc, cid)   # a new turn starts a new count
    assert [e["success"] for e in seen if e["type"] == "tool_result"] == [True]
