"""TerAgent plugin: context window estimation and compaction.

Only hookimpls live here. The package is served as the documented ``teragent.context``
(``from teragent.context import ContextWindow, AutoCompactor``); its names are imported
on first use, so discovering this plugin stays cheap.
"""

from __future__ import annotations

from typing import Any

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterTool
from teragent.lazy import lazy_exports

_EXPORTS: dict[str, str | tuple[str, str]] = {
    "ContextWindow": "teragent_context.window",
    "heuristic_tokens": "teragent_context.window",
    "Microcompactor": "teragent_context.compactor",
    "AutoCompactor": "teragent_context.compactor",
    "CompactionRecord": "teragent_context.compactor",
    "current_compactor": "teragent_context.compactor",
    "ContextManagementConfig": "teragent_context.config",
    "CompactTool": "teragent_context.tool",
    "pairing_problem": "teragent_context.structure",
    # Documented with context management; each ships in its own plugin, imported lazily.
    "CodeIndexer": ("teragent_code_index.indexer", "teragent-code-index"),
    "ReferenceGraph": ("teragent_code_graph.graph", "teragent-code-graph"),
    "DependencyReporter": ("teragent_code_graph.report", "teragent-code-graph"),
    "load_agent_md": ("teragent_memory.agent_md", "teragent-memory"),
    "save_agent_md": ("teragent_memory.agent_md", "teragent-memory"),
}

__all__ = sorted(_EXPORTS)


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("context", "teragent_context.config:ContextManagementConfig",
             description="Context window limit and compaction thresholds")


@hookimpl
def teragent_register_tools(register: RegisterTool) -> None:
    register("teragent_context.tool:CompactTool", name="compact")


@hookimpl
def teragent_build_context(config: dict[str, Any], loop_config: Any) -> Any:
    from teragent_context.wiring import build_context

    return build_context(config)


# Only the public names: the host probes this module for hook names it lacks.
__getattr__ = lazy_exports("teragent.context", _EXPORTS, globals())
