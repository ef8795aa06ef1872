"""The Design → Plan → Code → Review pipeline as a reusable orchestration.

Each stage is one TAP call to the stage's model: the router's pipeline profiles
(``[execution.pipeline]`` ``design_driver``/``plan_driver``/``execute_driver``/
``review_driver``, or a ``[pipeline.profiles.<name>]``) choose it, unless providers are
given. The Code stage asks for ``<file path='...'>`` blocks for each planned task,
writes them into the workspace (protected paths refused), runs
:func:`~teragent_pipeline.checklist.run_deterministic_checks` and records the result
with the tracer: that is the PASS/FAIL label of the answer. A failed task is asked
*the same request* again (up to ``max_attempts``): the same prompt answered twice, once
failing and once passing, is a valid DPO pair. Feedback is not added to the retry on
purpose; it would make the retry a different prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from teragent.core.tap import TAPRequest
from teragent.errors import UserError

from teragent_pipeline.checklist import TaskInfo, run_deterministic_checks
from teragent_pipeline.extractor import extract_files_from_response, write_files

__all__ = ["DevelopmentPipeline", "PipelineResult", "TaskAttempt", "parse_plan", "STAGES"]

STAGES = ("design", "plan", "execute", "review")
FILE_FORMAT = "<file path='relative/path.py'>complete file content</file>, one block per file"
_PLAN_LINE = re.compile(r"^\s*(?:[-*]\s*)?(?:task\s+)?(?P<id>\d+(?:\.\d+)*)[:.)]?\s+"
                        r"(?P<title>.+?)\s*(?:\[files?:\s*(?P<files>[^\]]*)\])?\s*$",
                        re.IGNORECASE)


def parse_plan(text: str) -> list[TaskInfo]:
    """Tasks from plan lines ``1.1: Title [files: a.py, b.py]`` (bullets allowed)."""
    tasks = []
    for line in (text or "").splitlines():
        m = _PLAN_LINE.match(line)
        if m:
            files = [f.strip() for f in (m.group("files") or "").split(",") if f.strip()]
            tasks.append(TaskInfo(id=m.group("id"), title=m.group("title").strip(),
                                  files=files))
    return tasks


@dataclass
class TaskAttempt:
    """One answer to a task's code request and its checks."""

    task_id: str
    attempt: int
    passed: bool
    report: str
    data: dict[str, Any]
    files: list[str]


@dataclass
class PipelineResult:
    task: str
    design: str = ""
    plan: str = ""
    tasks: list[TaskInfo] = field(default_factory=list)
    attempts: list[TaskAttempt] = field(default_factory=list)
    review: str = ""

    @property
    def passed(self) -> bool:
        return bool(self.tasks) and all(t.status == "completed" for t in self.tasks)


class DevelopmentPipeline:
    """Design → Plan → Code → Review over a workspace.

    Args:
        workspace: The project directory the Code stage writes into.
        provider: One model for every stage.
        providers: A model per stage (``design``, ``plan``, ``execute``, ``review``);
            missing stages use ``provider``.
        config: ``agent.toml`` as loaded: stage drivers from the router's pipeline
            profiles (teragent-router) and ``[drivers]``.
        profile: A profile name to make active (``budget``, ``deep_thinking``, ...).
        tracer: A ``TAPTracer``: every stage call is traced and every Code answer
            labelled by its checks.
        max_attempts: Answers asked per task before it is marked failed.
        run_tests, check_run, entry, timeout, sandbox: Passed to
            ``run_deterministic_checks`` (generated code runs in the sandbox).
    """

    def __init__(self, workspace: str | Path, *, provider: Any = None,
                 providers: Mapping[str, Any] | None = None,
                 config: Mapping[str, Any] | None = None, profile: str | None = None,
                 tracer: Any = None, max_attempts: int = 2, run_tests: bool = False,
                 check_run: bool = False, entry: str | None = None,
                 timeout: float = 120.0, sandbox: str | bool | None = None) -> None:
        self.workspace = Path(workspace).resolve()
        if not self.workspace.is_dir():
            raise UserError(f"workspace {self.workspace} is not a directory; create it first.")
        if max_attempts < 1:
            raise UserError("max_attempts must be at least 1.")
        self.providers = {s: (providers or {}).get(s) or provider for s in STAGES}
        self.config = dict(config or {})
        self.profile = profile
        self.tracer = tracer
        self.max_attempts = max_attempts
        self.check_options = {"run_tests": run_tests, "check_run": check_run,
                              "entry": entry, "timeout": timeout, "sandbox": sandbox}
        self._built: dict[str, Any] = {}

    def provider_for(self, stage: str) -> Any:
        """The stage's model: given, else the active profile's driver."""
        given = self.providers.get(stage)
        if given is not None:
            return given
        if stage in self._built:
            return self._built[stage]
        try:
            from teragent.router import PipelineManager
        except ImportError as exc:
            raise UserError(f"no model for the {stage} stage: pass provider=/providers=, or "
                            "install teragent-router for [execution.pipeline] drivers") from exc
        from teragent.core.provider import create_provider_from_config

        manager = PipelineManager.from_config(self.config)
        if self.profile and not manager.set_active_profile(self.profile):
            raise UserError(f"unknown pipeline profile {self.profile!r}; have "
                            f"{', '.join(manager.list_profiles())}.")
        name = manager.get_driver(stage)
        drivers = self.config.get("drivers") or {}
        if name not in drivers:
            raise UserError(f"the {stage} stage's driver {name!r} (profile "
                            f"{manager.active_profile_name!r}) is not in [drivers] of "
                            f"agent.toml; have {', '.join(drivers) or 'none'}.")
        self._built[stage] = create_provider_from_config(drivers[name])
        return self._built[stage]

    async def _ask(self, stage: str, request: TAPRequest) -> str:
        provider = self.provider_for(stage)
        previous = getattr(provider, "tracer", None)
        swap = self.tracer is not None and previous is not self.tracer
        if swap:
            provider.set_tracer(self.tracer)
        try:
            response = await provider.execute_tap(request)
        finally:
            if swap:
                provider.set_tracer(previous)
        return response.raw_text or ""

    async def run(self, task: str) -> PipelineResult:
        """Run the four stages on ``task``; see :class:`PipelineResult`."""
        if not task.strip():
            raise UserError("the pipeline needs a task, e.g. pipeline.run('a calculator "
                            "module with tests').")
        result = PipelineResult(task=task)
        result.design = await self._ask("design", TAPRequest(
            meta={"task_id": "design", "intent": "design"},
            instruction=f"Design the software for this task: {task}",
            constraints=["Name the modules and what each does"]))
        result.plan = await self._ask("plan", TAPRequest(
            meta={"task_id": "plan", "intent": "plan"},
            instruction="Split the design into implementation tasks.",
            context={"task": task, "design": result.design},
            output_format_hint="one task per line: '<id>: <title> [files: a.py, b.py]'"))
        result.tasks = parse_plan(result.plan) or [TaskInfo(id="1", title=task)]
        for info in result.tasks:
            await self._code(info, result)
        summary = "\n\n".join(a.report for a in result.attempts)
        result.review = await self._ask("review", TAPRequest(
            meta={"task_id": "review", "intent": "review"},
            instruction="Review the implementation against the design; list problems.",
            context={"design": result.design, "checks": summary}))
        return result

    async def _code(self, info: TaskInfo, result: PipelineResult) -> None:
        request = TAPRequest(
            meta={"task_id": info.id, "intent": "code_generation"},
            instruction=f"Implement task {info.id}: {info.title}",
            context={"task": result.task, "design": result.design, "plan": result.plan,
                     **({"files": info.files} if info.files else {})},
            constraints=["Python 3.10+", "Complete files only: no placeholders"],
            output_format_hint=FILE_FORMAT)
        written: list[str] = []
        info.status = "in_progress"
        for attempt in range(1, self.max_attempts + 1):
            text = await self._ask("execute", request)
            files = extract_files_from_response(text, task_id=info.id)
            for stale in set(written) - {f["path"] for f in files}:
                (self.workspace / stale).unlink(missing_ok=True)  # a retry replaces
            write_files(self.workspace, files)
            written = [f["path"] for f in files]
            checked = TaskInfo(id=info.id, title=info.title, status="completed",
                               files=info.files or written)
            report, data = run_deterministic_checks(self.workspace, [checked],
                                                    **self.check_options)
            if not files:
                data = {**data, "passed": False}
                report += "\n  [error] the answer had no <file> blocks"
            if self.tracer is not None:
                await self.tracer.record_checklist(info.id, data)
            result.attempts.append(TaskAttempt(info.id, attempt, bool(data["passed"]),
                                               report, data, written))
            if data["passed"]:
                info.status, info.files = "completed", info.files or written
                return
        info.status = "failed"
