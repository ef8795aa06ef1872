"""Multi-model routing: :class:`ModelRouter`, :class:`RoutingTable`, pipeline profiles.

The routing data (drivers per intent, context sizes, prices, fallbacks, profiles)
ships as ``teragent_router/defaults.toml`` and is overridden by ``[routing]`` in
``agent.toml``; the router's code names no vendor.

The package is served as the documented ``teragent.router`` and is also a plugin: its
only hookimpl registers the ``agent.toml`` tables the router reads. The names are
imported on first use, so discovering the plugin stays cheap.
"""

from __future__ import annotations

from typing import Any

from teragent import hookimpl
from teragent.lazy import lazy_exports
from teragent.hookspecs import Register

_EXPORTS: dict[str, str] = {
    "ModelRouter": "teragent_router.router",
    "RoutingDecision": "teragent_router.router",
    "RoutingReason": "teragent_router.router",
    "RoutingTable": "teragent_router.table",
    "PipelineManager": "teragent_router.profiles",
    "PipelineProfile": "teragent_router.profiles",
    "STAGES": "teragent_router.profiles",
}

__all__ = sorted(_EXPORTS)


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("routing", "teragent_router.table:RoutingTable",
             description="Model routing: intents, modalities, budget")
    register("execution", "teragent_router.config:ExecutionConfig",
             description="[execution.pipeline]: the driver of each stage")
    register("pipeline", "teragent_router.config:PipelineConfig",
             description="[pipeline.profiles.<name>]: named stage-driver profiles")


# Only the public names: the host probes this module for hook names it lacks.
__getattr__ = lazy_exports("teragent.router", _EXPORTS, globals())

