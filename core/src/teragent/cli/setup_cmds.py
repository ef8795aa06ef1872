"""The first-hour commands: ``models``, ``keys``, ``init``, ``install``/``uninstall``.

``teragent models`` lists what the installed plugins offer for ``-m PROVIDER:MODEL``
and whether each key variable is set (never its value). ``teragent keys`` stores keys
in ``keys.json`` (mode 0600) in the user config directory, read after the environment
and ``.env`` files (:mod:`teragent.config.secrets`). ``teragent init`` writes a commented
``agent.toml``; ``install``/``uninstall`` run pip for the interpreter running TerAgent,
so a plugin lands where ``teragent`` finds it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from teragent.errors import UserError

# --- models -------------------------------------------------------------------------


def args_models(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def cmd_models(args: argparse.Namespace) -> int:
    from teragent.model_refs import key_variable_status, model_families

    rows = []
    for family in model_families().values():
        var, is_set = key_variable_status(family)
        names = sorted(family.models) or ["…"]
        for model in names:
            rows.append({"provider": family.provider, "model": model,
                         "ref": f"{family.provider}:{model}", "plugin": family.plugin,
                         "key_env": var, "key_set": is_set if var else None})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    if not rows:
        print("No model providers installed. Install one, e.g.: teragent install "
              "teragent-openai")
        return 0
    table = Table(title="Models (teragent run -m PROVIDER:MODEL)")
    for col in ("model", "plugin", "key"):
        table.add_column(col)
    for r in rows:
        key = "no key needed" if not r["key_env"] else \
            f"{r['key_env']} ({'set' if r['key_set'] else 'not set'})"
        table.add_row(str(r["ref"]), str(r["plugin"]), key)
    console = Console()
    console.print(table)
    missing = sorted({str(r["key_env"]) for r in rows if r["key_env"] and not r["key_set"]})
    if missing:
        console.print(f"[dim]Set a key with: teragent keys set {missing[0]} "
                      "(or export it). Other model names work too: "
                      "PROVIDER:ANY-MODEL.[/dim]")
    return 0


# --- keys ---------------------------------------------------------------------------


def args_keys(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="keys_command", metavar="ACTION")
    s = sub.add_parser("set", help="store a key (read from the terminal or stdin)")
    s.add_argument("name", help="the environment variable it stands for, e.g. OPENAI_API_KEY")
    sub.add_parser("list", help="the names of the stored keys (never the values)")
    r = sub.add_parser("remove", help="forget a stored key")
    r.add_argument("name")
    sub.add_parser("path", help="where keys are stored")


def _read_secret(name: str) -> str:
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(f"Enter the value of {name} (not echoed): ")
    return sys.stdin.read()


def cmd_keys(args: argparse.Namespace) -> int:
    import os

    from teragent.config.secrets import keys_path, read_keys, remove_key, store_key

    action = getattr(args, "keys_command", None) or "list"
    if action == "path":
        print(keys_path())
        return 0
    if action == "list":
        keys = read_keys()
        if not keys:
            print(f"No keys stored ({keys_path()}). Add one with: "
                  "teragent keys set OPENAI_API_KEY")
        for name in sorted(keys):
            note = "  (the environment's value wins)" if os.environ.get(name) else ""
            print(f"{name}{note}")
        return 0
    name = args.name
    if action == "remove":
        if not remove_key(name):
            raise UserError(f"no key {name} is stored; `teragent keys list` shows the "
                            "stored ones.")
        print(f"Removed {name}.", file=sys.stderr)
        return 0
    value = _read_secret(name).strip()
    if not value:
        raise UserError(f"no value given for {name}; type it at the prompt or pipe it: "
                        f"printf %s \"$KEY\" | teragent keys set {name}")
    path = store_key(name, value)
    print(f"Stored {name} in {path}.", file=sys.stderr)
    return 0


# --- init ---------------------------------------------------------------------------

AGENT_TOML = '''\
# agent.toml: TerAgent's configuration for this directory (written by teragent init).
# Nothing here is required: with no driver, `teragent run -m PROVIDER:MODEL` picks one
# (`teragent models` lists them), else the local model runs.

[agent]
# Model calls with tool use per run.
max_steps = 12
# Let tools write files / run shell commands without asking (same as --allow-writes,
# --allow-shell). Off: you are asked on a terminal, and refused in scripts unless --yes.
# allow_writes = true
# allow_shell = true
# The driver to use when several are defined below ("adapter.identity").
# driver = "openai_compatible.main"

# A model driver. The key is never written here: api_key_env names the variable
# (set it with `teragent keys set OPENAI_API_KEY`, export it, or put it in .env).
# [drivers.openai_compatible.main]
# model = "gpt-4o-mini"
# base_url = "https://api.openai.com/v1"
# api_key_env = "OPENAI_API_KEY"

# Permission rules (teragent-permissions): "tool:path" globs; ask rules prompt on a
# terminal and are refused in scripts unless --yes.
# [permission]
# rules = { allow = ["read_file:*"], ask = ["bash:*"], deny = ["*:secrets/**"] }

# Paths no tool may touch, besides the defaults (.env, .git/hooks, .teragent).
# [workspace]
# protected = ["deploy/**"]
'''


def args_init(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", nargs="?", default="agent.toml",
                   help="where to write it (default: ./agent.toml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")


def cmd_init(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if path.is_dir():
        path = path / "agent.toml"
    if path.exists() and not args.force:
        raise UserError(f"{path} exists; keep it, or overwrite it with "
                        f"teragent init --force")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(AGENT_TOML, encoding="utf-8")
    print(f"Wrote {path}. Next: teragent models, then teragent run -m PROVIDER:MODEL "
          "\"your task\".", file=sys.stderr)
    return 0


# --- install / uninstall ------------------------------------------------------------


def args_install(p: argparse.ArgumentParser) -> None:
    p.add_argument("packages", nargs="+", metavar="PKG", help="e.g. teragent-openai")
    p.add_argument("-U", "--upgrade", action="store_true", help="upgrade if installed")
    p.add_argument("-e", "--editable", action="store_true",
                   help="install a local project in editable mode")


def args_uninstall(p: argparse.ArgumentParser) -> None:
    p.add_argument("packages", nargs="+", metavar="PKG")
    p.add_argument("-y", "--yes", action="store_true", help="do not ask for confirmation")


def _pip(*argv: str) -> int:
    cmd = [sys.executable, "-m", "pip", *argv]
    try:
        return subprocess.call(cmd)
    except OSError as exc:
        raise UserError(f"could not run pip ({' '.join(cmd)}): {exc}") from None


def cmd_install(args: argparse.Namespace) -> int:
    argv = ["install"]
    if args.upgrade:
        argv.append("--upgrade")
    for pkg in args.packages:
        argv.extend(["-e", pkg] if args.editable else [pkg])
    return _pip(*argv)


def cmd_uninstall(args: argparse.Namespace) -> int:
    return _pip("uninstall", *(["-y"] if args.yes else []), *args.packages)
