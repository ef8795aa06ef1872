"""``extract_files_from_response``: the ``<file path='...'>`` blocks of a model answer.

A model asked for code answers with blocks like::

    <file path="src/main.py">
    print("hi")
    </file>

Quotes may be single or double; a Markdown fence inside a block is removed. A path
that is absolute, climbs out with ``..`` or is empty is dropped (logged): model output
never decides where outside the project a file lands.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path, PurePosixPath
from typing import Any

from teragent.errors import UserError

__all__ = ["extract_files_from_response", "write_files", "safe_relative_path"]

logger = logging.getLogger("teragent.pipeline")

_FILE = re.compile(r"<file\s+path\s*=\s*(['\"])(?P<path>[^'\"]*)\1\s*>(?P<body>.*?)</file>",
                   re.DOTALL | re.IGNORECASE)
_FENCE = re.compile(r"^\s*```[\w+.-]*[ \t]*\n(?P<code>.*?)\n?```\s*$", re.DOTALL)


def safe_relative_path(path: str) -> str | None:
    """``path`` normalised to a relative POSIX path inside the project, or ``None``."""
    p = path.strip().replace("\\", "/")
    if not p or p.startswith("/") or re.match(r"^[A-Za-z]:", p):
        return None
    parts = [s for s in PurePosixPath(p).parts if s not in ("", ".")]
    if not parts or ".." in parts:
        return None
    return "/".join(parts)


def extract_files_from_response(response_text: str | None,
                                task_id: str | None = None) -> list[dict[str, Any]]:
    """The files of a model answer, in order: ``[{"path": ..., "content": ...}]``.

    Args:
        response_text: The model's text (``response.raw_text``).
        task_id: Recorded in the log lines about dropped paths (which task's answer).

    A path given twice keeps the last block (the model's correction). Content keeps
    its text but gains a final newline.
    """
    files: dict[str, str] = {}
    for match in _FILE.finditer(response_text or ""):
        path = safe_relative_path(match.group("path"))
        if path is None:
            logger.warning("task %s: dropped a <file> block with unsafe path %r",
                           task_id or "-", match.group("path"))
            continue
        body = match.group("body")
        fenced = _FENCE.match(body)
        if fenced:
            body = fenced.group("code")
        body = body.strip("\n")
        files[path] = body + "\n" if body else ""
    return [{"path": p, "content": c} for p, c in files.items()]


def write_files(project_dir: str | os.PathLike[str], files: list[dict[str, Any]],
                *, policy: Any = None) -> list[Path]:
    """Write extracted files under ``project_dir``.

    Args:
        policy: A :class:`~teragent.security.policy.PathPolicy`; default: the
            kernel's protected paths (``.env*``, ``.teragent/``, ``.git/hooks``)
            over ``project_dir``. A refused path raises :class:`UserError`.
    """
    from teragent.security.policy import PathPolicy

    root = Path(project_dir).resolve()
    policy = policy or PathPolicy(root)
    written = []
    for f in files:
        rel = safe_relative_path(str(f["path"]))
        if rel is None:
            raise UserError(f"refusing to write {f['path']!r}: paths must be relative and "
                            "stay inside the project.")
        target = root / rel
        reason = policy.denied(str(target), "write", "pipeline")
        if reason:
            raise UserError(f"refusing to write {rel}: {reason}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(str(f["content"]), encoding="utf-8")
        written.append(target)
    return written
