"""The README's first command, measured: N runs of ``teragent run TASK --json`` on the
embedded local model (SmolLM2-135M) in fresh scratch copies of a small project.

A run **succeeds** when all of these hold (the definition the decision record
``docs/decisions/local-model-demo.md`` quotes):

1. ``teragent run`` exits 0 and the run's ``stop_reason`` is ``completed``;
2. it made at least one tool call, every call succeeded (none refused, none failed),
   and one of them is the expected guarded call (default: ``read_file`` of
   ``README.md``);
3. the final answer is not empty, is not a reply-format placeholder (``<text>``,
   ``...``, ``{"answer"``), and matches every ``--expect`` pattern (default for the
   generated project: it says the project *counts* *words/lines/characters*).

Prints one line per run, then the success rate, the median time of a run (process
start to exit: interpreter, plugin discovery, model load, generation), the median of
the successful ones and the median of the agent run alone (``duration_s``). The runs are not a test: no assertion, and the machine's load
shows in the times.

Usage::

    .venv/bin/python bench/bench_local_demo.py                 # 10 runs, the README task
    .venv/bin/python bench/bench_local_demo.py --runs 3 --project . \\
        --expect 'agent|LLM|framework'                         # in this repository
    .venv/bin/python bench/bench_local_demo.py -m /path/to/model.gguf
    .venv/bin/python bench/bench_local_demo.py --agent-toml "$(printf '%s\n' \
        '[tools]' 'profile = \"full\"' '[drivers.llamacpp.full]' \
        'model = \"smollm2-135m-instruct\"' 'options = {tool_profile = \"full\"}')"
                                                               # the baseline: every tool
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: The README's demo task (keep in step with README.md "Two commands").
TASK = "Read README.md and say in one sentence what this project is"

PROJECT = {
    "README.md": (
        "# wordcount\n\nA small command-line tool that counts the words, lines and "
        "characters in a text file.\n\n## Usage\n\n    python wordcount.py notes.txt\n\n"
        "Run the tests with `pytest`.\n"),
    "wordcount.py": (
        '"""Count the words, lines and characters in a text file."""\nimport sys\n\n\n'
        "def count(text):\n    return len(text.split()), len(text.splitlines()), len(text)\n"
        '\n\nif __name__ == "__main__":\n    words, lines, chars = count(open(sys.argv[1]).read())\n'
        '    print(f"{lines} lines, {words} words, {chars} characters")\n'),
    "pyproject.toml": ('[project]\nname = "wordcount"\nversion = "0.1.0"\n'
                       'requires-python = ">=3.10"\n'),
    "tests/test_wordcount.py": ('from wordcount import count\n\n\ndef test_count():\n'
                                '    assert count("a b\\nc") == (3, 2, 5)\n'),
}
EXPECT = [r"\bcount", r"word|line|character"]
PLACEHOLDER = re.compile(r'^\s*(<[^>]*>|\.\.\.|…|\{\s*"answer")\s*$|^\s*<text>')
IGNORE = shutil.ignore_patterns(".git", ".venv", ".teragent", "__pycache__", "*.egg-info",
                                ".mypy_cache", ".hypothesis", "site", "node_modules")


def make_project(root: Path) -> None:
    for rel, text in PROJECT.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def judge(proc: subprocess.CompletedProcess[str], expect: list[str], call: str,
          path: str) -> tuple[bool, str, dict[str, object]]:
    """``(success, why not, the run's JSON)`` by the definition in the module docstring."""
    if proc.returncode != 0:
        return False, f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}", {}
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return False, "no JSON result on stdout", {}
    if out.get("stop_reason") != "completed":
        return False, f"stop_reason {out.get('stop_reason')}", out
    calls = out.get("tool_calls") or []
    if not calls:
        return False, "no tool call", out
    bad = [c for c in calls if c.get("denied") or not c.get("success")]
    if bad:
        return False, f"{len(bad)} refused/failed call(s): {bad[0].get('name')} " \
            f"{json.dumps(bad[0].get('arguments'))}", out
    wanted = [c for c in calls if c.get("name") == call and
              (not path or os.path.normpath(str((c.get("arguments") or {}).get("path", "")))
               == path)]
    if not wanted:
        return False, f"no {call}({path}) call: " + \
            ", ".join(f"{c.get('name')}{json.dumps(c.get('arguments'))}" for c in calls), out
    answer = str(out.get("final_text") or "")
    if not answer.strip() or PLACEHOLDER.search(answer):
        return False, f"empty or placeholder answer {answer!r}", out
    missing = [p for p in expect if not re.search(p, answer, re.IGNORECASE)]
    if missing:
        return False, f"answer misses {missing}", out
    return True, "", out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--task", default=TASK)
    ap.add_argument("--project", default=None,
                    help="directory to copy for each run (default: a generated one)")
    ap.add_argument("--expect", action="append", default=None,
                    help="regex the answer must match (repeatable; default: the "
                         "generated project's)")
    ap.add_argument("--call", default="read_file", help="the tool call expected")
    ap.add_argument("--path", default="README.md", help="its path argument ('' : any)")
    ap.add_argument("-m", "--model", default=None, help="passed to teragent run -m")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--agent-toml", default=None,
                    help="an agent.toml text written into each copy (e.g. the baseline "
                         "'[tools]\\nprofile = \"full\"')")
    args = ap.parse_args()
    expect = args.expect if args.expect is not None else (EXPECT if not args.project else [])
    exe = Path(sys.executable).with_name("teragent")
    if not exe.exists():
        print(f"no teragent command next to {sys.executable}; run ./dev setup", file=sys.stderr)
        return 2
    results: list[tuple[bool, float]] = []
    agent_times: list[float] = []  # the run itself (duration_s), without start-up
    print(f"task: {args.task!r}; success = exit 0, completed, every tool call succeeded, a "
          f"{args.call}({args.path or '*'}) call, an answer matching {expect}")
    with tempfile.TemporaryDirectory(prefix="teragent-demo-") as tmp:
        for i in range(args.runs):
            ws = Path(tmp) / f"run{i}"
            if args.project:
                shutil.copytree(args.project, ws, ignore=IGNORE, symlinks=True)
            else:
                make_project(ws)
            if args.agent_toml:
                (ws / "agent.toml").write_text(args.agent_toml.replace("\\n", "\n"))
            cmd = [str(exe), "run", args.task, "--json"]
            if args.model:
                cmd += ["-m", args.model]
            start = time.perf_counter()
            try:
                proc = subprocess.run(cmd, cwd=ws, capture_output=True, text=True,
                                      stdin=subprocess.DEVNULL, timeout=args.timeout)
            except subprocess.TimeoutExpired:
                proc = subprocess.CompletedProcess(cmd, -9, "", f"timeout {args.timeout}s")
            took = time.perf_counter() - start
            ok, why, out = judge(proc, expect, args.call, args.path)
            results.append((ok, took))
            if isinstance(out.get("duration_s"), (int, float)):
                agent_times.append(float(out["duration_s"]))  # type: ignore[arg-type]
            calls = ", ".join(f"{c.get('name')}{json.dumps(c.get('arguments'))}"
                              for c in out.get("tool_calls") or [])  # type: ignore[union-attr]
            answer = str(out.get("final_text", ""))[:160]
            print(f"run {i + 1:2d}: {'PASS' if ok else 'FAIL'} {took:5.1f}s  [{calls}] "
                  f"{answer!r}" + (f"  -- {why}" if why else ""), flush=True)
    passed = sum(ok for ok, _ in results)
    times = [t for _, t in results]
    good = [t for ok, t in results if ok]
    print(f"success {passed}/{len(results)} ({100 * passed / max(1, len(results)):.0f}%), "
          f"median {statistics.median(times):.1f}s per run"
          + (f", median of successful {statistics.median(good):.1f}s" if good else "")
          + (f", median agent run (model load + generation, no start-up) "
             f"{statistics.median(agent_times):.1f}s" if agent_times else "")
          + f", load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
