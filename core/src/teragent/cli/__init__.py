"""The ``teragent`` command line.

Sub-commands come from ``teragent_register_commands`` hooks (the kernel's own
``plugins``, ``version``, ``run`` and ``chat`` register the same way). A
:class:`~teragent.errors.TerAgentError` becomes one clean line on stderr and a non-zero
exit; the traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any, Sequence

__all__ = ["main", "build_parser"]


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Any]]:
    from teragent.plugins import get_host
    from teragent.registry import import_string

    parser = argparse.ArgumentParser(
        prog="teragent", description="TerAgent: production LLM agents.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("--version", "-V", action="store_true",
                        help="show the versions of TerAgent and its plugins")
    parser.add_argument("--config", metavar="FILE", help="use this agent.toml only")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    handlers: dict[str, Any] = {}
    registry = get_host().registry("commands")
    for name in registry.names():
        entry = registry.entry(name)
        p = sub.add_parser(name, help=entry.options.get("help", ""),
                           description=entry.options.get("help", ""))
        add_args = entry.options.get("add_arguments")
        if isinstance(add_args, str):
            add_args = import_string(add_args)
        if add_args is not None:
            add_args(p)
        handlers[name] = entry
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    from teragent.errors import TerAgentError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["--version"], ["-V"]):
        argv = ["version", *argv[1:]]  # `teragent --version` as every CLI has it
    debug = "--debug" in argv
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        parser, handlers = build_parser()
        args = parser.parse_args(argv)
        if not args.command:
            parser.print_help()
            return 0
        handler = handlers[args.command].resolve()
        if not args.config:
            return int(handler(args) or 0)
        import os

        # --config for this command only: restored after, so a caller that runs main()
        # in-process (tests, embedding) does not keep reading that file.
        previous = os.environ.get("TERAGENT_CONFIG")
        os.environ["TERAGENT_CONFIG"] = args.config
        try:
            return int(handler(args) or 0)
        finally:
            if previous is None:
                os.environ.pop("TERAGENT_CONFIG", None)
            else:
                os.environ["TERAGENT_CONFIG"] = previous
    except TerAgentError as exc:
        if debug:
            raise
        print(f"teragent: error: {exc}", file=sys.stderr)
        return 2 if _is_user_error(exc) else 1
    except KeyboardInterrupt:
        print("\nteragent: cancelled", file=sys.stderr)
        return 130


def _is_user_error(exc: BaseException) -> bool:
    from teragent.errors import UserError

    return isinstance(exc, UserError)
