"""Several processes append to one session at the same time: nothing is lost, nothing
is refused as locked, sequence numbers stay contiguous."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WRITER = r'''
import sys
from teragent_sessions.sqlite import SessionPersistence
store = SessionPersistence(sys.argv[1])
sys.stdout.write("ready\n"); sys.stdout.flush()
sys.stdin.readline()  # all start together
for i in range(int(sys.argv[3])):
    store.save_message("shared", {"role": "user", "content": f"{sys.argv[2]}:{i}"})
store.close()
'''


def test_processes_writing_one_session_at_once(tmp_path: Path) -> None:
    from teragent_sessions.sqlite import SessionPersistence

    db = tmp_path / "s.db"
    store = SessionPersistence(db)
    store.create(session_id="shared")
    n, per = 4, 150
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(db), f"p{k}", str(per)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in range(n)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline() == "ready\n"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    got = [m["content"] for m in store.restore("shared")]
    assert len(got) == n * per
    for k in range(n):
        assert [c for c in got if c.startswith(f"p{k}:")] == [f"p{k}:{i}" for i in range(per)]
    assert [e.seq for e in store.entries("shared")] == list(range(1, n * per + 1))
    assert store.integrity_check() == "ok"
    store.close()
