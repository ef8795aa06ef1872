"""ApprovalGate: approve / reject / modify, timeouts, as an orchestrator guard."""

from __future__ import annotations

import asyncio
import threading

from teragent.security import ApprovalGate
from teragent_permissions.approval import ApprovalDecision, ApprovalResult
from teragent_testing.security import security_fixture
from teragent.tools.orchestrator import SafetyGate, ToolOrchestrator


def test_guard_approve_reject_modify(tmp_path):
    fx = security_fixture(tmp_path, permission_manager=None)
    answers = iter([True, {"decision": "modify", "params": {"path": "only/this"}},
                    ApprovalResult(ApprovalDecision.REJECT, reason="not today", by="ana")])
    gate = ApprovalGate(lambda request: next(answers), tools=["wipe_directory"])
    orch = ToolOrchestrator(fx.registry, hook_manager=fx.hook_manager, guards=[gate],
                            safety_gate=SafetyGate(allow_destructive=True))

    async def go():
        first = await orch.execute_batch([fx.call("a")])
        second = await orch.execute_batch([fx.call("b")])
        third = await orch.execute_batch([fx.call("c")])
        return first[0], second[0], third[0]

    first, second, third = asyncio.run(go())
    assert first.success and second.success
    assert fx.destructive.ran == [{"path": "a"}, {"path": "only/this"}]
    assert third.denied and "rejected by ana: not today" in third.result.error
    assert fx.records()[-1]["outcome"] == "denied"
    assert [r.decision for _, r in gate.history] == ["approve", "modify", "reject"]


def test_timeout_rejects_by_default_and_read_only_tools_pass(tmp_path):
    fx = security_fixture(tmp_path, permission_manager=None)
    gate = ApprovalGate(timeout=0.05)  # nobody answers
    orch = ToolOrchestrator(fx.registry, guards=[gate],
                            safety_gate=SafetyGate(allow_destructive=True))
    out = asyncio.run(orch.execute_batch([fx.call(), {"id": "2", "name": "peek",
                                                      "arguments": {"path": "x"}}]))
    assert out[0].denied and "no decision within 0.05 s" in out[0].result.error
    assert out[1].success and fx.destructive.ran == []
    assert gate.pending() == []


def test_decided_from_outside_another_thread():
    async def go():
        asked = asyncio.Event()

        async def ui(request):  # shows the request, never answers itself
            asked.set()
            await asyncio.Event().wait()

        gate = ApprovalGate(ui, timeout=10)
        waiter = asyncio.ensure_future(gate.request_approval("bash", {"command": "make"}))
        await asked.wait()
        request = gate.pending()[0]
        assert request.tool_name == "bash"
        t = threading.Thread(target=gate.modify, args=(request.id, {"command": "make -n"}))
        t.start()
        result = await waiter
        t.join()
        return result

    result = asyncio.run(go())
    assert result.decision == ApprovalDecision.MODIFY and result.params == {"command": "make -n"}


def test_broken_handler_rejects_and_auto_approve():
    def broken(request):
        raise RuntimeError("ui crashed")

    gate = ApprovalGate(broken)
    result = asyncio.run(gate.request_approval("bash", {}))
    assert result.decision == ApprovalDecision.REJECT and "ui crashed" in result.reason
    gate.auto_approve = True
    assert asyncio.run(gate.ask("bash", {})) is True
