"""Public API: :func:`check_command_safety` and the hook-facing :func:`check_command`.

The six layers, in order:

1. :mod:`~teragent_shellguard.normalize` -- strip ANSI/control/zero-width characters,
   NFKC and homoglyphs, collapse blanks;
2. :mod:`~teragent_shellguard.parser` -- tokenize and split lists, pipelines, subshells
   and substitutions (quote/backslash tricks undone here);
3. :mod:`~teragent_shellguard.handlers` via :mod:`~teragent_shellguard.engine` -- the
   category blacklist on resolved command words, wrappers peeled;
4. redirect targets per command (in the engine, with :mod:`~teragent_shellguard.paths`);
5. :mod:`~teragent_shellguard.chains` -- patterns across pipelines and lists;
6. :mod:`~teragent_shellguard.install` -- package installs allowed with a warning.

Windows patterns (:mod:`~teragent_shellguard.windows`) are added on Windows, or when the
platform is left to auto-detection and the command is recognisably cmd/PowerShell.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from teragent_shellguard import windows as _windows
from teragent_shellguard.engine import BLOCK, WARN, Ctx, analyze_script
from teragent_shellguard.normalize import normalize
from teragent_shellguard.parser import ParseError, parse

__all__ = ["CommandVerdict", "check_command_safety", "check_command", "MAX_COMMAND_LENGTH"]

MAX_COMMAND_LENGTH = 256 * 1024
_LEVELS = {BLOCK: "block", WARN: "warn"}
# ``f(){ f|f& };f`` with any function name: a function that pipes into itself.
_FORK_BOMB = re.compile(r"([\w:.-]+)\s*\(\s*\)\s*\{[^}]*?\1\s*\|\s*&?\s*\1(?![\w.-])")


_ENDLESS = re.compile(r"\b(?:while\s+(?:true|:|1|\[\s*1\s*\])|until\s+false)\s*;?\s*do\b(.*?)\bdone\b", re.S)


_DOWNLOAD_LOOP = re.compile(r"\b(?:curl|wget|fetch|nc|ncat|socat|iwr|irm)\b[^|;&]*\|\s*while\s+read\b[^;]*;\s*do\b"
                            r"(?:(?!\bdone\b).)*\b(?:eval|source|(?:ba|z|da)?sh\s+-c)\b", re.S)


class CommandVerdict:
    """The result of a check. Unpacks as ``allowed, reason = verdict``.

    Attributes:
        allowed: ``False`` when the command must not run.
        reason: Why it was blocked (or the first warning, or ``"allowed"``).
        warnings: Human-readable warnings; non-empty for allowed-but-risky commands.
        category: The deciding category (e.g. ``"destructive_delete"``), or ``None``.
        level: ``"allow"``, ``"warn"`` or ``"block"``.
        findings: Every ``(level, category, reason)`` found, for logs and debugging.
    """

    __slots__ = ("allowed", "reason", "warnings", "category", "level", "findings")

    def __init__(self, allowed: bool, reason: str, warnings: list[str], category: str | None, level: str,
                 findings: list[tuple[str, str, str]] | None = None) -> None:
        self.allowed = allowed
        self.reason = reason
        self.warnings = warnings
        self.category = category
        self.level = level
        self.findings = findings or []

    def __iter__(self) -> Iterator[Any]:
        yield self.allowed
        yield self.reason

    def __getitem__(self, index: int) -> Any:
        return (self.allowed, self.reason)[index]

    def __len__(self) -> int:
        return 2

    def __bool__(self) -> bool:
        return self.allowed

    def __repr__(self) -> str:
        return f"CommandVerdict(level={self.level!r}, category={self.category!r}, reason={self.reason!r})"


def _verdict(ctx: Ctx) -> CommandVerdict:
    findings = ctx.findings
    warnings: list[str] = []
    for level, cat, reason in findings:
        if level == WARN and reason not in warnings:
            warnings.append(reason)
    for level, cat, reason in findings:
        if level == BLOCK:
            return CommandVerdict(False, f"Blocked ({cat}): {reason}", warnings, cat, "block",
                                  [(_LEVELS[f[0]], f[1], f[2]) for f in findings])
    if warnings:
        cat = next(c for lv, c, _ in findings if lv == WARN)
        return CommandVerdict(True, f"Allowed with warning ({cat}): {warnings[0]}", warnings, cat, "warn",
                              [(_LEVELS[f[0]], f[1], f[2]) for f in findings])
    return CommandVerdict(True, "allowed", [], None, "allow")


def check_command_safety(cmd: str, platform: str | None = None, *, workspace: str | None = None,
                         protected: Sequence[str] = ()) -> CommandVerdict:
    """Decide whether a shell command may run.

    Args:
        cmd: The command line, as the model wrote it.
        platform: ``"posix"`` or ``"windows"``. ``None`` (default) uses the running
            platform and, on POSIX hosts, still applies the Windows rules to commands that
            are unmistakably cmd/PowerShell (an agent may drive a remote Windows shell).
        workspace: The directory the command runs in, so absolute paths inside it are
            matched against ``protected`` as workspace-relative paths.
        protected: Paths and globs (``.teragent/``, ``.git/hooks/``, ``.env*``, a DENY
            rule's path) that no command may read, write, delete or send.

    Returns:
        A :class:`CommandVerdict`; ``allowed, reason = verdict`` also works.
    """
    if not isinstance(cmd, str):
        raise TypeError(f"command must be a str, not {type(cmd).__name__}")
    if platform is None:
        platform = "windows" if sys.platform.startswith("win") else "auto"
    elif platform not in ("posix", "windows"):
        raise ValueError(f"unknown platform {platform!r}; use 'posix' or 'windows'")
    if len(cmd) > MAX_COMMAND_LENGTH:
        return CommandVerdict(False, f"Blocked (obfuscation): command longer than {MAX_COMMAND_LENGTH} characters",
                              [], "obfuscation", "block")
    text = normalize(cmd)
    ctx = Ctx(protected=tuple(protected), workspace=workspace)
    if text != cmd.strip() and any(ord(c) < 32 and c not in "\n\t\r" or c in "\u200b\u200c\u200d\u2060\ufeff\u202e"
                                   for c in cmd):
        ctx.warn("obfuscation", "the command contained control or invisible characters (removed before checking)")
    if "(" in text and _FORK_BOMB.search(text):
        ctx.block("resource_exhaustion", "defines a function that recursively pipes into itself (fork bomb)")
    if "read" in text and _DOWNLOAD_LOOP.search(text):
        ctx.block("download_exec", "runs each line of downloaded content ('| while read ...; do eval')")
    if "while" in text or "until" in text:
        for m in _ENDLESS.finditer(text):
            body = m.group(1)
            if re.search(r"&\s*(?:;|$)", body):
                ctx.block("resource_exhaustion", f"endless loop starts a background process each time: '{m.group(0)[:50]}'")
            elif not re.search(r"\b(?:sleep|read|break|exit|wait|return)\b", body):
                ctx.warn("resource_exhaustion", f"endless loop with no pause or exit: '{m.group(0)[:50]}'")
    try:
        analyze_script(parse(text), ctx)
    except ParseError as exc:
        ctx.block("obfuscation", str(exc))
    except RecursionError:
        ctx.block("obfuscation", "command nests too deeply to be checked")
    if platform == "windows" or (platform == "auto" and _windows.looks_windows(text)):
        ctx.windows = True
        _windows.analyze(text, ctx)
    return _verdict(ctx)


def check_command(cmd: str, *, workspace: str | None = None,
                  protected: Sequence[str] = ()) -> tuple[bool, str, list[str]]:
    """Hook-facing check for ``teragent_register_command_checks``.

    Args:
        cmd: The command line.
        workspace: Optional working directory (see :func:`check_command_safety`).
        protected: Optional protected paths; touching one is refused.

    Returns:
        ``(allowed, reason, warnings)``.
    """
    v = check_command_safety(cmd, workspace=workspace, protected=protected)
    return v.allowed, v.reason, list(v.warnings)
