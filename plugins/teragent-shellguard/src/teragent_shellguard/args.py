"""Argument splitting shared by the handlers, and the handler registry type."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx
    from teragent_shellguard.parser import Command

__all__ = ["Handler", "Registry", "split_args"]

Handler = Callable[[list[str], "Ctx", "Command | None"], None]


class Registry:
    """``reg("rm unlink", fn)`` registers ``fn`` under each name."""

    def __init__(self, table: dict[str, Handler]) -> None:
        self.table = table

    def __call__(self, names: str, fn: Any) -> None:
        for n in names.split():
            self.table[n] = fn


def split_args(args: list[str], takes: frozenset[str] = frozenset()) -> tuple[set[str], dict[str, str], list[str]]:
    """Split argv into (flags, option values, positionals); ``-rf`` gives ``-r`` and ``-f``."""
    flags: set[str] = set()
    vals: dict[str, str] = {}
    pos: list[str] = []
    i, n = 0, len(args)
    while i < n:
        a = args[i]
        if a == "--":
            pos.extend(args[i + 1:])
            break
        if a.startswith("--"):
            k, eq, v = a.partition("=")
            flags.add(k)
            if eq:
                vals[k] = v
            elif k in takes and i + 1 < n:
                vals[k] = args[i + 1]
                i += 1
        elif a.startswith("-") and len(a) > 1:
            flags.add(a)
            if a in takes and i + 1 < n:
                vals[a] = args[i + 1]
                i += 1
            elif a[:2] in takes and len(a) > 2:
                vals[a[:2]] = a[2:]
            elif "-" + a[-1] in takes and i + 1 < n and not a[1:].isdigit():
                flags.update("-" + c for c in a[1:-1])
                vals["-" + a[-1]] = args[i + 1]
                i += 1
            else:
                flags.update("-" + c for c in a[1:])
        else:
            pos.append(a)
        i += 1
    return flags, vals, pos

