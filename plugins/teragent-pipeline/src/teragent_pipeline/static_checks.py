"""The static checks of :mod:`teragent_pipeline.checklist`: syntax, AST, imports and
conflicting definitions, read from the project's files without running any of them.
"""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

from teragent.errors import UserError

_SKIP_DIRS = {".git", ".hg", ".venv", "venv", "env", "__pycache__", ".teragent", ".agent",
              "node_modules", "build", "dist", ".tox", ".mypy_cache", ".pytest_cache",
              "site-packages", ".eggs"}


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


def static_issues(root: Path, trees: dict[Path, ast.Module]) -> list[dict[str, Any]]:
    """The AST, conflict and import issues of the parsed files ``trees`` of the project
    at ``root`` (a directory, or one file)."""
    issues: list[dict[str, Any]] = []
    project = _Project(root, trees)
    base = root if root.is_dir() else root.parent
    for path, tree in trees.items():
        rel = path.relative_to(base).as_posix()
        issues += _check_ast(tree, rel)
        issues += _check_conflicts(tree, rel)
        issues += _check_imports(path, tree, project, rel)
    return issues


def check_code_quality(project_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Static issues of a project directory or one file: syntax, AST, imports and
    conflicting definitions. Each issue: ``check``, ``severity`` (``error`` or
    ``warning``), ``file``, ``line``, ``message``."""
    root = Path(project_dir).resolve()
    if not root.exists():
        raise UserError(f"{root} does not exist; pass the project directory.")
    trees, issues, _ = _parse(root)
    return issues + static_issues(root, trees)
