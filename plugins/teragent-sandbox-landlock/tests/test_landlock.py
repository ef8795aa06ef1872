"""The landlock backend: confinement for real, and the escape suite's claims."""

from __future__ import annotations

import asyncio
import os
import struct
from pathlib import Path

import pytest

from teragent_testing.escape import assert_claims, run_escape_suite
from teragent_sandbox_landlock import launcher
from teragent_sandbox_landlock.backend import LandlockSandbox

backend = LandlockSandbox()
ok, reason = backend.available()
needs_landlock = pytest.mark.skipif(not ok, reason=f"landlock unavailable: {reason}")


def run(cmd: str, ws: Path, timeout: float = 20, **kw: object):  # type: ignore[no-untyped-def]
    return asyncio.run(LandlockSandbox(**kw).run(cmd, str(ws), timeout, {"PATH": "/usr/bin:/bin"}))  # type: ignore[arg-type]


def test_seccomp_filter_shape() -> None:
    prog = launcher.build_seccomp_filter("x86_64")
    assert len(prog) % 8 == 0 and len(prog) // 8 < 255
    first = struct.unpack("HBBI", prog[:8])
    assert first == (0x20, 0, 0, 4)  # load the architecture first
    assert struct.unpack("HBBI", prog[-8:])[3] == launcher.RET_ALLOW
    with pytest.raises(OSError):
        launcher.build_seccomp_filter("mips")


@needs_landlock
def test_workspace_and_tmp_are_writable_and_the_rest_is_not(tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    res = run("echo a > f && cat f && touch $TMPDIR/t && echo tmp-ok; "
              f"echo b > {tmp_path}/out; cat /etc/shadow; unshare -U true", ws)
    assert "a\ntmp-ok" in res.output
    assert f"cannot create {tmp_path}/out: Permission denied" in res.output
    assert "shadow: Permission denied" in res.output
    assert not (tmp_path / "out").exists()
    assert res.enforced["landlock_abi"] >= 1 and res.backend == "landlock"


@needs_landlock
def test_allowed_tcp_port(tmp_path: Path) -> None:
    import socket

    if launcher.landlock_abi() < 4:
        pytest.skip("Landlock ABI < 4 has no TCP rules")
    allowed, denied = socket.socket(), socket.socket()
    for s in (allowed, denied):
        s.bind(("127.0.0.1", 0))
        s.listen(1)
    try:
        script = ("import socket,sys\nfor p in sys.argv[1:]:\n    try:\n"
                  "        socket.create_connection(('127.0.0.1', int(p)), 3); print(p, 'ok')\n"
                  "    except OSError as e: print(p, e.errno)\n")
        (tmp_path / "c.py").write_text(script)
        a, d = allowed.getsockname()[1], denied.getsockname()[1]
        res = run(f"/usr/bin/python3 c.py {a} {d}", tmp_path, tcp_ports=[a])
        assert f"{a} ok" in res.output and f"{d} 13" in res.output
    finally:
        allowed.close()
        denied.close()


@needs_landlock
def test_escape_suite_claims_hold() -> None:
    report = asyncio.run(run_escape_suite(backend))
    assert_claims(report)
    if os.geteuid() != 0:
        assert report.by_name()["fork_bomb"].contained
    from teragent.security.sandbox import default_sandbox

    if default_sandbox() == "landlock":
        # The bash tool's default here: no probe of any kind may escape.
        assert [r.name for r in report.results if r.contained is not True] == []


@needs_landlock
def test_the_bash_tool_runs_through_a_confining_default(tmp_path: Path) -> None:
    from teragent.plugins import get_host
    from teragent.security.sandbox import default_sandbox

    if "landlock" not in get_host().registry("sandboxes").names():
        pytest.skip("the landlock plugin is not installed as an entry point")
    from teragent_tools.shell import BashTool

    # The default is the strongest fast backend that runs here: bwrap where it works,
    # else landlock; never the unconfined process backend while landlock runs.
    result = asyncio.run(BashTool(tmp_path).execute({"command": "cat /etc/shadow; echo $?"}))
    assert result.metadata["sandbox"] == default_sandbox()
    assert result.metadata["sandbox"] in ("bwrap", "landlock")
    assert "Permission denied" in result.data or "No such file" in result.data
