"""TerAgent plugin: TAPTracer, local traces you can learn from.

Served as the documented ``teragent.pipeline.tracing`` and exported from ``teragent``
(``teragent.TAPTracer``). Hookimpls only: ``[traces]`` in ``agent.toml`` turns on a
tracer for every agent the composition root builds (every model call of the run,
tool turns included), and ``teragent traces list|show|stats|export-dpo`` reads it.
"""

from __future__ import annotations

from typing import Any

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterCommand
from teragent.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "TAPTracer": "teragent_traces.tracer",
    "DPOPair": "teragent_traces.tracer",
    "DataConstitution": "teragent_traces.tracer",
    "TraceStats": "teragent_traces.tracer",
    "PairRefused": "teragent_traces.tracer",
    "TracesConfig": "teragent_traces.config",
}

__all__ = sorted(_EXPORTS)


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("traces", "teragent_traces.config:TracesConfig",
             description="Local request/response traces and DPO pairs (never uploaded)")


@hookimpl
def teragent_register_commands(register: RegisterCommand) -> None:
    register("traces", "teragent_traces.cli:cmd_traces",
             help="List, show, count and export (DPO pairs) the local model-call traces",
             add_arguments="teragent_traces.cli:args_traces")


@hookimpl
def teragent_observe_agent(config: dict[str, Any], workspace: str, bus: Any) -> Any:
    if "traces" not in config:
        return None
    from teragent_traces.config import tracer_for

    return tracer_for(config, workspace)


# Only the public names: the host probes this module for hook names it lacks.
__getattr__ = lazy_exports("teragent.pipeline.tracing", _EXPORTS, globals())
