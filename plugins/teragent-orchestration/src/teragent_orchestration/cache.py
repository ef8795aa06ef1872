"""``ResultCache``: TTL + LRU cache of agent results, with statistics.

Keys are deterministic (a SHA-256 of the agent, its input and its history), so the
same turn asked twice within the TTL is answered from the cache. Caching an agent
whose tools have side effects skips those side effects: enable it deliberately
(``Orchestrator(cache=ResultCache())``).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from typing import Any, Callable

__all__ = ["ResultCache"]


class ResultCache:
    """Args:
        max_size: Entries kept; the least recently used is evicted beyond it.
        ttl: Seconds an entry stays valid (``None``: forever).
        clock: Time source (tests pass a fake clock instead of sleeping).
    """

    def __init__(self, max_size: int = 256, ttl: float | None = 3600.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self.max_size = max_size
        self.ttl = ttl
        self.clock = clock
        self._data: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = self.evictions = self.expirations = 0

    @staticmethod
    def make_key(*parts: Any) -> str:
        blob = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                self.misses += 1
                return default
            stored_at, value = item
            if self.ttl is not None and self.clock() - stored_at >= self.ttl:
                del self._data[key]
                self.expirations += 1
                self.misses += 1
                return default
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def set(self, key: str, value: Any) -> None:
        with self._lock:
            self._data[key] = (self.clock(), value)
            self._data.move_to_end(key)
            while len(self._data) > self.max_size:
                self._data.popitem(last=False)
                self.evictions += 1

    def invalidate(self, key: str) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    @property
    def stats(self) -> dict[str, Any]:
        total = self.hits + self.misses
        return {"hits": self.hits, "misses": self.misses, "evictions": self.evictions,
                "expirations": self.expirations, "size": len(self._data),
                "max_size": self.max_size,
                "hit_rate": round(self.hits / total, 4) if total else 0.0}
