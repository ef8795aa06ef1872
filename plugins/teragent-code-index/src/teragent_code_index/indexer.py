"""``CodeIndexer``: the structure of a code base from tree-sitter syntax trees.

For every source file of a supported language (grammars from PyPI wheels:
``tree-sitter-python``, ``tree-sitter-javascript``) it records the definitions
(functions, classes, methods, with their line ranges and enclosing class), the imports
and the calls each definition makes. Parsing is incremental: a file is parsed again
only when its size or modification time changed.

Files the run's path policy hides (``.env*``, ``[workspace] protected``) are skipped,
like the file tools skip them.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

__all__ = ["CodeIndexer", "Symbol", "FileIndex", "Call", "LANGUAGES"]

#: file suffix -> (language, grammar module, its PyPI distribution)
LANGUAGES: dict[str, tuple[str, str, str]] = {
    ".py": ("python", "tree_sitter_python", "tree-sitter-python"),
    ".pyi": ("python", "tree_sitter_python", "tree-sitter-python"),
    ".js": ("javascript", "tree_sitter_javascript", "tree-sitter-javascript"),
    ".mjs": ("javascript", "tree_sitter_javascript", "tree-sitter-javascript"),
    ".cjs": ("javascript", "tree_sitter_javascript", "tree-sitter-javascript"),
    ".jsx": ("javascript", "tree_sitter_javascript", "tree-sitter-javascript"),
}
DEFAULT_EXCLUDE = (".git", ".hg", "node_modules", ".venv", "venv", "__pycache__", ".tox",
                   "build", "dist", ".mypy_cache", ".pytest_cache")


@dataclass(frozen=True)
class Symbol:
    """A definition."""

    name: str
    qualname: str  # Class.method inside its file
    kind: str  # function | class | method
    path: str  # relative to the root, with /
    line: int  # 1-based
    end_line: int
    language: str


@dataclass(frozen=True)
class Call:
    """A call: ``caller`` (a qualname, or ``<module>``) calls ``name`` at ``line``."""

    caller: str
    name: str
    line: int


@dataclass
class FileIndex:
    """What one file defines, imports and calls."""

    path: str
    language: str
    symbols: list[Symbol] = field(default_factory=list)
    imports: list[str] = field(default_factory=list)  # as written: a.b, .x, ./util
    calls: list[Call] = field(default_factory=list)
    error: bool = False  # the tree has syntax errors (partial results)


def _text(node: Any) -> str:
    return node.text.decode("utf-8", "replace") if node is not None else ""


class _Walker:
    """Collects definitions, imports and calls of one syntax tree."""

    def __init__(self, fi: FileIndex) -> None:
        self.fi = fi

    def define(self, node: Any, name: str, kind: str, scope: list[str]) -> str:
        qual = ".".join([*scope, name])
        self.fi.symbols.append(Symbol(name, qual, kind, self.fi.path,
                                      node.start_point[0] + 1, node.end_point[0] + 1,
                                      self.fi.language))
        return qual

    def python(self, node: Any, scope: list[str], caller: str, in_class: bool) -> None:
        for child in node.children:
            t = child.type
            if t == "decorated_definition":
                self.python(child, scope, caller, in_class)
                continue
            if t in ("function_definition", "class_definition"):
                name = _text(child.child_by_field_name("name"))
                kind = "class" if t == "class_definition" else \
                    ("method" if in_class else "function")
                qual = self.define(child, name, kind, scope)
                body = child.child_by_field_name("body")
                if t == "class_definition":
                    for arg in (child.child_by_field_name("superclasses"),):
                        if arg is not None:
                            self.python(arg, scope, caller, False)
                    if body is not None:
                        self.python(body, [*scope, name], caller, True)
                elif body is not None:
                    self.python(body, [*scope, name], qual, False)
                continue
            if t == "import_statement":
                for n in child.children_by_field_name("name"):
                    target = n.child_by_field_name("name") if n.type == "aliased_import" else n
                    self.fi.imports.append(_text(target))
                continue
            if t == "import_from_statement":
                module = _text(child.child_by_field_name("module_name"))
                names = [_text(n.child_by_field_name("name") if n.type == "aliased_import"
                               else n) for n in child.children_by_field_name("name")]
                # ``from a import b``: b may be a module (a.b) or a name in a; the graph
                # resolves whichever exists. ``from . import x`` -> ``.x``.
                sep = "" if module.endswith(".") else "."
                self.fi.imports.extend(f"{module}{sep}{n}" for n in names)
                if not names:  # from a import *
                    self.fi.imports.append(module)
                continue
            if t == "call":
                fn = child.child_by_field_name("function")
                if fn is not None:
                    name = _text(fn.child_by_field_name("attribute")) \
                        if fn.type == "attribute" else _text(fn)
                    if name:
                        self.fi.calls.append(Call(caller, name, child.start_point[0] + 1))
            self.python(child, scope, caller, in_class and t == "block")

    def javascript(self, node: Any, scope: list[str], caller: str) -> None:
        for child in node.children:
            t = child.type
            if t in ("function_declaration", "generator_function_declaration",
                     "class_declaration", "method_definition"):
                name = _text(child.child_by_field_name("name"))
                kind = {"class_declaration": "class", "method_definition": "method"}.get(
                    t, "function")
                qual = self.define(child, name, kind, scope)
                body = child.child_by_field_name("body")
                if body is not None:
                    self.javascript(body, [*scope, name],
                                    caller if kind == "class" else qual)
                continue
            if t == "variable_declarator":
                value = child.child_by_field_name("value")
                if value is not None and value.type in ("arrow_function", "function_expression",
                                                        "function"):
                    name = _text(child.child_by_field_name("name"))
                    qual = self.define(child, name, "function", scope)
                    self.javascript(value, [*scope, name], qual)
                    continue
            if t == "import_statement":
                source = child.child_by_field_name("source")
                if source is not None:
                    self.fi.imports.append(_text(source).strip("'\"`"))
                continue
            if t == "call_expression":
                fn = child.child_by_field_name("function")
                if fn is not None:
                    if fn.type == "member_expression":
                        name = _text(fn.child_by_field_name("property"))
                    else:
                        name = _text(fn)
                    if name == "require":
                        args = child.child_by_field_name("arguments")
                        strings = [c for c in (args.children if args else [])
                                   if c.type == "string"]
                        if strings:
                            self.fi.imports.append(_text(strings[0]).strip("'\"`"))
                    elif name and fn.type in ("identifier", "member_expression"):
                        self.fi.calls.append(Call(caller, name, child.start_point[0] + 1))
            self.javascript(child, scope, caller)


class CodeIndexer:
    """Index the code under ``root``.

    Args:
        root: The project directory.
        languages: Limit to these languages (``"python"``, ``"javascript"``); default
            both. A language whose grammar is not installed raises
            :class:`~teragent.errors.MissingPluginError` naming its package.
        exclude: Directory names never entered.
        path_policy: A :class:`~teragent.security.policy.PathPolicy`; files it hides are
            skipped (default: the workspace's protected paths).
    """

    def __init__(self, root: str | os.PathLike[str] = ".", *,
                 languages: Iterable[str] | None = None,
                 exclude: Iterable[str] = DEFAULT_EXCLUDE, path_policy: Any = None) -> None:
        self.root = Path(os.path.realpath(root))
        if not self.root.is_dir():
            from teragent.errors import UserError

            raise UserError(f"CodeIndexer: {str(root)!r} is not a directory; pass the "
                            "project's root folder.")
        self.languages = set(languages) if languages is not None else None
        self.exclude = set(exclude)
        if path_policy is None:
            from teragent.security.policy import PathPolicy

            path_policy = PathPolicy(str(self.root))
        self.path_policy = path_policy
        self.files: dict[str, FileIndex] = {}
        self._stamps: dict[str, tuple[int, int]] = {}
        self._parsers: dict[str, Any] = {}

    # --- parsing ------------------------------------------------------------------------

    def _parser(self, suffix: str) -> Any:
        language, module, dist = LANGUAGES[suffix]
        parser = self._parsers.get(language)
        if parser is None:
            try:
                from tree_sitter import Language, Parser

                grammar = importlib.import_module(module)
            except ModuleNotFoundError as exc:
                from teragent.errors import MissingPluginError

                raise MissingPluginError(f"Indexing {language} code",
                                         dist if exc.name == module else "tree-sitter") \
                    from None
            parser = Parser(Language(grammar.language()))
            self._parsers[language] = parser
        return parser

    def _wanted(self, path: Path) -> bool:
        spec = LANGUAGES.get(path.suffix)
        if spec is None or (self.languages is not None and spec[0] not in self.languages):
            return False
        return bool(self.path_policy.visible(str(path)))

    def _walk(self) -> Iterator[Path]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = sorted(d for d in dirnames if d not in self.exclude)
            for name in sorted(filenames):
                path = Path(dirpath) / name
                if self._wanted(path):
                    yield path

    def parse_file(self, path: str | os.PathLike[str]) -> FileIndex:
        """Parse one file (relative to the root or absolute) and return its index."""
        full = Path(path) if Path(path).is_absolute() else self.root / path
        rel = full.relative_to(self.root).as_posix()
        language = LANGUAGES[full.suffix][0]
        tree = self._parser(full.suffix).parse(full.read_bytes())
        fi = FileIndex(rel, language, error=tree.root_node.has_error)
        walker = _Walker(fi)
        if language == "python":
            walker.python(tree.root_node, [], "<module>", False)
        else:
            walker.javascript(tree.root_node, [], "<module>")
        return fi

    def index(self) -> dict[str, FileIndex]:
        """Parse new and changed files, forget deleted ones; returns :attr:`files`."""
        seen = set()
        for path in self._walk():
            rel = path.relative_to(self.root).as_posix()
            seen.add(rel)
            st = path.stat()
            stamp = (st.st_size, st.st_mtime_ns)
            if self._stamps.get(rel) == stamp:
                continue
            self.files[rel] = self.parse_file(path)
            self._stamps[rel] = stamp
        for rel in set(self.files) - seen:
            del self.files[rel]
            self._stamps.pop(rel, None)
        return self.files

    # --- queries ------------------------------------------------------------------------

    def symbols(self, kind: str | None = None) -> list[Symbol]:
        """Every definition (of ``kind``), by path and line."""
        out = [s for fi in self.files.values() for s in fi.symbols
               if kind is None or s.kind == kind]
        return sorted(out, key=lambda s: (s.path, s.line))

    def find(self, name: str) -> list[Symbol]:
        """Definitions named ``name`` (or whose qualname is ``name``)."""
        return [s for s in self.symbols() if name in (s.name, s.qualname)]

    def outline(self, path: str) -> str:
        """The definitions of one file, indented by nesting, with line numbers."""
        fi = self.files.get(path) or self.parse_file(path)
        lines = []
        for s in fi.symbols:
            depth = s.qualname.count(".")
            lines.append(f"{'  ' * depth}{s.kind} {s.name}  (lines {s.line}-{s.end_line})")
        return "\n".join(lines)

    def stats(self) -> dict[str, int]:
        return {"files": len(self.files), "symbols": sum(len(f.symbols) for f in
                                                         self.files.values()),
                "imports": sum(len(f.imports) for f in self.files.values()),
                "calls": sum(len(f.calls) for f in self.files.values())}
