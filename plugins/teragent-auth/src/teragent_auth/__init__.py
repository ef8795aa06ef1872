"""TerAgent plugin: ``AuthManager`` and ``AuthCredential``.

Credentials for HTTP-speaking plugins (OpenAPI toolsets, MCP servers over HTTP):
bearer tokens, API keys in a header or the query, HTTP basic, and OAuth2 client
credentials with caching and renewal. Secrets print as ``***`` and are scrubbed from
errors and httpx's log records. ``[auth.NAME]`` tables of ``agent.toml`` declare them.

Only hookimpls live here; the names are imported on first use.
"""

from __future__ import annotations

from teragent import hookimpl
from teragent.hookspecs import Register
from teragent.lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "AuthManager": "teragent_auth.manager",
    "HttpxAuth": "teragent_auth.httpx_auth",
    "credential_from_config": "teragent_auth.manager",
    "AuthCredential": "teragent_auth.credentials",
    "AuthError": "teragent_auth.credentials",
    "Secret": "teragent_auth.credentials",
    "SecretSource": "teragent_auth.credentials",
    "BearerCredential": "teragent_auth.credentials",
    "ApiKeyCredential": "teragent_auth.credentials",
    "BasicCredential": "teragent_auth.credentials",
    "OAuth2ClientCredentials": "teragent_auth.oauth2",
    "AuthCredentialConfig": "teragent_auth.config",
    "AuthConfig": "teragent_auth.config",
}

__all__ = sorted(_EXPORTS)


@hookimpl
def teragent_register_config_tables(register: Register) -> None:
    register("auth", "teragent_auth.config:AuthConfig",
             description="Named credentials ([auth.NAME]) for HTTP tools and servers")


__getattr__ = lazy_exports("teragent_auth", _EXPORTS, globals())
