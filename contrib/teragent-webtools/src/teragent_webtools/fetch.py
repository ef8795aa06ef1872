"""Fetching one URL safely: scheme and address checks, redirects re-checked, a timeout
and a cap on the bytes read.

Every request goes through the kernel's HTTP seam (:func:`teragent.core.http.make_async_client`,
the same client and transport choice the model adapters use). Before each request,
and again for each redirect, the host is resolved and **every** address it resolves to
must be public: loopback, private (RFC 1918, ULA), link-local (cloud metadata at
169.254.169.254), multicast, reserved and unspecified addresses are refused unless the
settings allow them. The body is read as a stream and cut at ``max_bytes``.

Known gap: the client resolves the name again when it connects, so a DNS answer that
changes between the check and the connection (DNS rebinding) is not caught here; a
sandbox without network, or an egress proxy, is the wall for that.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:  # httpx (~90 ms) loads at the first fetch, not with the tools
    import httpx

from teragent.core.http import make_async_client
from teragent.errors import ConfigError

__all__ = ["WebSettings", "FetchResult", "FetchRefused", "fetch", "check_url", "settings",
           "configure"]

REDIRECTS = {301, 302, 303, 307, 308}


@dataclass(frozen=True)
class WebSettings:
    """``[plugins.webtools]`` in ``agent.toml``.

    Attributes:
        timeout: Seconds for one request (connect, each read, the whole body).
        max_bytes: Most bytes of a body read; the rest is not downloaded.
        max_redirects: Redirects followed, each one checked like the first URL.
        allow_private: Allow loopback, private and link-local addresses.
        allowed_hosts: Host names or IP addresses allowed even when private
            (``["127.0.0.1"]`` for a local service).
        user_agent: Sent with every request.
        transport: ``"httpx"``, ``"aiohttp"``, an httpx transport, or ``None`` for the
            kernel's default (see :mod:`teragent.core.http`).
    """

    timeout: float = 20.0
    max_bytes: int = 1_000_000
    max_redirects: int = 5
    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()
    user_agent: str = "teragent-webtools/0.1"
    transport: Any = field(default=None, compare=False)


_settings = WebSettings()


def settings() -> WebSettings:
    """The settings in force (defaults until ``[plugins.webtools]`` is loaded)."""
    return _settings


def configure(table: dict[str, Any]) -> WebSettings:
    """Apply a ``[plugins.webtools]`` table; unknown keys are a :class:`ConfigError`."""
    global _settings
    known = {f.name for f in fields(WebSettings)} - {"transport"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)}; the keys of "
                          f"[plugins.webtools] are: {', '.join(sorted(known))}",
                          key="plugins.webtools")
    values = dict(table)
    if "allowed_hosts" in values:
        values["allowed_hosts"] = tuple(values["allowed_hosts"])
    _settings = replace(WebSettings(), **values)
    return _settings


class FetchRefused(Exception):
    """The URL may not be fetched; the message says why and what would allow it."""


@dataclass
class FetchResult:
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    truncated: bool
    redirects: list[str]

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def text(self) -> str:
        charset = "utf-8"
        for part in self.content_type.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            if key.lower() == "charset" and value:
                charset = value.strip('"')
        try:
            return self.body.decode(charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def _addresses(host: str, port: int) -> list[str]:
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(f"cannot resolve {host!r}: {exc.strerror or exc}") from None
    return sorted({str(info[4][0]) for info in infos})


async def check_url(url: str, conf: WebSettings | None = None) -> None:
    """Raise :class:`FetchRefused` unless ``url`` may be fetched under ``conf``."""
    conf = conf or _settings
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(f"only http and https URLs are fetched, not {parts.scheme!r}: "
                           f"{url!r}")
    host = parts.hostname
    if not host:
        raise FetchRefused(f"no host in {url!r}")
    if parts.username or parts.password:
        raise FetchRefused("URLs with credentials (user:password@) are not fetched")
    if conf.allow_private or host in conf.allowed_hosts:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    blocked = [a for a in await _addresses(host, port) if not _is_public(a)]
    if blocked:
        raise FetchRefused(
            f"{host} resolves to a private or loopback address ({', '.join(blocked)}); "
            "refused so a tool call cannot reach the local network or cloud metadata. "
            f"To allow it: [plugins.webtools] allowed_hosts = [\"{host}\"] (or "
            "allow_private = true) in agent.toml")


async def fetch(url: str, *, method: str = "GET", headers: dict[str, str] | None = None,
                conf: WebSettings | None = None) -> FetchResult:
    """Fetch ``url``, following redirects by hand so each hop is checked.

    Raises:
        FetchRefused: the URL or a redirect target is not allowed.
        httpx.HTTPError: the request failed (connection, protocol, timeout).
        TimeoutError: the whole exchange took longer than ``timeout``.
    """
    import httpx

    conf = conf or _settings
    send_headers = {"User-Agent": conf.user_agent, **(headers or {})}
    redirects: list[str] = []
    async with make_async_client("", timeout=httpx.Timeout(conf.timeout),
                                 headers=send_headers, transport=conf.transport) as client:
        current = url
        while True:
            await check_url(current, conf)
            outcome = await asyncio.wait_for(_exchange(client, method, current, conf),
                                             conf.timeout)
            if isinstance(outcome, FetchResult):
                outcome.redirects = redirects
                return outcome
            if len(redirects) >= conf.max_redirects:
                raise FetchRefused(f"more than {conf.max_redirects} redirects")
            current = outcome
            redirects.append(current)


async def _exchange(client: httpx.AsyncClient, method: str, url: str,
                    conf: WebSettings) -> FetchResult | str:
    """One request: a redirect's absolute target, or the result with a capped body."""
    async with client.stream(method, url) as response:
        if response.status_code in REDIRECTS and "location" in response.headers:
            return urljoin(url, response.headers["location"])
        body = bytearray()
        truncated = False
        async for chunk in response.aiter_bytes():
            room = conf.max_bytes - len(body)
            if len(chunk) > room:
                body += chunk[:room]
                truncated = True
                break
            body += chunk
        return FetchResult(url=url, status=response.status_code,
                           headers={k.lower(): v for k, v in response.headers.items()},
                           body=bytes(body), truncated=truncated, redirects=[])
