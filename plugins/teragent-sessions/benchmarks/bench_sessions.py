"""Session store and lane benchmarks (issue 15), with a baseline measured in the same run.

Measured, each the median of ``--repeats`` fresh runs in a temporary directory:

* ``append``: 1,000 ``save_message`` calls on one session (a realistic mix: user and
  assistant text, assistant tool calls, tool results of 0.1-4 KB), each acknowledged
  (committed) before the next. Variants: ``durability="process"`` (WAL,
  synchronous=NORMAL, the default), the same with the JSONL transcript mirror on, and
  ``durability="power"`` (fsync per commit). Target: <= 0.2 s.
* ``json-rewrite``: the upstream's approach, the whole session as one JSON file
  rewritten (write to a temporary file, fsync, rename) on every message; and the same
  without fsync. The upstream reported 7.9 s for 1,000 messages.
* ``restore``: ``restore()`` and ``resume()`` of a 10,000-message session, from a fresh
  store object (a new process's first read, without the page cache dropped).
* ``lanes``: 50 sessions x 20 runs of 10 ms each submitted concurrently to a
  :class:`~teragent_sessions.lanes.LaneQueue`; the parallel ideal is 20 x 10 ms.

Run: ``.venv/bin/python plugins/teragent-sessions/benchmarks/bench_sessions.py
[--messages 1000 --restore 10000 --repeats 5] [--json]``. Not a test: it asserts only
that every message came back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from teragent_sessions.lanes import LaneQueue
from teragent_sessions.sqlite import SessionPersistence


def messages(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            out.append({"role": "user", "content": f"Step {i}: look at module_{i}.py and "
                        "tell me what the parser does with nested brackets. " * 2})
        elif kind == 1:
            out.append({"role": "assistant", "content": "", "tool_calls": [
                {"id": f"call_{i}", "type": "function", "function": {
                    "name": "read_file", "arguments": json.dumps({"path": f"module_{i}.py"})}}]})
        elif kind == 2:
            out.append({"role": "tool", "tool_call_id": f"call_{i - 1}", "name": "read_file",
                        "content": "def parse(text):\n    return text\n" * (3 + i % 120)})
        else:
            out.append({"role": "assistant", "content": "The parser keeps a stack of open "
                        "brackets and reports the first unmatched one. " * 3})
    return out


def bench_append(msgs: list[dict[str, Any]], tmp: Path, **store_args: Any) -> float:
    store = SessionPersistence(tmp / "s.db", **store_args)
    sid = store.create(title="bench", intent="bench")
    start = time.perf_counter()
    for m in msgs:
        store.save_message(sid, m)
    elapsed = time.perf_counter() - start
    assert len(store.restore(sid)) == len(msgs)
    store.close()
    return elapsed


def bench_json_rewrite(msgs: list[dict[str, Any]], tmp: Path, *, fsync: bool) -> float:
    """The upstream's store: the session is one JSON document rewritten per message."""
    path = tmp / "session.json"
    start = time.perf_counter()
    for m in msgs:
        data = json.loads(path.read_text()) if path.exists() else {"messages": []}
        data["messages"].append(m)
        part = path.with_suffix(".tmp")
        with open(part, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=False)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(part, path)
    elapsed = time.perf_counter() - start
    assert len(json.loads(path.read_text())["messages"]) == len(msgs)
    return elapsed


def bench_restore(n: int, tmp: Path) -> tuple[float, float, float]:
    store = SessionPersistence(tmp / "big.db")
    sid = store.create(title="big")
    batch = messages(n)
    t0 = time.perf_counter()
    for m in batch:
        store.save_message(sid, m)
    fill = time.perf_counter() - t0
    store.close()
    fresh = SessionPersistence(tmp / "big.db")
    t0 = time.perf_counter()
    got = fresh.restore(sid)
    restore = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, history = fresh.resume(sid)
    resume = time.perf_counter() - t0
    assert len(got) == n and len(history) == n
    fresh.close()
    return restore, resume, fill


def bench_lanes(sessions: int = 50, runs: int = 20, work: float = 0.01) -> float:
    async def main() -> float:
        lanes = LaneQueue()

        def factory() -> Callable[[], Any]:
            return lambda: asyncio.sleep(work)

        start = time.perf_counter()

        async def submit(k: int) -> list[Any]:
            return [await lanes.enqueue(f"s{k}", factory()) for _ in range(runs)]
        tickets = [t for ts in await asyncio.gather(*(submit(k) for k in range(sessions)))
                   for t in ts]
        await asyncio.gather(*(lanes.wait_for_run(t.run_id) for t in tickets))
        elapsed = time.perf_counter() - start
        await lanes.close()
        return elapsed
    return asyncio.run(main())


def median_of(repeats: int, fn: Callable[[Path], Any]) -> Any:
    results = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-sessions-") as d:
            results.append(fn(Path(d)))
    if isinstance(results[0], tuple):
        return tuple(statistics.median(r[i] for r in results) for i in range(len(results[0])))
    return statistics.median(results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--restore", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    msgs = messages(args.messages)
    r = args.repeats
    res: dict[str, float] = {}
    # interleaved per repeat so drift on the shared machine hits all alike
    runs: dict[str, list[float]] = {k: [] for k in (
        "sqlite_wal", "sqlite_wal_transcript", "sqlite_wal_fsync", "json_rewrite",
        "json_rewrite_fsync")}
    for _ in range(r):
        for key, fn in (
                ("sqlite_wal", lambda t: bench_append(msgs, t)),
                ("sqlite_wal_transcript", lambda t: bench_append(
                    msgs, t, transcript_dir=t / "transcripts")),
                ("sqlite_wal_fsync", lambda t: bench_append(msgs, t, durability="power")),
                ("json_rewrite", lambda t: bench_json_rewrite(msgs, t, fsync=False)),
                ("json_rewrite_fsync", lambda t: bench_json_rewrite(msgs, t, fsync=True))):
            runs[key].append(median_of(1, fn))
    res = {k: statistics.median(v) for k, v in runs.items()}
    restore, resume, fill = median_of(max(1, r // 2), lambda t: bench_restore(args.restore, t))
    lanes = statistics.median(bench_lanes() for _ in range(r))
    report = {
        "messages": args.messages, "repeats": r,
        "append_s": res, "restore_messages": args.restore,
        "restore_s": restore, "resume_s": resume, f"fill_{args.restore}_s": fill,
        "lanes_50x20_10ms_s": lanes, "lanes_ideal_s": 0.2,
        "ratio_json_rewrite_to_sqlite": res["json_rewrite"] / res["sqlite_wal"],
        "ratio_json_rewrite_fsync_to_sqlite_fsync":
            res["json_rewrite_fsync"] / res["sqlite_wal_fsync"],
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    n = args.messages
    print(f"append {n} messages (median of {r}):")
    for k, v in res.items():
        print(f"  {k:24s} {v:8.3f} s  {v / n * 1e6:8.1f} us/message  "
              f"x{v / res['sqlite_wal']:.1f}")
    print(f"restore {args.restore} messages: restore() {restore:.3f} s, resume() "
          f"{resume:.3f} s (filling it took {fill:.2f} s)")
    print(f"lanes 50 x 20 runs of 10 ms: {lanes:.3f} s (parallel ideal 0.200 s, "
          f"x{lanes / 0.2:.2f}; serial 10.0 s)")


if __name__ == "__main__":
    main()
