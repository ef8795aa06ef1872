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


def test_an_approval_request_shows_sensitive_arguments_by_length_only() -> None:
    """The request is an event, kept and replayed to every client: a passphrase the
    tool would receive is shown as its length; the rest of the call as it is."""
    import asyncio

    from teragent.core.types import ToolCall, ToolSafety
    from teragent.tools.base import BaseTool, ToolResult
    from teragent_service.approvals import WebSocketApprover
    from teragent_service.events import EventLog

    class UnlockVault(BaseTool):
        name = "unlock_vault_for_approval_test"
        description = "Unlock a vault."
        parameters_schema = {"type": "object", "properties": {
            "vault": {"type": "string"}, "passphrase": {"type": "string"}}}
        sensitive_params = ("passphrase",)
        _safety = ToolSafety.SAFE_WRITE

        async def execute(self, params: dict[str, Any]) -> ToolResult:
            return ToolResult(success=True, data="unlocked")

    async def main() -> list[dict[str, Any]]:
        log = EventLog("c1")
        gate = WebSocketApprover(log)
        queue, _ = log.subscribe()
        call = ToolCall(id="t1", name=UnlockVault.name,
                        arguments={"vault": "ops", "passphrase": "open sesame 42"})
        pending = asyncio.create_task(gate.check(call, UnlockVault()))
        request = await queue.get()
        gate.answer("approve", request["request_id"])
        decision = await pending
        assert decision.allowed
        assert call.arguments["passphrase"] == "open sesame 42"  # the call is untouched
        return [request, await queue.get()]

    request, result = asyncio.run(main())
    for event in (request, result):
        assert event["tools"][0]["input"] == {"vault": "ops",
                                              "passphrase": "[redacted: 14 chars]"}
    assert "open sesame" not in json.dumps([request, result])
