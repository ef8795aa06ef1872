"""Permission rules: effects, levels, sources and glob matching on canonical paths.

A rule matches a call when its ``tool_pattern`` glob matches the tool name, its
``path_pattern`` matches the call's path (or one of the path's ancestors: a rule on a
directory covers everything below it), and, when it names ``safety`` levels, the
tool's :class:`~teragent.core.types.ToolSafety` is one of them.

Paths are compared in canonical form (:func:`teragent.security.paths.canonical_path`):
``..``, ``.``, ``//``, backslashes, trailing slashes and symlinks are resolved, on both
the path being checked and the literal part of the pattern, and on case-insensitive
platforms both sides are case-folded. A path that cannot be canonicalised (a refused
spelling) is denied before any rule is looked at.

Glob syntax in ``path_pattern``: ``*`` any run of characters within one component,
``?`` one character, ``[...]`` a class, ``**`` any number of components (``**/`` also
matches none; ``dir/**`` also matches ``dir`` itself). A pattern that starts with ``/`` is absolute; one that starts with
``**`` matches anywhere; any other is taken from the workspace root. ``""``, ``"*"``
and ``"**"`` match every call, with or without a path.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Iterable

from teragent.core.types import ToolSafety
from teragent.security.paths import canonical_path, is_case_insensitive_platform

__all__ = ["PermissionEffect", "PermissionLevel", "PermissionRule", "SOURCE_PRIORITY",
           "EFFECT_SEVERITY", "parse_rule_string", "path_matches", "canonical_pattern",
           "normalize_for_compare"]


class PermissionEffect(str, Enum):
    """What a rule (or a layer) says about a call."""

    ALLOW = "allow"
    DENY = "deny"
    #: Needs a human: allowed only if an ask handler (e.g. ApprovalGate) approves.
    ASK = "ask"


class PermissionLevel(str, Enum):
    """The session's permission mode (layer 5); semantics in the plugin README."""

    DEFAULT = "default"
    PLAN = "plan"
    BYPASS = "bypass"
    ACCEPT_EDITS = "accept_edits"
    AUTO = "auto"
    CUSTOM = "custom"

    @classmethod
    def parse(cls, value: Any) -> PermissionLevel:
        if isinstance(value, PermissionLevel):
            return value
        text = str(value).strip().lower().replace("-", "_")
        aliases = {"acceptedits": "accept_edits", "bypass_permissions": "bypass",
                   "bypasspermissions": "bypass", "dontask": "bypass", "normal": "default"}
        text = aliases.get(text.replace("_", ""), aliases.get(text, text))
        try:
            return cls(text)
        except ValueError:
            known = ", ".join(m.value for m in cls)
            raise ValueError(f"unknown permission level {value!r}; use one of: {known}") \
                from None


#: Layers 1-4: the source of a rule decides its priority.
SOURCE_PRIORITY: dict[str, int] = {"user": 100, "config": 60, "project": 50, "system": 10}
#: At equal priority the more restrictive effect wins, whatever the order of adding.
EFFECT_SEVERITY: dict[PermissionEffect, int] = {
    PermissionEffect.DENY: 2, PermissionEffect.ASK: 1, PermissionEffect.ALLOW: 0}

_ANY_PATH = ("", "*", "**")
_GLOB_CHARS = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class PermissionRule:
    """One rule.

    Args:
        effect: ALLOW, DENY or ASK.
        tool_pattern: Glob on the tool name (``"*"``, ``"read_file"``, ``"write_*"``).
        path_pattern: Glob on the canonical path (see the module docstring); ``""``
            matches every call.
        description: Shown in the reason of a decision.
        source: ``"user"`` (priority 100), ``"config"`` (60), ``"project"`` (50) or
            ``"system"`` (10).
        safety: Only tools of these safety levels match (empty: any tool).
    """

    effect: PermissionEffect = PermissionEffect.DENY
    tool_pattern: str = "*"
    path_pattern: str = ""
    description: str = ""
    source: str = "user"
    safety: tuple[ToolSafety, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "effect", PermissionEffect(
            getattr(self.effect, "value", self.effect)))
        if self.source not in SOURCE_PRIORITY:
            raise ValueError(f"unknown rule source {self.source!r}; use one of: "
                             f"{', '.join(SOURCE_PRIORITY)}")
        if not self.tool_pattern:
            raise ValueError("tool_pattern must not be empty; use '*' for every tool")
        safety = self.safety
        if isinstance(safety, (str, ToolSafety)):
            safety = (safety,)
        object.__setattr__(self, "safety", tuple(ToolSafety(s) for s in safety))

    @property
    def priority(self) -> int:
        return SOURCE_PRIORITY[self.source]

    @property
    def any_path(self) -> bool:
        return self.path_pattern.strip() in _ANY_PATH

    def label(self) -> str:
        return self.description or f"{self.effect.value} {self.tool_pattern}:" \
            f"{self.path_pattern or '*'} ({self.source})"

    def sort_key(self) -> tuple[Any, ...]:
        """Total order used for resolution: priority, then severity, then text."""
        return (-self.priority, -EFFECT_SEVERITY[self.effect], self.tool_pattern,
                self.path_pattern, self.description, tuple(s.value for s in self.safety))

    def as_dict(self) -> dict[str, Any]:
        return {"effect": self.effect.value, "tool_pattern": self.tool_pattern,
                "path_pattern": self.path_pattern, "description": self.description,
                "source": self.source, "priority": self.priority,
                "safety": [s.value for s in self.safety]}


def parse_rule_string(text: str, effect: PermissionEffect | str, *,
                      source: str = "config") -> PermissionRule:
    """``"read_file:/etc/*"`` → a rule; the tool part ends at the first ``:``."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"a rule must be a non-empty 'tool:path' string, got {text!r}")
    tool, sep, path = text.strip().partition(":")
    return PermissionRule(effect=PermissionEffect(getattr(effect, "value", effect)),
                          tool_pattern=tool.strip() or "*",
                          path_pattern=path.strip() if sep else "",
                          description=f"{getattr(effect, 'value', effect)} {text.strip()} "
                                      f"({source})",
                          source=source)


def normalize_for_compare(path: str, folded: bool | None = None) -> str:
    if folded is None:
        folded = is_case_insensitive_platform()
    return unicodedata.normalize("NFC", path).casefold() if folded else path


def _split_literal(pattern: str) -> tuple[str, str]:
    """``/ws/src/*.py`` → (``/ws/src``, ``*.py``): the glob-free leading components."""
    parts = pattern.split("/")
    literal: list[str] = []
    for i, part in enumerate(parts):
        if _GLOB_CHARS.search(part):
            return "/".join(literal), "/".join(parts[i:])
        literal.append(part)
    return "/".join(literal), ""


def canonical_pattern(pattern: str, root: str) -> str:
    """The pattern with its literal prefix canonicalised (symlinks, ``..``, case)."""
    pattern = pattern.strip().replace("\\", "/")
    if pattern.startswith("**"):
        return pattern
    if pattern.startswith("~"):  # rules are written by people: ~ means home here
        pattern = os.path.expanduser(pattern).replace("\\", "/")
    literal, rest = _split_literal(pattern)
    if literal in ("", "/") and pattern.startswith("/"):
        base = "/"
    else:
        base = canonical_path(literal or ".", root)
    if not rest:
        return base
    return base.rstrip("/") + "/" + rest


@functools.lru_cache(maxsize=2048)
def _compile(pattern: str) -> re.Pattern[str]:
    # "dir/**" covers the directory itself too (listing it reveals its contents).
    tail = ""
    if pattern.endswith("/**") and len(pattern) > 3:
        pattern, tail = pattern[:-3], "(?:/.*)?"
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if i < n and pattern[i] == "/":
                    out.append("(?:.*/)?")
                    i += 1
                else:
                    out.append(".*")
                continue
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = pattern.find("]", i + 2)
            if j == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1:j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out) + tail + r"\Z", re.DOTALL)


def _ancestors(path: str) -> Iterable[str]:
    yield path
    while True:
        parent = path.rsplit("/", 1)[0] or "/"
        if parent == path:
            return
        yield parent
        path = parent


def path_matches(canonical: str, pattern: str, folded: bool | None = None) -> bool:
    """Whether the canonical path (or an ancestor of it) matches the canonical pattern."""
    if pattern in _ANY_PATH:
        return True
    if not canonical:
        return False
    rx = _compile(normalize_for_compare(pattern.rstrip("/") or "/", folded))
    target = normalize_for_compare(canonical, folded)
    return any(rx.match(p) for p in _ancestors(target))
