"""Background commands: ``background_run`` starts a shell command and returns at once;
when it ends, ``background_result`` is published and the result is put at the top of
the conversation's next turn (the agent learns it without polling); ``check_background``
asks for one or all.

The command runs through the conversation's ``bash`` tool from teragent-tools (its
sandbox, its scrubbed environment, its kill-on-timeout), and the ``background_run`` call itself passes the
conversation's guard chain first (command checks, protected paths, approval), like
``bash``: it declares its command.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from teragent.core.types import ToolSafety
from teragent.tools.base import BaseTool, ToolResult

__all__ = ["BackgroundManager", "BackgroundRunTool", "CheckBackgroundTool"]

RESULT_CHARS = 2000


@dataclass
class BackgroundJob:
    id: str
    command: str
    status: str = "running"  # running | completed | failed | timeout | cancelled
    result: str = ""


class BackgroundManager:
    """The background commands of one conversation."""

    def __init__(self, shell: Any, *, timeout: float = 300.0,
                 on_done: Callable[[dict[str, Any]], None] | None = None,
                 max_running: int = 8) -> None:
        self.shell = shell  # the conversation's bash tool: its sandbox and environment
        self.timeout = timeout
        self.on_done = on_done
        self.max_running = max_running
        self.jobs: dict[str, BackgroundJob] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._notes: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def start(self, command: str) -> BackgroundJob:
        running = sum(1 for j in self.jobs.values() if j.status == "running")
        if running >= self.max_running:
            raise ValueError(f"{running} background commands are running already (limit "
                             f"{self.max_running}); wait for one with check_background.")
        job = BackgroundJob(f"bg{next(self._ids)}", command)
        self.jobs[job.id] = job
        self._tasks[job.id] = asyncio.ensure_future(self._run(job))
        return job

    async def _run(self, job: BackgroundJob) -> None:
        try:
            res = await self.shell.execute({"command": job.command, "timeout": self.timeout})
            timed_out = bool(res.metadata.get("timed_out"))
            job.status = "timeout" if timed_out else ("completed" if res.success else "failed")
            job.result = res.to_text()
        except asyncio.CancelledError:
            job.status, job.result = "cancelled", "cancelled"
            raise
        except Exception as exc:  # noqa: BLE001 - reported to the agent
            job.status, job.result = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            self._tasks.pop(job.id, None)
            if job.status != "cancelled":
                note = {"task_id": job.id, "status": job.status, "command": job.command[:200],
                        "result": job.result[-RESULT_CHARS:]}
                self._notes.append(note)
                if self.on_done is not None:
                    self.on_done(note)

    def drain(self) -> list[dict[str, Any]]:
        """Finished jobs not yet told to the agent (for the top of the next turn)."""
        notes, self._notes = self._notes, []
        return notes

    def describe(self, job_id: str | None = None) -> str:
        if job_id:
            job = self.jobs.get(job_id)
            if job is None:
                return f"No background task {job_id!r} (have: {', '.join(self.jobs) or 'none'})."
            return f"{job.id} [{job.status}] {job.command}\n{job.result or '(still running)'}"
        if not self.jobs:
            return "No background tasks."
        return "\n".join(f"{j.id} [{j.status}] {j.command[:80]}" for j in self.jobs.values())

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


class BackgroundRunTool(BaseTool):
    name: ClassVar[str] = "background_run"
    description: ClassVar[str] = (
        "Start a long shell command (build, tests, install) in the background and return "
        "its task id at once. Its result is given to you at the start of your next turn; "
        "check_background asks now.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {"command": {"type": "string", "description": "The shell command."}},
        "required": ["command"], "additionalProperties": False}
    command_params: ClassVar[tuple[str, ...]] = ("command",)
    _safety: ClassVar[ToolSafety] = ToolSafety.HIGH_RISK
    _concurrency_safe: ClassVar[bool] = False

    def __init__(self, manager: BackgroundManager) -> None:
        self.manager = manager

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        command = str(params["command"])
        if not command.strip():
            return ToolResult(success=False, error="command is empty.", safety=self.safety)
        try:
            job = self.manager.start(command)
        except ValueError as exc:
            return ToolResult(success=False, error=str(exc), safety=self.safety)
        return ToolResult(success=True, data=f"Background task {job.id} started: "
                          f"{command[:80]}", safety=self.safety)


class CheckBackgroundTool(BaseTool):
    name: ClassVar[str] = "check_background"
    description: ClassVar[str] = ("Status and output of a background task by id, or a list "
                                  "of all when no id is given.")
    parameters_schema: ClassVar[dict[str, Any]] = {
        "type": "object", "properties": {"task_id": {"type": "string"}},
        "additionalProperties": False}
    data_params: ClassVar[tuple[str, ...]] = ("task_id",)
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY
    _concurrency_safe: ClassVar[bool] = True

    def __init__(self, manager: BackgroundManager) -> None:
        self.manager = manager

    async def execute(self, params: dict[str, Any], progress_callback: Any = None) -> ToolResult:
        return ToolResult(success=True, data=self.manager.describe(params.get("task_id")),
                          safety=self.safety)
