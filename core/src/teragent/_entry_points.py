"""The ``teragent`` entry points, remembered between runs.

Finding them means importing :mod:`importlib.metadata` (about 20 ms here: it brings
``email``, ``zipfile``, ``csv``...) and reading every installed distribution's metadata
(about 7 ms for 220 of them), on every start. The answer changes only when a
distribution is installed, removed or edited, so it is kept in a JSON file and used
again while nothing it depends on has changed:

* the interpreter and ``sys.path``, in order;
* the modification time of every ``sys.path`` entry (installing or removing a
  distribution adds or deletes its ``*.dist-info`` there, which changes the directory's);
* the modification time of each plugin distribution's ``entry_points.txt`` (an edit in
  place, which changes no directory).

The file is per interpreter, under ``$TERAGENT_CACHE_DIR``, else
``$XDG_CACHE_HOME/teragent``, else ``~/.cache/teragent``. ``TERAGENT_PLUGIN_CACHE=0``
turns the cache off. A cache that cannot be read or written is ignored (a scan is
always correct, only slower). docs/decisions/plugin-loading.md has the measurements.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import zlib
from importlib import import_module
from types import SimpleNamespace
from typing import Any, Iterable

_FORMAT = 1


class CachedEntryPoint:
    """What the plugin host reads of an :class:`importlib.metadata.EntryPoint`."""

    __slots__ = ("name", "value", "dist")

    def __init__(self, name: str, value: str, dist_name: str, dist_version: str) -> None:
        self.name, self.value = name, value
        self.dist = SimpleNamespace(name=dist_name, version=dist_version)

    def load(self) -> Any:
        """Import ``module[:attr.attr]``, as ``EntryPoint.load`` does."""
        module, _, attrs = self.value.partition(":")
        obj: Any = import_module(module.strip())
        for attr in attrs.split("[")[0].strip().split("."):
            obj = getattr(obj, attr) if attr else obj
        return obj


def cache_file(group: str) -> str:
    base = (os.environ.get("TERAGENT_CACHE_DIR")
            or os.path.join(os.environ.get("XDG_CACHE_HOME")
                            or os.path.join(os.path.expanduser("~"), ".cache"), "teragent"))
    tag = zlib.crc32(f"{sys.executable}\0{sys.prefix}".encode())
    return os.path.join(base, f"entry-points-{group}-{tag:08x}.json")


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return None


def _stamp() -> list[Any]:
    paths = [os.path.abspath(p or ".") for p in sys.path]
    return [sys.executable, sys.version, [[p, _mtime(p)] for p in paths]]


def _read(path: str) -> list[CachedEntryPoint] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if data["format"] != _FORMAT or data["stamp"] != _stamp():
            return None
        rows = data["entry_points"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if any(_mtime(row[4]) != row[5] for row in rows):
        return None
    return [CachedEntryPoint(*row[:4]) for row in rows]


def _write(path: str, eps: Iterable[Any]) -> None:
    rows = []
    for ep in eps:
        dist = ep.dist
        origin = str(getattr(dist, "_path", "") or "")  # PathDistribution's dist-info
        if not origin:
            return  # a distribution that is not files on disk: nothing to stamp it by
        file = os.path.join(origin, "entry_points.txt")
        rows.append([ep.name, ep.value, dist.name, dist.version, file, _mtime(file)])
    data = {"format": _FORMAT, "stamp": _stamp(), "entry_points": rows}
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def entry_points(group: str) -> list[Any]:
    """The entry points of ``group``: from the cache when it is current, else scanned
    (and the cache written)."""
    use_cache = os.environ.get("TERAGENT_PLUGIN_CACHE", "1").strip().lower() not in (
        "0", "false", "no", "off")
    path = cache_file(group)
    if use_cache:
        cached = _read(path)
        if cached is not None:
            return list(cached)
    from importlib.metadata import entry_points as scan

    eps = list(scan(group=group))
    if use_cache:
        _write(path, eps)
    return eps
