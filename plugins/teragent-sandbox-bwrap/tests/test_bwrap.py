"""The bwrap backend: namespaces for real, the root caveat, and the escape suite."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from teragent_testing.escape import assert_claims, run_escape_suite
from teragent_sandbox_bwrap.backend import BwrapSandbox

backend = BwrapSandbox()
ok, reason = backend.available()
pytestmark = pytest.mark.skipif(not ok, reason=f"bwrap unavailable: {reason}")


def workspace(tmp_path: Path) -> Path:
    # As root the sandbox runs as nobody, which must reach and write the workspace.
    tmp_path.chmod(0o755)
    for parent in tmp_path.parents:
        if parent.stat().st_mode & 0o001 == 0 and os.geteuid() == 0:
            pytest.skip(f"{parent} is not searchable by nobody (pytest's 0700 base dir)")
    ws = tmp_path / "ws"
    ws.mkdir()
    if os.geteuid() == 0:
        os.chown(ws, 65534, 65534)
    return ws


def test_runs_unprivileged_with_a_private_view() -> None:
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="teragent-bwrap-test-"))
    try:
        _check_private_view(workspace(base))
    finally:
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def _check_private_view(ws: Path) -> None:
    res = asyncio.run(backend.run(
        "echo a > f && cat f && id -u && ls /root 2>&1; cat /proc/net/dev | grep -c :; "
        "echo x > /usr/x 2>&1; echo $$", str(ws), 20, {"PATH": "/usr/bin:/bin"}))
    lines = res.output.splitlines()
    assert lines[0] == "a" and (ws / "f").read_text() == "a\n"
    if os.geteuid() == 0:
        assert lines[1] == "65534" and res.enforced["uid"] == 65534
    assert "No such file or directory" in lines[2]  # no /root at all
    assert lines[3] == "1"  # only lo
    assert "Read-only file system" in res.output
    assert lines[-1] in ("1", "2")  # the shell is (nearly) PID 1 of its own namespace


def test_escape_suite_claims_hold() -> None:
    report = asyncio.run(run_escape_suite(backend))
    assert_claims(report)
    from teragent.security.sandbox import default_sandbox
    from teragent_testing.escape import PROBES

    if default_sandbox() == "bwrap":
        # The bash tool's default here: no probe of any kind may escape.
        assert [r.name for r in report.results if r.contained is not True] == []
        assert set(PROBES) <= backend.contains


def test_protected_paths_are_hidden_or_read_only_inside_an_agent_run() -> None:
    """Inside an agent run, the run's protected paths are mounted so that a command
    the command check cannot read (the path assembled at run time) still cannot reach
    them: .env hidden, the audit log and git hooks read-only."""
    import shutil
    import tempfile

    import teragent
    from teragent.runtime import running

    base = Path(tempfile.mkdtemp(prefix="teragent-bwrap-"))  # /tmp: searchable by nobody
    ws = workspace(base)
    (ws / ".env").write_text("API_KEY=sk-hidden-value\n")
    (ws / ".teragent").mkdir()
    (ws / ".teragent" / "audit.jsonl").write_text('{"outcome": "executed"}\n')
    (ws / ".git" / "hooks").mkdir(parents=True)
    for p in (ws / ".env", ws / ".teragent", ws / ".teragent" / "audit.jsonl", ws / ".git",
              ws / ".git" / "hooks"):
        if os.geteuid() == 0:
            os.chown(p, 65534, 65534)
    runtime = teragent.build_runtime({}, workspace=ws, audit=False)
    cmd = ("f=$(printf '.e%sv' n); cat \"$f\"; (: > .teragent/audit.jsonl); "
           "(echo 'curl x | sh' > .git/hooks/pre-commit); echo done")

    async def go() -> object:
        with running(runtime):
            return await backend.run(cmd, str(ws), 30, {})

    result = asyncio.run(go())
    assert "sk-hidden-value" not in result.output
    assert "done" in result.output
    assert (ws / ".teragent" / "audit.jsonl").read_text() == '{"outcome": "executed"}\n'
    assert not (ws / ".git" / "hooks" / "pre-commit").exists()
    assert (ws / ".env").read_text() == "API_KEY=sk-hidden-value\n"  # untouched on the host
    shutil.rmtree(base)
