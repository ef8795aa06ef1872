"""The bash tool: output, exit codes, timeouts, process-group clean-up, environment."""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import select
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from teragent.tools import ToolSafety
from teragent_tools import shell
from teragent_tools.shell import BashTool, OutputBuffer, clean_environment
from teragent_testing.processes import windows_spawner

posix = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process groups")
linux = pytest.mark.skipif(not sys.platform.startswith("linux") or
                           not hasattr(os, "pidfd_open"), reason="needs pidfd_open")

PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture
def subreaper() -> Iterator[None]:
    """Make this process the subreaper of orphans started meanwhile, so a killed
    grandchild can be waited for and reaped here instead of lingering as a zombie of
    an init process that may be slow to reap."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("prctl(PR_SET_CHILD_SUBREAPER) is not available")
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def host_bash(workspace: Path, **kwargs: Any) -> BashTool:
    """A bash tool on a host-process backend (landlock, else process): these tests
    watch host pids, which a PID namespace (bwrap, the default here) hides."""
    return BashTool(workspace, sandbox="landlock", **kwargs)


def assert_gone(pid: int) -> None:
    """Wait (up to 10 s, on the process itself) until ``pid`` has exited, reap it if it
    is ours, then check with ``os.kill(pid, 0)`` that it no longer exists."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        ready, _, _ = select.select([fd], [], [], 10.0)
        assert ready, f"process {pid} is still running"
    finally:
        os.close(fd)
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass  # not our child: its parent reaps it
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def pids(text: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", text)}


def run(tool: BashTool, **params: Any):  # type: ignore[no-untyped-def]
    return asyncio.run(tool.execute(params))


def test_flags_and_schema(tmp_path: Path) -> None:
    tool = BashTool(tmp_path)
    assert tool.safety == ToolSafety.HIGH_RISK and not tool.concurrency_safe
    assert tool.parameters_schema["additionalProperties"] is False
    assert tool.category == "shell"


@posix
def test_exit_code_and_combined_output(tmp_path: Path) -> None:
    ok = run(BashTool(tmp_path), command="echo out; echo err >&2")
    assert ok.success and ok.data == "out\nerr\n[exit code 0]"
    assert ok.metadata["exit_code"] == 0
    bad = run(BashTool(tmp_path), command="echo oops; exit 3")
    assert not bad.success and bad.metadata["exit_code"] == 3
    assert "oops" in bad.error and "code 3" in bad.error


@posix
def test_runs_in_the_workspace(tmp_path: Path) -> None:
    assert run(BashTool(tmp_path), command="pwd").data.splitlines()[0] == \
        os.path.realpath(tmp_path)


def test_argument_errors(tmp_path: Path) -> None:
    tool = BashTool(tmp_path)
    assert "empty" in run(tool, command="  ").error
    assert "timeout must be" in run(tool, command="true", timeout=0).error
    assert "timeout must be" in run(tool, command="true", timeout=10_000).error
    assert "not a directory" in run(BashTool(tmp_path / "nope"), command="true").error


@posix
def test_output_cap_keeps_head_and_tail(tmp_path: Path) -> None:
    result = run(BashTool(tmp_path, max_output_chars=1000), command="seq 1 20000")
    assert result.success and result.metadata["truncated"]
    assert result.data.startswith("1\n2\n3\n")
    assert result.data.rstrip().endswith("20000\n[exit code 0]")
    assert "output truncated" in result.data and len(result.data) < 1300


def test_output_buffer() -> None:
    buf = OutputBuffer(10)
    for piece in ("abc", "defgh", "ijklmnop"):
        buf.add(piece)
    assert buf.head == "abcde" and buf.tail == "lmnop" and buf.truncated
    assert "6 characters omitted" in buf.text()
    small = OutputBuffer(10)
    small.add("abc")
    assert small.text() == "abc" and not small.truncated


@posix
def test_environment_is_scrubbed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {"OPENAI_API_KEY": "sk-1", "GITHUB_TOKEN": "t", "DB_PASSWORD": "p",
               "AWS_SECRET_ACCESS_KEY": "s", "my_private_key": "k"}
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    # An allow list: a harmless-looking name is dropped too ([sandbox] env lists
    # what should pass); what the caller gives explicitly is kept.
    monkeypatch.setenv("HARMLESS_SETTING", "visible")
    out = run(BashTool(tmp_path, env={"EXTRA_ONE": "1"}), command="env").data
    assert "HARMLESS_SETTING" not in out and "EXTRA_ONE=1" in out and "PATH=" in out
    for name in secrets:
        assert name not in out
    assert clean_environment({"A_TOKEN": "x", "PATH": "/bin"})["PATH"] == "/bin"
    assert "A_TOKEN" not in clean_environment({"A_TOKEN": "x"})


@linux
def test_timeout_kills_the_group_including_a_background_grandchild(
        tmp_path: Path, subreaper: None) -> None:
    result = run(host_bash(tmp_path), command='sleep 100 & echo "child=$!"; wait',
                 timeout=0.5)
    assert not result.success and result.metadata["timed_out"]
    assert "timed out after 0.5 s" in result.error
    assert_gone(pids(result.error)["child"])


@linux
def test_term_ignoring_grandchild_gets_sigkill(tmp_path: Path, subreaper: None) -> None:
    command = "(trap '' TERM; exec sleep 100) & echo \"child=$!\"; wait"
    result = run(host_bash(tmp_path, kill_grace=0.2), command=command, timeout=0.5)
    assert result.metadata["timed_out"]
    assert_gone(pids(result.error)["child"])


@linux
def test_orphaned_grandchild_holding_the_output_is_stopped(
        tmp_path: Path, subreaper: None) -> None:
    # The shell exits at once; a double-forked sleep keeps its stdout open.
    command = '( sleep 100 & echo "child=$!" ); echo done'
    result = run(host_bash(tmp_path, drain_grace=0.2), command=command, timeout=30)
    assert result.success and result.metadata["exit_code"] == 0
    assert "done" in result.data and "background processes" in result.data
    assert_gone(pids(result.data)["child"])


@linux
def test_background_process_not_holding_output_is_killed_after_exit(
        tmp_path: Path, subreaper: None) -> None:
    result = run(host_bash(tmp_path),
                 command='sleep 100 >/dev/null 2>&1 & echo "child=$!"')
    assert result.success
    assert_gone(pids(result.data)["child"])


@linux
def test_cancellation_kills_the_group(tmp_path: Path, subreaper: None) -> None:
    async def scenario() -> str:
        seen = asyncio.Event()
        chunks: list[str] = []

        def progress(text: str) -> None:
            chunks.append(text)
            if "child=" in "".join(chunks):
                seen.set()

        tool = host_bash(tmp_path, kill_grace=0.2)
        task = asyncio.create_task(tool.execute(
            {"command": 'sleep 100 & echo "child=$! shell=$$"; wait'}, progress))
        await asyncio.wait_for(seen.wait(), 60)  # fail, never hang, if output stops streaming
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return "".join(chunks)

    found = pids(asyncio.run(scenario()))
    assert_gone(found["child"])
    assert_gone(found["shell"])


# --- Windows, mocked ---------------------------------------------------------------------


def windows_harness(monkeypatch: pytest.MonkeyPatch, finishes: bool) -> list[Any]:
    spawner, calls = windows_spawner(finishes=finishes)
    monkeypatch.setattr(shell, "_spawn", spawner)
    return calls


def test_windows_timeout_uses_a_process_group_and_taskkill(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = windows_harness(monkeypatch, finishes=False)
    tool = BashTool(tmp_path, platform="win32", kill_grace=0.05)
    result = run(tool, command="ping -t localhost", timeout=0.1)
    argv, kwargs, proc = calls[0]
    assert argv == ("cmd.exe", "/d", "/s", "/c", "ping -t localhost")
    assert kwargs["creationflags"] == getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)
    assert "start_new_session" not in kwargs
    assert kwargs["cwd"] == str(tmp_path)
    assert proc.signals == [shell._CTRL_BREAK_EVENT]
    assert calls[1][0] == ("taskkill", "/F", "/T", "/PID", "4242")
    assert result.metadata["timed_out"] and "hello" in result.error


def test_windows_normal_exit_still_kills_the_tree(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = windows_harness(monkeypatch, finishes=True)
    result = run(BashTool(tmp_path, platform="win32"), command="echo hello")
    assert result.success and result.data.startswith("hello")
    assert calls[1][0] == ("taskkill", "/F", "/T", "/PID", "4242")
    assert calls[0][2].signals == []  # no CTRL_BREAK when it exited by itself
    assert calls[0][2].closed
