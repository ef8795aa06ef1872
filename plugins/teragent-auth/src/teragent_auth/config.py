"""``[auth.NAME]`` tables of ``agent.toml``: one credential each, secrets by variable name.

Secret values never go in ``agent.toml``: a key such as ``token`` or ``client_secret``
is refused with the ``*_env`` key to use instead (the project's one vocabulary of secret
names, :func:`teragent.secrets.is_secret_name`, decides what counts as one).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, model_validator

from teragent.secrets import refuse_inline_secrets

__all__ = ["AuthCredentialConfig", "AuthConfig", "CredentialType", "CredentialVariables"]

CredentialType = Literal["bearer", "api_key", "basic", "oauth2_client_credentials"]

_NEEDS: dict[str, tuple[str, ...]] = {
    "bearer": ("token_env",),
    "api_key": ("key_env",),
    "basic": ("password_env",),
    "oauth2_client_credentials": ("token_url", "client_secret_env"),
}


class CredentialVariables(BaseModel):
    """The keys a credential's secrets are read through, shared by an ``[auth.NAME]``
    table and an ``[openapi.NAME.security]`` scheme (whose kind comes from the
    document). A secret itself is refused; its ``*_env`` key names the variable."""

    model_config = ConfigDict(extra="forbid")

    #: bearer: the variable holding the token.
    token_env: str | None = None
    #: api_key: the variable holding the key.
    key_env: str | None = None
    #: basic: the user (or the variable holding it) and the variable holding the password.
    username: str | None = None
    username_env: str | None = None
    password_env: str | None = None
    #: oauth2_client_credentials
    client_id: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    audience: str | None = None
    auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"
    refresh_margin: float = Field(30.0, ge=0)
    timeout: float = Field(10.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        return refuse_inline_secrets(data, cls.model_fields)


class AuthCredentialConfig(CredentialVariables):
    """One credential. ``type`` picks the kind; each kind reads its own keys."""

    type: CredentialType
    #: api_key: where the key goes (a header by default).
    header: str | None = None
    query: str | None = None
    prefix: str = ""
    #: oauth2_client_credentials: the token endpoint, and the scopes asked for.
    token_url: str | None = None
    scopes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _complete(self) -> "AuthCredentialConfig":
        missing = [k for k in _NEEDS[self.type] if not getattr(self, k)]
        if missing:
            raise ValueError(f"a {self.type} credential needs {' and '.join(missing)}; "
                             f"add {missing[0]} = ...")
        if self.type == "api_key" and self.header and self.query:
            raise ValueError("an API key goes in a header or in the query: keep one of "
                             "header and query")
        if self.type == "basic" and not (self.username or self.username_env):
            raise ValueError("a basic credential needs username or username_env; add one")
        if self.type == "oauth2_client_credentials" and not (
                self.client_id or self.client_id_env):
            raise ValueError("an oauth2_client_credentials credential needs client_id or "
                             "client_id_env; add one")
        return self


class AuthConfig(RootModel[dict[str, AuthCredentialConfig]]):
    """``[auth]``: ``[auth.NAME]`` tables, one credential each."""
