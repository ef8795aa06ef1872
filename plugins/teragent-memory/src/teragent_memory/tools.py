"""The memory tools: ``memory_search``, ``memory_get``, ``memory_store``,
``memory_update``.

They are ordinary registered tools, so every call passes the agent's guard chain.
Each declares its path parameter (``path_params``), so the protected-path guard sees
the real workspace-relative file, and each checks the run's path policy itself too (as
the file tools do): a note the policy hides is never shown, read or written. Writes
are ``SAFE_WRITE`` (refused unless the agent may write, like ``write_file``) and go
only to the notes folder (``[memory] dir``) or the project's ``.agent.md``.
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import threading
from pathlib import Path
from typing import Any

from teragent.core.types import ToolSafety
from teragent.errors import PermissionDenied
from teragent.security import resolve_workspace_path
from teragent.security.policy import PathPolicy
from teragent.tools.base import BaseTool, ProgressCallback, ToolResult

from teragent_memory.agent_md import AGENT_MD
from teragent_memory.config import MemoryConfig

__all__ = ["MemorySearchTool", "MemoryGetTool", "MemoryStoreTool", "MemoryUpdateTool",
           "memory_index"]

_INDEXES: dict[tuple[str, str, str], Any] = {}
_INDEX_LOCK = threading.Lock()


def _settings(config: Any) -> MemoryConfig:
    if isinstance(config, MemoryConfig):
        return config
    from teragent.config.loader import table_defaults, validate_table

    if isinstance(config, dict) and config.get("memory"):
        return validate_table(config, "memory", MemoryConfig)  # type: ignore[no-any-return]
    return table_defaults(MemoryConfig)  # type: ignore[no-any-return]


def _embedder(settings: MemoryConfig) -> Any:
    if settings.search == "fts":
        return None
    try:
        from teragent.plugins import get_host

        reg = get_host().registry("embedders")
    except Exception:  # noqa: BLE001 - no embedder spec loaded: FTS only
        reg = None
    names = reg.names() if reg is not None else []
    if settings.embedder is not None:
        if reg is None:
            from teragent.errors import UserError

            raise UserError(f"[memory] embedder = {settings.embedder!r}, but no embedder "
                            "plugin is installed; pip install teragent-memory-wordllama")
        factory = reg.get(settings.embedder)  # unknown names: did-you-mean error
    elif names:
        factory = reg.get(names[0])  # type: ignore[union-attr]
    else:
        return None
    return factory() if isinstance(factory, type) else factory


def memory_index(workspace: str | os.PathLike[str], config: Any = None) -> Any:
    """The (shared, synced) :class:`~teragent_memory.index.MemoryIndex` of a workspace."""
    from teragent_memory.index import MemoryIndex

    settings = _settings(config)
    root = os.path.realpath(workspace)
    with _INDEX_LOCK:
        embedder = _embedder(settings)
        key = (root, settings.dir, str(getattr(embedder, "name", None)))
        index = _INDEXES.get(key)
        if index is None:
            extra = [AGENT_MD] if settings.include_agent_md else []
            index = MemoryIndex(root, settings.dir, extra, embedder)
            _INDEXES[key] = index
    return index


class _MemoryTool(BaseTool):
    category = "memory"

    def __init__(self, workspace: str | os.PathLike[str] | None = None,
                 config: Any = None) -> None:
        self.workspace = Path(os.path.realpath(workspace if workspace is not None
                                               else os.getcwd()))
        self.settings = _settings(config)
        self._config = config
        self.path_policy = PathPolicy(self.workspace)

    def bind_path_policy(self, policy: PathPolicy) -> None:
        """Use the run's protected-path policy (the composition root calls this)."""
        self.path_policy = policy

    @property
    def notes_dir(self) -> Path:
        return self.workspace / self.settings.dir

    def index(self) -> Any:
        return memory_index(self.workspace, self.settings)

    def resolve(self, path: str, op: str) -> Path:
        """``path`` inside the workspace, allowed by the policy, and a memory file."""
        real = resolve_workspace_path(self.workspace, path, op)
        reason = self.path_policy.denied(real, op, self.name) or \
            self.path_policy.denied(path, op, self.name)
        if reason:
            raise PermissionDenied(f"Refused: {reason}.")
        notes = Path(os.path.realpath(self.notes_dir))
        if real != self.workspace / AGENT_MD and notes not in real.parents:
            raise PermissionDenied(
                f"Refused: {path!r} is not a memory file; memory tools use notes under "
                f"{self.settings.dir}/ (e.g. {self.settings.dir}/decisions.md) or {AGENT_MD}")
        if real.suffix != ".md":
            raise PermissionDenied(f"Refused: memory notes are markdown files (.md), not "
                                   f"{real.name!r}")
        return real

    def rel(self, path: Path) -> str:
        return path.relative_to(self.workspace).as_posix()

    async def execute(self, params: dict[str, Any],
                      progress_callback: ProgressCallback | None = None) -> ToolResult:
        import asyncio

        try:
            return await asyncio.to_thread(self.run, params)
        except PermissionDenied as exc:
            return ToolResult(success=False, error=str(exc),
                              metadata={"denied": True})
        except (OSError, ValueError) as exc:
            return ToolResult(success=False, error=f"{type(exc).__name__}: {exc}")

    def run(self, params: dict[str, Any]) -> ToolResult:
        raise NotImplementedError


class MemorySearchTool(_MemoryTool):
    """Search the memory notes and ``.agent.md``."""

    name = "memory_search"
    description = ("Search your memory (markdown notes and the project's .agent.md) for "
                   "facts, decisions and conventions stored earlier. Returns the best "
                   "matching sections with their path and line.")
    parameters_schema = {"type": "object", "properties": {
        "query": {"type": "string", "description": "What to look for"},
        "limit": {"type": "integer", "description": "How many results (default 5)"}},
        "required": ["query"], "additionalProperties": False}
    data_params = ("query", "limit")
    _concurrency_safe = True

    def run(self, params: dict[str, Any]) -> ToolResult:
        index = self.index()
        index.sync()
        limit = int(params.get("limit") or self.settings.max_results)
        hits = index.search(str(params["query"]), max(1, min(limit, 50)) * 3,
                            self.settings.search)
        shown = [h.as_dict() for h in hits if self.path_policy.visible(
            self.workspace / h.path, self.name)][:limit]
        return ToolResult(data={"results": shown} if shown else
                          "No memory matches that query.")


class MemoryGetTool(_MemoryTool):
    """Read one memory note (or a range of its lines)."""

    name = "memory_get"
    description = ("Read a memory note by the path memory_search returned; optional "
                   "'line' (first line, 1-based) and 'lines' (how many).")
    parameters_schema = {"type": "object", "properties": {
        "path": {"type": "string"}, "line": {"type": "integer"},
        "lines": {"type": "integer"}},
        "required": ["path"], "additionalProperties": False}
    path_params = {"path": "read"}
    data_params = ("line", "lines")
    _concurrency_safe = True

    def run(self, params: dict[str, Any]) -> ToolResult:
        path = self.resolve(str(params["path"]), "read")
        if not path.is_file():
            raise ValueError(f"no memory note {params['path']!r}; memory_search lists them")
        text = path.read_text(encoding="utf-8", errors="replace")
        if params.get("line") or params.get("lines"):
            all_lines = text.splitlines()
            first = max(1, int(params.get("line") or 1))
            count = max(1, int(params.get("lines") or len(all_lines)))
            text = "\n".join(all_lines[first - 1:first - 1 + count])
        return ToolResult(data=text)


def _slug(title: str) -> str:
    slug = re.sub(r"[^\w]+", "-", title.lower(), flags=re.UNICODE).strip("-")
    return slug[:60] or "note"


class MemoryStoreTool(_MemoryTool):
    """Store a new memory note."""

    name = "memory_store"
    description = ("Store a new memory (markdown) for later sessions: a fact, decision or "
                   "convention worth remembering. Give a short 'title' and the "
                   "'content'; optional 'path' under the memory folder.")
    parameters_schema = {"type": "object", "properties": {
        "content": {"type": "string"}, "title": {"type": "string"},
        "path": {"type": "string"}},
        "required": ["content"], "additionalProperties": False}
    path_params = {"path": "write"}
    data_params = ("content", "title")
    _safety = ToolSafety.SAFE_WRITE

    def run(self, params: dict[str, Any]) -> ToolResult:
        from teragent_tools.file_safety import replace_atomically

        title = str(params.get("title") or "").strip()
        content = str(params["content"]).strip()
        if not content:
            raise ValueError("content is empty; pass the text to remember")
        if params.get("path"):
            rel = str(params["path"])
        else:
            stamp = _dt.date.today().isoformat()
            base = f"{self.settings.dir}/{stamp}-{_slug(title or content[:40])}"
            rel, n = f"{base}.md", 2
            while (self.workspace / rel).exists():
                rel, n = f"{base}-{n}.md", n + 1
        path = self.resolve(rel, "write")
        if path.exists():
            raise ValueError(f"{self.rel(path)} exists; use memory_update to change it")
        path.parent.mkdir(parents=True, exist_ok=True)
        body = (f"# {title}\n\n{content}\n" if title else f"{content}\n")
        replace_atomically(path, body)
        self.index().sync()
        return ToolResult(data=f"Stored {self.rel(path)}", safety=self._safety,
                          metadata={"path": self.rel(path)})


class MemoryUpdateTool(_MemoryTool):
    """Change an existing memory note."""

    name = "memory_update"
    description = ("Update a memory note: replace 'old' text with 'new', or 'append' "
                   "text, or replace the whole note with 'content'.")
    parameters_schema = {"type": "object", "properties": {
        "path": {"type": "string"}, "old": {"type": "string"}, "new": {"type": "string"},
        "append": {"type": "string"}, "content": {"type": "string"}},
        "required": ["path"], "additionalProperties": False}
    path_params = {"path": "write"}
    data_params = ("old", "new", "append", "content")
    _safety = ToolSafety.SAFE_WRITE

    def run(self, params: dict[str, Any]) -> ToolResult:
        from teragent_tools.file_safety import replace_atomically

        path = self.resolve(str(params["path"]), "write")
        if not path.is_file():
            raise ValueError(f"no memory note {params['path']!r}; memory_store creates one")
        text = path.read_text(encoding="utf-8")
        if params.get("content") is not None:
            text = str(params["content"])
        elif params.get("old") is not None:
            old, new = str(params["old"]), str(params.get("new") or "")
            count = text.count(old)
            if count != 1:
                raise ValueError(f"'old' must occur exactly once in the note (found "
                                 f"{count} times); quote more of the text")
            text = text.replace(old, new)
        elif params.get("append") is not None:
            text = text.rstrip("\n") + "\n\n" + str(params["append"]).strip() + "\n"
        else:
            raise ValueError("pass 'old' and 'new', 'append', or 'content'")
        replace_atomically(path, text)
        self.index().sync()
        return ToolResult(data=f"Updated {self.rel(path)}", safety=self._safety,
                          metadata={"path": self.rel(path)})
