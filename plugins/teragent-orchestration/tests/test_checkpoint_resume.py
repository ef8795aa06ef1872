"""Kill an orchestration with SIGKILL mid-run and resume it from its checkpoint
without running the completed agents again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CHILD = HERE / "checkpoint_child.py"


def _child(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, str(CHILD), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_then_resume_without_redoing_completed_agents(tmp_path: Path) -> None:
    ckdir, counts = tmp_path / "ck", tmp_path / "counts.txt"
    first = _child(str(ckdir), str(counts), "first")
    try:
        assert first.stdout is not None
        line = first.stdout.readline()  # blocks until agent c is inside its tool
        assert line.strip() == "BLOCKED", first.stderr.read() if first.stderr else ""
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
        for stream in (first.stdout, first.stderr):
            if stream is not None:
                stream.close()
    assert first.returncode == -signal.SIGKILL
    saved = json.loads((ckdir / "job-1.json").read_text())
    assert saved["status"] == "running"
    assert sorted(saved["completed"]) == ["sequential:0:a", "sequential:1:b"]
    assert counts.read_text().split() == ["a", "b", "c"]
    assert not list(ckdir.glob(".*.tmp"))  # no torn temporary file left behind

    second = _child(str(ckdir), str(counts), "resume")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert "FINAL C done a:checkpoint,b:checkpoint,c:run" in out
    assert counts.read_text().split() == ["a", "b", "c", "c"]  # a and b ran once
    assert json.loads((ckdir / "job-1.json").read_text())["status"] == "done"
