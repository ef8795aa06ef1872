"""File tools: ``read_file``, ``write_file``, ``edit_file`` and ``list_directory``.

Every path goes through :func:`teragent.security.resolve_workspace_path` (``op="write"``
for writes) and the tools touch only the canonical path it returns. Blocking I/O runs in
a worker thread (:func:`asyncio.to_thread`).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any, ClassVar, Mapping

from teragent.core.types import ToolSafety
from teragent.tools.base import ProgressCallback, ToolResult

from teragent_tools._common import (
    SNIFF_BYTES, ToolFailure, WorkspaceTool, in_thread, looks_binary,
)
from teragent_tools.file_safety_config import FileSafetyConfig

__all__ = ["ReadFileTool", "WriteFileTool", "EditFileTool", "ListDirectoryTool"]

_PATH = {"type": "string",
         "description": "File path, relative to the workspace root (or absolute inside it)."}


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover


def _open_regular(path: Path, shown: str) -> os.stat_result:
    """Stat ``path`` and insist it is a regular file (a FIFO or device would block)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ToolFailure(f"File not found: {shown!r}. Check the path with list_directory "
                          "or glob.") from None
    if stat.S_ISDIR(st.st_mode):
        raise ToolFailure(f"{shown!r} is a directory, not a file. Use list_directory to "
                          "see what it contains.")
    if not stat.S_ISREG(st.st_mode):
        raise ToolFailure(f"{shown!r} is not a regular file (a device, socket or pipe); "
                          "only regular files can be read or edited.")
    return st


def _read_text(path: Path, shown: str, max_bytes: int) -> str:
    """The whole text of a regular, non-binary file no larger than ``max_bytes``."""
    st = _open_regular(path, shown)
    if st.st_size > max_bytes:
        raise ToolFailure(
            f"{shown!r} is {_human(st.st_size)}, over the {_human(max_bytes)} limit. Read "
            "part of it with read_file's offset and limit, or search it with grep.")
    with open(path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if looks_binary(data[:SNIFF_BYTES]):
        raise ToolFailure(f"{shown!r} is a binary file; these tools only handle text. "
                          "Inspect it with bash (for example `file` or `xxd | head`).")
    return data.decode("utf-8", errors="replace")


def _check_size(content: str, limit: int, shown: str) -> None:
    size = len(content.encode("utf-8"))
    if size > limit:
        raise ToolFailure(f"Refused to write {shown!r}: {_human(size)} is over the "
                          f"{_human(limit)} limit ([file_safety] max_write_bytes). Write "
                          "a smaller file, or raise the limit in agent.toml.")


class ReadFileTool(WorkspaceTool):
    """Read a text file, or a range of its lines.

    Args:
        workspace: The workspace root (default: the current directory).
        max_bytes: Files larger than this are refused unless a line range is given.
        max_lines: Lines returned when no ``limit`` is given.
        max_chars: Cap on the characters returned in one call.
    """

    name: ClassVar[str] = "read_file"
    description: ClassVar[str] = (
        "Read a UTF-8 text file in the workspace. Optionally give offset (1-based first "
        "line) and limit (number of lines) to read part of a large file. Binary files and "
        "files over the size limit are refused.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": _PATH,
            "offset": {"type": "integer", "description": "1-based line to start at."},
            "limit": {"type": "integer", "description": "Maximum number of lines."},
        },
        "required": ["path"],
        "additionalProperties": False,
    }
    keywords: ClassVar[tuple[str, ...]] = ("read", "open", "show", "cat", "view", "file")
    path_params: ClassVar[dict[str, str]] = {"path": "read"}
    data_params: ClassVar[tuple[str, ...]] = ("offset", "limit")
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY
    _concurrency_safe: ClassVar[bool] = True

    def __init__(self, workspace: str | Path | None = None, *, max_bytes: int = 1_000_000,
                 max_lines: int = 2000, max_chars: int = 100_000) -> None:
        super().__init__(workspace)
        self.max_bytes, self.max_lines, self.max_chars = max_bytes, max_lines, max_chars

    async def run(self, params: dict[str, Any],
                  progress_callback: ProgressCallback | None) -> ToolResult:
        offset = params.get("offset", 1)
        limit = params.get("limit")
        if offset < 1:
            raise ToolFailure(f"offset must be 1 or more (the first line is 1), got {offset}.")
        if limit is not None and limit < 1:
            raise ToolFailure(f"limit must be 1 or more, got {limit}.")
        path = self.resolve(params["path"], "read")
        shown = self.display(path)
        return await in_thread(self._read, path, shown, offset, limit,
                               "offset" in params or limit is not None)

    def _read(self, path: Path, shown: str, offset: int, limit: int | None,
              ranged: bool) -> ToolResult:
        if ranged:
            lines, total, binary = self._read_range(path, shown, offset,
                                                    limit or self.max_lines)
        else:
            lines = _read_text(path, shown, self.max_bytes).splitlines(keepends=True)
            total = len(lines)
            lines = lines[:self.max_lines]
            binary = False
        if binary:
            raise ToolFailure(f"{shown!r} is a binary file; these tools only handle text. "
                              "Inspect it with bash (for example `file` or `xxd | head`).")
        text = "".join(lines)
        truncated_chars = len(text) > self.max_chars
        if truncated_chars:
            text = text[:self.max_chars]
        end = offset + len(lines) - 1
        more = total is None or end < total
        if total is not None and offset > 1 and offset > total:
            raise ToolFailure(f"{shown!r} has {total} lines; offset {offset} is past the "
                              "end.")
        notes = [] if total != 0 else ["empty file"]
        if truncated_chars:
            notes.append(f"output cut at {self.max_chars} characters")
        if more and lines:
            notes.append(f"showing lines {offset}-{end}"
                         + (f" of {total}" if total is not None else "")
                         + f"; pass offset={end + 1} to read on")
        if notes:
            text += ("" if text.endswith("\n") or not text else "\n") + f"[{'; '.join(notes)}]"
        return self.ok(text, path=shown, start_line=offset, end_line=end,
                       total_lines=total, truncated=bool(notes))

    def _read_range(self, path: Path, shown: str, offset: int,
                    limit: int) -> tuple[list[str], int | None, bool]:
        """Stream lines ``offset .. offset+limit-1`` without loading the whole file."""
        _open_regular(path, shown)
        with open(path, "rb") as handle:
            if looks_binary(handle.read(SNIFF_BYTES)):
                return [], None, True
            handle.seek(0)
            lines: list[str] = []
            budget = self.max_chars
            count = 0
            for count, raw in enumerate(handle, start=1):
                if count < offset:
                    continue
                if len(lines) >= limit or budget <= 0:
                    # Counting the rest is cheap for modest files; give up on huge ones.
                    if os.fstat(handle.fileno()).st_size > self.max_bytes * 10:
                        return lines, None, False
                    continue
                line = raw.decode("utf-8", errors="replace")
                lines.append(line)
                budget -= len(line)
        return lines, count, False


class WriteFileTool(WorkspaceTool):
    """Create or overwrite a text file atomically, creating parent directories."""

    name: ClassVar[str] = "write_file"
    description: ClassVar[str] = (
        "Create or overwrite a file in the workspace with the given content (UTF-8). "
        "Missing parent directories are created. The write is atomic. To change part of "
        "an existing file prefer edit_file.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": _PATH,
            "content": {"type": "string", "description": "The complete new file content."},
        },
        "required": ["path", "content"],
        "additionalProperties": False,
    }
    keywords: ClassVar[tuple[str, ...]] = ("write", "create", "save", "file", "new")
    path_params: ClassVar[dict[str, str]] = {"path": "write"}
    data_params: ClassVar[tuple[str, ...]] = ("content",)
    _safety: ClassVar[ToolSafety] = ToolSafety.SAFE_WRITE
    _concurrency_safe: ClassVar[bool] = False

    def __init__(self, workspace: str | Path | None = None, *,
                 config: Mapping[str, Any] | None = None) -> None:
        super().__init__(workspace)
        #: ``[file_safety]`` of the agent's ``agent.toml``.
        self.safety_config = FileSafetyConfig.from_config(config)

    async def run(self, params: dict[str, Any],
                  progress_callback: ProgressCallback | None) -> ToolResult:
        path = self.resolve(params["path"], "write")
        return await in_thread(self._write, path, params["content"])

    def _write(self, path: Path, content: str) -> ToolResult:
        shown = self.display(path)
        if path.is_dir():
            raise ToolFailure(f"{shown!r} is a directory; give a file path inside it.")
        _check_size(content, self.safety_config.max_write_bytes, shown)
        existed = path.exists()
        if not path.parent.is_dir():
            if path.parent.exists():
                raise ToolFailure(f"Cannot create {shown!r}: "
                                  f"{self.display(path.parent)!r} is a file, not a directory.")
            if not self.safety_config.create_directories:
                raise ToolFailure(f"Cannot create {shown!r}: the directory "
                                  f"{self.display(path.parent)!r} does not exist, and "
                                  "[file_safety] create_directories is false.")
            path.parent.mkdir(parents=True, exist_ok=True)
            # A symlink may have appeared while the directories were made: check again.
            path = self.resolve(str(path), "write")
        from teragent_tools.file_safety import replace_atomically  # the journal, on write

        written = replace_atomically(path, content)
        lines = content.count("\n") + (1 if content and not content.endswith("\n") else 0)
        verb = "Overwrote" if existed else "Created"
        return self.ok(f"{verb} {shown} ({written} bytes, {lines} lines).",
                       path=shown, bytes=written, created=not existed)


class EditFileTool(WorkspaceTool):
    """Replace an exact string in a text file."""

    name: ClassVar[str] = "edit_file"
    description: ClassVar[str] = (
        "Edit a text file by replacing old_string with new_string exactly (whitespace and "
        "indentation included). old_string must occur exactly once unless replace_all is "
        "true. Read the file first to copy the exact text.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": _PATH,
            "old_string": {"type": "string", "description": "The exact text to replace."},
            "new_string": {"type": "string", "description": "The replacement text."},
            "replace_all": {"type": "boolean",
                            "description": "Replace every occurrence (default false)."},
        },
        "required": ["path", "old_string", "new_string"],
        "additionalProperties": False,
    }
    keywords: ClassVar[tuple[str, ...]] = ("edit", "change", "replace", "modify", "fix")
    path_params: ClassVar[dict[str, str]] = {"path": "write"}
    data_params: ClassVar[tuple[str, ...]] = ("old_string", "new_string", "replace_all")
    _safety: ClassVar[ToolSafety] = ToolSafety.SAFE_WRITE
    _concurrency_safe: ClassVar[bool] = False

    def __init__(self, workspace: str | Path | None = None, *,
                 max_bytes: int | None = None,
                 config: Mapping[str, Any] | None = None) -> None:
        super().__init__(workspace)
        #: ``[file_safety]`` of the agent's ``agent.toml``.
        self.safety_config = FileSafetyConfig.from_config(config)
        self.max_bytes = max_bytes if max_bytes is not None else \
            self.safety_config.max_edit_bytes

    async def run(self, params: dict[str, Any],
                  progress_callback: ProgressCallback | None) -> ToolResult:
        old, new = params["old_string"], params["new_string"]
        if old == "":
            raise ToolFailure("old_string is empty. Give the exact text to replace, or use "
                              "write_file to create a file.")
        if old == new:
            raise ToolFailure("old_string and new_string are identical; nothing would "
                              "change.")
        path = self.resolve(params["path"], "write")
        return await in_thread(self._edit, path, old, new,
                               bool(params.get("replace_all", False)))

    def _edit(self, path: Path, old: str, new: str, replace_all: bool) -> ToolResult:
        shown = self.display(path)
        text = _read_text(path, shown, self.max_bytes)
        count = text.count(old)
        if count == 0 and "\r\n" in text and "\n" in old and "\r\n" not in old:
            # The file uses CRLF; the model almost always writes LF.
            old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
            count = text.count(old)
        if count == 0:
            raise ToolFailure(
                f"old_string was not found in {shown!r}. Read the file and copy the exact "
                "text, including whitespace and indentation.")
        if count > 1 and not replace_all:
            raise ToolFailure(
                f"old_string occurs {count} times in {shown!r}. Include more surrounding "
                "lines to make it unique, or set replace_all to true to replace every "
                "occurrence.")
        updated = text.replace(old, new) if replace_all else text.replace(old, new, 1)
        _check_size(updated, self.safety_config.max_write_bytes, shown)
        from teragent_tools.file_safety import replace_atomically  # the journal, on write

        replace_atomically(path, updated)
        replaced = count if replace_all else 1
        return self.ok(f"Replaced {replaced} occurrence{'s' if replaced > 1 else ''} in "
                       f"{shown}.", path=shown, replacements=replaced)


class ListDirectoryTool(WorkspaceTool):
    """List a directory's entries: directories end in ``/``, symlinks in ``@``."""

    name: ClassVar[str] = "list_directory"
    description: ClassVar[str] = (
        "List the entries of a directory in the workspace (default: the workspace root). "
        "Directories end with '/', symbolic links with '@'; files show their size.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "path": {"type": "string",
                     "description": "Directory, relative to the workspace root (default '.')."},
        },
        "additionalProperties": False,
    }
    keywords: ClassVar[tuple[str, ...]] = ("list", "ls", "directory", "folder", "files")
    path_params: ClassVar[dict[str, str]] = {"path": "read"}
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY
    _concurrency_safe: ClassVar[bool] = True

    def __init__(self, workspace: str | Path | None = None, *,
                 max_entries: int = 1000) -> None:
        super().__init__(workspace)
        self.max_entries = max_entries

    async def run(self, params: dict[str, Any],
                  progress_callback: ProgressCallback | None) -> ToolResult:
        path = self.resolve(params.get("path", "."), "read")
        return await in_thread(self._list, path)

    def _list(self, path: Path) -> ToolResult:
        shown = self.display(path)
        if not path.exists():
            raise ToolFailure(f"Directory not found: {shown!r}. List its parent to see what "
                              "exists.")
        if not path.is_dir():
            raise ToolFailure(f"{shown!r} is a file, not a directory. Use read_file to read it.")
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
        lines = []
        entries = [e for e in entries if self.visible(os.path.join(path, e.name))]
        for entry in entries[:self.max_entries]:
            if entry.is_symlink():
                lines.append(entry.name + "@")
            elif entry.is_dir():
                lines.append(entry.name + "/")
            else:
                try:
                    size = entry.stat().st_size
                except OSError:
                    lines.append(entry.name)
                    continue
                lines.append(f"{entry.name}  ({_human(size)})")
        if not entries:
            lines.append("(empty directory)")
        if len(entries) > self.max_entries:
            lines.append(f"[{len(entries) - self.max_entries} more entries not shown; use "
                         "glob with a pattern to narrow the listing]")
        return self.ok("\n".join(lines), path=shown, count=len(entries),
                       truncated=len(entries) > self.max_entries)
