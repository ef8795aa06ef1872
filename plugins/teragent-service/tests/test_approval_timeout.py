"""An approval nobody answers is denied when the timeout passes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from teragent.testing.scripted import call_tool, reply


@pytest.fixture
def approval_timeout() -> float:
    return 1.5


def test_unanswered_approval_is_denied(svc: Any) -> None:
    cid = svc.create([call_tool("write_file", {"path": "a.txt", "content": "A"}),
                      reply("ok")], enable_approval=True)
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "write"}))
        req = svc.until(ws, "tool_approval_request")
        assert req["timeout"] == 1.5
        res = svc.until(ws, "tool_approval_result")
        result = svc.until(ws, "tool_result")
        svc.until(ws, "done")
    assert res["decision"] == "timeout" and res["request_id"] == req["request_id"]
    assert result["denied"] is True and "no approval within 1.5 s" in result["result"]
    assert not (svc.root / "alice" / cid / "a.txt").exists()
    tool_msg = next(m for m in svc.models[cid].requests[1].as_messages()
                    if m["role"] == "tool")
    assert "no approval within" in tool_msg["content"]
