"""A persistent task graph in the conversation's workspace (``.tasks/task_<id>.json``):
tasks with a status, an owner and dependencies (``blockedBy``/``blocks``, kept
symmetric). Completing a task removes it from every ``blockedBy`` list (the cascade);
a dependency that would close a cycle is refused. It survives compaction and restarts:
the files are the truth, re-read on every call. Every change publishes ``task_update``.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any, Callable, ClassVar

from teragent.core.types import ToolSafety
from teragent.tools.base import BaseTool, ToolResult

__all__ = ["TaskGraph", "TaskError", "task_tools", "STATUSES"]

STATUSES = ("pending", "in_progress", "completed", "deleted")


class TaskError(ValueError):
    """A request the graph refuses; the message says what to do instead."""


class TaskGraph:
    """The tasks of one workspace (see the module docstring)."""

    def __init__(self, folder: Path, on_change: Callable[[list[dict[str, Any]]], None]
                 | None = None) -> None:
        self.folder = folder
        self.on_change = on_change
        self._lock = asyncio.Lock()

    # --- files --------------------------------------------------------------------------

    def _load(self) -> dict[int, dict[str, Any]]:
        out: dict[int, dict[str, Any]] = {}
        if not self.folder.is_dir():
            return out
        for path in self.folder.glob("task_*.json"):
            try:
                task = json.loads(path.read_text(encoding="utf-8"))
                out[int(task["id"])] = task
            except (ValueError, KeyError, OSError):
                continue
        return out

    def _save(self, task: dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"task_{task['id']}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(task, indent=1), encoding="utf-8")
        os.replace(tmp, path)

    def _changed(self, tasks: dict[int, dict[str, Any]]) -> None:
        if self.on_change is not None:
            self.on_change(self._public(tasks))

    @staticmethod
    def _public(tasks: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        return [tasks[i] for i in sorted(tasks) if tasks[i]["status"] != "deleted"]

    # --- operations ---------------------------------------------------------------------

    async def create(self, subject: str, description: str = "",
                     active_form: str = "") -> dict[str, Any]:
        if not subject.strip():
            raise TaskError("subject is empty; say what the task is in a few words.")
        async with self._lock:
            tasks = await asyncio.to_thread(self._load)
            task = {"id": max(tasks, default=0) + 1, "subject": subject.strip(),
                    "description": description, "activeForm": active_form,
                    "status": "pending", "owner": None, "blockedBy": [], "blocks": []}
            tasks[task["id"]] = task
            await asyncio.to_thread(self._save, task)
            self._changed(tasks)
            return task

    async def get(self, task_id: int) -> dict[str, Any]:
        tasks = await asyncio.to_thread(self._load)
        return self._find(tasks, task_id)

    async def list(self) -> list[dict[str, Any]]:
        return self._public(await asyncio.to_thread(self._load))

    @staticmethod
    def _find(tasks: dict[int, dict[str, Any]], task_id: int) -> dict[str, Any]:
        task = tasks.get(int(task_id))
        if task is None or task["status"] == "deleted":
            have = ", ".join(str(i) for i, t in sorted(tasks.items())
                             if t["status"] != "deleted") or "none"
            raise TaskError(f"no task {task_id} (tasks: {have}); task_list shows them.")
        return task

    @staticmethod
    def _reaches(tasks: dict[int, dict[str, Any]], start: int, goal: int) -> bool:
        """Whether ``goal`` is reachable from ``start`` along ``blocks`` edges."""
        seen, stack = set(), [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            if node in seen:
                continue
            seen.add(node)
            stack.extend(tasks.get(node, {}).get("blocks", []))
        return False

    def _link(self, tasks: dict[int, dict[str, Any]], blocker: int, blocked: int,
              touched: set[int]) -> None:
        if blocker == blocked:
            raise TaskError(f"task {blocker} cannot block itself.")
        a, b = self._find(tasks, blocker), self._find(tasks, blocked)
        if self._reaches(tasks, blocked, blocker):
            raise TaskError(f"task {blocker} blocking task {blocked} would close a cycle "
                            f"(task {blocked} already leads to task {blocker}).")
        if b["id"] not in a["blocks"]:
            a["blocks"].append(b["id"])
        if a["status"] != "completed" and a["id"] not in b["blockedBy"]:
            b["blockedBy"].append(a["id"])
        touched.update((a["id"], b["id"]))

    async def update(self, task_id: int, *, status: str | None = None,
                     owner: str | None = None, subject: str | None = None,
                     description: str | None = None,
                     add_blocked_by: list[int] = (), add_blocks: list[int] = ()  # type: ignore[assignment]
                     ) -> dict[str, Any]:
        if status is not None and status not in STATUSES:
            raise TaskError(f"status must be one of {', '.join(STATUSES)}, not {status!r}.")
        async with self._lock:
            tasks = await asyncio.to_thread(self._load)
            task = self._find(tasks, task_id)
            touched = {task["id"]}
            for other in add_blocked_by:
                self._link(tasks, int(other), task["id"], touched)
            for other in add_blocks:
                self._link(tasks, task["id"], int(other), touched)
            if status == "in_progress" and task["blockedBy"]:
                raise TaskError(f"task {task['id']} is blocked by "
                                f"{', '.join(map(str, task['blockedBy']))}; finish those "
                                "first.")
            if owner is not None:
                task["owner"] = owner or None
            if subject:
                task["subject"] = subject
            if description is not None:
                task["description"] = description
            if status is not None:
                task["status"] = status
            if status in ("completed", "deleted"):
                for other in tasks.values():  # the cascade
                    if task["id"] in other["blockedBy"]:
                        other["blockedBy"].remove(task["id"])
                        touched.add(other["id"])
                    if status == "deleted" and task["id"] in other["blocks"]:
                        other["blocks"].remove(task["id"])
                        touched.add(other["id"])
            for tid in touched:
                await asyncio.to_thread(self._save, tasks[tid])
            self._changed(tasks)
            return task


def _fmt(task: dict[str, Any]) -> str:
    deps = ""
    if task["blockedBy"]:
        deps += f" blockedBy={task['blockedBy']}"
    if task["blocks"]:
        deps += f" blocks={task['blocks']}"
    owner = f" @{task['owner']}" if task.get("owner") else ""
    return f"#{task['id']} [{task['status']}] {task['subject']}{owner}{deps}"


class _TaskTool(BaseTool):
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY  # the graph is the agent's notes
    _concurrency_safe: ClassVar[bool] = False

    def __init__(self, graph: TaskGraph) -> None:
        self.graph = graph

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        try:
            text = await self._run(params)
        except TaskError as exc:
            return ToolResult(success=False, error=str(exc), safety=self.safety)
        return ToolResult(success=True, data=text, safety=self.safety)

    async def _run(self, params: dict[str, Any]) -> str:
        raise NotImplementedError


class TaskCreateTool(_TaskTool):
    name: ClassVar[str] = "task_create"
    description: ClassVar[str] = ("Create a persistent task (it survives compaction): a "
                                  "short subject, a description, and activeForm, the "
                                  "'-ing' phrase shown while it runs.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {
            "subject": {"type": "string"}, "description": {"type": "string"},
            "activeForm": {"type": "string"}},
        "required": ["subject"], "additionalProperties": False}
    data_params: ClassVar[tuple[str, ...]] = ("subject", "description", "activeForm")

    async def _run(self, params: dict[str, Any]) -> str:
        task = await self.graph.create(params["subject"], params.get("description", ""),
                                       params.get("activeForm", ""))
        return "Created " + _fmt(task)


class TaskGetTool(_TaskTool):
    name: ClassVar[str] = "task_get"
    description: ClassVar[str] = "Get one task's full details by id."
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {"task_id": {"type": "integer"}},
        "required": ["task_id"], "additionalProperties": False}
    data_params: ClassVar[tuple[str, ...]] = ("task_id",)

    async def _run(self, params: dict[str, Any]) -> str:
        return json.dumps(await self.graph.get(params["task_id"]), indent=1)


class TaskUpdateTool(_TaskTool):
    name: ClassVar[str] = "task_update"
    description: ClassVar[str] = (
        "Update a task: status (pending, in_progress, completed, deleted), owner, and "
        "dependencies: addBlockedBy (tasks that must finish first) or addBlocks (tasks "
        "waiting for this one). Completing a task unblocks the tasks waiting for it.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {
            "task_id": {"type": "integer"},
            "status": {"type": "string", "enum": list(STATUSES)},
            "owner": {"type": "string"}, "subject": {"type": "string"},
            "description": {"type": "string"},
            "addBlockedBy": {"type": "array", "items": {"type": "integer"}},
            "addBlocks": {"type": "array", "items": {"type": "integer"}}},
        "required": ["task_id"], "additionalProperties": False}
    data_params: ClassVar[tuple[str, ...]] = ("task_id", "status", "owner", "subject",
                                              "description", "addBlockedBy", "addBlocks")

    async def _run(self, params: dict[str, Any]) -> str:
        task = await self.graph.update(
            params["task_id"], status=params.get("status"), owner=params.get("owner"),
            subject=params.get("subject"), description=params.get("description"),
            add_blocked_by=params.get("addBlockedBy") or [],
            add_blocks=params.get("addBlocks") or [])
        return "Updated " + _fmt(task)


class TaskListTool(_TaskTool):
    name: ClassVar[str] = "task_list"
    description: ClassVar[str] = "List every task with its status and dependencies."
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {}, "additionalProperties": False}

    async def _run(self, params: dict[str, Any]) -> str:
        tasks = await self.graph.list()
        return "\n".join(_fmt(t) for t in tasks) if tasks else "No tasks."


def task_tools(graph: TaskGraph) -> list[BaseTool]:
    return [TaskCreateTool(graph), TaskGetTool(graph), TaskUpdateTool(graph),
            TaskListTool(graph)]
