"""Deterministic checks of a generated project: the PASS/FAIL labels traces learn from.

:func:`run_deterministic_checks` looks at every Python file of a project and reports:

``syntax``     the file parses (``ast.parse``);
``ast``        no placeholder bodies (``pass``/``...``/``raise NotImplementedError``
               as a whole function outside abstract methods, overloads and
               protocols) and no bare ``except:`` (warnings), no ``return``/``yield``
               outside a function (errors the parser lets through);
``imports``    every import resolves: to a module of the project (``from m import
               name`` also needs ``name`` defined in ``m``), the standard library or
               an installed distribution;
``conflicts``  no name defined twice at module or class level by ``def``/``class``
               (later definitions silently replace earlier ones);
``tasks``      every task marked completed has the files it lists;
``tests``      (``run_tests=True``) the project's own tests pass under ``pytest``;
``runnable``   (``check_run=True``) the entry script exits 0 (:func:`check_runnable`).

Errors fail the run; warnings are reported only. Code runs only for ``tests`` and
``runnable`` (opt-in): generated code is untrusted, so it runs through the kernel's
sandbox seam (the backend the ``bash`` tool would use, its allow-listed environment: no
API keys) with a timeout.

The static checks are in :mod:`teragent_pipeline.static_checks`, running the project's
code in :mod:`teragent_pipeline.run_checks` (names re-exported).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from teragent.errors import UserError

from teragent_pipeline.run_checks import _run_tests, check_runnable
from teragent_pipeline.static_checks import _issue, _parse, check_code_quality, static_issues

__all__ = ["TaskInfo", "run_deterministic_checks", "check_code_quality", "check_runnable",
           "CHECKS"]

CHECKS = ("syntax", "ast", "imports", "conflicts", "tasks", "tests", "runnable")


@dataclass
class TaskInfo:
    """One task of a plan.

    Attributes:
        id: The task id (``"1.1"``).
        title: What it delivers.
        status: ``pending``, ``in_progress``, ``completed`` or ``failed``.
        files: Files the task must produce (checked when completed).
        description: Details for the model.
    """

    id: str
    title: str
    status: str = "pending"
    files: list[str] = field(default_factory=list)
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _check_tasks(root: Path, tasks: Iterable[TaskInfo | dict[str, Any]]) -> tuple[
        list[dict[str, Any]], list[dict[str, Any]]]:
    rows, issues = [], []
    for t in tasks:
        task = t if isinstance(t, TaskInfo) else TaskInfo(**t)
        missing = [f for f in task.files if not (root / f).exists()] \
            if task.status == "completed" else []
        for f in missing:
            issues.append(_issue("tasks", "error", f, None,
                                 f"task {task.id} ({task.title}) is completed but {f} "
                                 "does not exist"))
        rows.append({"id": task.id, "title": task.title, "status": task.status,
                     "files": list(task.files), "missing": missing, "ok": not missing})
    return rows, issues


def run_deterministic_checks(project_dir: str | os.PathLike[str],
                             task_list: Iterable[TaskInfo | dict[str, Any]] | None = None, *,
                             run_tests: bool = False, check_run: bool = False,
                             entry: str | None = None, timeout: float = 120.0,
                             sandbox: str | bool | None = None) -> tuple[str, dict[str, Any]]:
    """Check a project deterministically; returns ``(report, data)``.

    Args:
        project_dir: The project's directory.
        task_list: The plan's tasks (:class:`TaskInfo` or dicts of its fields).
        run_tests: Run the project's tests with ``pytest`` (a failing test fails the
            run; no tests is a warning).
        check_run: Run the entry script (:func:`check_runnable`).
        entry: The entry script for ``check_run``.
        timeout: Seconds for each of the test run and the entry script.
        sandbox: Where the project's code runs: a sandbox backend name, ``None`` for
            the one the ``bash`` tool uses, ``False`` for a plain subprocess (trusted
            code only).

    Returns:
        ``report``: readable text, one line per check and per issue. ``data``:
        ``{"passed", "project_dir", "files_checked", "checks": {name: "PASS" | "FAIL"
        | "SKIPPED"}, "issues": [...], "errors", "warnings", "tasks": [...],
        "tests", "runnable"}``; ``passed`` is true when no check has an error.
        Give ``data`` to ``TAPTracer.record_checklist`` to label the answer.
    """
    root = Path(project_dir).resolve()
    if not root.is_dir():
        raise UserError(f"{root} is not a directory; pass the project directory.")
    trees, issues, files = _parse(root)
    issues += static_issues(root, trees)
    task_rows, task_issues = _check_tasks(root, task_list or [])
    issues += task_issues
    tests = _run_tests(root, timeout, sandbox) if run_tests else None
    if tests is not None and tests["status"] == "FAIL":
        why = "timed out" if tests["timed_out"] else tests["summary"] or "pytest failed"
        issues.append(_issue("tests", "error", None, None, f"the project's tests failed: {why}"))
    elif tests is not None and tests["status"] == "NO_TESTS":
        issues.append(_issue("tests", "warning", None, None, "no tests were collected"))
    runnable = check_runnable(root, entry, timeout=timeout, sandbox=sandbox) \
        if check_run else None
    if runnable is not None and not runnable["runnable"]:
        issues.append(_issue("runnable", "error", runnable["entry"], None,
                             f"{runnable['entry']} did not exit 0: "
                             f"{(runnable['output_tail'] or 'timed out').strip()[-300:]}"))
    checks = {}
    for name in CHECKS:
        ran = not ((name == "tests" and tests is None) or
                   (name == "runnable" and runnable is None) or
                   (name == "tasks" and not task_rows))
        failed = any(i["check"] == name and i["severity"] == "error" for i in issues)
        checks[name] = "SKIPPED" if not ran else "FAIL" if failed else "PASS"
    if not files:
        issues.append(_issue("syntax", "error", None, None, "the project has no Python files"))
        checks["syntax"] = "FAIL"
    errors = [i for i in issues if i["severity"] == "error"]
    data = {"passed": not errors, "project_dir": str(root), "files_checked": len(files),
            "checks": checks, "issues": issues, "errors": len(errors),
            "warnings": len(issues) - len(errors), "tasks": task_rows, "tests": tests,
            "runnable": runnable}
    return _report(data), data


def _report(data: dict[str, Any]) -> str:
    lines = [f"Deterministic checks of {data['project_dir']}: "
             f"{'PASS' if data['passed'] else 'FAIL'} ({data['files_checked']} Python "
             f"file(s), {data['errors']} error(s), {data['warnings']} warning(s))"]
    lines += [f"  {name:<10} {status}" for name, status in data["checks"].items()]
    for i in data["issues"]:
        where = f"{i['file']}:{i['line']}" if i["file"] and i["line"] else (i["file"] or "-")
        lines.append(f"  [{i['severity']}] {i['check']}: {where}: {i['message']}")
    for t in data["tasks"]:
        lines.append(f"  task {t['id']} {t['title']!r}: {t['status']}"
                     + (f", missing {', '.join(t['missing'])}" if t["missing"] else ""))
    return "\n".join(lines)
