"""``ToolRegistry``: the tools one agent may use."""

from __future__ import annotations

import inspect
import re
from typing import Any, Iterable, Mapping

from teragent.errors import UnknownComponentError, UserError
from teragent.tools.base import BaseTool, ToolPack

__all__ = ["ToolRegistry", "ToolInfo", "default_tool_names"]

# Intent → tool categories that usually serve it (used by ``recommend``).
_INTENT_CATEGORIES: dict[str, tuple[str, ...]] = {
    "chat": ("search", "filesystem", "general"),
    "debug": ("filesystem", "search", "shell", "general"),
    "create_project": ("filesystem", "shell", "search", "general"),
    "execute": ("filesystem", "shell", "search", "general"),
    "review": ("filesystem", "search", "general"),
}
_WORD = re.compile(r"[a-z0-9_]+")


def default_tool_names(registry: Any, config: Any = None) -> list[str]:
    """The installed tools offered when nobody names them: every registered tool but
    the opt-in ones. A tool registered with ``opt_in=True`` is offered only when named
    (``tools=``, ``tool_names=``/``--tools``, ``[tools] enabled``); ``opt_in="TABLE"``
    also when ``config`` (``agent.toml``) has ``[TABLE] enabled = true``. The desktop
    tool, which drives the user's real screen, is one.

    Args:
        registry: The plugin host's ``"tools"`` registry.
        config: The loaded ``agent.toml`` (a mapping) or ``None``.
    """
    out = []
    for name in registry.names():
        opt_in = registry.entry(name).options.get("opt_in")
        if opt_in:
            table = config.get(opt_in) if isinstance(opt_in, str) and config else None
            if not (isinstance(table, Mapping) and table.get("enabled") is True):
                continue
        out.append(name)
    return out


class ToolInfo(dict):  # type: ignore[type-arg]
    """Metadata of a registered tool (a dict for easy JSON output)."""


class ToolRegistry:
    """Holds tools by name, their categories, and the packs they come from.

    Args:
        tools: Tools (or packs) to register at once.
    """

    def __init__(self, tools: Iterable[BaseTool | ToolPack] = ()) -> None:
        self._tools: dict[str, BaseTool] = {}
        self._packs: dict[str, ToolPack] = {}
        self._tool_pack: dict[str, ToolPack] = {}
        for t in tools:
            self.register(t)

    # --- building ---------------------------------------------------------------

    def register(self, tool: BaseTool | ToolPack, *, replace: bool = False) -> None:
        """Add a tool or every tool of a pack; duplicate names raise unless ``replace``."""
        if isinstance(tool, ToolPack):
            self._packs[tool.name] = tool
            for t in tool.get_tools():
                self.register(t, replace=replace)
                self._tool_pack[t.name] = tool
            return
        if isinstance(tool, type) and issubclass(tool, BaseTool):
            tool = tool()
        if not isinstance(tool, BaseTool):
            raise UserError(
                f"Cannot register {tool!r} as a tool: it is not a BaseTool. Subclass "
                "teragent.tools.BaseTool or decorate a function with @teragent.tools.tool."
            )
        if not tool.name:
            raise UserError(f"{type(tool).__name__} has no name; set the class attribute 'name'.")
        if tool.name in self._tools and not replace:
            raise UserError(f"A tool named {tool.name!r} is already registered; pass "
                            "replace=True to override it.")
        if tool.sensitive_params:
            from teragent.secrets import declare_sensitive_arguments

            declare_sensitive_arguments(tool.name, tool.sensitive_params)
        self._tools[tool.name] = tool

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)
        self._tool_pack.pop(name, None)

    @classmethod
    def from_plugins(
        cls, names: Iterable[str] | None = None, host: Any = None, *,
        workspace: str | None = None, config: Any = None,
    ) -> "ToolRegistry":
        """A registry holding the tools plugins contributed (all, or only ``names``).

        Tool classes are instantiated here; those whose constructor takes
        ``workspace`` get ``workspace``, those taking ``config`` the loaded
        ``agent.toml`` (a tool reads its plugin's table, e.g. ``[file_safety]``).
        """
        from teragent.plugins import get_host

        reg = (host or get_host()).registry("tools")
        wanted = list(names) if names is not None else default_tool_names(reg, config)
        out = cls()
        for name in wanted:
            obj = reg.get(name)
            if isinstance(obj, type):
                kwargs = {}
                params = inspect.signature(obj).parameters
                if workspace is not None and "workspace" in params:
                    kwargs["workspace"] = workspace
                if config is not None and "config" in params:
                    kwargs["config"] = config
                obj = obj(**kwargs)
            out.register(obj, replace=True)
        return out

    def filtered(self, names: Iterable[str]) -> "ToolRegistry":
        """A new registry with only ``names`` (unknown names are ignored)."""
        out = ToolRegistry()
        for n in names:
            if n in self._tools:
                out._tools[n] = self._tools[n]
                if n in self._tool_pack:
                    pack = out._tool_pack[n] = self._tool_pack[n]
                    out._packs[pack.name] = pack  # so stop() stops it
        return out

    # --- querying -----------------------------------------------------------------

    def get(self, name: str) -> BaseTool:
        try:
            return self._tools[name]
        except KeyError:
            raise UnknownComponentError("tool", name, self._tools) from None

    def find(self, name: str) -> BaseTool | None:
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._tools.values())

    def list_tool_names(self) -> list[str]:
        return list(self._tools)

    def list_tools(self) -> list[BaseTool]:
        return list(self._tools.values())

    def get_schemas(self) -> list[dict[str, Any]]:
        """OpenAI function-tool definitions of every tool, in registration order."""
        return [t.schema() for t in self._tools.values()]

    def get_info(self, name: str) -> ToolInfo:
        t = self.get(name)
        return ToolInfo(name=t.name, description=t.description, category=t.category,
                        safety=t.safety.value, concurrency_safe=t.concurrency_safe,
                        pack=self._tool_pack[name].name if name in self._tool_pack else None)

    def get_summary(self) -> dict[str, Any]:
        by_safety: dict[str, int] = {}
        for t in self._tools.values():
            by_safety[t.safety.value] = by_safety.get(t.safety.value, 0) + 1
        return {"total": len(self._tools), "tools": [self.get_info(n) for n in self._tools],
                "by_safety": by_safety, "categories": self.get_categories()}

    def get_categories(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for t in self._tools.values():
            out.setdefault(t.category, []).append(t.name)
        return out

    def get_by_category(self, category: str) -> list[BaseTool]:
        return [t for t in self._tools.values() if t.category == category]

    def recommend(self, query: str, intent: str | None = None, limit: int = 5) -> list[str]:
        """Tools ranked by relevance to ``query`` (words in name, description,
        keywords) and by how well their category serves ``intent``."""
        words = set(_WORD.findall(query.lower()))
        cats = _INTENT_CATEGORIES.get((intent or "").lower(), ())
        scored = []
        for i, t in enumerate(self._tools.values()):
            text = set(_WORD.findall(f"{t.name} {t.description} {' '.join(t.keywords)}".lower()))
            text |= set(t.name.lower().split("_"))
            score = 2.0 * len(words & text)
            if t.category in cats:
                score += 1.0 + (len(cats) - cats.index(t.category)) * 0.1
            if score > 0:
                scored.append((-score, i, t.name))
        return [name for _, _, name in sorted(scored)[:limit]]

    # --- lifecycle ------------------------------------------------------------------

    def bind_path_policy(self, policy: Any) -> None:
        """Give every tool that opens files the run's protected-path policy (see
        :mod:`teragent.security.policy`), so it refuses and hides those paths itself."""
        for tool in self._tools.values():
            bind = getattr(tool, "bind_path_policy", None)
            if callable(bind):
                bind(policy)

    def pack_of(self, name: str) -> ToolPack | None:
        return self._tool_pack.get(name)

    async def stop(self) -> None:
        """Stop every started pack."""
        for pack in self._packs.values():
            await pack.stop()
