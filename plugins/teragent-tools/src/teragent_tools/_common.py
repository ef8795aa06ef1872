"""What the file tools share: the workspace, path confinement, error translation,
binary detection and the atomic write."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

from teragent.errors import PermissionDenied
from teragent.security import resolve_workspace_path
from teragent.security.policy import PathPolicy
from teragent.tools.base import BaseTool, ProgressCallback, ToolResult

__all__ = ["ToolFailure", "TerAgentTool", "WorkspaceTool", "in_thread", "looks_binary"]

#: Bytes inspected to decide whether a file is binary.
SNIFF_BYTES = 8192


class ToolFailure(Exception):
    """A user-caused problem; its message (what is wrong, how to fix it) goes to the model."""


class TerAgentTool(BaseTool):
    """A tool whose :meth:`run` raises :class:`ToolFailure` for problems the caller can
    fix; :meth:`execute` turns those (and refused paths, and OS errors) into failed
    :class:`ToolResult`s, so nothing user-caused is ever raised."""

    async def execute(
        self, params: dict[str, Any], progress_callback: ProgressCallback | None = None
    ) -> ToolResult:
        problem = self.validate(params)
        if problem:
            return self.fail(f"Invalid arguments for {self.name}: {problem}.")
        try:
            return await self.run(params, progress_callback)
        except ToolFailure as exc:
            return self.fail(str(exc))
        except PermissionDenied as exc:
            return self.fail(str(exc))
        except OSError as exc:
            return self.fail(describe_os_error(exc))

    async def run(
        self, params: dict[str, Any], progress_callback: ProgressCallback | None
    ) -> ToolResult:
        raise NotImplementedError

    def ok(self, data: Any, **metadata: Any) -> ToolResult:
        return ToolResult(success=True, data=data, safety=self.safety, metadata=metadata)

    def fail(self, error: str, **metadata: Any) -> ToolResult:
        return ToolResult(success=False, error=error, safety=self.safety, metadata=metadata)


class WorkspaceTool(TerAgentTool):
    """A tool confined to one workspace directory.

    Args:
        workspace: The workspace root; every path the tool is given must resolve
            inside it. Defaults to the current directory at construction.
    """

    category = "filesystem"

    def __init__(self, workspace: str | Path | None = None) -> None:
        self.workspace = Path(os.path.abspath(workspace if workspace is not None
                                              else os.getcwd()))
        #: The workspace's protected paths (``.env*``, ``.teragent/``, ``.git/hooks/``,
        #: plus the run's DENY rules once the agent binds its policy).
        self.path_policy = PathPolicy(self.workspace)

    def bind_path_policy(self, policy: PathPolicy) -> None:
        """Use the run's policy (the composition root calls this)."""
        self.path_policy = policy

    def resolve(self, path: str, op: str = "read") -> Path:
        """The canonical path of ``path`` inside the workspace, or
        :class:`PermissionDenied` (outside it, or protected for ``op``)."""
        real = resolve_workspace_path(self.workspace, path, op)
        reason = self.path_policy.denied(real, op, self.name) or \
            self.path_policy.denied(path, op, self.name)
        if reason:
            raise PermissionDenied(f"Refused: {reason}.")
        return real

    def visible(self, path: str | Path) -> bool:
        """Whether a listing or search may show ``path``."""
        return self.path_policy.visible(path, self.name)

    def display(self, path: Path | str) -> str:
        """``path`` as the model should write it: relative to the workspace root."""
        root = os.path.realpath(self.workspace)
        rel = os.path.relpath(os.fspath(path), root)
        return "." if rel == "." else rel.replace(os.sep, "/")


def describe_os_error(exc: OSError) -> str:
    """An OS error as a sentence that says what to do."""
    where = f" {exc.filename!r}" if exc.filename else ""
    hints = {
        errno.ENOENT: "it does not exist. Check the path with list_directory or glob.",
        errno.EISDIR: "it is a directory. Give a file path (list_directory shows "
                      "what is inside).",
        errno.ENOTDIR: "a component of the path is a file, not a directory.",
        errno.EACCES: "permission denied by the operating system.",
        errno.EPERM: "the operating system does not permit this operation.",
        errno.ENOSPC: "the disk is full.",
        errno.EROFS: "the file system is read-only.",
        errno.ENAMETOOLONG: "the name is too long.",
    }
    hint = hints.get(exc.errno or 0, exc.strerror or str(exc))
    return f"Cannot access{where}: {hint}"


async def in_thread(fn: Any, /, *args: Any) -> Any:
    """``await asyncio.to_thread(fn, *args)``; asyncio is imported here, when a tool
    runs (inside the event loop), not when an agent is built."""
    import asyncio

    return await asyncio.to_thread(fn, *args)


def looks_binary(head: bytes) -> bool:
    """Whether the first bytes of a file look like binary data (a NUL byte, or mostly
    bytes that are neither text nor UTF-8)."""
    if b"\x00" in head:
        return True
    if not head:
        return False
    try:
        head.decode("utf-8")
        return False
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:  # a multi-byte character cut by the sniff window
            return False
    text_bytes = bytes(range(0x20, 0x7F)) + b"\t\n\r\f\b"
    odd = sum(1 for b in head if b not in text_bytes and b < 0x80)
    return odd / len(head) > 0.3
