"""TerAgent plugin: ``ResultCache`` for read-only tools.

A TTL + LRU cache of tool results keyed by the canonical JSON of the tool's name and
arguments, with hit/miss/eviction statistics; :func:`cached` wraps a read-only tool so
repeated calls with the same arguments are answered from it. Tools that write are
refused. The guard chain still sees every call: the cache sits inside the tool.

The plugin registers no hooks; other plugins (teragent-openapi's ``cache_ttl``) and
programs use it as a library. The names are imported on first use.
"""

from __future__ import annotations

from teragent.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ResultCache": "teragent_cache.cache",
    "CacheStats": "teragent_cache.cache",
    "CachedTool": "teragent_cache.cache",
    "cached": "teragent_cache.cache",
    "cache_key": "teragent_cache.cache",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_exports("teragent_cache", _EXPORTS, globals())
