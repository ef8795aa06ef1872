"""Crash test of transactional multi-file writes: SIGKILL at random points, then check
that recovery leaves every commit all-or-nothing.

A child process (forked, so each start costs ~1 ms) runs commits through
``write_files_safely``: commit *i* rewrites ``FILES`` tracked files to "commit i" and
creates ``d<i>/sub/new.txt`` (a new directory chain, so rollback of created directories
is exercised). Each child is killed with SIGKILL, either

- **ops**: by itself, at a random file-system operation (open, write — after writing
  only half the bytes —, fsync, link, mkdir, rename/replace, remove, rmdir), which covers
  every step of the protocol, or
- **timer**: by the parent, after a random delay (0-20 ms),

and the parent then runs ``recover()`` and checks:

1. every tracked file holds the same commit number C (no mix of old and new);
2. C is the last commit the child acknowledged, or the one after it (the commit in
   flight either fully happened or fully did not);
3. ``d<j>/sub/new.txt`` exists with the right content for every j <= C, and no
   ``d<j>`` exists for j > C (directories a rolled-back commit created are gone);
4. no temporary file, backup or journal is left behind.

Run: .venv/bin/python bench/crash_writes.py --commits 500 (which runs this file)
(The test suite runs the same harness with 60 kills: test_crash_writes.py, beside it.)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

FILES = 4
_OPS = ("open", "write", "fsync", "link", "mkdir", "rename", "replace", "remove", "rmdir")


def _content(i: int, name: str) -> str:
    # Large enough that a write is not trivially atomic in one syscall of a tiny size.
    return f"commit {i}\n{name}\n" + ("x" * 3000) + f"\nend {i}\n"


def _commit_files(i: int) -> list[dict[str, str]]:
    files = [{"path": f"tracked/f{k}.txt", "content": _content(i, f"f{k}")}
             for k in range(FILES)]
    files.append({"path": f"d{i}/sub/new.txt", "content": _content(i, "new")})
    return files


def _arm_self_kill(after_ops: int) -> None:
    """Make this process SIGKILL itself at its ``after_ops``-th file-system operation."""
    count = [0]

    def wrap(name: str) -> None:
        real = getattr(os, name)

        def op(*args: Any, **kwargs: Any) -> Any:
            count[0] += 1
            if count[0] >= after_ops:
                if name == "write" and len(args) >= 2 and len(args[1]) > 1:
                    real(args[0], bytes(args[1][: len(args[1]) // 2]))  # a torn write
                os.kill(os.getpid(), signal.SIGKILL)
            return real(*args, **kwargs)

        setattr(os, name, op)

    for name in _OPS:
        wrap(name)


def _child(workspace: str, start: int, ack_path: str, after_ops: int | None) -> None:
    from teragent_tools.file_safety import write_files_safely

    if after_ops is not None:
        _arm_self_kill(after_ops)
    i = start
    while True:
        ok, results = write_files_safely(_commit_files(i), workspace)
        if not ok:
            sys.stderr.write(f"commit {i} failed: {json.dumps(results)}\n")
            os._exit(3)
        # Acknowledge with a plain write (not through the counted os functions' effects
        # on the workspace); the parent reads the last complete line.
        with open(ack_path, "a", encoding="utf-8") as f:
            f.write(f"{i}\n")
        i += 1


def _read_ack(path: str, default: int) -> int:
    try:
        lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip()]
    except FileNotFoundError:
        return default
    return int(lines[-1]) if lines else default


def _committed(workspace: Path) -> int:
    values = set()
    for k in range(FILES):
        text = (workspace / "tracked" / f"f{k}.txt").read_text()
        first, _, rest = text.partition("\n")
        n = int(first.split()[1])
        if text != _content(n, f"f{k}"):
            raise AssertionError(f"f{k}.txt is torn: {text[:40]!r}...")
        values.add(n)
    if len(values) != 1:
        raise AssertionError(f"tracked files hold different commits: {sorted(values)}")
    return values.pop()


def _check(workspace: Path, acked: int, highest_started: int) -> int:
    from teragent_tools.file_safety import JOURNAL_DIR

    c = _committed(workspace)
    if c not in (acked, acked + 1):
        raise AssertionError(f"committed state {c}, but the child acknowledged {acked}")
    for j in range(1, highest_started + 2):
        d = workspace / f"d{j}"
        if j <= c:
            text = (d / "sub" / "new.txt").read_text()
            if text != _content(j, "new"):
                raise AssertionError(f"d{j}/sub/new.txt is wrong")
        elif d.exists():
            raise AssertionError(f"d{j} exists but commit {j} did not happen: "
                                 f"{[str(p) for p in d.rglob('*')]}")
    leftovers = [str(p) for p in workspace.rglob("*")
                 if ".tera-" in p.name and JOURNAL_DIR not in str(p)]
    journals = [p.name for p in (workspace / JOURNAL_DIR).glob("*.json*")]
    if leftovers or journals:
        raise AssertionError(f"left behind: {leftovers + journals}")
    return c


def run(commits: int, *, workdir: str | None = None, seed: int | None = None,
        timer_share: float = 0.3, max_ops: int = 90) -> dict[str, Any]:
    """Kill ``commits`` children; returns statistics. Raises AssertionError on a
    violation. POSIX only (fork + SIGKILL)."""
    from teragent_tools.file_safety import recover, write_files_safely

    if not hasattr(os, "fork"):
        raise RuntimeError("the crash test needs os.fork (POSIX)")
    rng = random.Random(seed)
    tmp = tempfile.TemporaryDirectory(dir=workdir)
    workspace = Path(tmp.name) / "ws"
    workspace.mkdir()
    ok, _ = write_files_safely([f for f in _commit_files(0) if "tracked" in f["path"]],
                               workspace)
    assert ok
    ack_path = str(Path(tmp.name) / "ack")
    stats = {"kills": 0, "ops_kills": 0, "timer_kills": 0, "rolled_forward": 0,
             "rolled_back": 0, "clean": 0, "commits_applied": 0, "in_flight_applied": 0,
             "in_flight_discarded": 0}
    committed = 0
    started = time.perf_counter()
    try:
        for _ in range(commits):
            start = committed + 1
            Path(ack_path).write_text(f"{committed}\n")
            use_timer = rng.random() < timer_share
            after_ops = None if use_timer else rng.randint(1, max_ops)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # fork + threads (3.12+)
                pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                code = 0
                try:
                    _child(str(workspace), start, ack_path, after_ops)
                except BaseException:  # noqa: BLE001
                    import traceback

                    traceback.print_exc()
                    code = 4
                os._exit(code)
            if use_timer:
                time.sleep(rng.uniform(0, 0.02))
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            _, status = os.waitpid(pid, 0)
            if not (os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL):
                raise AssertionError(f"child ended with status {status}, not by SIGKILL")
            stats["kills"] += 1
            stats["timer_kills" if use_timer else "ops_kills"] += 1
            acked = _read_ack(ack_path, committed)
            actions = recover(workspace)
            for _, action in actions:
                stats[action] += 1
            if not actions:
                stats["clean"] += 1
            new = _check(workspace, acked, acked + 1)
            stats["commits_applied"] += new - committed
            stats["in_flight_applied" if new == acked + 1 else "in_flight_discarded"] += 1
            committed = new
    finally:
        tmp.cleanup()
    stats["final_commit"] = committed
    stats["seconds"] = round(time.perf_counter() - started, 2)
    return stats


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--commits", type=int, default=500, help="children to kill (default 500)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--timer-share", type=float, default=0.3,
                   help="share of kills by the parent's timer instead of at an operation")
    args = p.parse_args()
    import logging

    logging.getLogger("teragent_tools.file_safety").setLevel(logging.ERROR)
    seed = args.seed if args.seed is not None else random.SystemRandom().randint(0, 2**31)
    stats = run(args.commits, seed=seed, timer_share=args.timer_share)
    print(json.dumps({"seed": seed, **stats}, indent=2))
    print(f"OK: {stats['kills']} SIGKILLs, every commit all-or-nothing after recovery "
          f"({stats['rolled_back']} rolled back, {stats['rolled_forward']} rolled forward, "
          f"{stats['clean']} with nothing to recover) in {stats['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
