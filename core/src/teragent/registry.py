"""Name → component registries fed by the registration hooks.

A component may be registered as an object or as an import string
(``"package.module:Name"``); import strings are resolved on first :meth:`get`, so a
plugin's heavy module is imported only when its component is first used.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from dataclasses import dataclass, field
from typing import Any, Generic, Iterator, TypeVar

from teragent.errors import MissingPluginError, PluginError, UnknownComponentError

T = TypeVar("T")

# First-party components that live in separately installed plugins: an unknown name
# that appears here gets "pip install <distribution>" instead of a bare "unknown".
KNOWN_DISTRIBUTIONS: dict[str, dict[str, str]] = {
    "adapter": {
        "openai_compatible": "teragent-openai",
        "llamacpp": "teragent-llamacpp",
        "anthropic_native": "teragent-anthropic",
        "glm_native": "teragent-glm",
        "minimax_native": "teragent-minimax",
    },
    "compiler": {
        "glm": "teragent-glm",
        "glm_5": "teragent-glm",
        "glm_52": "teragent-glm",
        "glm_5v_turbo": "teragent-glm",
        "anthropic": "teragent-anthropic",
        "deepseek": "teragent-deepseek",
        "deepseek_v4": "teragent-deepseek",
        "minimax_m3": "teragent-minimax",
    },
    "model": {  # the PROVIDER of ``teragent run -m PROVIDER:MODEL``
        "openai": "teragent-openai",
        "ollama": "teragent-openai",
        "anthropic": "teragent-anthropic",
        "deepseek": "teragent-deepseek",
        "glm": "teragent-glm",
        "minimax": "teragent-minimax",
        "llamacpp": "teragent-llamacpp",
    },
    "pattern": {
        "sequential": "teragent-orchestration",
        "swarm": "teragent-orchestration",
        "parallel": "teragent-orchestration",
        "conditional": "teragent-orchestration",
        "loop": "teragent-orchestration",
    },
    "config_table": {  # top-level agent.toml tables (teragent_register_config_tables)
        "permission": "teragent-permissions",
        "hooks": "teragent-hooks",
        "orchestration": "teragent-orchestration",
        "file_safety": "teragent-tools",
        "circuit_breaker": "teragent-reliability",
        "recovery": "teragent-reliability",
        "rate_limit": "teragent-reliability",
        "routing": "teragent-router",
        "execution": "teragent-router",
        "pipeline": "teragent-router",
        "session": "teragent-sessions",
        "context": "teragent-context",
        "memory": "teragent-memory",
        "mcp": "teragent-mcp",
        "auth": "teragent-auth",
        "openapi": "teragent-openapi",
    },
}


def import_string(spec: str) -> Any:
    """Import ``"package.module:attr"`` (or ``"package.module.attr"``)."""
    module_name, _, attr = spec.partition(":")
    if not attr:
        module_name, _, attr = spec.rpartition(".")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass
class Entry(Generic[T]):
    """One registered component and where it came from."""

    name: str
    target: Any  # the object, or an import string until first use
    plugin: str = ""
    description: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    _resolved: bool = False

    def resolve(self) -> T:
        if not self._resolved:
            if isinstance(self.target, str):
                try:
                    self.target = import_string(self.target)
                except Exception as exc:  # noqa: BLE001 - re-raised with the plugin named
                    raise PluginError(
                        f"plugin {self.plugin!r} registered {self.name!r} as "
                        f"{self.target!r}, which cannot be imported: {exc}",
                        plugin=self.plugin,
                    ) from exc
            self._resolved = True
        return self.target  # type: ignore[no-any-return]


class ComponentRegistry(Generic[T]):
    """A name → component map for one kind of component.

    Args:
        kind: What the components are ("compiler", "adapter", ...); used in errors.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}
        self._lock = threading.Lock()

    def register(
        self,
        name: str,
        target: Any,
        *,
        plugin: str = "",
        description: str = "",
        replace: bool = False,
        literal: bool = False,
        **options: Any,
    ) -> None:
        """Add ``name``; a second registration of a name raises unless ``replace``.

        A string ``target`` is an import string unless ``literal`` is true.
        """
        if not isinstance(name, str) or not name:
            raise PluginError(
                f"plugin {plugin!r} registered a {self.kind} with an invalid name {name!r}",
                plugin=plugin,
            )
        with self._lock:
            old = self._entries.get(name)
            if old is not None and not replace and old.plugin != plugin:
                raise PluginError(
                    f"{self.kind} {name!r} is registered twice: by plugin {old.plugin!r} "
                    f"and by plugin {plugin!r}. Disable one of them with "
                    f"TERAGENT_DISABLE_PLUGINS={plugin}",
                    plugin=plugin,
                )
            self._entries[name] = Entry(name, target, plugin, description, options,
                                       _resolved=literal)

    def unregister(self, name: str) -> None:
        with self._lock:
            self._entries.pop(name, None)

    def entry(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            pass
        known_elsewhere = KNOWN_DISTRIBUTIONS.get(self.kind, {})
        dist = known_elsewhere.get(name)
        if dist:
            raise MissingPluginError(f"The {self.kind} {name!r}", dist)
        hint = ""
        close = difflib.get_close_matches(name, [*self._entries, *known_elsewhere], n=1)
        if close and close[0] not in self._entries:
            hint = (f"Did you mean {close[0]!r}? It is provided by "
                    f"{known_elsewhere[close[0]]!r} (pip install {known_elsewhere[close[0]]}).")
        raise UnknownComponentError(self.kind, name, self._entries, hint=hint)

    def get(self, name: str) -> T:
        """The component registered as ``name`` (importing it if needed)."""
        return self.entry(name).resolve()

    def names(self) -> list[str]:
        return sorted(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        for name in self.names():
            yield name, self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __len__(self) -> int:
        return len(self._entries)
