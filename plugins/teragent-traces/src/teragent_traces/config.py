"""``[traces]``: whether every agent's model calls are traced, and where."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["TracesConfig", "DEFAULT_DIR", "trace_dir_for", "tracer_for"]

#: Inside the kernel's protected ``.teragent/``: the agent's own tools cannot rewrite
#: or delete its traces.
DEFAULT_DIR = ".teragent/traces"


class TracesConfig(BaseModel):
    """``[traces]``.

    Attributes:
        enabled: Trace every model call of every agent built from this config.
        dir: The trace directory, relative to the workspace (default
            ``.teragent/traces``).
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    dir: str = DEFAULT_DIR


def trace_dir_for(config: dict[str, Any] | None, workspace: str | os.PathLike[str]) -> Path:
    """The trace directory ``[traces] dir`` names, resolved against ``workspace``."""
    table = (config or {}).get("traces") or {}
    path = Path(os.path.expanduser(str(table.get("dir") or DEFAULT_DIR)))
    return path if path.is_absolute() else Path(workspace) / path


_TRACERS: dict[str, Any] = {}
_LOCK = threading.Lock()


def tracer_for(config: dict[str, Any], workspace: str | os.PathLike[str]) -> Any:
    """The process's one :class:`TAPTracer` for the configured directory (``None``
    when ``[traces] enabled = false``). One per directory, so nested agents built
    from the same config share it and record each call once."""
    from teragent.config.loader import validate_table

    cfg = validate_table(config, "traces", TracesConfig)
    if not cfg.enabled:
        return None
    directory = os.path.realpath(trace_dir_for(config, workspace))
    with _LOCK:
        tracer = _TRACERS.get(directory)
        if tracer is None:
            from teragent_traces.tracer import TAPTracer

            tracer = _TRACERS[directory] = TAPTracer(trace_dir=directory)
        return tracer
