"""``teragent sessions list|show|export|delete``.

The store is the one the agent would use (``[session]`` of ``agent.toml`` through
``teragent_build_session_store``), so another backend's sessions list the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

from teragent.errors import UserError

__all__ = ["args_sessions", "cmd_sessions", "open_store"]


def args_sessions(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workspace", default=None,
                   help="the agent's directory (default: the current one)")
    sub = p.add_subparsers(dest="sessions_command", metavar="ACTION")
    ls = sub.add_parser("list", help="sessions, most recent first")
    ls.add_argument("--limit", type=int, default=None, help="show at most N")
    ls.add_argument("--json", action="store_true", help="print JSON")
    show = sub.add_parser("show", help="a session's messages")
    show.add_argument("session", help="the session id")
    show.add_argument("--last", type=int, default=None, help="only the last N messages")
    show.add_argument("--json", action="store_true", help="print the messages as JSON")
    exp = sub.add_parser("export", help="a session's transcript (JSONL by default)")
    exp.add_argument("session", help="the session id")
    exp.add_argument("--format", dest="fmt", default="jsonl",
                     choices=("jsonl", "json", "markdown"), help="output format")
    exp.add_argument("-o", "--output", default=None, help="write to FILE (default: stdout)")
    rm = sub.add_parser("delete", help="delete a session and its transcript")
    rm.add_argument("session", nargs="+", help="session id(s)")


def open_store(workspace: str | None) -> Any:
    """The configured session store of ``workspace``."""
    from teragent.config.loader import load_full_config
    from teragent.plugins import get_host

    ws = os.path.realpath(workspace or os.getcwd())
    store = get_host().hook.teragent_build_session_store(config=load_full_config(),
                                                         workspace=ws)
    if store is None:
        raise UserError("no plugin provides the session store named by [session] backend "
                        "in agent.toml; install it, or remove backend to use SQLite.")
    return store


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)) if ts else ""


def cmd_sessions(args: argparse.Namespace) -> int:
    action = getattr(args, "sessions_command", None)
    if action is None:
        raise UserError("say what to do: teragent sessions list|show ID|export ID|delete ID.")
    store = open_store(args.workspace)
    if action == "list":
        return _list(store, args)
    if action == "show":
        return _show(store, args)
    if action == "export":
        return _export(store, args)
    return _delete(store, args)


def _list(store: Any, args: argparse.Namespace) -> int:
    sessions = store.list_sessions(limit=args.limit)
    if args.json:
        print(json.dumps([s.as_dict() for s in sessions], ensure_ascii=False, indent=2))
        return 0
    if not sessions:
        print("no sessions yet (teragent run --session NAME \"task\" starts one)",
              file=sys.stderr)
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Sessions")
    for col in ("id", "title", "intent", "messages", "steps", "updated"):
        table.add_column(col)
    for s in sessions:
        table.add_row(s.id, s.title, s.intent, str(s.message_count), str(s.step_count),
                      _when(s.updated_at))
    Console().print(table)
    return 0


def _show(store: Any, args: argparse.Namespace) -> int:
    from teragent_sessions.transcript import _scrub

    info = store.get_session(args.session)
    messages = [_scrub(m) for m in store.restore(args.session, limit=args.last)]
    if args.json:
        print(json.dumps(messages, ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"# {info.title or info.id}  ({info.id}, {info.message_count} messages, "
          f"{info.step_count} steps, updated {_when(info.updated_at)})")
    for m in messages:
        role = m.get("role", "?")
        if role == "tool":
            role = f"tool {m.get('name', '')}".rstrip()
        content = m.get("content") or ""
        if not isinstance(content, str):
            content = json.dumps(content, ensure_ascii=False, default=str)
        print(f"\n[{role}] {content}")
        for call in m.get("tool_calls") or []:
            fn = call.get("function", call) if isinstance(call, dict) else {}
            print(f"  -> {fn.get('name', '?')}({fn.get('arguments', '')})")
    return 0


def _export(store: Any, args: argparse.Namespace) -> int:
    from teragent_sessions.transcript import export

    store.get_session(args.session)  # unknown id: a clean error before any output
    if args.output:
        with open(args.output, "w", encoding="utf-8") as out:
            n = export(store, args.session, out, fmt=args.fmt)
        print(f"exported {n} entries of {args.session} to {args.output}", file=sys.stderr)
    else:
        export(store, args.session, sys.stdout, fmt=args.fmt)
    return 0


def _delete(store: Any, args: argparse.Namespace) -> int:
    missing = [s for s in args.session if not store.delete(s)]
    for s in args.session:
        if s not in missing:
            print(f"deleted {s}", file=sys.stderr)
    if missing:
        raise UserError(f"no session {', '.join(map(repr, missing))}; `teragent sessions "
                        "list` shows the ones there are.")
    return 0
