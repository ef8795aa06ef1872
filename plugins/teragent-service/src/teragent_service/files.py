"""A conversation's workspace files: list, read for preview, upload.

Every path goes through the project's path guard
(:func:`teragent.security.paths.resolve_workspace_path`: spelling, symlinks,
containment) and the workspace's :class:`~teragent.security.policy.PathPolicy`
(``.env`` files and the agent's state are neither shown nor written), and the service
only ever opens the canonical path the guard returns.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from teragent.errors import PermissionDenied
from teragent.security.paths import resolve_workspace_path
from teragent.security.policy import DEFAULT_PROTECTED, PathPolicy

__all__ = ["WorkspaceFiles", "FileRefused", "HIDDEN_DIRS", "language_of"]

#: The service's own folders inside a workspace: not listed.
HIDDEN_DIRS = frozenset({".agent", ".transcripts", ".tasks", ".team", ".teragent", ".git",
                         "__pycache__", "node_modules", ".venv"})

_LANGUAGES = {
    ".py": "python", ".js": "javascript", ".mjs": "javascript", ".ts": "typescript",
    ".tsx": "tsx", ".jsx": "jsx", ".json": "json", ".md": "markdown", ".html": "html",
    ".htm": "html", ".css": "css", ".scss": "scss", ".sh": "bash", ".bash": "bash",
    ".yml": "yaml", ".yaml": "yaml", ".toml": "toml", ".ini": "ini", ".cfg": "ini",
    ".rs": "rust", ".go": "go", ".java": "java", ".kt": "kotlin", ".c": "c", ".h": "c",
    ".cpp": "cpp", ".cc": "cpp", ".hpp": "cpp", ".cs": "csharp", ".rb": "ruby",
    ".php": "php", ".sql": "sql", ".xml": "xml", ".svg": "xml", ".csv": "csv",
    ".txt": "text", ".r": "r", ".swift": "swift", ".lua": "lua", ".pl": "perl",
    ".dockerfile": "dockerfile",
}
_NAMES = {"Dockerfile": "dockerfile", "Makefile": "makefile", "CMakeLists.txt": "cmake"}


def language_of(name: str) -> str:
    if name in _NAMES:
        return _NAMES[name]
    return _LANGUAGES.get(os.path.splitext(name)[1].lower(), "text")


class FileRefused(Exception):
    """A path or file the service will not touch; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class WorkspaceFiles:
    """File access confined to one workspace directory."""

    def __init__(self, root: Path, *, max_read_bytes: int, max_upload_bytes: int) -> None:
        self.root = Path(os.path.realpath(root))
        self.policy = PathPolicy(self.root, DEFAULT_PROTECTED)
        self.max_read_bytes = max_read_bytes
        self.max_upload_bytes = max_upload_bytes

    def resolve(self, path: str, op: str) -> Path:
        try:
            resolved = resolve_workspace_path(self.root, path, "write" if op != "read" else op)
        except PermissionDenied as exc:
            raise FileRefused(str(exc), 400) from None
        reason = self.policy.denied(str(resolved), op)
        if reason:
            raise FileRefused(f"refused: {reason}", 403)
        rel = resolved.relative_to(self.root).parts
        if rel and rel[0] in HIDDEN_DIRS:
            raise FileRefused(f"refused: {rel[0]}/ holds the service's own state", 403)
        return resolved

    def list(self, limit: int = 5000) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in HIDDEN_DIRS
                                 and not os.path.islink(os.path.join(dirpath, d)))
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                if os.path.islink(full) or not self.policy.visible(full):
                    continue
                st = os.stat(full)
                out.append({"path": os.path.relpath(full, self.root).replace(os.sep, "/"),
                            "size": st.st_size, "modified": st.st_mtime})
                if len(out) >= limit:
                    return out
        return out

    def changed_since(self, when: float) -> list[str]:
        return [f["path"] for f in self.list() if f["modified"] >= when]

    def read(self, path: str) -> dict[str, Any]:
        resolved = self.resolve(path, "read")
        if not resolved.is_file():
            raise FileRefused(f"{path!r} is not a file in the workspace", 404)
        size = resolved.stat().st_size
        with open(resolved, "rb") as fh:
            head = fh.read(self.max_read_bytes)
        binary = b"\x00" in head[:8192]
        text: str | None = None
        if not binary:
            try:
                text = head.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.start >= len(head) - 4 and size > len(head):
                    text = head[:exc.start].decode("utf-8")  # cut inside a character
                else:
                    binary = True
        return {"path": resolved.relative_to(self.root).as_posix(), "name": resolved.name,
                "size": size, "content": text, "binary": binary,
                "truncated": (not binary) and size > self.max_read_bytes,
                "language": None if binary else language_of(resolved.name)}

    def target(self, subdir: str, filename: str) -> Path:
        """Where an upload named ``filename`` goes (``subdir`` inside the workspace)."""
        name = os.path.basename(filename.replace("\\", "/"))
        if not name or name in (".", ".."):
            raise FileRefused(f"upload file name {filename!r} is not usable; name the "
                              "file.", 400)
        rel = f"{subdir.strip('/')}/{name}" if subdir and subdir.strip("/") else name
        return self.resolve(rel, "write")
