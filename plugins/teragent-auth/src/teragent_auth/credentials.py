"""``AuthCredential`` and its kinds: bearer, API key (header or query), basic, and OAuth2
client credentials (in :mod:`teragent_auth.oauth2`).

A credential knows how to put itself on an :class:`httpx.Request` (:meth:`apply`). Its
secret parts are :class:`Secret` values: ``repr``/``str`` show ``***``, pickling is
refused, and the value is read only where it goes on the wire (:meth:`Secret.reveal`).
A secret is given directly (``Secret("...")``, for programs) or named by an environment
variable (``token_env="GITHUB_TOKEN"``), resolved on first use through the kernel's one
key lookup (:func:`teragent.config.secrets.resolve_api_key`: the environment, ``.env``
files, then ``teragent keys``), so a missing key fails when it is needed, naming the
variable to set.
"""

from __future__ import annotations

import base64
import hmac
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:  # httpx (~90 ms) is loaded by whoever sends the request
    import httpx

__all__ = ["Secret", "SecretSource", "AuthCredential", "BearerCredential", "ApiKeyCredential",
           "BasicCredential", "AuthError"]


class AuthError(Exception):
    """A credential could not be obtained (token endpoint refused, bad answer).

    The message names the credential and the fix, never a secret value."""


class Secret:
    """A secret string that does not show itself: ``repr``/``str`` give ``***``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret holds a string")
        self._value = value

    def reveal(self) -> str:
        """The value, for the one place it goes on the wire."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"

    def __format__(self, spec: str) -> str:
        return "***"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        raise TypeError("secrets are not pickled; pass the environment variable's name")

    def __bool__(self) -> bool:
        return bool(self._value)


class SecretSource:
    """Where a secret comes from: a :class:`Secret` given directly, or an environment
    variable resolved on first use (and cached)."""

    __slots__ = ("env", "what", "_secret")

    def __init__(self, value: "Secret | str | None" = None, *, env: str | None = None,
                 what: str = "credential") -> None:
        if value is None and not env:
            raise ValueError(f"{what}: give the value or the environment variable naming it")
        self.env = env
        self.what = what
        self._secret = value if isinstance(value, Secret) or value is None else Secret(value)

    def get(self) -> Secret:
        if self._secret is None:
            from teragent.config.secrets import resolve_api_key

            value = resolve_api_key(self.env, provider=self.what)
            assert value is not None  # required=True raises instead
            self._secret = Secret(value)
        return self._secret

    def known(self) -> str | None:
        """The value if already resolved (for redaction), else ``None``."""
        return self._secret.reveal() if self._secret is not None else None

    def __repr__(self) -> str:
        return f"${self.env}" if self.env else "***"


def _source(value: Any, env: str | None, what: str) -> SecretSource:
    if isinstance(value, SecretSource):
        return value
    return SecretSource(value, env=env, what=what)


class AuthCredential:
    """Base class: a way to authenticate HTTP requests.

    Subclasses implement :meth:`apply`; a credential that can be renewed (OAuth2) sets
    :attr:`refreshable` and implements :meth:`invalidate`."""

    scheme: ClassVar[str] = ""
    refreshable: ClassVar[bool] = False

    async def apply(self, request: httpx.Request) -> None:
        raise NotImplementedError

    async def headers(self) -> dict[str, str]:
        """The headers this credential adds (for clients that take headers, not an
        :class:`httpx.Auth`; a query-string key adds none)."""
        import httpx

        request = httpx.Request("GET", "http://credential.invalid/")
        before = set(request.headers.keys())
        await self.apply(request)
        return {k: v for k, v in request.headers.items() if k not in before}

    async def invalidate(self, used: str | None = None) -> None:
        """Forget a value the server refused (401); the next :meth:`apply` renews it."""

    def secret_values(self) -> list[str]:
        """The secret values known so far (for redaction); never shown."""
        return []

    def _fields(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" if not isinstance(v, (Secret, SecretSource))
                          else f"{k}=***" for k, v in self._fields().items())
        return f"{type(self).__name__}({inner})"

    __str__ = __repr__


class BearerCredential(AuthCredential):
    """``Authorization: Bearer <token>``.

    Args:
        token: The token (a :class:`Secret` or string), or
        token_env: the environment variable holding it.
    """

    scheme = "bearer"

    def __init__(self, token: "Secret | str | None" = None, *,
                 token_env: str | None = None) -> None:
        self.token = _source(token, token_env, "bearer token")

    async def apply(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {self.token.get().reveal()}"

    def secret_values(self) -> list[str]:
        return [v for v in (self.token.known(),) if v]

    def _fields(self) -> dict[str, Any]:
        return {"token": self.token}


class ApiKeyCredential(AuthCredential):
    """An API key in a header (default ``X-API-Key``) or a query parameter.

    Args:
        key: The key, or
        key_env: the environment variable holding it.
        header: Header name (when ``query`` is not given).
        query: Query parameter name (the key then travels in the URL: prefer a
            header when the API allows one).
        prefix: Put before the key in the header (``"Token "``).
    """

    scheme = "api_key"

    def __init__(self, key: "Secret | str | None" = None, *, key_env: str | None = None,
                 header: str | None = None, query: str | None = None,
                 prefix: str = "") -> None:
        if header and query:
            raise ValueError("an API key goes in a header or in the query, not both")
        self.key = _source(key, key_env, "API key")
        self.query = query
        self.header = None if query else (header or "X-API-Key")
        self.prefix = prefix

    async def apply(self, request: httpx.Request) -> None:
        value = self.key.get().reveal()
        if self.query:
            request.url = request.url.copy_merge_params({self.query: value})
        else:
            assert self.header is not None
            request.headers[self.header] = self.prefix + value

    def secret_values(self) -> list[str]:
        return [v for v in (self.key.known(),) if v]

    def _fields(self) -> dict[str, Any]:
        where = {"query": self.query} if self.query else {"header": self.header}
        return {**where, "key": self.key}


class BasicCredential(AuthCredential):
    """HTTP basic: ``Authorization: Basic base64(user:password)``.

    Args:
        username: The user name (not a secret), or ``username_env``.
        password: The password, or ``password_env``.
    """

    scheme = "basic"

    def __init__(self, username: str | None = None, password: "Secret | str | None" = None,
                 *, username_env: str | None = None,
                 password_env: str | None = None) -> None:
        if username is None and not username_env:
            raise ValueError("basic auth: give username or username_env")
        self._username = username
        self.username_env = username_env
        self.password = _source(password, password_env, "basic-auth password")

    @property
    def username(self) -> str:
        if self._username is None:
            from teragent.config.secrets import resolve_api_key

            self._username = resolve_api_key(self.username_env, provider="basic-auth user")
        assert self._username is not None
        return self._username

    async def apply(self, request: httpx.Request) -> None:
        raw = f"{self.username}:{self.password.get().reveal()}".encode()
        request.headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()

    def secret_values(self) -> list[str]:
        out = [v for v in (self.password.known(),) if v]
        if out and self._username is not None:
            out.append(base64.b64encode(f"{self._username}:{out[0]}".encode()).decode())
        return out

    def _fields(self) -> dict[str, Any]:
        user = self._username if self._username is not None else f"${self.username_env}"
        return {"username": user, "password": self.password}
