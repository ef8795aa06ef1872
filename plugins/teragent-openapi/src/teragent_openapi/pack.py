"""``ConfiguredToolsets``: the ``openapi`` tool pack the plugin registers, kept apart
from the toolset machinery so that an agent without ``[openapi]`` imports neither the
document parser nor teragent-auth."""

from __future__ import annotations

from typing import Any, Mapping

from teragent.tools.base import ToolPack

__all__ = ["ConfiguredToolsets"]


class ConfiguredToolsets(ToolPack):
    """Every ``[openapi.NAME]`` of ``agent.toml``: what the plugin registers as the
    ``openapi`` tool pack. Built by the composition root for each agent; starting it
    starts each toolset, stopping it stops them.

    Args:
        config: The loaded ``agent.toml``.
        workspace: The agent's directory (relative spec paths, when no file is known).
    """

    name = "openapi"  # type: ignore[misc]

    def __init__(self, config: Mapping[str, Any] | None = None,
                 workspace: str | None = None, **options: Any) -> None:
        self.toolsets: list[Any] = []
        if (config or {}).get("openapi"):  # no table: no document, spec parser or auth
            from teragent_openapi.toolset import build_toolsets

            self.toolsets = build_toolsets(config or {}, workspace=workspace, **options)
        super().__init__([t for ts in self.toolsets for t in ts.get_tools()])

    async def on_start(self) -> None:
        for ts in self.toolsets:
            await ts.ensure_started()

    async def on_stop(self) -> None:
        for ts in self.toolsets:
            await ts.stop()

    async def stop(self) -> None:
        # A toolset whose tool ran without the orchestrator starting this pack (a
        # program calling tool.execute) opened its client all the same: stop each one.
        self.started = False
        await self.on_stop()
