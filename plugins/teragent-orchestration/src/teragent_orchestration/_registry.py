"""This plugin's component registries, whichever host is current."""

from __future__ import annotations

from typing import Any

from teragent.plugins import get_host
from teragent.registry import ComponentRegistry

from teragent_orchestration import hookspecs


def registry(kind: str) -> ComponentRegistry[Any]:
    """The current host's ``kind`` registry ("patterns", "guardrails").

    The specs are added first (idempotent): in a host where this plugin is disabled
    the registry is then empty and a standard name raises ``MissingPluginError``.
    """
    host = get_host()
    host.add_hookspecs(hookspecs)
    return host.registry(kind)
