"""``[openapi.NAME]`` tables of ``agent.toml``: one toolset each.

```toml
[openapi.pets]
spec = "specs/pets.yaml"            # a path (relative to agent.toml) or an http(s) URL
base_url = "https://pets.example.com/v2"   # default: the document's servers / host
auth = "pets"                       # an [auth.NAME] for every operation, or
security = { api_key = "PETS_API_KEY" }    # the document's security schemes -> variables
include = ["listPets", "getPet*"]   # operationIds, tool names, "GET /pets*", "tag:store"
exclude = ["deletePet"]
safety = { createPet = "read_only" }       # override the method's safety per operation
timeout = 30
retries = 2                         # idempotent calls answered 429/503
cache_ttl = 60                      # cache read-only results (teragent-cache)
```
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from teragent.secrets import is_secret_name, refuse_inline_secrets
from teragent_auth.config import AuthCredentialConfig, CredentialVariables

__all__ = ["OpenAPIToolsetConfig", "OpenAPIConfig", "SchemeCredentialConfig", "SafetyName"]

SafetyName = Literal["read_only", "safe_write", "destructive", "high_risk"]


class SchemeCredentialConfig(CredentialVariables):
    """The variables behind one of the document's security schemes; the kind (API key,
    bearer, basic, OAuth2) and where the value goes come from the document."""

    #: oauth2: the scopes asked for (default: every scope the document's operations list
    #: for this scheme).
    scopes: list[str] | None = None


class OpenAPIToolsetConfig(BaseModel):
    """One toolset (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    #: The document: a path (relative to agent.toml) or an http(s) URL; JSON or YAML.
    spec: str
    #: Default: the document's servers (OpenAPI 3) or host + basePath (Swagger 2).
    base_url: str | None = None
    #: Tool names are ``PREFIX_operationId``; default: the table's NAME.
    prefix: str | None = None
    #: An [auth.NAME] (or an inline credential table) for every operation; overrides
    #: ``security``.
    auth: str | AuthCredentialConfig | None = None
    #: security scheme name -> the variable holding its secret, or a table of them.
    security: dict[str, str | SchemeCredentialConfig] = Field(default_factory=dict)
    #: Globs over operationIds, tool names, "GET /path" and "tag:TAG"; empty: all.
    include: list[str] = Field(default_factory=list)
    #: Same globs; these operations get no tool.
    exclude: list[str] = Field(default_factory=list)
    #: operationId (or glob) -> safety, instead of the method's.
    safety: dict[str, SafetyName] = Field(default_factory=dict)
    #: Seconds for one request.
    timeout: float = Field(30.0, gt=0)
    #: Retries of idempotent calls (GET, HEAD, OPTIONS, PUT, DELETE) answered 429/503.
    retries: int = Field(2, ge=0, le=10)
    #: A Retry-After longer than this is not waited for (the call fails with it).
    max_retry_after: float = Field(60.0, ge=0)
    #: Seconds to keep read-only results (teragent-cache's ResultCache); none: no cache.
    cache_ttl: float | None = Field(None, gt=0)
    #: Entries of that cache (least recently used go first).
    cache_size: int = Field(256, ge=1)
    #: Longer responses are cut (the tool says so).
    max_response_chars: int = Field(20000, ge=100)
    #: Extra non-secret headers on every request (secrets go through auth/security).
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        data = refuse_inline_secrets(data, cls.model_fields)
        if isinstance(data, dict) and isinstance(data.get("headers"), dict):
            for header in data["headers"]:
                if is_secret_name(str(header)):
                    raise ValueError(
                        f"headers: {header!r} carries a secret; declare it as a credential "
                        "instead ([auth.NAME] with type = \"api_key\" and header = "
                        f"\"{header}\", then auth = \"NAME\")")
        return data


class OpenAPIConfig(RootModel[dict[str, OpenAPIToolsetConfig]]):
    """``[openapi]``: ``[openapi.NAME]`` tables, one toolset each."""
