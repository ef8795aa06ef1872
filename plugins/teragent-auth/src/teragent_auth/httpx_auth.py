"""``HttpxAuth``: credentials as an :class:`httpx.Auth` (its own module: subclassing
``httpx.Auth`` imports httpx, ~90 ms, which building an agent should not pay)."""

from __future__ import annotations

from typing import Any, AsyncGenerator

import httpx

from teragent_auth.credentials import AuthCredential

__all__ = ["HttpxAuth"]


class HttpxAuth(httpx.Auth):
    """An :class:`httpx.Auth` applying one or more credentials (an operation may need an
    API key *and* a token); a 401 answer when one of them is renewable (OAuth2) drops
    that token and retries the request once with a new one."""

    def __init__(self, *credentials: AuthCredential) -> None:
        self.credentials = credentials

    @property
    def credential(self) -> AuthCredential:
        return self.credentials[0]

    def sync_auth_flow(self, request: httpx.Request) -> Any:
        raise RuntimeError("TerAgent credentials apply to async clients (httpx.AsyncClient)")

    async def async_auth_flow(self, request: httpx.Request
                              ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        for cred in self.credentials:
            await cred.apply(request)
        response = yield request
        renewable = [c for c in self.credentials if c.refreshable]
        if response.status_code == 401 and renewable:
            await response.aread()
            used = request.headers.get("Authorization")
            for cred in renewable:
                await cred.invalidate(used)
            for cred in self.credentials:
                await cred.apply(request)
            yield request
