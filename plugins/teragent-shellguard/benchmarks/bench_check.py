"""Per-command time of ``check_command_safety`` over every corpus kept in the plugin.

Run from the repository root::

    .venv/bin/python plugins/teragent-shellguard/benchmarks/bench_check.py [--repeat 5]

Each command is checked ``--repeat`` times after one warm-up pass (which fills the
regex and path-class caches, as a long-running agent would); the per-command time is the
best of the repeats, so scheduler noise on a shared machine does not inflate it. Prints
median, p90, p99 and max per corpus and overall. Never asserts: correctness is the tests'
job.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from teragent_shellguard.checker import check_command_safety
from teragent_shellguard.scoring import CORPORA, load


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--corpora", type=Path, default=CORPORA)
    args = ap.parse_args()
    files = sorted(args.corpora.glob("commands_*.jsonl"))
    everything: list[float] = []
    print(f"{'corpus':32s} {'n':>5s} {'median':>9s} {'p90':>9s} {'p99':>9s} {'max':>9s}  (µs per command)")
    for f in files:
        entries = load(f)
        for e in entries:  # warm-up
            check_command_safety(e["cmd"], e.get("platform") or "posix")
        times = []
        for e in entries:
            cmd, plat = e["cmd"], e.get("platform") or "posix"
            best = float("inf")
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                check_command_safety(cmd, plat)
                best = min(best, time.perf_counter() - t0)
            times.append(best * 1e6)
        everything.extend(times)
        print(f"{f.name:32s} {len(times):5d} {statistics.median(times):9.1f} {_pct(times, 90):9.1f} "
              f"{_pct(times, 99):9.1f} {max(times):9.1f}")
    print(f"{'all':32s} {len(everything):5d} {statistics.median(everything):9.1f} {_pct(everything, 90):9.1f} "
          f"{_pct(everything, 99):9.1f} {max(everything):9.1f}")


if __name__ == "__main__":
    main()
