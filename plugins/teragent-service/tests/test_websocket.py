"""The conversation WebSocket against a real server on loopback, a real WebSocket
client (``websockets``) and a scripted model."""

from __future__ import annotations

import json
from typing import Any

import pytest

from teragent.testing.scripted import Step, call_tool, reply


def _types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def test_turn_streams_tool_events_and_done(svc: Any) -> None:
    cid = svc.create([call_tool("write_file", {"path": "notes.txt", "content": "hi"},
                                text="Writing it."),
                      reply("All done here.")])
    with svc.connect(cid) as ws:
        assert svc.recv(ws)["type"] == "ready"
        ws.send(json.dumps({"type": "message", "content": "write notes"}))
        seen: list[dict[str, Any]] = []
        done = svc.until(ws, "done", seen)
    kinds = _types(seen)
    assert kinds[0] == "turn_start"
    assert kinds.index("tool_call") < kinds.index("tool_result") < kinds.index("done")
    call = next(e for e in seen if e["type"] == "tool_call")
    assert call["tool"] == "write_file" and call["input"]["path"] == "notes.txt"
    result = next(e for e in seen if e["type"] == "tool_result")
    assert result["success"] is True
    text = "".join(e["content"] for e in seen if e["type"] == "text_delta")
    assert text == "Writing it.All done here."
    seqs = [e["seq"] for e in seen]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # numbered without gaps
    assert done["stop_reason"] == "completed" and done["final_text"] == "All done here."
    assert done["files"] == ["notes.txt"] and done["usage"]["total_tokens"] > 0
    assert (svc.root / "alice" / cid / "notes.txt").read_text() == "hi"
    got = svc.a.get(f"/api/conversations/{cid}").json()
    assert [m["role"] for m in got["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert got["usage"]["total_tokens"] == done["total_usage"]["total_tokens"] > 0


def test_tracing_sends_llm_request_and_response(svc: Any) -> None:
    cid = svc.create([reply("traced")], enable_tracing=True)
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "hello"}))
        seen: list[dict[str, Any]] = []
        svc.until(ws, "done", seen)
    req = next(e for e in seen if e["type"] == "llm_request")
    res = next(e for e in seen if e["type"] == "llm_response")
    assert req["call"] == res["call"] == 1
    assert req["messages"][-1] == {"role": "user", "content": "hello"}
    assert res["content"] == "traced" and res["usage"]["completion_tokens"] >= 1
    assert _types(seen).index("llm_request") < _types(seen).index("llm_response")


def test_model_failure_is_an_error_event_and_the_conversation_goes_on(svc: Any) -> None:
    cid = svc.create([Step(error=RuntimeError("model exploded")), reply("fine again")])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "one"}))
        seen: list[dict[str, Any]] = []
        done = svc.until(ws, "done", seen)
        assert done["stop_reason"] == "error"
        err = next(e for e in seen if e["type"] == "error")
        assert "model exploded" in err["message"]
        ws.send(json.dumps({"type": "message", "content": "two"}))
        assert svc.until(ws, "done")["final_text"] == "fine again"


def test_interrupt_mid_stream_continues_with_the_new_input(svc: Any) -> None:
    long_text = " ".join(f"w{i}" for i in range(400))
    cid = svc.create([
        call_tool("think", {"thought": "first"}),
        Step(text=long_text, chunk_delay=0.02),     # interrupted while streaming
        reply("Redirected answer."),
    ])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "tell me a long story"}))
        seen: list[dict[str, Any]] = []
        # Wait until the second model call is streaming.
        while True:
            e = svc.recv(ws)
            seen.append(e)
            if e["type"] == "text_delta" and e["content"].strip().startswith("w3"):
                break
        ws.send(json.dumps({"type": "interrupt", "content": "stop, answer briefly"}))
        inter = svc.until(ws, "interrupted", seen)
        assert inter["content"] == "stop, answer briefly"
        done = svc.until(ws, "done", seen)
    assert done["final_text"] == "Redirected answer."
    streamed = "".join(e["content"] for e in seen if e["type"] == "text_delta")
    assert len(streamed) < len(long_text) + len("Redirected answer.")  # it was cut
    model = svc.models[cid]
    last = model.requests[-1].as_messages()
    roles = [m["role"] for m in last]
    # History continues: first user message, the answered think call, then the new input.
    assert last[-1] == {"role": "user", "content": "stop, answer briefly"}
    assert roles.count("tool") == 1 and "tool_calls" in last[2]
    turns = [e for e in seen if e["type"] == "turn_start"]
    assert [t["content"] for t in turns] == ["tell me a long story", "stop, answer briefly"]


def test_interrupt_during_a_tool_call_sanitises_the_orphaned_call(svc: Any) -> None:
    cid = svc.create([
        call_tool("write_file", {"path": "a.txt", "content": "x"}),
        reply("After the interrupt."),
    ], enable_approval=True)
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "write a"}))
        svc.until(ws, "tool_approval_request")   # the tool call waits: interrupt now
        ws.send(json.dumps({"type": "interrupt", "content": "never mind"}))
        svc.until(ws, "interrupted")
        done = svc.until(ws, "done")
    assert done["final_text"] == "After the interrupt."
    sent = svc.models[cid].requests[-1].as_messages()
    assert all(not m.get("tool_calls") for m in sent), sent  # no orphaned call left
    assert not (svc.root / "alice" / cid / "a.txt").exists()


def test_cancel_stops_the_turn(svc: Any) -> None:
    cid = svc.create([Step(text=" ".join(["slow"] * 300), chunk_delay=0.02)])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "go"}))
        svc.until(ws, "text_delta")
        ws.send(json.dumps({"type": "cancel"}))
        done = svc.until(ws, "done")
    assert done["stop_reason"] == "cancelled"


def test_messages_sent_during_a_run_are_queued_in_order(svc: Any) -> None:
    cid = svc.create([Step(text="first answer", chunk_delay=0.05), reply("second answer")])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "one"}))
        ws.send(json.dumps({"type": "message", "content": "two"}))
        seen: list[dict[str, Any]] = []
        first = svc.until(ws, "done", seen)
        second = svc.until(ws, "done", seen)
    assert (first["final_text"], second["final_text"]) == ("first answer", "second answer")
    kinds = _types(seen)
    assert kinds.count("turn_start") == 2 and kinds.index("done") < kinds.index(
        "turn_start", 1)
    assert [e["queued_behind"] for e in seen if e["type"] == "turn_start"] == [0, 1]


@pytest.mark.parametrize("decision", ["approve", "deny", "auto_approve"])
def test_approval(svc: Any, decision: str) -> None:
    check_approval(svc, decision)


def check_approval(svc: Any, decision: str) -> None:
    steps = [call_tool("write_file", {"path": "a.txt", "content": "A"})]
    if decision == "auto_approve":
        steps.append(call_tool("write_file", {"path": "b.txt", "content": "B"}))
    steps.append(reply("ok"))
    cid = svc.create(steps, enable_approval=True)
    ws_dir = svc.root / "alice" / cid
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "write"}))
        seen: list[dict[str, Any]] = []
        req = svc.until(ws, "tool_approval_request", seen)
        assert req["tools"][0]["name"] == "write_file"
        assert req["tools"][0]["input"] == {"path": "a.txt", "content": "A"}
        ws.send(json.dumps({"type": "tool_approval_response", "decision": decision,
                            "request_id": req["request_id"]}))
        res = svc.until(ws, "tool_approval_result", seen)
        svc.until(ws, "done", seen)
    assert res["request_id"] == req["request_id"] and res["decision"] == decision
    results = [e for e in seen if e["type"] == "tool_result"]
    if decision in ("approve", "auto_approve"):
        assert (ws_dir / "a.txt").read_text() == "A"
        assert all(r["success"] for r in results)
    else:
        assert not (ws_dir / "a.txt").exists()
        assert results[0]["denied"] is True
    if decision == "auto_approve":
        # The second write ran without a question.
        assert _types(seen).count("tool_approval_request") == 1
        assert (ws_dir / "b.txt").read_text() == "B"
    sent = svc.models[cid].requests[1].as_messages()
    tool_msg = next(m for m in sent if m["role"] == "tool")
    if decision == "deny":
        assert "User denied this tool call" in tool_msg["content"]


def test_reconnect_resumes_after_the_last_seen_seq(svc: Any) -> None:
    cid = svc.create([Step(text=" ".join(f"t{i}" for i in range(60)), chunk_delay=0.01)])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "go"}))
        first = [svc.recv(ws) for _ in range(5)]
    last = first[-1]["seq"]
    with svc.connect(cid, last_seq=last) as ws:
        rest: list[dict[str, Any]] = []
        svc.until(ws, "done", rest)
    events = first + [e for e in rest if e["type"] != "ready"]
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1))  # nothing lost, nothing twice
    text = "".join(e["content"] for e in events if e["type"] == "text_delta")
    assert text == " ".join(f"t{i}" for i in range(60))


def test_a_reply_cut_by_the_output_limit_is_continued(svc: Any) -> None:
    cid = svc.create([reply("The first half,", finish_reason="length"),
                      reply(" and the second half.")])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "a long answer"}))
        done = svc.until(ws, "done")
    assert done["final_text"] == "The first half, and the second half."
    asked = svc.models[cid].requests[1].as_messages()[-1]["content"]
    assert "cut off" in asked   # the loop asked the model to continue


def test_an_agent_that_cannot_be_built_is_reported_not_fatal(svc: Any) -> None:
    r = svc.a.post("/api/chat", json={})
    cid = r.json()["conversation_id"]   # no model registered for it: the factory fails
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "hello"}))
        problem = svc.recv(ws)
        assert problem["type"] == "error" and problem["seq"] == 0
        assert "could not start the turn" in problem["message"]
        ws.send(json.dumps({"type": "ping"}))
        assert svc.recv(ws)["type"] == "pong"          # the connection lives on
        ws.send(json.dumps({"type": "bogus"}))
        assert "unknown message type" in svc.recv(ws)["message"]


def test_deleting_a_conversation_closes_its_websocket(svc: Any) -> None:
    cid = svc.create([])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        assert svc.a.delete(f"/api/conversations/{cid}").status_code == 200
        with pytest.raises(Exception):
            ws.recv(timeout=10)
        assert ws.close_code == 1001
