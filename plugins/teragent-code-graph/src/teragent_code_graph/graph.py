"""``ReferenceGraph``: who depends on whom in a code base, as a networkx graph.

Built from a :class:`~teragent_code_index.indexer.CodeIndexer` (tree-sitter), it holds
two kinds of nodes: files (``"file:pkg/mod.py"``) and definitions
(``"sym:pkg/mod.py:Class.method"``), and three kinds of edges (attribute ``kind``):

- ``imports``: file -> file, for imports that resolve to a file of the project
  (Python dotted and relative imports; JavaScript relative paths);
- ``defines``: file -> definition;
- ``calls``: definition (or file, for module-level code) -> definition, when the called
  name resolves: a definition of the same file first, then one of the files it
  imports, then a name defined exactly once in the project. Unresolved calls (builtins,
  third-party code, dynamic dispatch) are left out: the graph under-approximates.
"""

from __future__ import annotations

import os
import posixpath
from typing import Any, Iterable

__all__ = ["ReferenceGraph"]


def _module_name(path: str) -> str:
    stem = path.rsplit(".", 1)[0]
    parts = stem.split("/")
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


class ReferenceGraph:
    """The reference graph of a project.

    Args:
        source: A :class:`CodeIndexer` (indexed here if it was not), or a directory.
        roots: Import roots for Python, relative to the project (default: the project
            itself and ``src/``, plus every ``*/src`` folder), so ``import pkg.mod``
            finds ``src/pkg/mod.py``.
    """

    def __init__(self, source: Any, *, roots: Iterable[str] | None = None) -> None:
        import networkx as nx

        if isinstance(source, (str, os.PathLike)):
            from teragent_code_index.indexer import CodeIndexer

            source = CodeIndexer(source)
        self.indexer = source
        if not source.files:
            source.index()
        self.graph: Any = nx.MultiDiGraph()
        self._roots = list(roots) if roots is not None else None
        self._build()

    # --- construction -------------------------------------------------------------------

    def _python_modules(self) -> dict[str, str]:
        """dotted module name -> file, under every import root."""
        files = [p for p, fi in self.indexer.files.items() if fi.language == "python"]
        roots = self._roots
        if roots is None:
            roots = [""] + sorted({p.split("/src/")[0] + "/src" for p in files
                                   if "/src/" in p} | ({"src"} if any(
                                       p.startswith("src/") for p in files) else set()))
        out: dict[str, str] = {}
        for root in roots:
            prefix = root.rstrip("/") + "/" if root else ""
            for p in files:
                if p.startswith(prefix):
                    out.setdefault(_module_name(p[len(prefix):]), p)
        return out

    def _resolve_python(self, path: str, target: str, modules: dict[str, str]) -> str | None:
        if target.startswith("."):
            level = len(target) - len(target.lstrip("."))
            package = _module_name(path).split(".")
            if not path.endswith("__init__.py"):
                package = package[:-1]
            base = package[:len(package) - (level - 1)] if level > 1 else package
            rest = target.lstrip(".")
            candidates = [".".join([*base, rest]) if rest else ".".join(base)]
            # the root-relative spelling too (files under src/ have a longer path)
            target_names = candidates
        else:
            target_names = [target]
        for name in target_names:
            probe = name
            while probe:
                if probe in modules:
                    return modules[probe]
                for mod, file in modules.items():
                    if mod.endswith("." + probe) and target.startswith("."):
                        return file
                probe = probe.rpartition(".")[0]  # a.b.name -> a.b
        return None

    def _resolve_js(self, path: str, target: str) -> str | None:
        if not target.startswith("."):
            return None
        base = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
        for candidate in (base, *(base + ext for ext in (".js", ".mjs", ".cjs", ".jsx")),
                          *(f"{base}/index{ext}" for ext in (".js", ".mjs"))):
            if candidate in self.indexer.files:
                return candidate
        return None

    def _build(self) -> None:
        g = self.graph
        files = self.indexer.files
        modules = self._python_modules()
        by_name: dict[str, list[str]] = {}
        local: dict[str, dict[str, str]] = {}
        for path, fi in files.items():
            g.add_node(f"file:{path}", kind="file", path=path, language=fi.language)
            local[path] = {}
            for s in fi.symbols:
                node = f"sym:{path}:{s.qualname}"
                g.add_node(node, kind=s.kind, path=path, name=s.name, qualname=s.qualname,
                           line=s.line, end_line=s.end_line)
                g.add_edge(f"file:{path}", node, kind="defines")
                local[path].setdefault(s.name, node)
                by_name.setdefault(s.name, []).append(node)
        imported: dict[str, list[str]] = {}
        for path, fi in files.items():
            targets = []
            for imp in fi.imports:
                dest = self._resolve_python(path, imp, modules) if fi.language == "python" \
                    else self._resolve_js(path, imp)
                if dest is not None and dest != path and dest not in targets:
                    targets.append(dest)
                    g.add_edge(f"file:{path}", f"file:{dest}", kind="imports")
            imported[path] = targets
        for path, fi in files.items():
            for call in fi.calls:
                callee = local[path].get(call.name)
                if callee is None:
                    hits = [local[d][call.name] for d in imported[path]
                            if call.name in local[d]]
                    callee = hits[0] if len(hits) == 1 else None
                if callee is None and len(by_name.get(call.name, ())) == 1:
                    callee = by_name[call.name][0]
                if callee is None:
                    continue
                caller = f"sym:{path}:{call.caller}" if call.caller != "<module>" \
                    else f"file:{path}"
                if caller in g and caller != callee:
                    g.add_edge(caller, callee, kind="calls", line=call.line)

    # --- queries ------------------------------------------------------------------------

    def _edges(self, kind: str) -> Any:
        import networkx as nx

        view = nx.DiGraph()
        view.add_nodes_from(n for n, d in self.graph.nodes(data=True)
                            if (d["kind"] == "file") == (kind == "imports"))
        view.add_edges_from((u, v) for u, v, d in self.graph.edges(data=True)
                            if d["kind"] == kind)
        return view

    def _symbol(self, name: str) -> str:
        if name in self.graph:
            return name
        hits = [n for n, d in self.graph.nodes(data=True)
                if d["kind"] != "file" and name in (d["name"], d["qualname"],
                                                     f"{d['path']}:{d['qualname']}")]
        if len(hits) != 1:
            from teragent.errors import UserError

            raise UserError(f"{name!r} names {len(hits)} definitions"
                            + (f" ({', '.join(h[4:] for h in hits[:5])}); use path:qualname"
                               if hits else "; check the spelling or index again"))
        return str(hits[0])

    def dependencies(self, path: str) -> list[str]:
        """Project files ``path`` imports."""
        return sorted(v[5:] for _, v, d in self.graph.out_edges(f"file:{path}", data=True)
                      if d["kind"] == "imports")

    def dependents(self, path: str) -> list[str]:
        """Project files that import ``path``."""
        return sorted(u[5:] for u, _, d in self.graph.in_edges(f"file:{path}", data=True)
                      if d["kind"] == "imports")

    def cycles(self) -> list[list[str]]:
        """Import cycles between files (each a list of paths), shortest first."""
        import networkx as nx

        found = [[n[5:] for n in c] for c in nx.simple_cycles(self._edges("imports"))]
        return sorted(found, key=lambda c: (len(c), c))

    def callers(self, name: str) -> list[str]:
        """Definitions (``path:qualname``) and files (``path``) calling ``name``."""
        node = self._symbol(name)
        return sorted({u.split(":", 1)[1] for u, _, d in self.graph.in_edges(node, data=True)
                       if d["kind"] == "calls"})

    def callees(self, name: str) -> list[str]:
        node = self._symbol(name)
        return sorted({v.split(":", 1)[1] for _, v, d in self.graph.out_edges(node, data=True)
                       if d["kind"] == "calls"})

    def impact(self, name: str) -> list[str]:
        """Files that may break when ``name`` (a definition or a file path) changes:
        every file reaching it through calls or imports."""
        import networkx as nx

        node = f"file:{name}" if f"file:{name}" in self.graph else self._symbol(name)
        plain = nx.DiGraph()
        plain.add_edges_from((u, v) for u, v, d in self.graph.edges(data=True)
                             if d["kind"] in ("calls", "imports"))
        plain.add_edges_from((v, u) for u, v, d in self.graph.edges(data=True)
                             if d["kind"] == "defines")  # a definition belongs to its file
        if node not in plain:
            return []
        reach = nx.ancestors(plain, node)
        return sorted({self.graph.nodes[n]["path"] for n in reach} - {
            self.graph.nodes[node]["path"]})

    def most_depended_on(self, n: int = 10) -> list[tuple[str, int]]:
        """Files with the most dependents."""
        counts = [(p[5:], sum(1 for _, _, d in self.graph.in_edges(p, data=True)
                              if d["kind"] == "imports"))
                  for p, d in self.graph.nodes(data=True) if d["kind"] == "file"]
        return sorted([c for c in counts if c[1]], key=lambda c: (-c[1], c[0]))[:n]
