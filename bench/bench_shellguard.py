"""Benchmark: median time per command of teragent-shellguard over the shared corpora.

Not a test (benchmarks never assert correctness). Run:
    /work/main/.venv/bin/python bench/bench_shellguard.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from teragent_shellguard.checker import check_command_safety

CORPORA = Path(__file__).resolve().parents[1].parent / "shared" / "corpora"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=20)
    a = ap.parse_args()
    cmds: list[tuple[str, str | None]] = []
    for name in ("commands_dangerous_dev.jsonl", "commands_benign_dev.jsonl"):
        with open(CORPORA / name, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    e = json.loads(line)
                    cmds.append((e["cmd"], e.get("platform")))
    for cmd, plat in cmds:  # warm-up: imports, regex caches
        check_command_safety(cmd, plat)
    per_cmd: list[float] = []
    perf = time.perf_counter_ns
    for cmd, plat in cmds:
        samples = []
        for _ in range(a.rounds):
            t0 = perf()
            check_command_safety(cmd, plat)
            samples.append(perf() - t0)
        per_cmd.append(statistics.median(samples) / 1000)
    per_cmd.sort()
    print(f"commands: {len(cmds)}  rounds: {a.rounds}")
    print(f"median per command: {statistics.median(per_cmd):.1f} us")
    print(f"p90: {per_cmd[int(len(per_cmd) * 0.9)]:.1f} us  max: {per_cmd[-1]:.1f} us")


if __name__ == "__main__":
    main()
