"""``teragent run`` as a user runs it (a subprocess, agent.toml, the fake OpenAI server on
loopback) with ``[mcp.servers.time]``: the MCP tool is offered, called, and its result
goes back to the model; under a ``[permission]`` DENY rule it is not offered and a call
of it runs nothing (the guard's own refusal is shown by test_agent_guards.py, where the
tool is offered on purpose)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("teragent_openai")
pytest.importorskip("teragent_testing")

CLI = [sys.executable, "-m", "teragent.cli"]


def _project(tmp: Path, url: str, deps: Any, extra: str = "") -> dict[str, str]:
    deps.python_server("mcp_server_time")
    (tmp / "agent.toml").write_text(
        f'[drivers.openai_compatible.fake]\nbase_url = "{url}"\nmodel = "fake-model"\n'
        f'[mcp.servers.time]\ncommand = {json.dumps(deps.PY)}\n'
        'args = ["-m", "mcp_server_time", "--local-timezone", "UTC"]\n' + extra)
    env = dict(os.environ, HOME=str(tmp), XDG_CONFIG_HOME=str(tmp / "xdg"))
    env.pop("TERAGENT_CONFIG", None)
    return env


@pytest.mark.parametrize("deny", [False, True], ids=["allowed", "denied_by_rule"])
def test_teragent_run_calls_an_mcp_tool(tmp_path, deps, deny):
    from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply, serve_in_thread

    server = FakeOpenAIServer(strict=True).script(
        ScriptedReply(tool_calls=[("time_get_current_time", {"timezone": "Asia/Tokyo"})]),
        ScriptedReply(text="Done."))
    rule = '[permission]\nrules = { deny = ["time_get_current_time"] }\n' if deny else ""
    with serve_in_thread(server) as url:
        env = _project(tmp_path, url, deps, rule)
        out = subprocess.run([*CLI, "run", "What time is it in Tokyo?", "--json"],
                             cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
    assert out.returncode == 0, out.stderr
    (call,) = json.loads(out.stdout)["tool_calls"]
    assert call["name"] == "time_get_current_time"
    back = server.requests[1].messages[-1]
    assert back["role"] == "tool"
    offered = {t["function"]["name"] for t in server.requests[0].body["tools"]}
    if deny:
        # the run offers only tools its rules may allow: the model never sees it, and a
        # call of it anyway runs nothing
        assert "time_get_current_time" not in offered and "time_convert_time" in offered
        assert not call["success"] and '"datetime"' not in back["content"]
    else:
        assert "time_get_current_time" in offered
        assert call["success"] and '"timezone": "Asia/Tokyo"' in back["content"]
