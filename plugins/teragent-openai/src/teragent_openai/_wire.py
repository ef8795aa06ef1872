"""One HTTP exchange, on httpx or straight on aiohttp, behind one small interface.

:class:`~teragent_openai.chat.ChatCompletionsAdapter` writes its send and stream paths
once, against :class:`Exchange`: ``status_code``, ``headers`` (case-insensitive),
``read()``, ``chunks()``, ``close()``, and ``errors`` (the transport exceptions that
:func:`teragent.core.http.map_http_error` translates).

- :class:`HttpxExchange` wraps an ``httpx.Response`` from the adapter's pooled
  ``httpx.AsyncClient``: used for an injected ``httpx.AsyncBaseTransport`` (tests pass
  ``MockTransport`` or ``ASGITransport``) and for ``transport="httpx"``.
- :class:`AiohttpExchange` wraps an ``aiohttp.ClientResponse`` from one pooled
  ``aiohttp.ClientSession`` per adapter: the default transport when aiohttp is
  installed. It skips httpx's Request/Response layer, which cost a third of an agent
  loop's client time (``docs/decisions/http-transport.md``).

Timeouts mean the same on both: ``timeout`` bounds connecting (at most 30 s) and each
read, not a whole stream. Bodies are encoded as httpx encodes ``json=`` (compact
separators, UTF-8), so the bytes on the wire do not depend on the transport.
"""

from __future__ import annotations

import importlib.util
import json
import os
from typing import TYPE_CHECKING, Any, AsyncIterator, Mapping

if TYPE_CHECKING:  # httpx loads with the first httpx client (see make_async_client)
    import asyncio  # loads with the first request, not with the adapter

    import httpx

from teragent.core.http import DEFAULT_TRANSPORT, TRANSPORT_ENV, resolve_transport
from teragent.errors import MissingPluginError

__all__ = ["wants_aiohttp", "encode_json", "HttpxExchange", "AiohttpExchange",
           "AiohttpPool"]

# The same pool size as teragent.core.http's httpx limits.
_MAX_CONNECTIONS = 200
_KEEPALIVE = 30.0


def wants_aiohttp(transport: Any) -> bool:
    """Whether ``transport`` (an adapter's ``transport`` argument) selects the direct
    aiohttp path: ``"aiohttp"``, or ``None`` with ``TERAGENT_HTTP_TRANSPORT`` unset or
    ``aiohttp`` and aiohttp installed. An instance or ``"httpx"`` keeps httpx.

    Raises:
        UserError: for an unknown transport name (as :func:`resolve_transport`).
        MissingPluginError: for an explicit ``"aiohttp"`` without aiohttp installed.
    """
    if transport is not None and not isinstance(transport, str):
        return False
    name = transport
    if name is None:
        name = os.environ.get(TRANSPORT_ENV, "").strip().lower() or None
    explicit = name is not None
    name = (name or DEFAULT_TRANSPORT).lower()
    if name != "aiohttp":
        resolve_transport(name)  # validates the name
        return False
    # find_spec, not import: importing aiohttp costs ~150 ms, paid at the first request
    if importlib.util.find_spec("aiohttp") is None:
        if explicit:
            raise MissingPluginError("The 'aiohttp' HTTP transport",
                                     "teragent[aiohttp]") from None
        return False
    return True


def encode_json(body: Any) -> bytes:
    """``body`` as httpx's ``json=`` encodes it."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


class HttpxExchange:
    """An exchange on the adapter's ``httpx.AsyncClient``."""

    def __init__(self, response: httpx.Response) -> None:
        import httpx

        self.errors: tuple[type[BaseException], ...] = (httpx.HTTPError,)
        self.response = response
        self.status_code = response.status_code
        self.headers: Mapping[str, str] = response.headers

    @classmethod
    async def open(cls, client: httpx.AsyncClient, path: str, body: bytes,
                   headers: dict[str, str], timeout: float | None,
                   stream: bool) -> "HttpxExchange":
        import httpx

        kw: dict[str, Any] = {}
        if timeout is not None:
            kw["timeout"] = httpx.Timeout(timeout, connect=min(timeout, 30.0))
        request = client.build_request("POST", path, content=body, headers=headers, **kw)
        return cls(await client.send(request, stream=stream))

    async def read(self) -> bytes:
        return await self.response.aread()

    def chunks(self) -> AsyncIterator[bytes]:
        return self.response.aiter_bytes()

    async def close(self) -> None:
        await self.response.aclose()


class AiohttpPool:
    """One ``aiohttp.ClientSession`` per adapter, created lazily inside the running
    event loop (a session belongs to the loop it was made in)."""

    def __init__(self, base_url: str, headers: Mapping[str, str], timeout: float) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self.headers = dict(headers)
        self.timeout = timeout
        self._session: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.errors: tuple[type[BaseException], ...] = ()

    def session(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._loop is not loop:
            import aiohttp

            self.errors = (aiohttp.ClientError, asyncio.TimeoutError)
            self._session = aiohttp.ClientSession(
                headers=self.headers, timeout=self.client_timeout(self.timeout),
                connector=aiohttp.TCPConnector(limit=_MAX_CONNECTIONS,
                                               keepalive_timeout=_KEEPALIVE))
            self._loop = loop
        return self._session

    @staticmethod
    def client_timeout(seconds: float) -> Any:
        import aiohttp

        # httpx's Timeout(t, connect=min(t, 30)): connect, then each read, not a total.
        return aiohttp.ClientTimeout(total=None, sock_connect=min(seconds, 30.0),
                                     sock_read=seconds)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            try:
                await session.close()
            except RuntimeError:  # its loop has ended; nothing left to release
                pass


class AiohttpExchange:
    """An exchange on the adapter's :class:`AiohttpPool`."""

    def __init__(self, response: Any, errors: tuple[type[BaseException], ...]) -> None:
        self.response = response
        self.errors = errors
        self.status_code: int = response.status
        self.headers: Mapping[str, str] = response.headers
        self.body: bytes | None = None

    @classmethod
    async def open(cls, pool: AiohttpPool, path: str, body: bytes,
                   headers: dict[str, str], timeout: float | None,
                   stream: bool) -> "AiohttpExchange":
        session = pool.session()
        kw: dict[str, Any] = {}
        if timeout is not None:
            kw["timeout"] = pool.client_timeout(timeout)
        response = await session.post(pool.base_url + path, data=body, headers=headers,
                                      **kw)
        exchange = cls(response, pool.errors)
        if not stream:
            try:
                exchange.body = await response.read()
            finally:
                response.release()
        return exchange

    async def read(self) -> bytes:
        if self.body is None:
            self.body = await self.response.read()
        return self.body

    def chunks(self) -> AsyncIterator[bytes]:
        iterator: AsyncIterator[bytes] = self.response.content.iter_any()
        return iterator

    async def close(self) -> None:
        # A stream left before its end must drop the connection (the server then sees
        # the client leave); a finished one goes back to the pool.
        if self.body is not None or self.response.content.at_eof():
            self.response.release()
        else:
            self.response.close()
