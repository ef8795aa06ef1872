"""execute_in_sandbox: the kernel's process backend, selection, fallback, Windows path."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import teragent_sandbox_process

from teragent import hookimpl
from teragent.errors import MissingPluginError, SandboxUnavailableError, UnknownComponentError
from teragent.security import SandboxResult, execute_in_sandbox
from teragent.security.processes import CTRL_BREAK_EVENT
from teragent.security.sandbox import (
    Limits, SandboxBackend, list_sandboxes, select_sandbox,
)
from teragent_testing.escape import assert_claims, run_escape_suite
from teragent_testing.processes import windows_spawner
from teragent.testing.hosts import isolated_host
from teragent_sandbox_process.backend import ProcessSandbox

posix = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shell")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def host(*plugins: Any) -> Any:
    """A host with the kernel, this plugin and ``plugins``."""
    return isolated_host(teragent_sandbox_process, *plugins)


class FakeBackend(SandboxBackend):
    def __init__(self, name: str, ok: bool) -> None:
        self.name, self.ok = name, ok

    def available(self) -> tuple[bool, str]:
        return self.ok, "fine" if self.ok else f"{self.name} is missing its tool"

    async def run(self, cmd: str, workdir: str, timeout: float, env: Any, *,
                  max_output: int = 0, on_output: Any = None) -> SandboxResult:
        # Ignores max_output on purpose: the kernel still caps what it returns.
        return SandboxResult(0, f"{self.name}:{cmd}:{'x' * 50}")


def plugin(**backends: tuple[bool, int, int]) -> types.SimpleNamespace:
    @hookimpl
    def teragent_register_sandboxes(register: Any) -> None:
        for name, (ok, level, priority) in backends.items():
            register(name, FakeBackend(name, ok), level=level, priority=priority)

    return types.SimpleNamespace(__name__="fake_sandboxes",
                                 teragent_register_sandboxes=teragent_register_sandboxes)


@posix
def test_documented_call_unpacks_and_runs_a_real_shell(tmp_path: Path) -> None:
    with host():
        exit_code, output = run(execute_in_sandbox(
            cmd="echo hi | tr a-z A-Z > f && cat f && pwd; exit 3", workdir=str(tmp_path),
            level=0, timeout=10))
        result = run(execute_in_sandbox("true", tmp_path))
    assert exit_code == 3
    assert output.splitlines() == ["HI", os.path.realpath(tmp_path)]
    assert result.backend == "process" and not result.timed_out


@posix
def test_rlimits_and_scrubbed_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-parent-secret-123")
    limits = Limits(address_space=512 * 1024 ** 2, file_size=4096, open_files=64)
    backend = ProcessSandbox(limits)
    with host():
        res = run(execute_in_sandbox(
            "ulimit -v; ulimit -f; ulimit -n; ulimit -c; env; head -c 10000 /dev/zero > big",
            tmp_path, timeout=10, backend=backend, env={"VISIBLE": "1"}))
    lines = res.output.splitlines()
    assert lines[:4] == [str(512 * 1024), "8", "64", "0"]
    assert "VISIBLE=1" in res.output and "sk-parent-secret" not in res.output
    assert (tmp_path / "big").stat().st_size == 4096
    assert res.enforced["rlimits"]["RLIMIT_AS"] == 512 * 1024 ** 2


@posix
def test_timeout_kills_the_process_group_and_output_is_capped(tmp_path: Path) -> None:
    with host():
        res = run(execute_in_sandbox("sleep 30 & echo started; wait", tmp_path, timeout=0.5))
        big = run(execute_in_sandbox("seq 1 20000", tmp_path, timeout=10, max_output=500))
    assert res.timed_out and res.exit_code != 0 and "started" in res.output
    assert big.truncated and big.output.startswith("1\n2\n") and "20000" in big.output
    assert len(big.output) < 700


def test_bad_arguments(tmp_path: Path) -> None:
    with host():
        with pytest.raises(Exception, match="not an existing directory"):
            run(execute_in_sandbox("true", tmp_path / "missing"))
        with pytest.raises(Exception, match="timeout must be"):
            run(execute_in_sandbox("true", tmp_path, timeout=0))


def test_selection_by_level_priority_and_name(tmp_path: Path) -> None:
    fakes = plugin(strong=(True, 0, 90), weak=(True, 0, 10), vm=(False, 2, 50),
                   box=(True, 1, 10))
    with host(fakes):
        assert run(execute_in_sandbox("a", tmp_path)).backend == "strong"
        assert run(execute_in_sandbox("a", tmp_path, backend="weak")).backend == "weak"
        assert run(execute_in_sandbox("a", tmp_path, level=1)).backend == "box"
        infos = {i.name: i for i in list_sandboxes()}
        assert infos["vm"].available is False and "missing its tool" in infos["vm"].reason
        assert infos["process"].level == 0


def test_unavailable_is_an_error_unless_a_fallback_is_configured(tmp_path: Path) -> None:
    with host(plugin(vm=(False, 2, 50), box=(True, 1, 10))):
        with pytest.raises(SandboxUnavailableError, match="vm is missing its tool") as err:
            run(execute_in_sandbox("a", tmp_path, level=2))
        assert "fallback" in str(err.value) and err.value.tried
        with pytest.raises(SandboxUnavailableError):
            run(execute_in_sandbox("a", tmp_path, backend="vm"))
        res = run(execute_in_sandbox("a", tmp_path, level=2, fallback=["gvisor", 1]))
        assert res.backend == "box"  # gvisor is not installed in this host: skipped
        with pytest.raises(SandboxUnavailableError, match="level 3: no backend"):
            run(execute_in_sandbox("a", tmp_path, level=3))


def test_unknown_and_uninstalled_backends_say_what_to_install(tmp_path: Path) -> None:
    with host():
        with pytest.raises(MissingPluginError, match="pip install teragent-sandbox-bwrap"):
            select_sandbox(backend="bwrap")
        with pytest.raises(UnknownComponentError, match="Did you mean 'process'"):
            select_sandbox(backend="proces")


def test_third_party_backend_output_is_capped_by_the_kernel(tmp_path: Path) -> None:
    with host(plugin(plain=(True, 0, 5))):
        res = run(execute_in_sandbox("a", tmp_path, backend="plain", max_output=20))
    assert res.truncated and "output truncated" in res.output


@posix
def test_process_backend_claims_hold() -> None:
    report = run(run_escape_suite(ProcessSandbox()))
    assert_claims(report)
    observed = report.by_name()
    assert observed["cpu_timeout"].contained and observed["env_inherit"].contained


# --- Windows, mocked ----------------------------------------------------------------


def windows_backend(finishes: bool) -> tuple[ProcessSandbox, list[Any]]:
    spawner, calls = windows_spawner(finishes=finishes)
    return ProcessSandbox(platform="win32", spawner=spawner, kill_grace=0.05), calls


def test_windows_timeout_uses_a_process_group_then_taskkill(tmp_path: Path) -> None:
    backend, calls = windows_backend(finishes=False)
    res = run(backend.run("ping -t localhost", str(tmp_path), 0.1, {"A": "1"}))
    argv, kwargs, proc = calls[0]
    assert argv == ("cmd.exe", "/d", "/s", "/c", "ping -t localhost")
    assert kwargs["creationflags"] == getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)
    assert "preexec_fn" not in kwargs and "start_new_session" not in kwargs
    assert proc.signals == [CTRL_BREAK_EVENT]
    assert calls[1][0] == ("taskkill", "/F", "/T", "/PID", "4242")
    assert res.timed_out and "hello" in res.output and res.backend == "process"


def test_windows_normal_exit_still_kills_the_tree(tmp_path: Path) -> None:
    backend, calls = windows_backend(finishes=True)
    res = run(backend.run("echo hello", str(tmp_path), 5, {}))
    assert res.exit_code == 0 and res.output.startswith("hello")
    assert calls[1][0] == ("taskkill", "/F", "/T", "/PID", "4242")
    assert calls[0][2].signals == [] and calls[0][2].closed


@posix
def test_environment_is_an_allow_list_plus_sandbox_env(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from teragent.compose import build_runtime
    from teragent.runtime import running

    monkeypatch.setenv("GH_PAT", "ghp_unlisted_secret_1")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:hunter2@db/x")
    monkeypatch.setenv("MY_TOOL_HOME", "/opt/tool")
    with host():
        plain = run(execute_in_sandbox("env", tmp_path, timeout=10, env={"GIVEN": "1"}))
        runtime = build_runtime({"sandbox": {"env": ["MY_TOOL_HOME"]}}, workspace=tmp_path)

        async def inside() -> Any:
            with running(runtime):
                return await execute_in_sandbox("env", tmp_path, timeout=10)

        listed = run(inside())
    for res in (plain, listed):
        assert "ghp_unlisted_secret_1" not in res.output and "hunter2" not in res.output
        assert "PATH=" in res.output
    assert "GIVEN=1" in plain.output and "MY_TOOL_HOME" not in plain.output
    assert "MY_TOOL_HOME=/opt/tool" in listed.output


def test_sandbox_env_names_are_validated(tmp_path: Path) -> None:
    from teragent.compose import build_runtime
    from teragent.errors import ConfigError

    with host(), pytest.raises(ConfigError, match="env"):
        build_runtime({"sandbox": {"env": ["NOT-A-NAME"]}}, workspace=tmp_path)


@posix
def test_default_sandbox_is_the_first_available_of_the_preference_or_the_pinned_one(
        tmp_path: Path) -> None:
    from teragent.compose import build_runtime
    from teragent.runtime import running
    from teragent.security.sandbox import default_sandbox

    with host(plugin(bwrap=(False, 1, 50), landlock=(True, 0, 50))):
        assert default_sandbox() == "landlock"  # bwrap is registered but cannot run
        runtime = build_runtime({"sandbox": {"backend": "process"}}, workspace=tmp_path)
        with running(runtime):
            assert default_sandbox() == "process"
    with host():
        assert default_sandbox() == "process"


@posix
def test_workspace_is_cleaned_of_setuid_devices_and_outside_links(tmp_path: Path) -> None:
    from teragent.security.confine import sanitize_workspace

    ws, outside = tmp_path / "ws", tmp_path / "outside"
    ws.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("outside\n")
    os.link(outside / "secret", ws / "link")
    (ws / "inner").write_text("x")
    os.link(ws / "inner", ws / "inner2")  # both names inside: left alone
    (ws / "tool").write_text("#!/bin/sh\n")
    os.chmod(ws / "tool", 0o6755)
    done = sanitize_workspace(str(ws))
    assert not os.stat(ws / "tool").st_mode & 0o6000
    assert os.stat(ws / "link").st_ino != os.stat(outside / "secret").st_ino
    assert (ws / "link").read_text() == "outside\n"
    assert os.stat(ws / "inner").st_ino == os.stat(ws / "inner2").st_ino
    assert done["outside_links_copied"] == [str(ws / "link")]
    assert done["setuid_stripped"] == [str(ws / "tool")]


@posix
def test_teragent_sandbox_says_which_backend_bash_uses_and_what_it_contains(
        capsys: pytest.CaptureFixture[str]) -> None:
    import argparse
    import json

    from teragent_sandbox_process.cli import cmd_sandbox, sandbox_report

    with host(plugin(bwrap=(False, 1, 50))):
        report = sandbox_report({})
        pinned = sandbox_report({"sandbox": {"backend": "bwrap"}})
    assert report["default"] == "process" and report["available"]
    assert "env_unlisted" in report["contains"] and "write_outside" in report["not_contained"]
    assert pinned["default"] == "bwrap" and not pinned["available"]
    assert {b["name"] for b in report["backends"]} == {"process", "bwrap"}
    with host():
        assert cmd_sandbox(argparse.Namespace(config=None, json=True)) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["default"] == "process" and shown["tier"] == 0


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                    reason="dropping root needs a root agent on Linux")
def test_root_agent_runs_commands_unprivileged_or_without_capabilities(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import teragent.security.confine as confine

    ws = tmp_path / "ws"
    ws.mkdir()
    probe = "id -u; grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status; echo x > made && echo wrote"
    res = run(ProcessSandbox().run(probe, str(ws), 10, {"PATH": "/usr/bin:/bin"}))
    assert res.output.splitlines()[0] == str(confine.SANDBOX_UID)
    assert "CapEff:\t0000000000000000" in res.output and "wrote" in res.output
    assert (ws / "made").stat().st_uid == 0  # the idmapped bind writes root's files
    # Where a root-owned workspace cannot be idmapped, uid 0 stays but no capability.
    monkeypatch.setattr(confine, "_idmap_works", lambda *a: False)
    res = run(ProcessSandbox().run(probe, str(ws), 10, {"PATH": "/usr/bin:/bin"}))
    assert res.output.splitlines()[0] == "0" and "wrote" in res.output
    assert "CapEff:\t0000000000000000" in res.output
    assert "CapBnd:\t0000000000000000" in res.output


@posix
def test_hard_links_made_before_the_run_are_left_alone(tmp_path: Path) -> None:
    import time

    from teragent.security.confine import sanitize_workspace

    ws, outside = tmp_path / "ws", tmp_path / "outside"
    ws.mkdir()
    outside.mkdir()
    (outside / "object").write_text("shared\n")
    os.link(outside / "object", ws / "object")  # like git clone --local
    done = sanitize_workspace(str(ws), since=time.time() + 5)
    assert "outside_links_copied" not in done
    assert os.stat(ws / "object").st_ino == os.stat(outside / "object").st_ino


@pytest.mark.skipif(not sys.platform.startswith("linux") or os.geteuid() != 0,
                    reason="dropping root needs a root agent on Linux")
def test_confinement_survives_an_at_fork_handler_that_starts_a_thread(tmp_path: Path) -> None:
    # OpenTelemetry's batch span processor starts a thread in every forked child;
    # unshare() of a namespace refuses a multi-threaded caller (EINVAL). The run is
    # in a separate interpreter so the handler does not outlive the test.
    script = tmp_path / "forky.py"
    ws = tmp_path / "ws"
    ws.mkdir()
    script.write_text(
        "import asyncio, os, sys, threading, time\n"
        "os.register_at_fork(after_in_child=lambda: threading.Thread(\n"
        "    target=time.sleep, args=(2,), daemon=True).start())\n"
        "from teragent_sandbox_process.backend import ProcessSandbox\n"
        "res = asyncio.run(ProcessSandbox().run('id -u; echo x > made && echo wrote',\n"
        "                  sys.argv[1], 20, {'PATH': '/usr/bin:/bin'}))\n"
        "print(res.output, res.enforced.get('workspace'))\n")
    out = subprocess.run([sys.executable, str(script), str(ws)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == ["65534", "wrote"], out.stdout + out.stderr
    assert (ws / "made").stat().st_uid == 0
