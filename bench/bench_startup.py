"""Start-up cost: ``import teragent`` + discovery of every installed plugin, as a ratio
to a bare interpreter start (``python -c pass``) measured in the same run.

Two ratios per case: wall-clock time, and CPU time (user + system of the child, from
``getrusage``), which a busy shared machine disturbs much less than wall time.

Run: .venv/bin/python bench/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

CASES: dict[str, str | tuple[str, dict[str, str]]] = {
    "python -c pass": "pass",
    "import teragent": "import teragent",
    "import + discover all plugins": (
        "import teragent; from teragent.plugins import get_host; h = get_host(); "
        "[h.registry(k) for k in h.registries]"),
    # the same without the entry-point cache (docs/decisions/plugin-loading.md)
    "  same, TERAGENT_PLUGIN_CACHE=0 (scan every start)": (
        "import teragent; from teragent.plugins import get_host; h = get_host(); "
        "[h.registry(k) for k in h.registries]", {"TERAGENT_PLUGIN_CACHE": "0"}),
    "import + discover + create_provider(openai_compatible)": (
        "import teragent; teragent.create_provider(adapter='openai_compatible', "
        "model='m', base_url='http://127.0.0.1:1')"),
    # The build case's own steps, so building is read as a difference in one run: its
    # provider (with a key from the environment), then pydantic, which building still
    # imports because the config tables (AgentLoopConfig...) are pydantic models.
    "  provider of the build case (api_key_env)": (
        "import os, tempfile, teragent; os.environ['BENCH_KEY'] = 'x'; "
        "d = tempfile.mkdtemp(); "
        "p = teragent.create_provider(adapter='openai_compatible', model='m', "
        "base_url='http://127.0.0.1:1', api_key_env='BENCH_KEY')"),
    "  + pydantic imported (the config models' floor)": (
        "import os, tempfile, teragent; os.environ['BENCH_KEY'] = 'x'; "
        "d = tempfile.mkdtemp(); "
        "p = teragent.create_provider(adapter='openai_compatible', model='m', "
        "base_url='http://127.0.0.1:1', api_key_env='BENCH_KEY'); "
        "from pydantic import BaseModel, Field"),
    # issue "A minimal kernel": import + discovery + an agent with every first-party
    # plugin's tools and guards, no model call (the provider is built, not called).
    "import + discover + build_agent (all plugins, no model call)": (
        "import os, tempfile, teragent; os.environ['BENCH_KEY'] = 'x'; "
        "d = tempfile.mkdtemp(); "
        "p = teragent.create_provider(adapter='openai_compatible', model='m', "
        "base_url='http://127.0.0.1:1', api_key_env='BENCH_KEY'); "
        "a = teragent.build_agent({}, workspace=d, provider=p)"),
    # What building cost before the HTTP stack loaded lazily (issue 12): the same, plus
    # the aiohttp and httpx imports build_agent used to pay.
    "  same + HTTP stack preloaded (build_agent before)": (
        "import os, tempfile, teragent; os.environ['BENCH_KEY'] = 'x'; "
        "d = tempfile.mkdtemp(); "
        "p = teragent.create_provider(adapter='openai_compatible', model='m', "
        "base_url='http://127.0.0.1:1', api_key_env='BENCH_KEY'); "
        "a = teragent.build_agent({}, workspace=d, provider=p); "
        "p.adapter.prepare(); import httpx"),
}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _split(case: str | tuple[str, dict[str, str]]) -> tuple[str, dict[str, str]]:
    """A case is code, or ``(code, extra environment)``."""
    return (case, {}) if isinstance(case, str) else case


def measure(case: str | tuple[str, dict[str, str]], runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``python -c code``."""
    code, extra = _split(case)
    env = {**os.environ, **extra}
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), _child_cpu()
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
        wall.append(time.perf_counter() - t)
        cpu.append(_child_cpu() - c)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    # Warm the OS caches once, writing bytecode: with PYTHONDONTWRITEBYTECODE set (as on
    # the development machine) every child would compile every module from source, which
    # an installed wheel (compiled at install time) never does.
    for case in CASES.values():
        code, extra = _split(case)
        env = {**os.environ, **extra}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-c", code], check=True, env=env)
    base: tuple[float, float] | None = None
    print(f"{'case':58} {'wall ms':>8} {'ratio':>7} {'cpu ms':>8} {'ratio':>7}")
    for name, case in CASES.items():
        ms, cpu = measure(case, args.runs)
        base = base or (ms, cpu)
        print(f"{name:58} {ms:8.1f} {ms / base[0]:6.2f}x {cpu:8.1f} {cpu / base[1]:6.2f}x")
    from teragent.plugins import get_host

    names = [r.name for r in get_host().list_plugins()]
    print(f"plugins discovered: {', '.join(names)}")


if __name__ == "__main__":
    main()
