"""``DependencyReporter``: a dependency report of a project, short enough for a prompt."""

from __future__ import annotations

from typing import Any

__all__ = ["DependencyReporter"]


class DependencyReporter:
    """Markdown summary of a :class:`~teragent_code_graph.graph.ReferenceGraph`.

    Args:
        graph: The graph, or a directory / ``CodeIndexer`` to build one from.
    """

    def __init__(self, graph: Any) -> None:
        from teragent_code_graph.graph import ReferenceGraph

        self.graph = graph if isinstance(graph, ReferenceGraph) else ReferenceGraph(graph)

    def report(self, focus: list[str] | None = None, *, max_items: int = 15) -> str:
        """The report: size, most-depended-on files, import cycles, and for each file
        of ``focus`` its imports, its dependents and the files its change may affect."""
        g = self.graph
        stats = g.indexer.stats()
        lines = [f"# Dependency report ({stats['files']} files, {stats['symbols']} "
                 f"definitions)", ""]
        top = g.most_depended_on(max_items)
        if top:
            lines += ["## Most depended on", ""]
            lines += [f"- {path}: imported by {n}" for path, n in top]
            lines.append("")
        cycles = g.cycles()
        lines += ["## Import cycles", ""]
        lines += [f"- {' -> '.join([*c, c[0]])}" for c in cycles[:max_items]] or ["- none"]
        lines.append("")
        for path in focus or []:
            lines += [f"## {path}", "",
                      f"- imports: {', '.join(g.dependencies(path)) or 'nothing in the project'}",
                      f"- imported by: {', '.join(g.dependents(path)) or 'nothing'}",
                      f"- a change may affect: {', '.join(g.impact(path)[:max_items]) or 'nothing'}",
                      ""]
        return "\n".join(lines).rstrip() + "\n"
