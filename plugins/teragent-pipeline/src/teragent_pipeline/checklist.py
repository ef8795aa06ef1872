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
"""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

from teragent.errors import UserError

__all__ = ["TaskInfo", "run_deterministic_checks", "check_code_quality", "check_runnable",
           "CHECKS"]

CHECKS = ("syntax", "ast", "imports", "conflicts", "tasks", "tests", "runnable")
_SKIP_DIRS = {".git", ".hg", ".venv", "venv", "env", "__pycache__", ".teragent", ".agent",
              "node_modules", "build", "dist", ".tox", ".mypy_cache", ".pytest_cache",
              "site-packages", ".eggs"}


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


def _issue(check: str, severity: str, file: str | None, line: int | None,
           message: str) -> dict[str, Any]:
    return {"check": check, "severity": severity, "file": file, "line": line,
            "message": message}


def _python_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root] if root.suffix == ".py" else []
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS
                             and not d.endswith(".egg-info"))
        out.extend(Path(dirpath) / f for f in sorted(filenames) if f.endswith(".py"))
    return out


def _module_name(path: Path, roots: list[Path]) -> str | None:
    for root in roots:
        try:
            rel = path.relative_to(root)
        except ValueError:
            continue
        parts = list(rel.with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        if parts and all(p.isidentifier() for p in parts):
            return ".".join(parts)
    return None


class _Project:
    """The project's modules: name → (path, tree, top-level names)."""

    def __init__(self, root: Path, trees: dict[Path, ast.Module]) -> None:
        base = root if root.is_dir() else root.parent
        self.roots = [base / "src", base] if (base / "src").is_dir() else [base]
        self.modules: dict[str, tuple[Path, ast.Module]] = {}
        for path, tree in trees.items():
            name = _module_name(path, self.roots)
            if name:
                self.modules[name] = (path, tree)
        self.packages = {n.rsplit(".", i)[0] for n in self.modules
                         for i in range(1, n.count(".") + 1)} | set(self.modules)
        self.tops = {n.split(".")[0] for n in self.packages}

    def names(self, module: str) -> set[str] | None:
        """Top-level names of ``module``; ``None`` when any name may exist."""
        path, tree = self.modules[module]
        names: set[str] = set()
        for node in tree.body:
            names |= _bound(node)
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                return None
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and \
                    node.name == "__getattr__":
                return None
        return names


def _bound(node: ast.stmt) -> set[str]:
    """Names a top-level statement binds (looking inside if/try/with blocks)."""
    out: set[str] = set()
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        out.add(node.name)
    elif isinstance(node, (ast.Import, ast.ImportFrom)):
        out |= {(a.asname or a.name).split(".")[0] for a in node.names}
    elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            out |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    elif isinstance(node, (ast.If, ast.Try, ast.With, ast.For, ast.While)):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                out |= _bound(child)
            elif isinstance(child, ast.ExceptHandler):
                for s in child.body:
                    out |= _bound(s)
    return out


def _installed(top: str) -> bool:
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _check_imports(path: Path, tree: ast.Module, project: _Project,
                   rel: str) -> list[dict[str, Any]]:
    issues = []
    me = _module_name(path, project.roots) or ""
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.name
                top = name.split(".")[0]
                if top in project.tops:
                    if name not in project.packages:
                        issues.append(_issue("imports", "error", rel, node.lineno,
                                             f"import {name}: no module {name} in the project"))
                elif not _installed(top):
                    issues.append(_issue("imports", "error", rel, node.lineno,
                                         f"import {name}: module {top!r} is not in the project, "
                                         "the standard library or the installed packages"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                up = node.level - 1
                if up > len(parts):
                    issues.append(_issue("imports", "error", rel, node.lineno,
                                         "relative import climbs above the project"))
                    continue
                base = ".".join(parts[:len(parts) - up] if up else parts)
                module = ".".join(p for p in (base, node.module or "") if p)
            else:
                module = node.module or ""
            top = module.split(".")[0]
            if node.level or top in project.tops:
                if module and module not in project.packages:
                    issues.append(_issue("imports", "error", rel, node.lineno,
                                         f"from {'.' * node.level}{node.module or ''} import "
                                         f"...: no module {module} in the project"))
                    continue
                if module not in project.modules:
                    continue  # a namespace directory: names are submodules
                names = project.names(module)
                for alias in node.names:
                    if alias.name == "*" or names is None:
                        continue
                    if alias.name not in names and f"{module}.{alias.name}" not in \
                            project.packages:
                        issues.append(_issue("imports", "error", rel, node.lineno,
                                             f"from {module} import {alias.name}: {module} "
                                             f"defines no {alias.name!r}"))
            elif not _installed(top):
                issues.append(_issue("imports", "error", rel, node.lineno,
                                     f"from {module} import ...: module {top!r} is not in the "
                                     "project, the standard library or the installed packages"))
    return issues


_EXEMPT_DECORATORS = {"overload", "abstractmethod", "setter", "getter", "deleter",
                      "register", "singledispatch", "property"}


def _decorator_names(fn: ast.AST) -> set[str]:
    out = set()
    for d in getattr(fn, "decorator_list", []):
        target = d.func if isinstance(d, ast.Call) else d
        if isinstance(target, ast.Attribute):
            out.add(target.attr)
        elif isinstance(target, ast.Name):
            out.add(target.id)
    return out


def _placeholder(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    body = list(fn.body)
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]  # docstring
    if len(body) != 1:
        return False
    stmt = body[0]
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and \
            stmt.value.value is Ellipsis:
        return True
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
    return False


def _check_ast(tree: ast.Module, rel: str) -> list[dict[str, Any]]:
    issues = []
    protocol_classes = {n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and any(
        (b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")) in ("Protocol", "ABC")
        for b in n.bases)}
    in_protocol = {id(f) for c in protocol_classes for f in c.body}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if _placeholder(node) and id(node) not in in_protocol and \
                    not (_decorator_names(node) & _EXEMPT_DECORATORS):
                issues.append(_issue("ast", "warning", rel, node.lineno,
                                     f"function {node.name!r} is a placeholder (its body "
                                     "does nothing)"))
        elif isinstance(node, ast.ExceptHandler) and node.type is None:
            issues.append(_issue("ast", "warning", rel, node.lineno,
                                 "bare 'except:' also catches KeyboardInterrupt and "
                                 "SystemExit; name the exceptions"))
    issues.extend(_outside_function(tree, rel))
    return issues


def _outside_function(tree: ast.Module, rel: str) -> list[dict[str, Any]]:
    issues = []

    def visit(node: ast.AST, in_fn: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                visit(child, True)
                continue
            if isinstance(child, ast.ClassDef):
                visit(child, False)
                continue
            if not in_fn and isinstance(child, (ast.Return, ast.Yield, ast.YieldFrom,
                                                ast.Await)):
                what = type(child).__name__.lower()
                issues.append(_issue("ast", "error", rel, child.lineno,
                                     f"'{what}' outside a function"))
            visit(child, in_fn)

    visit(tree, False)
    return issues


def _check_conflicts(tree: ast.Module, rel: str) -> list[dict[str, Any]]:
    issues = []
    scopes: list[tuple[str, list[ast.stmt]]] = [("module", tree.body)]
    scopes += [(f"class {n.name}", n.body) for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    for scope, body in scopes:
        seen: dict[str, int] = {}
        for node in body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if _decorator_names(node) & {"overload", "setter", "getter", "deleter", "register"}:
                continue
            if node.name in seen:
                issues.append(_issue("conflicts", "error", rel, node.lineno,
                                     f"{node.name!r} is defined again in the {scope} (first "
                                     f"at line {seen[node.name]}); the later definition "
                                     "silently replaces the earlier"))
            else:
                seen[node.name] = node.lineno
    return issues


def _parse(root: Path) -> tuple[dict[Path, ast.Module], list[dict[str, Any]], list[Path]]:
    trees: dict[Path, ast.Module] = {}
    issues = []
    files = _python_files(root)
    base = root if root.is_dir() else root.parent
    for path in files:
        rel = path.relative_to(base).as_posix()
        try:
            source = path.read_text(encoding="utf-8")
            trees[path] = ast.parse(source, filename=rel)
        except SyntaxError as exc:
            issues.append(_issue("syntax", "error", rel, exc.lineno, f"syntax error: {exc.msg}"))
        except (UnicodeDecodeError, ValueError) as exc:
            issues.append(_issue("syntax", "error", rel, None, f"cannot read: {exc}"))
    return trees, issues, files


def check_code_quality(project_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Static issues of a project directory or one file: syntax, AST, imports and
    conflicting definitions. Each issue: ``check``, ``severity`` (``error`` or
    ``warning``), ``file``, ``line``, ``message``."""
    root = Path(project_dir).resolve()
    if not root.exists():
        raise UserError(f"{root} does not exist; pass the project directory.")
    trees, issues, _ = _parse(root)
    project = _Project(root, trees)
    base = root if root.is_dir() else root.parent
    for path, tree in trees.items():
        rel = path.relative_to(base).as_posix()
        issues += _check_ast(tree, rel)
        issues += _check_conflicts(tree, rel)
        issues += _check_imports(path, tree, project, rel)
    return issues


def _project_env(root: Path) -> dict[str, str]:
    """Variables the project's code gets on top of the sandbox's allow-listed
    environment (which never passes API keys)."""
    paths = [str(root / "src"), str(root)] if (root / "src").is_dir() else [str(root)]
    return {"PYTHONPATH": os.pathsep.join(paths), "PYTHONDONTWRITEBYTECODE": "1",
            # The project's tests, not whatever pytest plugins this interpreter has.
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _run(argv: list[str], root: Path, timeout: float, sandbox: str | bool | None) -> dict[
        str, Any]:
    """Run ``argv`` in ``root``: generated code is untrusted, so it goes through the
    kernel's sandbox seam (``sandbox``: a backend name; ``None``: the one the ``bash``
    tool would use; ``False``: a plain subprocess with the allow-listed environment,
    for trusted code only)."""
    import shlex

    from teragent.security.sandbox import sandbox_environment

    if sandbox is False:
        env = {**sandbox_environment(), **_project_env(root)}
        try:
            proc = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return {"returncode": None, "timed_out": True, "output_tail": "",
                    "sandbox": None}
        return {"returncode": proc.returncode, "timed_out": False,
                "output_tail": (proc.stdout + proc.stderr)[-2000:], "sandbox": None}
    import asyncio
    import concurrent.futures

    from teragent.security.sandbox import default_sandbox, execute_in_sandbox

    backend = sandbox if isinstance(sandbox, str) else default_sandbox()
    cmd = " ".join(shlex.quote(a) for a in argv)

    def work() -> Any:  # its own event loop: callers may be inside one
        return asyncio.run(execute_in_sandbox(cmd, root, timeout=timeout, backend=backend,
                                              env=_project_env(root)))

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        result = pool.submit(work).result()
    if result.exit_code in (126, 127) and argv[0] in result.output:
        from teragent.errors import UserError

        why = result.output.strip().splitlines()[-1][:200]
        raise UserError(f"the {result.backend} sandbox cannot run {argv[0]} ({why}): its "
                        "user cannot read this interpreter. Run the checks with a "
                        "sandbox backend that can (sandbox='...'), or with sandbox=False "
                        "for code you trust.")
    return {"returncode": None if result.timed_out else result.exit_code,
            "timed_out": result.timed_out, "output_tail": result.output[-2000:],
            "sandbox": result.backend}


def check_runnable(project_dir: str | os.PathLike[str], entry: str | None = None, *,
                   args: Iterable[str] = (), timeout: float = 30.0,
                   sandbox: str | bool | None = None) -> dict[str, Any]:
    """Run the project's entry script and report whether it exits 0.

    Args:
        entry: The script, relative to the project (default: the first of
            ``main.py``, ``app.py``, ``__main__.py``, ``src/main.py``).
        timeout: Seconds before it is stopped (a timeout is not runnable).
        sandbox: The sandbox backend (default: the one the ``bash`` tool uses;
            ``False``: a plain subprocess, for trusted code only).

    Returns:
        ``{"runnable", "entry", "returncode", "timed_out", "output_tail",
        "sandbox"}``. The script runs in the sandbox with its allow-listed
        environment (no API keys).
    """
    root = Path(project_dir).resolve()
    if entry is None:
        entry = next((c for c in ("main.py", "app.py", "__main__.py", "src/main.py")
                      if (root / c).is_file()), None)
    if entry is None or not (root / entry).is_file():
        return {"runnable": False, "entry": entry, "returncode": None, "timed_out": False,
                "output_tail": f"no entry script {entry or 'main.py'} in {root}",
                "sandbox": None}
    out = _run([sys.executable, entry, *args], root, timeout, sandbox)
    return {"runnable": out["returncode"] == 0, "entry": entry, **out}


def _run_tests(root: Path, timeout: float, sandbox: str | bool | None) -> dict[str, Any]:
    out = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], root, timeout,
               sandbox)
    rc = out["returncode"]
    last = next((line for line in reversed(out["output_tail"].splitlines()) if line.strip()), "")
    status = "PASS" if rc == 0 else "NO_TESTS" if rc == 5 else "FAIL"
    return {"status": status, "summary": last, **out}


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
    project = _Project(root, trees)
    for path, tree in trees.items():
        rel = path.relative_to(root).as_posix()
        issues += _check_ast(tree, rel)
        issues += _check_conflicts(tree, rel)
        issues += _check_imports(path, tree, project, rel)
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
