"""Start-up cost of every available sandbox backend, relative to ``process``.

    python bench/bench_sandbox_startup.py [N] [--json PATH]

Runs ``true`` through :func:`teragent.security.execute_in_sandbox` (the documented
path: allow-listed environment, least privilege, the run's cgroup, the workspace
clean-up) N times per backend (default 15; 3 for a virtual machine) after one
warm-up, in a root-owned workspace as the agent would have it. Backends are measured
round-robin so drift on a shared machine hits them alike. Prints the median per
backend and its ratio to the ``process`` backend's median *in the same run*. Not a
test: it asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time

from teragent.security.sandbox import execute_in_sandbox, list_sandboxes


async def once(name: str, cwd: str) -> float:
    started = time.perf_counter()
    res = await execute_in_sandbox("true", cwd, timeout=120, backend=name)
    took = time.perf_counter() - started
    if res.exit_code != 0:
        raise RuntimeError(f"{name}: exit {res.exit_code}: {res.output[-300:]!r}")
    return took


async def measure(n: int, cwd: str) -> tuple[dict[str, list[float]], dict[str, str]]:
    names, skipped = [], {}
    for info in list_sandboxes():
        if info.available:
            names.append((info.name, info.level))
        else:
            skipped[info.name] = info.reason
    times: dict[str, list[float]] = {name: [] for name, _ in names}
    for name, _ in names:
        await once(name, cwd)  # warm-up: image, initramfs and probe caches
    for i in range(n):
        for name, level in names:
            if level >= 2 and i >= 3:
                continue
            times[name].append(await once(name, cwd))
    return times, skipped


def main() -> None:
    args = sys.argv[1:]
    out = None
    if "--json" in args:
        out = args[args.index("--json") + 1]
        del args[args.index("--json"):args.index("--json") + 2]
    n = int(args[0]) if args else 15
    cwd = tempfile.mkdtemp(prefix="teragent-bench-")
    try:
        times, skipped = asyncio.run(measure(n, cwd))
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians.get("process")
    print(f"uid {os.geteuid()}, {platform.system()} {platform.release()}, "
          f"{os.cpu_count()} CPUs, n={n}")
    print("| backend | median of `true` | × process |")
    print("| --- | --- | --- |")
    for name, med in sorted(medians.items(), key=lambda kv: kv[1]):
        ratio = f"{med / base:.1f}" if base else "n/a"
        print(f"| {name} | {med * 1000:.1f} ms | {ratio} |")
    for name, why in skipped.items():
        print(f"| {name} | not available: {why[:60]} | |")
    if out:
        with open(out, "w") as fh:
            json.dump({"n": n, "uid": os.geteuid(), "medians_s": medians,
                       "ratio_to_process": {k: v / base for k, v in medians.items()}
                       if base else {}, "skipped": skipped}, fh, indent=2)


if __name__ == "__main__":
    main()
