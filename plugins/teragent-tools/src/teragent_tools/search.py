"""Search tools: ``glob`` (find files by name) and ``grep`` (find lines by regex).

Both stay inside the workspace: they start from a confined directory, do not descend
into symlinked directories, and drop any result whose canonical path leaves the
workspace. Results are capped so one call cannot flood the context.
"""

from __future__ import annotations

import fnmatch
import os
import re
from pathlib import Path
from typing import Any, ClassVar, Iterator

from teragent.core.types import ToolSafety
from teragent.errors import PermissionDenied
from teragent.tools.base import ProgressCallback, ToolResult

from teragent_tools._common import (
    SNIFF_BYTES, ToolFailure, WorkspaceTool, in_thread, looks_binary,
)

__all__ = ["GlobTool", "GrepTool"]

#: Version-control directories never searched.
SKIP_DIRS = frozenset({".git", ".hg", ".svn"})
_BRACES = re.compile(r"\{([^{}]*)\}")


def expand_braces(pattern: str) -> list[str]:
    """``*.{py,md}`` → ``["*.py", "*.md"]`` (nested and repeated groups too)."""
    match = _BRACES.search(pattern)
    if not match:
        return [pattern]
    head, tail = pattern[:match.start()], pattern[match.end():]
    out: list[str] = []
    for choice in match.group(1).split(","):
        out.extend(expand_braces(head + choice + tail))
    return out


def _check_relative_pattern(pattern: str) -> str:
    pattern = pattern.replace("\\", "/")
    if not pattern.strip():
        raise ToolFailure("pattern is empty. Give a glob such as '**/*.py'.")
    if pattern.startswith("/") or re.match(r"^[A-Za-z]:", pattern):
        raise ToolFailure(f"pattern {pattern!r} is absolute. Give it relative to the search "
                          "directory (set 'path' to choose the directory).")
    if ".." in pattern.split("/"):
        raise ToolFailure(f"pattern {pattern!r} contains '..'. Patterns cannot leave the "
                          "search directory; set 'path' instead.")
    return pattern


class GlobTool(WorkspaceTool):
    """Find files and directories whose paths match a glob pattern."""

    name: ClassVar[str] = "glob"
    description: ClassVar[str] = (
        "Find files in the workspace by glob pattern, e.g. '**/*.py' or 'src/*.{js,ts}'. "
        "'**' matches any number of directories. Returns paths relative to the workspace "
        "root, sorted; directories end with '/'.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Glob pattern, relative to path."},
            "path": {"type": "string",
                     "description": "Directory to search from (default: the workspace root)."},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }
    category = "search"
    keywords: ClassVar[tuple[str, ...]] = ("find", "glob", "files", "search", "locate")
    path_params: ClassVar[dict[str, str]] = {"path": "read"}
    data_params: ClassVar[tuple[str, ...]] = ("pattern",)
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY
    _concurrency_safe: ClassVar[bool] = True

    def __init__(self, workspace: str | Path | None = None, *,
                 max_results: int = 500) -> None:
        super().__init__(workspace)
        self.max_results = max_results

    async def run(self, params: dict[str, Any],
                  progress_callback: ProgressCallback | None) -> ToolResult:
        pattern = _check_relative_pattern(params["pattern"])
        base = self.resolve(params.get("path", "."), "read")
        return await in_thread(self._glob, base, pattern)

    def _glob(self, base: Path, pattern: str) -> ToolResult:
        if not base.is_dir():
            raise ToolFailure(f"{self.display(base)!r} is not a directory. Set 'path' to a "
                              "directory in the workspace.")
        wants_vcs = any(part in SKIP_DIRS for part in re.split(r"[/*?\[\]]", pattern))
        found: set[str] = set()
        truncated = False
        for one in expand_braces(pattern):
            for hit in base.glob(one):
                rel_parts = hit.relative_to(base).parts
                if not wants_vcs and SKIP_DIRS.intersection(rel_parts):
                    continue
                try:
                    real = self.resolve(str(hit), "read")
                except PermissionDenied:
                    continue  # reached through a symlink that leaves the workspace
                shown = self.display(hit) + ("/" if real.is_dir() else "")
                found.add(shown)
                if len(found) > self.max_results:
                    truncated = True
                    break
            if truncated:
                break
        results = sorted(found)[:self.max_results]
        if not results:
            return self.ok(f"No paths match {pattern!r} under {self.display(base)!r}.",
                           count=0, truncated=False)
        text = "\n".join(results)
        if truncated:
            text += (f"\n[stopped after {self.max_results} results; use a more specific "
                     "pattern or path]")
        return self.ok(text, count=len(results), truncated=truncated)


class GrepTool(WorkspaceTool):
    """Search file contents with a Python regular expression."""

    name: ClassVar[str] = "grep"
    description: ClassVar[str] = (
        "Search the text files under a path in the workspace for a Python regular "
        "expression. Returns 'path:line: text' for each matching line. Filter files with "
        "glob (e.g. '*.py'). Binary files and .git are skipped.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "Python regular expression."},
            "path": {"type": "string",
                     "description": "File or directory to search (default: workspace root)."},
            "glob": {"type": "string",
                     "description": "Only search files whose name (or relative path) "
                                    "matches this glob, e.g. '*.py' or '*.{ts,tsx}'."},
            "case_insensitive": {"type": "boolean", "description": "Ignore case."},
            "max_results": {"type": "integer", "description": "Stop after this many "
                                                              "matching lines."},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }
    category = "search"
    keywords: ClassVar[tuple[str, ...]] = ("grep", "search", "find", "regex", "occurrences")
    path_params: ClassVar[dict[str, str]] = {"path": "read"}
    data_params: ClassVar[tuple[str, ...]] = ("pattern", "glob", "case_insensitive",
                                                "max_results")
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY
    _concurrency_safe: ClassVar[bool] = True

    def __init__(self, workspace: str | Path | None = None, *, max_results: int = 200,
                 max_line_chars: int = 300, max_file_bytes: int = 5_000_000) -> None:
        super().__init__(workspace)
        self.max_results = max_results
        self.max_line_chars = max_line_chars
        self.max_file_bytes = max_file_bytes

    async def run(self, params: dict[str, Any],
                  progress_callback: ProgressCallback | None) -> ToolResult:
        flags = re.IGNORECASE if params.get("case_insensitive") else 0
        try:
            regex = re.compile(params["pattern"], flags)
        except re.error as exc:
            raise ToolFailure(f"pattern is not a valid Python regular expression: {exc}. "
                              "Escape special characters such as ( [ . * with a "
                              "backslash.") from None
        cap = min(params.get("max_results", self.max_results), self.max_results)
        if cap < 1:
            raise ToolFailure("max_results must be 1 or more.")
        globs = expand_braces(params["glob"].replace("\\", "/")) if params.get("glob") else []
        base = self.resolve(params.get("path", "."), "read")
        return await in_thread(self._grep, base, regex, globs, cap)

    def _files(self, base: Path, globs: list[str]) -> Iterator[Path]:
        if base.is_file():
            yield base
            return
        if not base.is_dir():
            raise ToolFailure(f"Path not found: {self.display(base)!r}. Check it with "
                              "list_directory or glob.")
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
            for name in sorted(filenames):
                full = Path(dirpath) / name
                if globs:
                    rel = full.relative_to(base).as_posix()
                    if not any(fnmatch.fnmatch(name, g) or fnmatch.fnmatch(rel, g)
                               for g in globs):
                        continue
                yield full

    def _grep(self, base: Path, regex: re.Pattern[str], globs: list[str],
              cap: int) -> ToolResult:
        lines: list[str] = []
        files_matched = 0
        skipped_binary = 0
        truncated = False
        for path in self._files(base, globs):
            try:
                real = self.resolve(str(path), "read")
                if not real.is_file() or real.stat().st_size > self.max_file_bytes:
                    continue
                with open(real, "rb") as handle:
                    data = handle.read()
            except (PermissionDenied, OSError):
                continue  # escapes through a symlink, vanished, or unreadable
            if looks_binary(data[:SNIFF_BYTES]):
                skipped_binary += 1
                continue
            shown = self.display(path)
            hit = False
            for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
                if regex.search(line):
                    if len(lines) >= cap:
                        truncated = True
                        break
                    hit = True
                    if len(line) > self.max_line_chars:
                        line = line[:self.max_line_chars] + " [...]"
                    lines.append(f"{shown}:{number}: {line}")
            files_matched += hit
            if truncated:
                break
        if not lines:
            return self.ok(f"No matches for {regex.pattern!r} under {self.display(base)!r}.",
                           count=0, files=0, truncated=False)
        text = "\n".join(lines)
        if truncated:
            text += (f"\n[stopped after {cap} matches; narrow the pattern, the path or the "
                     "glob]")
        return self.ok(text, count=len(lines), files=files_matched, truncated=truncated,
                       skipped_binary=skipped_binary)
