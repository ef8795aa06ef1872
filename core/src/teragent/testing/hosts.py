"""An isolated plugin host for tests: only the plugins a test asks for."""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

from teragent.plugins import PluginHost, use_host

__all__ = ["isolated_host"]


@contextlib.contextmanager
def isolated_host(*plugins: Any, entrypoints: bool = False,
                  builtin: bool = True) -> Iterator[PluginHost]:
    """Make a fresh host (builtin + ``plugins``; entry points only if asked) the
    process-wide host for the duration of the block."""
    host = PluginHost(load_entrypoints=entrypoints, include_builtin=builtin)
    for i, plugin in enumerate(plugins):
        host.add_plugin(plugin, name=getattr(plugin, "__name__", None) or f"test-plugin-{i}")
    with use_host(host):
        yield host
