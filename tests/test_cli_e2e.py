"""`teragent run` end to end as a user runs it: a subprocess, agent.toml, the
openai_compatible plugin, the built-in tools, and a real HTTP server on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from teragent_testing.fake_openai import FakeOpenAIServer, ScriptedReply, serve_in_thread

pytest.importorskip("teragent_openai")
pytest.importorskip("teragent_tools")

TEragent = [sys.executable, "-m", "teragent.cli"]


def project(tmp_path: Path, url: str) -> dict[str, str]:
    (tmp_path / ".git").mkdir()
    (tmp_path / "notes.txt").write_text("the answer is 42\n")
    (tmp_path / "agent.toml").write_text(
        f'[drivers.openai_compatible.fake]\nbase_url = "{url}"\nmodel = "fake-model"\n')
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    env.pop("TERAGENT_CONFIG", None)
    return env


def test_run_executes_a_tool_and_prints_the_answer(tmp_path):
    server = FakeOpenAIServer(strict=True).script(
        ScriptedReply(tool_calls=[("read_file", {"path": "notes.txt"})]),
        ScriptedReply(text="notes.txt says the answer is 42."))
    with serve_in_thread(server) as url:
        env = project(tmp_path, url)
        out = subprocess.run([*TEragent, "run", "What does notes.txt say?", "--json"],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["final_text"] == "notes.txt says the answer is 42."
    assert result["tool_calls"] == [{"name": "read_file", "arguments": {"path": "notes.txt"},
                                     "success": True, "denied": False,
                                     "output": "the answer is 42\n"}]
    # the tool result went back to the model on the second request
    second = server.requests[1].messages
    assert second[-1]["role"] == "tool" and "the answer is 42" in second[-1]["content"]
    # only tools this run may use were offered: no write or shell tools by default
    offered = {t["function"]["name"] for t in server.requests[0].body["tools"]}
    assert "read_file" in offered and not offered & {"write_file", "edit_file", "bash"}


def test_human_output_shows_tool_calls_and_streams_text(tmp_path):
    server = FakeOpenAIServer(strict=True).script(
        ScriptedReply(tool_calls=[("list_directory", {"path": "."})]),
        ScriptedReply(text="There is one file: notes.txt."))
    with serve_in_thread(server) as url:
        env = project(tmp_path, url)
        out = subprocess.run([*TEragent, "run", "What files are here?"], cwd=tmp_path,
                             env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "There is one file: notes.txt." in out.stdout
    assert "→ list_directory" in out.stderr and "notes.txt" in out.stderr
    assert "completed after 2 step(s), 1 tool call(s)" in out.stderr


def test_ctrl_c_cancels_the_run_cleanly(tmp_path):
    server = FakeOpenAIServer(strict=True).script(ScriptedReply(text="thinking...",
                                                                hold_open=True))
    with serve_in_thread(server) as url:
        env = project(tmp_path, url)
        proc = subprocess.Popen([*TEragent, "run", "Think forever"], cwd=tmp_path, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not server.requests:  # the model call is in flight (bounded wait)
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the CLI never called the model"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
        assert server.wait_for_disconnect(timeout=10), "the stream was not closed"
    assert proc.returncode == 130, err
    assert "cancelled" in err and "Traceback" not in err


def test_missing_key_is_one_clear_line(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / "agent.toml").write_text(
        '[drivers.openai_compatible.remote]\nbase_url = "http://127.0.0.1:9/v1"\n'
        'model = "m"\napi_key_env = "TERAGENT_TEST_NO_SUCH_KEY"\n')
    env = dict(os.environ, HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    env.pop("TERAGENT_TEST_NO_SUCH_KEY", None)
    out = subprocess.run([*TEragent, "run", "hi"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "TERAGENT_TEST_NO_SUCH_KEY" in lines[0]
