"""Loop completion guarantees through the service: near the step limit the model is
nudged to wrap up, and when the steps run out a final answer is forced."""

from __future__ import annotations

import json
from typing import Any

import pytest

from teragent.testing.scripted import call_tool, reply


@pytest.fixture
def max_steps() -> int:
    return 3


def test_wrap_up_nudge_and_forced_final_summary(svc: Any) -> None:
    cid = svc.create([call_tool("think", {"thought": f"step {i}"}) for i in range(3)]
                     + [reply("Summary: I thought three times.")])
    with svc.connect(cid) as ws:
        svc.recv(ws)
        ws.send(json.dumps({"type": "message", "content": "keep thinking"}))
        done = svc.until(ws, "done")
    assert done["stop_reason"] == "max_steps"
    assert done["final_text"] == "Summary: I thought three times."
    requests = [r.as_messages() for r in svc.models[cid].requests]
    nudged = [m["content"] for m in requests[2] if m["role"] == "user"]
    assert any("step(s) left" in text for text in nudged)       # the wrap-up nudge
    assert "Do not call any tools" in requests[3][-1]["content"]  # the forced summary
    assert svc.models[cid].requests[3].tools in (None, [])
