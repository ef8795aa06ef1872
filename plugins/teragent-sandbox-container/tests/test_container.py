"""The container backend: podman with a host-/usr rootfs, and the escape suite."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from teragent_testing.escape import assert_claims, run_escape_suite
from teragent_sandbox_container.backend import ContainerSandbox

backend = ContainerSandbox()
ok, reason = backend.available()
needs_podman = pytest.mark.skipif(not ok, reason=f"container backend unavailable: {reason}")


def test_argv_never_pulls_and_limits_resources(tmp_path: Path) -> None:
    argv = ContainerSandbox(image="local/img").argv("/usr/bin/podman", "echo", str(tmp_path),
                                                   "/env", None, "n")
    assert "--pull=never" in argv and "local/img" in argv and "--network=none" in argv
    assert argv[argv.index("--pids-limit") + 1] == "256"
    with pytest.raises(ValueError, match="image"):
        ContainerSandbox(engine="docker")


@needs_podman
def test_runs_in_a_container_with_cgroup_limits(tmp_path: Path) -> None:
    res = asyncio.run(backend.run(
        "echo a > f && cat f && cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes",
        str(tmp_path), 60, {"PATH": "/usr/bin:/bin"}))
    assert res.exit_code == 0, res.output
    assert res.output.split() == ["a", "256", str(512 * 1024 * 1024)]


@needs_podman
def test_escape_suite_claims_hold() -> None:
    assert_claims(asyncio.run(run_escape_suite(backend)))


@needs_podman
@pytest.mark.skipif(os.geteuid() != 0, reason="the uid drop is for a root agent")
def test_a_root_owned_workspace_is_written_by_an_unprivileged_uid(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    res = asyncio.run(backend.run("id -u; echo a > made && echo wrote", str(ws), 60,
                                  {"PATH": "/usr/bin:/bin"}))
    assert res.output.split() == ["65534", "wrote"], res.output
    assert (ws / "made").stat().st_uid == 0  # written through the idmapped bind
