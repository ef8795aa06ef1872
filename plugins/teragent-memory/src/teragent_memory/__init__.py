"""TerAgent plugin: project memory (``.agent.md``) and memory tools with offline search.

Only hookimpls live here; names are imported on first use.
"""

from __future__ import annotations

from typing import Any

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterTool
from teragent.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "load_agent_md": "teragent_memory.agent_md",
    "save_agent_md": "teragent_memory.agent_md",
    "MemoryConfig": "teragent_memory.config",
    "MemoryIndex": "teragent_memory.index",
    "memory_index": "teragent_memory.tools",
    "MemorySearchTool": "teragent_memory.tools",
    "MemoryGetTool": "teragent_memory.tools",
    "MemoryStoreTool": "teragent_memory.tools",
    "MemoryUpdateTool": "teragent_memory.tools",
}

__all__ = sorted(_EXPORTS)


@hookimpl
def teragent_add_hookspecs(add: Any) -> None:
    from teragent_memory import hookspecs

    add(hookspecs)


@hookimpl
def teragent_register_tools(register: RegisterTool) -> None:
    register("teragent_memory.tools:MemorySearchTool", name="memory_search")
    register("teragent_memory.tools:MemoryGetTool", name="memory_get")
    register("teragent_memory.tools:MemoryStoreTool", name="memory_store")
    register("teragent_memory.tools:MemoryUpdateTool", name="memory_update")


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("memory", "teragent_memory.config:MemoryConfig",
             description="Memory notes folder and search mode")


__getattr__ = lazy_exports("teragent_memory", _EXPORTS, globals())
