"""OAuth2 client credentials (RFC 6749 section 4.4): a token fetched from the token
endpoint, cached until shortly before it expires, renewed when it is about to expire
or when the API answers 401, and fetched once however many requests wait for it.

Time comes from an injectable ``clock`` (``time.monotonic`` by default) so expiry can
be tested without waiting. The token endpoint is called with a short-lived client of
its own; the client secret goes in the ``Authorization: Basic`` header
(``client_secret_basic``, the default) or in the form (``client_secret_post``).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import weakref
from typing import Any, Callable, Iterable
from urllib.parse import quote

import httpx

from teragent.errors import redact
from teragent_auth.credentials import AuthCredential, AuthError, Secret, SecretSource, _source

__all__ = ["OAuth2ClientCredentials"]

logger = logging.getLogger(__name__)


class OAuth2ClientCredentials(AuthCredential):
    """A bearer token from an OAuth2 token endpoint (client-credentials grant).

    Args:
        token_url: The token endpoint.
        client_id: The client id, or ``client_id_env``.
        client_secret: The client secret, or ``client_secret_env``.
        scopes: Scopes to ask for (space-joined in ``scope``).
        audience: Sent as ``audience`` when given (Auth0 and others want it).
        auth_method: ``"client_secret_basic"`` (default) or ``"client_secret_post"``.
        refresh_margin: Renew this many seconds before expiry (at most half the
            token's lifetime).
        timeout: Seconds for a token request.
        clock: Monotonic seconds (inject one in tests).
        transport: An ``httpx.AsyncBaseTransport`` for the token requests (tests).
        name: Shown in errors ("OAuth2 token for NAME").
    """

    scheme = "oauth2_client_credentials"
    refreshable = True

    def __init__(self, token_url: str, client_id: str | None = None,
                 client_secret: "Secret | str | None" = None, *,
                 client_id_env: str | None = None, client_secret_env: str | None = None,
                 scopes: Iterable[str] = (), audience: str | None = None,
                 auth_method: str = "client_secret_basic", refresh_margin: float = 30.0,
                 timeout: float = 10.0, clock: Callable[[], float] = time.monotonic,
                 transport: httpx.AsyncBaseTransport | None = None,
                 name: str = "") -> None:
        if auth_method not in ("client_secret_basic", "client_secret_post"):
            raise ValueError("auth_method must be 'client_secret_basic' or "
                             "'client_secret_post'")
        if client_id is None and not client_id_env:
            raise ValueError("OAuth2: give client_id or client_id_env")
        self.token_url = token_url
        self._client_id = client_id
        self.client_id_env = client_id_env
        self.client_secret: SecretSource = _source(client_secret, client_secret_env,
                                                   "OAuth2 client secret")
        self.scopes = list(scopes)
        self.audience = audience
        self.auth_method = auth_method
        self.refresh_margin = float(refresh_margin)
        self.timeout = float(timeout)
        self.clock = clock
        self.transport = transport
        self.name = name or token_url
        #: Token requests made so far (each one a round trip to the token endpoint).
        self.fetches = 0
        self._token: Secret | None = None
        self._renew_at = 0.0
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = \
            weakref.WeakKeyDictionary()

    @property
    def client_id(self) -> str:
        if self._client_id is None:
            from teragent.config.secrets import resolve_api_key

            self._client_id = resolve_api_key(self.client_id_env, provider="OAuth2 client id")
        assert self._client_id is not None
        return self._client_id

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock

    def _valid(self) -> bool:
        return self._token is not None and self.clock() < self._renew_at

    async def token(self) -> Secret:
        """The current access token, fetching or renewing it when needed; concurrent
        callers share one fetch."""
        if self._valid():
            assert self._token is not None
            return self._token
        async with self._lock():
            if not self._valid():  # another caller may have renewed it meanwhile
                await self._fetch()
            assert self._token is not None
            return self._token

    async def apply(self, request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {(await self.token()).reveal()}"

    async def invalidate(self, used: str | None = None) -> None:
        """Drop the token the server refused (only if it is still the current one, so
        many 401s for one token cause one renewal)."""
        if self._token is None:
            return
        if used is None or used in (self._token.reveal(), f"Bearer {self._token.reveal()}"):
            self._token = None
            self._renew_at = 0.0

    def secret_values(self) -> list[str]:
        out = [v for v in (self.client_secret.known(),) if v]
        if self._token is not None:
            out.append(self._token.reveal())
        return out

    def _fields(self) -> dict[str, Any]:
        cid = self._client_id if self._client_id is not None else f"${self.client_id_env}"
        return {"token_url": self.token_url, "client_id": cid,
                "client_secret": self.client_secret, "scopes": self.scopes}

    def _fail(self, what: str) -> AuthError:
        where = (f"{self.client_id_env or 'the client id'} / "
                 f"{self.client_secret.env or 'the client secret'}")
        text = redact(f"OAuth2 token for {self.name}: {what}; check {where} and the token "
                      f"URL {self.token_url}", self.secret_values()) or ""
        return AuthError(text)

    async def _fetch(self) -> None:
        form: dict[str, str] = {"grant_type": "client_credentials"}
        if self.scopes:
            form["scope"] = " ".join(self.scopes)
        if self.audience:
            form["audience"] = self.audience
        headers = {"Accept": "application/json"}
        secret = self.client_secret.get().reveal()
        if self.auth_method == "client_secret_basic":
            # RFC 6749 2.3.1: both parts form-urlencoded before base64
            pair = f"{quote(self.client_id, safe='')}:{quote(secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:
            form.update(client_id=self.client_id, client_secret=secret)
        started = self.clock()
        self.fetches += 1
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as c:
                response = await c.post(self.token_url, data=form, headers=headers)
        except httpx.HTTPError as exc:
            raise self._fail(f"the token endpoint could not be reached "
                             f"({type(exc).__name__})") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            detail = ""
            if isinstance(body, dict) and body.get("error"):
                detail = f" {body.get('error')}"
                if body.get("error_description"):
                    detail += f": {body.get('error_description')}"
            raise self._fail(f"the token endpoint answered HTTP {response.status_code}"
                             f"{detail}")
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise self._fail("the token endpoint's answer has no access_token")
        kind = str(body.get("token_type") or "bearer").lower()
        if kind != "bearer":
            raise self._fail(f"the token endpoint issued a {kind!r} token; only bearer "
                             "tokens are supported")
        lifetime = body.get("expires_in")
        try:
            seconds = float(lifetime) if lifetime is not None else None
        except (TypeError, ValueError):
            seconds = None
        self._token = Secret(token)
        if seconds is None:
            self._renew_at = float("inf")  # renewed when the API answers 401
        else:
            margin = min(self.refresh_margin, seconds / 2)
            self._renew_at = started + seconds - margin
        logger.debug("OAuth2 token for %s fetched (expires in %s s)", self.name,
                     "?" if seconds is None else f"{seconds:g}")
