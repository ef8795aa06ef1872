"""Start-up overhead per command of every available sandbox backend.

    python bench/bench_sandbox.py [N]

Runs ``echo hi`` N times (default 20; 3 for the microvm) through each available
backend's ``run`` and through a bare ``subprocess.run(["/bin/sh", "-c", "echo hi"])``,
and prints the median wall time and the ratio to the bare run. Not a test: it asserts
nothing.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from teragent.security.processes import clean_environment
from teragent.security.sandbox import get_sandbox, list_sandboxes


def bare(n: int, cwd: str) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(["/bin/sh", "-c", "echo hi"], cwd=cwd, capture_output=True, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


async def backend_median(name: str, n: int, cwd: str) -> float:
    backend = get_sandbox(name)
    env = clean_environment()
    await backend.run("echo hi", cwd, 120, env)  # warm-up (image/initramfs caches)
    times = []
    for _ in range(n):
        t = time.perf_counter()
        res = await backend.run("echo hi", cwd, 120, env)
        times.append(time.perf_counter() - t)
        if not res.output.strip().endswith("hi"):
            raise RuntimeError(f"{name}: unexpected output {res.output!r} (exit {res.exit_code})")
    return statistics.median(times)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    base = tempfile.mkdtemp(prefix="teragent-bench-")
    os.chmod(base, 0o755)
    if os.geteuid() == 0:
        os.chown(base, 65534, 65534)
    try:
        ref = bare(n, base)
        print(f"{'backend':<12} {'median':>10} {'x bare':>8}")
        print(f"{'bare sh':<12} {ref * 1000:>8.1f}ms {1.0:>8.1f}")
        for info in list_sandboxes():
            if not info.available:
                print(f"{info.name:<12} {'n/a':>10}   ({info.reason})")
                continue
            runs = 3 if info.level >= 2 else n
            med = asyncio.run(backend_median(info.name, runs, base))
            print(f"{info.name:<12} {med * 1000:>8.1f}ms {med / ref:>8.1f}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
