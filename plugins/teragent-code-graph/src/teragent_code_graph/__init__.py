"""TerAgent plugin: ``ReferenceGraph`` (networkx) and ``DependencyReporter``.

Served through ``teragent.context``; networkx is imported when a graph is built.
"""

from __future__ import annotations

from teragent.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ReferenceGraph": "teragent_code_graph.graph",
    "DependencyReporter": "teragent_code_graph.report",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports("teragent_code_graph", _EXPORTS, globals())
