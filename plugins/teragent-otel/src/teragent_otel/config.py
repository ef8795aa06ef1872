"""``[otel]``: where spans go and what they may contain; the plugin's tracer providers."""

from __future__ import annotations

import threading
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = ["OtelConfig", "tracer_for", "flush_all"]


class OtelConfig(BaseModel):
    """``[otel]``.

    Attributes:
        enabled: Emit spans for agents built from this config.
        endpoint: The OTLP/HTTP traces URL (``http://collector:4318/v1/traces``).
            Default: the SDK's ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` /
            ``OTEL_EXPORTER_OTLP_ENDPOINT`` environment variables, else
            ``http://localhost:4318/v1/traces``.
        service_name: The ``service.name`` resource attribute.
        agent_name: ``gen_ai.agent.name`` of the ``invoke_agent`` spans.
        capture_content: Put prompts, answers, tool arguments and results on the spans
            (``gen_ai.input.messages``, ``gen_ai.output.messages``,
            ``gen_ai.tool.call.arguments``/``result``), redacted. Off by default:
            content often holds personal or secret data.
        use_global_provider: Use the application's global tracer provider (its own
            exporters) instead of an OTLP exporter made from ``endpoint``.
        timeout: Seconds for one export request.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    endpoint: str | None = None
    service_name: str = "teragent"
    agent_name: str = "teragent"
    capture_content: bool = False
    use_global_provider: bool = False
    timeout: float = 10.0


_PROVIDERS: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()


def tracer_for(cfg: OtelConfig) -> Any:
    """An OpenTelemetry tracer for ``cfg``: one SDK tracer provider (batch processor,
    OTLP/HTTP exporter) per endpoint and service name, shared by every agent."""
    from opentelemetry import trace

    if cfg.use_global_provider:
        return trace.get_tracer("teragent")
    key = (cfg.endpoint, cfg.service_name, cfg.timeout)
    with _LOCK:
        provider = _PROVIDERS.get(key)
        if provider is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider = TracerProvider(resource=Resource.create(
                {"service.name": cfg.service_name}))
            exporter = OTLPSpanExporter(endpoint=cfg.endpoint, timeout=cfg.timeout) \
                if cfg.endpoint else OTLPSpanExporter(timeout=cfg.timeout)
            provider.add_span_processor(BatchSpanProcessor(exporter))
            _PROVIDERS[key] = provider
    return provider.get_tracer("teragent")


def flush_all(timeout_millis: int = 10_000) -> bool:
    with _LOCK:
        providers = list(_PROVIDERS.values())
    return all(p.force_flush(timeout_millis) for p in providers)
