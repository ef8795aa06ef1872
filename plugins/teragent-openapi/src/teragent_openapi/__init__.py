"""TerAgent plugin: tools generated from OpenAPI 3.0/3.1 and Swagger 2.0 documents.

Each ``[openapi.NAME]`` of ``agent.toml`` becomes a tool pack (one shared HTTP client,
started with the first call and stopped with the agent) whose tools are ordinary
TerAgent tools: the guard chain, the audit log and approvals apply, and their safety
comes from the HTTP method (GET/HEAD read-only, POST/PUT/PATCH write, DELETE
destructive) unless overridden. Only hookimpls live here; the names are imported on
first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register, RegisterTool
from teragent.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "OpenAPIToolset": "teragent_openapi.toolset",
    "ConfiguredToolsets": "teragent_openapi.pack",
    "build_toolsets": "teragent_openapi.toolset",
    "credential_for_scheme": "teragent_openapi.toolset",
    "OpenAPITool": "teragent_openapi.tools",
    "method_safety": "teragent_openapi.tools",
    "Document": "teragent_openapi.spec",
    "Operation": "teragent_openapi.spec",
    "SpecError": "teragent_openapi.spec",
    "load_document": "teragent_openapi.spec",
    "parse_document": "teragent_openapi.spec",
    "to_json_schema": "teragent_openapi.spec",
    "OpenAPIToolsetConfig": "teragent_openapi.config",
    "OpenAPIConfig": "teragent_openapi.config",
}

__all__ = sorted(_EXPORTS)


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("openapi", "teragent_openapi.config:OpenAPIConfig",
             description="Toolsets generated from OpenAPI documents ([openapi.NAME])")


@hookimpl
def teragent_register_tools(register: RegisterTool) -> None:
    # A pack class taking the loaded agent.toml: the composition root builds it per agent.
    register("teragent_openapi.pack:ConfiguredToolsets", name="openapi")


__getattr__ = lazy_exports("teragent_openapi", _EXPORTS, globals())
