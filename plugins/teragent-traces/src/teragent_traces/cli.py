"""``teragent traces list|show|stats|export-dpo``: read the local trace directory.

The directory is ``--dir``, else ``[traces] dir`` of the ``agent.toml`` found from the
current directory, else ``.teragent/traces``. Nothing here writes traces or sends
them anywhere; ``export-dpo`` writes the pairs file you name.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["args_traces", "cmd_traces"]


def args_traces(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dir", default=None, help="the trace directory (default: [traces] dir "
                   "of agent.toml, else .teragent/traces)")
    sub = p.add_subparsers(dest="traces_cmd", metavar="{list,show,stats,export-dpo}")
    ls = sub.add_parser("list", help="one line per traced call")
    ls.add_argument("--task", default=None, help="only this task id")
    ls.add_argument("--limit", type=int, default=50, help="the last N calls (default 50)")
    show = sub.add_parser("show", help="one call: prompt, answer, label")
    show.add_argument("trace_id", help="a trace id or an unambiguous prefix")
    sub.add_parser("stats", help="counts: calls, labels, prompts, pairs")
    ex = sub.add_parser("export-dpo", help="write the valid DPO pairs as JSON lines")
    ex.add_argument("--out", default=None, help="output file (default: DIR/dpo_pairs.jsonl)")
    ex.add_argument("--format", default="standard", choices=["standard", "chat", "full"],
                    help="standard: prompt/chosen/rejected strings; chat: message lists")
    ex.add_argument("--strategy", default="all",
                    choices=["all", "same_task_retry", "cross_task"])
    ex.add_argument("--include-partial", action="store_true",
                    help="also prompts with only a PASS or only a FAIL answer")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def _dir(args: argparse.Namespace) -> Path:
    if args.dir:
        return Path(args.dir)
    from teragent.config.loader import load_full_config

    from teragent_traces.config import trace_dir_for

    return trace_dir_for(load_full_config(), os.getcwd())


def cmd_traces(args: argparse.Namespace) -> int:
    from teragent.errors import UserError

    from teragent_traces.tracer import TAPTracer

    directory = _dir(args)
    tracer = TAPTracer(trace_dir=directory)
    cmd = getattr(args, "traces_cmd", None) or "stats"
    if cmd != "export-dpo" and not tracer.path.is_file():
        raise UserError(f"no traces in {directory}: turn tracing on with [traces] in "
                        "agent.toml (or provider.set_tracer(TAPTracer(...))), or pass --dir.")
    if cmd == "list":
        rows = tracer.export_traces(args.task)[-args.limit:]
        if args.json:
            _print_json([_row(t) for t in rows])
        for t in ([] if args.json else rows):
            r = _row(t)
            print(f"{r['trace_id']}  task={r['task_id'] or '-':<8} "
                  f"{r['label'] or '-':<4}  prompt={r['prompt_hash'][:10]}  "
                  f"{r['model'] or '-'}  {r['preview']}")
        return 0
    if cmd == "show":
        trace = tracer.get_trace(args.trace_id)
        if trace is None:
            raise UserError(f"no single trace matches {args.trace_id!r}; 'teragent traces "
                            "list' shows the ids.")
        _print_json(trace)
        return 0
    if cmd == "stats":
        stats = tracer.get_trace_stats().to_dict()
        if args.json:
            _print_json(stats)
        else:
            for key, value in stats.items():
                print(f"{key:<18} {value}")
        return 0
    path = tracer.export_dpo_pairs_jsonl(args.out, format=args.format,
                                         strategy=args.strategy,
                                         include_partial=args.include_partial)
    count = sum(1 for _ in open(path, encoding="utf-8"))
    print(f"wrote {count} pair(s) to {path}"
          + (f"; refused {len(tracer.refused_pairs)} (answers to different prompts)"
             if tracer.refused_pairs else ""))
    return 0


def _row(t: dict[str, Any]) -> dict[str, Any]:
    resp = t.get("response") or {}
    text = (resp.get("text") or "").replace("\n", " ")
    calls = resp.get("tool_calls") or []
    preview = text[:60] if text else (", ".join(c["name"] for c in calls) + "()" if calls
                                       else "")
    return {"trace_id": t["trace_id"], "task_id": t["task_id"], "label": t["label"],
            "prompt_hash": t["prompt_hash"] or "", "preview": preview,
            "model": (t.get("request") or {}).get("model")}


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    print()
