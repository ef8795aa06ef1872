"""Start-up cost: ``import teragent`` + discovery of every installed plugin, as a ratio
to a bare interpreter start (``python -c pass``) measured in the same run.

Run: .venv/bin/python bench/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "python -c pass": "pass",
    "import teragent": "import teragent",
    "import + discover all plugins": (
        "import teragent; from teragent.plugins import get_host; h = get_host(); "
        "[h.registry(k) for k in h.registries]"),
    "import + discover + create_provider(openai_compatible)": (
        "import teragent; teragent.create_provider(adapter='openai_compatible', "
        "model='m', base_url='http://127.0.0.1:1')"),
    # issue "A minimal kernel": import + discovery + an agent with every first-party
    # plugin's tools and guards, no model call (the provider is built, not called).
    "import + discover + build_agent (all plugins, no model call)": (
        "import os, tempfile, teragent; os.environ['BENCH_KEY'] = 'x'; "
        "d = tempfile.mkdtemp(); "
        "p = teragent.create_provider(adapter='openai_compatible', model='m', "
        "base_url='http://127.0.0.1:1', api_key_env='BENCH_KEY'); "
        "a = teragent.build_agent({}, workspace=d, provider=p)"),
}


def measure(code: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    # warm the OS caches once
    for code in CASES.values():
        subprocess.run([sys.executable, "-c", code], check=True)
    base = None
    print(f"{'case':58} {'median ms':>10} {'ratio':>7}")
    for name, code in CASES.items():
        ms = measure(code, args.runs)
        base = base or ms
        print(f"{name:58} {ms:10.1f} {ms / base:7.2f}x")
    from teragent.plugins import get_host

    names = [r.name for r in get_host().list_plugins()]
    print(f"plugins discovered: {', '.join(names)}")


if __name__ == "__main__":
    main()
