"""TerAgent plugin: OpenTelemetry GenAI spans for every agent, exported over OTLP.

Hookimpls only. ``[otel]`` in ``agent.toml`` makes the composition root hand every
agent's event bus to :class:`~teragent_otel.spans.GenAISpans`, which turns the run's
events into spans following the OpenTelemetry GenAI semantic conventions. The SDK is
imported only when an agent is built with ``[otel]``.
"""

from __future__ import annotations

from typing import Any

from teragent import hookimpl
from teragent.hookspecs import Register

__all__ = ["force_flush"]


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("otel", "teragent_otel.config:OtelConfig",
             description="OpenTelemetry GenAI spans over OTLP (content off by default)")


@hookimpl
def teragent_observe_agent(config: dict[str, Any], workspace: str, bus: Any) -> Any:
    if "otel" not in config or bus is None:
        return None
    from teragent_otel.spans import observe

    observe(config, bus)
    return None


def force_flush(timeout_millis: int = 10_000) -> bool:
    """Export the spans still buffered by every tracer provider this plugin made."""
    from teragent_otel.config import flush_all

    return flush_all(timeout_millis)
