"""Protected paths: what no tool, and no shell command, may touch inside a workspace.

One home for the list. The workspace path guard (:mod:`teragent.security.paths`) decides
whether a path is *inside* the workspace; this module decides which paths inside it are
off limits, and for which operations:

- ``.env``, ``.env.*`` and ``.envrc`` hold secrets: no reading, listing, searching or
  writing (``.env.example``-style templates excepted);
- ``.teragent/`` holds the agent's own state, among it the audit log: no writes or
  deletes (a model must not be able to erase the trail of what it did);
- ``.git/hooks/`` and ``.git/config`` run code on the next git command (hooks,
  ``core.hooksPath``, ``core.fsmonitor``): no writes or deletes.

``[workspace] protected`` in ``agent.toml`` adds patterns (all operations refused), and a
permission manager adds its DENY rules through :attr:`PathPolicy.deciders`, so the
search tools hide what the rules deny instead of only refusing the root they were given.

Patterns follow ``.gitignore`` habits: one without a ``/`` matches a file or directory
of that name anywhere below the root (``.env``); one with a ``/`` is anchored at the
root (``.git/hooks/**``), or absolute when it starts with ``/``; ``dir/**`` covers the
directory itself too. A path is checked in both spellings a tool might use (backslash as
a separator, and as a literal character), and with its symlinks resolved.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

__all__ = ["PathRule", "PathPolicy", "DEFAULT_PROTECTED", "ALL_OPS", "WRITE_OPS"]

ALL_OPS = frozenset({"read", "write", "delete"})
WRITE_OPS = frozenset({"write", "delete"})

#: ``decider(tool_name, absolute_path, op) -> reason or None``.
Decider = Callable[[str, str, str], "str | None"]


@dataclass(frozen=True)
class PathRule:
    """Refuse ``ops`` on paths matching ``pattern`` (except those matching ``unless``)."""

    pattern: str
    ops: frozenset[str] = ALL_OPS
    reason: str = "it is a protected path"
    unless: tuple[str, ...] = ()


_TEMPLATES = (".env.example", ".env.sample", ".env.template", ".env.dist", ".env.defaults")
_SECRETS = "it holds secrets (environment files are never shown to or written by the agent)"
_AGENT = "it is the agent's own state (the audit log and run data); tools may not change it"
_HOOKS = "git runs it as code on the next git command"

DEFAULT_PROTECTED: tuple[PathRule, ...] = (
    PathRule(".env", ALL_OPS, _SECRETS),
    PathRule(".env.*", ALL_OPS, _SECRETS, unless=_TEMPLATES),
    PathRule(".envrc", ALL_OPS, _SECRETS),
    PathRule(".teragent/**", WRITE_OPS, _AGENT),
    PathRule(".git/hooks/**", WRITE_OPS, _HOOKS),
    PathRule(".git/config", WRITE_OPS, _HOOKS),
)


def _match(pattern: str, rel: str, absolute: str) -> bool:
    if pattern.startswith("/"):
        target = absolute
    elif "/" not in pattern.rstrip("/"):
        # Unanchored: any component (and everything below it).
        parts = rel.split("/")
        return any(fnmatch.fnmatchcase(p, pattern) for p in parts)
    else:
        target = rel
    if fnmatch.fnmatchcase(target, pattern):
        return True
    if pattern.endswith("/**"):
        base = pattern[:-3]
        return fnmatch.fnmatchcase(target, base) or fnmatch.fnmatchcase(target, base + "/*")
    return False


class PathPolicy:
    """Which paths tools may not touch, by operation.

    Args:
        root: The workspace root.
        rules: The protected paths (default :data:`DEFAULT_PROTECTED`).
        deciders: Further ``decider(tool_name, absolute_path, op)`` callables, e.g. a
            permission manager's DENY rules; the first reason wins.
    """

    def __init__(self, root: str | os.PathLike[str], rules: Iterable[PathRule] = DEFAULT_PROTECTED,
                 *, deciders: Sequence[Decider] = ()) -> None:
        self.root = os.path.realpath(os.fspath(root))
        self.rules = tuple(rules)
        self.deciders = tuple(deciders)

    def extended(self, rules: Iterable[PathRule] = (), deciders: Sequence[Decider] = ()) -> "PathPolicy":
        """This policy plus more rules (a nested run may add, never remove)."""
        return PathPolicy(self.root, (*self.rules, *rules),
                          deciders=(*self.deciders, *deciders))

    def spellings(self, path: str) -> list[str]:
        """The absolute paths ``path`` may denote: backslash as a separator and as a
        character, lexically and with symlinks resolved."""
        out: list[str] = []
        for raw in {path, path.replace("\\", "/")}:
            lexical = os.path.normpath(os.path.join(self.root, raw))
            for candidate in (lexical, os.path.realpath(lexical)):
                if candidate not in out:
                    out.append(candidate)
        return out

    def _relative(self, absolute: str) -> str | None:
        if absolute == self.root:
            return ""
        prefix = self.root.rstrip("/") + "/"
        return absolute[len(prefix):] if absolute.startswith(prefix) else None

    def denied(self, path: str | os.PathLike[str], op: str = "read", tool: str = "") -> str | None:
        """Why ``op`` on ``path`` is refused, or ``None`` when it is not. ``op`` may be
        ``unknown`` (refused if any operation is)."""
        text = os.fspath(path)
        if not text:
            return None
        if "\x00" in text:  # no file has such a name; os.path.realpath raises on it
            return f"{text!r} contains a NUL byte, which no path can hold"
        for absolute in self.spellings(text):
            rel = self._relative(absolute)
            for rule in self.rules:
                if op != "unknown" and op not in rule.ops:
                    continue
                probe = rel if rel is not None else absolute.lstrip("/")
                if rel is None and not rule.pattern.startswith("/"):
                    continue  # workspace patterns do not reach outside it
                if _match(rule.pattern, probe, absolute) and not any(
                        _match(u, probe, absolute) for u in rule.unless):
                    shown = rel if rel else absolute
                    return f"{shown!s} is protected: {rule.reason}"
            for decide in self.deciders:
                reason = decide(tool, absolute, op)
                if reason:
                    return reason
        return None

    def visible(self, path: str | os.PathLike[str], tool: str = "") -> bool:
        """Whether a search or listing may show (and open) ``path``."""
        return self.denied(path, "read", tool) is None

    def protected_globs(self) -> list[tuple[str, frozenset[str]]]:
        """Absolute glob patterns with the operations they refuse, for sandbox backends
        that can hide or mount paths read-only."""
        out = []
        for rule in self.rules:
            pat = rule.pattern
            if pat.startswith("/"):
                out.append((pat, rule.ops))
            elif "/" not in pat.rstrip("/"):
                out.append((os.path.join(self.root, "**", pat), rule.ops))
            else:
                out.append((os.path.join(self.root, pat), rule.ops))
        return out
