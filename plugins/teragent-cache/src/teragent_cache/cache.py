"""``ResultCache``: TTL + LRU for the results of read-only tools.

Keys are deterministic: the SHA-256 of the canonical JSON (sorted keys, no spaces,
UTF-8) of ``{"tool": name, "args": arguments}``, so ``{"a": 1, "b": 2}`` and
``{"b": 2, "a": 1}`` are one entry, and a restart computes the same key. An entry lives
``ttl`` seconds (by an injectable monotonic ``clock``); past ``max_entries`` the least
recently used one is evicted. :attr:`ResultCache.stats` counts hits, misses, evictions
(LRU) and expirations (TTL).

Only results of read-only tools are cached: :func:`cached` refuses a tool whose
``safety`` is anything but ``READ_ONLY`` (a write answered from a cache would not
happen), and only successful results are stored. Stored results are copied in and out,
so a caller that edits one (the loop truncates long outputs) does not edit the cache.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from teragent.core.types import ToolSafety
from teragent.errors import UserError
from teragent.tools.base import BaseTool, ProgressCallback, ToolEffects, ToolResult

__all__ = ["ResultCache", "CacheStats", "CachedTool", "cached", "cache_key"]


def cache_key(tool_name: str, arguments: Any) -> str:
    """The deterministic key of one call (see the module docstring)."""
    text = json.dumps({"tool": tool_name, "args": arguments}, sort_keys=True,
                      separators=(",", ":"), ensure_ascii=False, default=_default)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    raise TypeError(f"a {type(value).__name__} argument has no canonical JSON form; "
                    "cache only calls with JSON arguments")


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    expirations: int = 0
    size: int = 0

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 0.0

    def as_dict(self) -> dict[str, float]:
        return {"hits": self.hits, "misses": self.misses, "evictions": self.evictions,
                "expirations": self.expirations, "size": self.size,
                "hit_rate": self.hit_rate}


class ResultCache:
    """A TTL + LRU cache of tool results.

    Args:
        ttl: Seconds an entry lives (``None``: until evicted).
        max_entries: Entries kept; the least recently used goes first.
        clock: Monotonic seconds (inject one in tests).
    """

    def __init__(self, ttl: float | None = 300.0, max_entries: int = 256, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if ttl is not None and ttl <= 0:
            raise ValueError("ttl must be positive (or None for no expiry)")
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, ToolResult]] = OrderedDict()
        self._stats = CacheStats()

    @property
    def stats(self) -> CacheStats:
        self._stats.size = len(self._entries)
        return CacheStats(**{**self._stats.__dict__})

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, tool_name: str, arguments: Any) -> ToolResult | None:
        """The cached result of this call (a copy), or ``None`` (a miss)."""
        key = cache_key(tool_name, arguments)
        entry = self._entries.get(key)
        if entry is not None and entry[0] <= self.clock():
            del self._entries[key]
            self._stats.expirations += 1
            entry = None
        if entry is None:
            self._stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self._stats.hits += 1
        return entry[1].model_copy(deep=True)

    def put(self, tool_name: str, arguments: Any, result: ToolResult) -> None:
        """Store a successful result (failures are never cached)."""
        if not result.success:
            return
        key = cache_key(tool_name, arguments)
        expires = float("inf") if self.ttl is None else self.clock() + self.ttl
        self._entries[key] = (expires, result.model_copy(deep=True))
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self._stats.evictions += 1

    def invalidate(self, tool_name: str | None = None, arguments: Any = None) -> None:
        """Drop one call's entry, or everything (no arguments)."""
        if tool_name is None:
            self._entries.clear()
        else:
            self._entries.pop(cache_key(tool_name, arguments), None)

    def __repr__(self) -> str:
        s = self.stats
        return (f"ResultCache(ttl={self.ttl}, max_entries={self.max_entries}, size={s.size}, "
                f"hits={s.hits}, misses={s.misses}, evictions={s.evictions})")


class CachedTool(BaseTool):
    """A read-only tool answered from a :class:`ResultCache` when it can be.

    Everything the guard chain reads (name, schema, safety, declared effects) is the
    wrapped tool's, so a cached tool is checked exactly like the tool itself."""

    def __init__(self, tool: BaseTool, cache: ResultCache) -> None:
        if tool.safety != ToolSafety.READ_ONLY:
            raise UserError(
                f"tool {tool.name!r} is {tool.safety.value}, and only read-only tools may "
                "be cached (a cached write would not happen); cache only its read-only "
                "siblings")
        self.tool = tool
        self.cache = cache
        self.name = tool.name  # type: ignore[misc]
        self.description = tool.description  # type: ignore[misc]
        self.parameters_schema = tool.parameters_schema  # type: ignore[misc]
        self.category = tool.category  # type: ignore[misc]
        self.keywords = tool.keywords  # type: ignore[misc]
        self._concurrency_safe = tool.concurrency_safe  # type: ignore[misc]
        self.path_params = tool.path_params  # type: ignore[misc]
        self.command_params = tool.command_params  # type: ignore[misc]
        self.url_params = tool.url_params  # type: ignore[misc]
        self.data_params = tool.data_params  # type: ignore[misc]

    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY

    @property
    def safety(self) -> ToolSafety:
        return self.tool.safety

    def effects(self, params: Any) -> ToolEffects:
        return self.tool.effects(params)

    def validate(self, params: Any) -> str | None:
        return self.tool.validate(params)

    def schema(self) -> dict[str, Any]:
        return self.tool.schema()

    async def execute(self, params: dict[str, Any],
                      progress_callback: ProgressCallback | None = None) -> ToolResult:
        if self.tool.safety != ToolSafety.READ_ONLY:  # changed after wrapping
            return await self.tool.execute(params, progress_callback)
        hit = self.cache.get(self.name, params)
        if hit is not None:
            hit.metadata["cache"] = "hit"
            return hit
        result = await self.tool.execute(params, progress_callback)
        self.cache.put(self.name, params, result)
        return result

    def __getattr__(self, name: str) -> Any:
        # hooks a tool may offer (bind_path_policy, ...) reach the wrapped one
        if name == "tool":
            raise AttributeError(name)
        return getattr(self.tool, name)


def cached(tool: BaseTool, cache: ResultCache | None = None, **options: Any) -> CachedTool:
    """Wrap a read-only ``tool`` with ``cache`` (or a new ``ResultCache(**options)``)."""
    return CachedTool(tool, cache if cache is not None else ResultCache(**options))
