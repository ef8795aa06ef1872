"""Start-up cost: ``import teragent`` + discovery of every installed plugin, as a ratio
to a bare interpreter start (``python -c pass``) measured in the same run.

Two ratios per case: wall-clock time, and CPU time (user + system of the child, from
``getrusage``), which a busy shared machine disturbs much less than wall time.

Run: .venv/bin/python bench/bench_startup.py [--runs N] [--peers $TMPDIR/benchvenvs]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

# The build case's provider (a key from the environment), for its step cases.
_PROVIDER = ("import os, tempfile, teragent; os.environ['BENCH_KEY'] = 'x'; "
             "d = tempfile.mkdtemp(); "
             "p = teragent.create_provider(adapter='openai_compatible', model='m', "
             "base_url='http://127.0.0.1:1', api_key_env='BENCH_KEY')")

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
    "  provider of the build case (api_key_env)": _PROVIDER,
    "  + pydantic imported (the config models' floor)": (
        _PROVIDER + "; from pydantic import BaseModel, Field"),
    # Floors the owner's dependencies set, measured in the same run: pluggy (the plugin
    # system; it imports inspect and typing), pluggy + logging, the kernel's plugin host
    # with no plugin imported, and httpx (the HTTP client the first model call loads).
    "  floor: import pluggy": "import pluggy",
    "  floor: import pluggy, logging": "import pluggy, logging",
    "  floor: the plugin host, no plugin imported": "import teragent.plugins",
    "  floor: import httpx (loaded by the first model call)": "import httpx",
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


# Peer frameworks, each in its own venv under --peers (../shared/bench/setup_venvs.sh
# makes them): import + an agent with one tool, pointed at an OpenAI-compatible URL, no
# model call. The same shape as our build case. Each peer's ratio is to ``python -c
# pass`` of its own venv, measured in the same run.
_TOOL = "async def add(a: int, b: int) -> int:\n    'Add two integers.'\n    return a + b\n"
PEERS: dict[str, str] = {
    "openai-agents": (
        "from agents import Agent, OpenAIChatCompletionsModel, function_tool\n"
        "from openai import AsyncOpenAI\n" + _TOOL +
        "c = AsyncOpenAI(base_url='http://127.0.0.1:1/v1', api_key='x')\n"
        "a = Agent(name='a', tools=[function_tool(add)], "
        "model=OpenAIChatCompletionsModel(model='m', openai_client=c))\n"),
    "pydantic-ai": (
        "from pydantic_ai import Agent\n"
        "from pydantic_ai.models.openai import OpenAIChatModel\n"
        "from pydantic_ai.providers.openai import OpenAIProvider\n" + _TOOL +
        "p = OpenAIProvider(base_url='http://127.0.0.1:1/v1', api_key='x')\n"
        "a = Agent(OpenAIChatModel('m', provider=p), tools=[add])\n"),
    "langgraph": (
        "import warnings; warnings.simplefilter('ignore')\n"
        "from langchain_core.tools import tool\n"
        "from langchain_openai import ChatOpenAI\n"
        "from langgraph.prebuilt import create_react_agent\n" + _TOOL +
        "m = ChatOpenAI(model='m', base_url='http://127.0.0.1:1/v1', api_key='x')\n"
        "a = create_react_agent(m, tools=[tool(add)])\n"),
    "llm": (
        "import os, tempfile; d = tempfile.mkdtemp(); os.environ['LLM_USER_PATH'] = d\n"
        "open(os.path.join(d, 'extra-openai-models.yaml'), 'w').write("
        "'- model_id: b\\n  model_name: m\\n  api_base: http://127.0.0.1:1/v1\\n"
        "  supports_tools: true\\n')\n"
        "import llm\n" + _TOOL + "m = llm.get_async_model('b')\n"),
}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _split(case: str | tuple[str, dict[str, str]]) -> tuple[str, dict[str, str]]:
    """A case is code, or ``(code, extra environment)``."""
    return (case, {}) if isinstance(case, str) else case


def measure(case: str | tuple[str, dict[str, str]], runs: int,
            python: str = sys.executable) -> tuple[float, float]:
    """Median wall and CPU milliseconds of ``python -c code``."""
    code, extra = _split(case)
    env = {**os.environ, **extra}
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), _child_cpu()
        subprocess.run([python, "-c", code], check=True, env=env)
        wall.append(time.perf_counter() - t)
        cpu.append(_child_cpu() - c)
    return statistics.median(wall) * 1000, statistics.median(cpu) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--peers", metavar="DIR",
                    help="also measure the peer frameworks' venvs under DIR "
                         "(../shared/bench/setup_venvs.sh; default root $TMPDIR/benchvenvs)")
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
    if args.peers:
        _peers(args.peers, args.runs)
    from teragent.plugins import get_host

    names = [r.name for r in get_host().list_plugins()]
    print(f"plugins discovered: {', '.join(names)}")


def _peers(root: str, runs: int) -> None:
    """Each peer's build case, as a ratio to its own venv's ``python -c pass``."""
    print(f"\n{'peer (own venv; import + agent with one tool, no call)':58} "
          f"{'wall ms':>8} {'ratio':>7} {'cpu ms':>8} {'ratio':>7}")
    for name, code in PEERS.items():
        python = os.path.join(root, name, "bin", "python")
        if not os.path.exists(python):
            print(f"{name:58} not installed in {root}")
            continue
        env = {**os.environ}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([python, "-c", code], check=True, env=env)  # warm, write bytecode
        base, (ms, cpu) = measure("pass", runs, python), measure(code, runs, python)
        print(f"{name:58} {ms:8.1f} {ms / base[0]:6.2f}x {cpu:8.1f} {cpu / base[1]:6.2f}x")


if __name__ == "__main__":
    main()
