"""``AuthManager``: named credentials, and the one way requests get them.

Any HTTP-speaking plugin (OpenAPI toolsets, MCP servers over HTTP) asks the manager for
a credential by name and either passes :meth:`AuthManager.httpx_auth` to its httpx
client (which also renews an OAuth2 token once when the API answers 401) or asks for
:meth:`AuthManager.headers`. Credentials are declared in ``agent.toml``::

    [auth.github]
    type = "bearer"
    token_env = "GITHUB_TOKEN"

    [auth.billing]
    type = "oauth2_client_credentials"
    token_url = "https://auth.example.com/oauth/token"
    client_id_env = "BILLING_CLIENT_ID"
    client_secret_env = "BILLING_CLIENT_SECRET"
    scopes = ["invoices:read"]

and built with :meth:`AuthManager.from_config` (``[auth.*]``) or
:func:`credential_from_config` (one table, e.g. inline in another plugin's table).

Secrets stay out of logs and errors: credentials and their secrets print as ``***``,
:meth:`AuthManager.redact` removes every secret value the manager has seen from a text,
and while a manager is alive a filter on the ``httpx``/``httpcore`` loggers scrubs
those values from their records (httpx logs request URLs, where a query-string API key
travels).
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from teragent_auth.httpx_auth import HttpxAuth

from teragent.errors import UnknownComponentError, redact
from teragent_auth.credentials import (
    ApiKeyCredential, AuthCredential, BasicCredential, BearerCredential,
)

__all__ = ["AuthManager", "credential_from_config", "HttpxAuth"]


# --- keeping secrets out of httpx's own log records -------------------------------------

_MANAGERS: "weakref.WeakSet[AuthManager]" = weakref.WeakSet()


class _ScrubSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        secrets = [s for m in list(_MANAGERS) for s in m.secret_values()]
        if secrets:
            text = record.getMessage()
            clean = redact(text, secrets)
            if clean != text:
                record.msg, record.args = clean, None
        return True


_FILTER = _ScrubSecrets()


def _install_filter() -> None:
    for name in ("httpx", "httpcore"):
        log = logging.getLogger(name)
        if _FILTER not in log.filters:
            log.addFilter(_FILTER)


# --- the manager ---------------------------------------------------------------------


class AuthManager:
    """Named credentials (see the module docstring).

    Args:
        credentials: ``{name: AuthCredential}`` to start with.
    """

    def __init__(self, credentials: Mapping[str, AuthCredential] | None = None) -> None:
        self._creds: dict[str, AuthCredential] = {}
        for name, cred in (credentials or {}).items():
            self.add(name, cred)
        _MANAGERS.add(self)
        _install_filter()

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **options: Any) -> "AuthManager":
        """A manager holding every ``[auth.NAME]`` of a loaded ``agent.toml``.

        ``options`` go to every credential that takes them (``clock=``, ``transport=``
        for OAuth2)."""
        mgr = cls()
        for name, table in (config.get("auth") or {}).items():
            mgr.add(name, credential_from_config(table, name=name, **options))
        return mgr

    def add(self, name: str, credential: AuthCredential) -> None:
        if not isinstance(credential, AuthCredential):
            raise TypeError(f"credential {name!r} must be an AuthCredential, not "
                            f"{type(credential).__name__}")
        self._creds[name] = credential

    def get(self, name: str) -> AuthCredential:
        try:
            return self._creds[name]
        except KeyError:
            raise UnknownComponentError(
                "credential", name, self._creds,
                hint="Declare it as [auth.NAME] in agent.toml.") from None

    def __contains__(self, name: object) -> bool:
        return name in self._creds

    def names(self) -> list[str]:
        return list(self._creds)

    def httpx_auth(self, name: str) -> HttpxAuth:
        """An ``auth=`` for an :class:`httpx.AsyncClient` or one request."""
        from teragent_auth.httpx_auth import HttpxAuth

        return HttpxAuth(self.get(name))

    async def headers(self, name: str) -> dict[str, str]:
        """The headers credential ``name`` adds (for transports that take headers)."""
        return await self.get(name).headers()

    def secret_values(self) -> list[str]:
        return [s for c in self._creds.values() for s in c.secret_values()]

    def redact(self, text: str) -> str:
        """``text`` without any secret value this manager has seen, nor secret shapes."""
        return redact(text, self.secret_values()) or ""

    def __repr__(self) -> str:
        return f"AuthManager({', '.join(f'{n}={c!r}' for n, c in self._creds.items())})"


def credential_from_config(table: Any, *, name: str = "", **options: Any) -> AuthCredential:
    """One credential from an ``[auth.NAME]``-shaped table (a dict or an
    :class:`~teragent_auth.config.AuthCredentialConfig`)."""
    from teragent_auth.config import AuthCredentialConfig

    cfg = table if isinstance(table, AuthCredentialConfig) else \
        AuthCredentialConfig.model_validate(dict(table))
    if cfg.type == "bearer":
        return BearerCredential(token_env=cfg.token_env)
    if cfg.type == "api_key":
        return ApiKeyCredential(key_env=cfg.key_env, header=cfg.header, query=cfg.query,
                                prefix=cfg.prefix)
    if cfg.type == "basic":
        return BasicCredential(cfg.username, username_env=cfg.username_env,
                               password_env=cfg.password_env)
    from teragent_auth.oauth2 import OAuth2ClientCredentials

    assert cfg.token_url is not None
    return OAuth2ClientCredentials(
        cfg.token_url, cfg.client_id, client_id_env=cfg.client_id_env,
        client_secret_env=cfg.client_secret_env, scopes=cfg.scopes, audience=cfg.audience,
        auth_method=cfg.auth_method, refresh_margin=cfg.refresh_margin,
        timeout=cfg.timeout, name=name or cfg.token_url, **options)


def __getattr__(name: str) -> Any:
    if name == "HttpxAuth":  # its own module since httpx loads on first use
        from teragent_auth.httpx_auth import HttpxAuth

        return HttpxAuth
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
