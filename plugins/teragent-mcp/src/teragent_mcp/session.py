"""``MCPConnection``: one open session with one MCP server, and the errors of a session.

The session is entered and held by an *owner task* in the pool's event loop (see
:mod:`teragent_mcp.connection`, which also re-exports every name here); its requests
run there too. A connection-level failure marks it dead, and the pool reopens it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from teragent.errors import TerAgentError, UserError

from teragent_mcp.config import MCPServerConfig, resolve_env_refs

#: The plugin's one logger for its connections (named for its public module).
logger = logging.getLogger("teragent_mcp.connection")
T = TypeVar("T")

#: The server whose connection the current task serves (set by its owner task, so the
#: SDK's reader tasks started under it see it too).
_SERVER: contextvars.ContextVar[str | None] = contextvars.ContextVar("teragent_mcp_server",
                                                                    default=None)
_SESSION_GONE = re.compile(r"\bsession (?:not found|terminated|expired)|no valid session|"
                           r"unknown session|invalid session", re.I)
_STRAY_SHOWN = 3  # stray stdout lines reported per server; the rest are only counted
#: A stdio server's stderr is kept in a temporary file for error messages (its tail);
#: past _STDERR_MAX bytes only the last _STDERR_KEEP are kept, so a server that logs
#: every request cannot fill the disk over a long-lived process.
_STDERR_MAX = 1 << 20
_STDERR_KEEP = 64 << 10


class _StrayStdout(logging.Filter):
    """The SDK logs every line a stdio server writes to stdout that is not JSON-RPC
    (a banner, a ``console.log``) as an ERROR with a pydantic traceback: ten lines on the
    user's terminal per stray line, naming no server. Make it one WARNING line naming
    the server and the line, and only for the first few lines of each server."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not (record.exc_info and str(record.msg).startswith("Failed to parse JSONRPC")):
            return True
        server = _SERVER.get() or "?"
        count = self.seen[server] = self.seen.get(server, 0) + 1
        if count > _STRAY_SHOWN:
            return False
        exc = record.exc_info[1]
        try:
            line = exc.errors()[0].get("input")  # type: ignore[union-attr]
        except Exception:  # noqa: BLE001 - another parse error: its message
            line = str(exc)
        record.msg = ("MCP server %r wrote a line to stdout that is not JSON-RPC (ignored; "
                      "servers must log to stderr): %.200r%s")
        record.args = (server, line, "; further such lines are not shown"
                       if count == _STRAY_SHOWN else "")
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


logging.getLogger("mcp.client.stdio").addFilter(_StrayStdout())


def _expected_termination_failure(record: logging.LogRecord) -> bool:
    """Closing a session the server already forgot (it restarted: see _session_gone)
    fails by design; the SDK's WARNING for it would only puzzle the user."""
    return not str(record.msg).startswith("Session termination failed")


logging.getLogger("mcp.client.streamable_http").addFilter(_expected_termination_failure)


class MCPConnectError(UserError):
    """A server could not be started or reached (the message says which, why, and the
    table to fix)."""


class MCPCallError(TerAgentError):
    """A request failed at the protocol or connection level.

    Attributes:
        connection_lost: The connection died during the request.
    """

    def __init__(self, message: str, *, connection_lost: bool = False,
                 unprocessed: bool = False) -> None:
        super().__init__(message)
        self.connection_lost = connection_lost
        #: The server refused the request before running it (its session was gone):
        #: sending it again on a new connection is safe for any request.
        self.unprocessed = unprocessed


def _resolved(value: str) -> str | None:
    """``value`` with its ``${NAME}`` references filled in, when they all are set."""
    try:
        out = resolve_env_refs(value, "")
    except Exception:  # noqa: BLE001 - an unset reference: nothing to redact
        return None
    return out if len(out) >= 6 else None


def _is_connection_error(exc: BaseException) -> bool:
    import anyio

    if isinstance(exc, (anyio.ClosedResourceError, anyio.BrokenResourceError,
                        anyio.EndOfStream, ConnectionError, EOFError)):
        return True
    try:
        from mcp.shared.exceptions import MCPError
        from mcp_types import CONNECTION_CLOSED
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, MCPError) and getattr(exc, "code", None) == CONNECTION_CLOSED


def _session_gone(exc: BaseException) -> str | None:
    """Why an HTTP server no longer serves this session, or ``None``.

    A server that restarted (a deploy, a crash under a supervisor) has forgotten the
    session ids it gave out; the spec says it answers 404 and the client starts a new
    session. The SDK turns a bare 404 into "Session terminated"; the 1.x Python SDK and
    the TypeScript SDK answer 404 with a JSON-RPC error "Session not found", which the
    SDK passes on as the server's error; an HTTP error without a JSON-RPC body
    (server-everything answers 400 with an id-less error) becomes "Server returned an
    error response". None is a connection error to the SDK, so the connection stayed
    open and every later call failed the same way.

    Returns ``"terminated"`` when the server said the session is unknown (the request
    was not run), ``"http_error"`` for an HTTP error of unknown cause."""
    try:
        from mcp.shared.exceptions import MCPError
        from mcp_types import INTERNAL_ERROR
    except ImportError:  # pragma: no cover
        return None
    if not isinstance(exc, MCPError):
        return None
    message = str(getattr(exc, "message", exc))
    if _SESSION_GONE.search(message):
        return "terminated"
    if getattr(exc, "code", None) == INTERNAL_ERROR and \
            message == "Server returned an error response":
        return "http_error"
    return None


def _leaf(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups (anyio's task groups wrap);
    by shape, since ``BaseExceptionGroup`` is 3.11+ (3.10 has the backport's)."""
    inner = getattr(exc, "exceptions", None)
    while isinstance(inner, (list, tuple)) and inner:
        exc = inner[0]
        inner = getattr(exc, "exceptions", None)
    return exc


#: Where a result's ``meta`` carries why its structured content did not match the tool's
#: declared outputSchema (see :func:`_keep_results_that_miss_their_schema`).
SCHEMA_MISMATCH = "teragent/output_schema_mismatch"


def _keep_results_that_miss_their_schema(session: Any) -> None:
    """The SDK checks a tool's structured result against its declared outputSchema and
    *raises* when it does not match, after the server ran the tool: the caller is told
    the call failed and its output is lost, and a model retries a call that already
    had its effect. Keep the check, but keep the result too: the reason goes into the
    result's ``meta`` under :data:`SCHEMA_MISMATCH`, and the tool reports it beside
    the output."""
    check = session.validate_tool_result

    async def validate_tool_result(name: str, result: Any) -> None:
        try:
            await check(name, result)
        except RuntimeError as exc:
            result.meta = {**(result.meta or {}), SCHEMA_MISMATCH: str(exc)}

    session.validate_tool_result = validate_tool_result


class MCPConnection:
    """One open session with one MCP server, owned by a task in the pool's loop.

    Args:
        name: The server's name (``[mcp.servers.NAME]``).
        config: How to reach it.
        credential: A teragent-auth ``AuthCredential`` whose headers every HTTP request
            carries (``auth = "NAME"``), or ``None``.
    """

    def __init__(self, name: str, config: MCPServerConfig, credential: Any = None) -> None:
        self.name, self.config, self.credential = name, config, credential
        self.client: Any = None
        self.alive = False
        self.in_flight = 0
        self.last_used = time.monotonic()
        self.last_ok = time.monotonic()
        self.protocol_version: str | None = None
        self.server_info: Any = None
        self.capabilities: Any = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") \
            if config.transport == "stdio" else None

    # --- opening and closing (in the pool's loop) ------------------------------------

    async def _transport(self) -> Any:
        cfg = self.config
        where = f"[mcp.servers.{self.name}]"
        if cfg.transport == "stdio":
            from mcp.client.stdio import StdioServerParameters, stdio_client

            env = {k: resolve_env_refs(v, f"{where} env.{k}") for k, v in cfg.env.items()}
            params = StdioServerParameters(command=cfg.command or "", args=list(cfg.args),
                                           env=env or None, cwd=cfg.cwd)
            return stdio_client(params, errlog=self._stderr)  # type: ignore[arg-type]
        headers = {k: resolve_env_refs(v, f"{where} headers.{k}")
                   for k, v in cfg.headers.items()}
        if self.credential is not None:
            # the credential's current value (an OAuth2 token is fetched or renewed here)
            headers.update(await self.credential.headers())
        if cfg.transport == "sse":
            from mcp.client.sse import sse_client

            return sse_client(cfg.url or "", headers=headers or None,
                              timeout=cfg.connect_timeout,
                              sse_read_timeout=max(300.0, cfg.call_timeout))
        import httpx2
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        http = create_mcp_http_client(headers=headers or None, timeout=httpx2.Timeout(
            cfg.connect_timeout, read=max(300.0, cfg.call_timeout)))
        return _OwnedHTTP(streamable_http_client(cfg.url or "", http_client=http), http)

    async def open(self) -> None:
        """Start the owner task and wait for the handshake (``connect_timeout``)."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        self._stop = asyncio.Event()
        self._task = loop.create_task(self._own(ready), name=f"mcp:{self.name}")
        try:
            await asyncio.wait_for(asyncio.shield(ready), self.config.connect_timeout)
        except asyncio.TimeoutError:
            await self.close()
            raise MCPConnectError(self._explain(
                f"did not finish connecting within {self.config.connect_timeout:g} s "
                "(connect_timeout)")) from None
        except MCPConnectError:
            await self.close()
            raise

    async def _own(self, ready: asyncio.Future[None]) -> None:
        from mcp import Client
        from mcp_types import Implementation

        _SERVER.set(self.name)  # this task's context: the SDK's tasks below inherit it
        try:
            async with Client(await self._transport(), cache=None,
                              read_timeout_seconds=self.config.call_timeout,
                              client_info=Implementation(name="teragent", version="0.1.0"),
                              ) as client:
                _keep_results_that_miss_their_schema(client.session)
                self.client = client
                self.protocol_version = client.protocol_version
                self.server_info = client.server_info
                self.capabilities = client.server_capabilities
                self.alive = True
                self.last_ok = time.monotonic()
                if not ready.done():
                    ready.set_result(None)
                assert self._stop is not None
                await self._stop.wait()
        except BaseException as exc:  # noqa: BLE001 - reported to whoever waits
            if self.credential is not None and not self.alive:
                # refused before it was up: maybe the token; the next attempt renews it
                try:
                    await self.credential.invalidate()
                except Exception:  # noqa: BLE001
                    pass
            if not ready.done():
                ready.set_exception(MCPConnectError(self._explain(
                    f"failed to connect: {type(_leaf(exc)).__name__}: {_leaf(exc)}")))
            elif not (self._stop is not None and self._stop.is_set()):
                logger.info("MCP server %r: connection ended (%s)", self.name,
                            type(_leaf(exc)).__name__)
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
        finally:
            self.alive = False
            self.client = None

    async def close(self) -> None:
        """Leave the session (the SDK stops a stdio server's process)."""
        self.alive = False
        if self._stop is not None:
            self._stop.set()
        task = self._task
        if task is not None and not task.done():
            try:
                await asyncio.wait_for(asyncio.shield(task), 10)
            except (asyncio.TimeoutError, Exception):  # noqa: BLE001
                task.cancel()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def stderr_tail(self, lines: int = 5) -> str:
        """The last lines a stdio server wrote to its standard error."""
        if self._stderr is None or self._stderr.closed:
            return ""
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            text = self._stderr.read()
        except (OSError, ValueError):
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def trim_stderr(self) -> None:
        """Keep the stderr file bounded (see ``_STDERR_MAX``): cut it to its last lines.
        The server writes through a descriptor that shares the file's offset, so its
        next line lands after the kept tail."""
        f = self._stderr
        if f is None or f.closed:
            return
        try:
            fd = f.fileno()
            size = os.fstat(fd).st_size
            if size <= _STDERR_MAX:
                return
            tail = os.pread(fd, _STDERR_KEEP, size - _STDERR_KEEP)
            tail = tail[tail.find(b"\n") + 1:]  # from a whole line on
            os.ftruncate(fd, 0)
            os.pwrite(fd, tail, 0)
            os.lseek(fd, len(tail), os.SEEK_SET)
        except (OSError, ValueError):  # a closed or odd file: nothing to keep bounded
            pass

    def _explain(self, what: str) -> str:
        cfg = self.config
        target = f"command {cfg.command!r}" if cfg.transport == "stdio" else f"url {cfg.url!r}"
        from teragent.errors import redact

        # what the server printed may hold what it was given (env secrets): redact the
        # configured values and anything secret-shaped
        known = [resolved for v in cfg.env.values() if (resolved := _resolved(v))]
        tail = redact(self.stderr_tail(), known) or ""
        what = redact(what, known) or what
        msg = f"MCP server {self.name!r} ({cfg.transport}, {target}) {what}"
        if tail:
            msg += f"; its stderr ends with: {tail}"
        return msg + f". Check [mcp.servers.{self.name}] in agent.toml."

    def offers(self, feature: str) -> bool:
        """Whether the server declared ``feature`` (``tools``, ``resources``, ``prompts``)
        in its capabilities; unknown capabilities (none recorded) count as offered."""
        caps = self.capabilities
        return caps is None or getattr(caps, feature, None) is not None

    async def probe(self) -> None:
        """A request every live server answers, for health checks: the list of something
        it offers (the 2026-07-28 protocol has no ping). A server of prompts only has no
        tools/list; its answer "Method not found" would still prove it alive, but a
        probe should not make servers log errors."""
        method = next((m for f, m in (("tools", "list_tools"), ("prompts", "list_prompts"),
                                      ("resources", "list_resources")) if self.offers(f)),
                      None)
        if method is None:
            await self.request(lambda c: c.send_ping(), "a health check", timeout=10.0)
            return
        await self.request(lambda c: getattr(c, method)(cache_mode="bypass"),
                           "a health check", timeout=10.0)

    # --- requests (in the pool's loop) -------------------------------------------------

    async def request(self, fn: Callable[[Any], Awaitable[T]], what: str,
                      timeout: float | None = None) -> T:
        """Run ``fn(client)``; connection-level failures mark this connection dead."""
        if not self.alive or self.client is None:
            raise MCPCallError(f"MCP server {self.name!r} is not connected",
                               connection_lost=True)
        self.in_flight += 1
        self.last_used = time.monotonic()
        try:
            out = await asyncio.wait_for(fn(self.client), timeout or self.config.call_timeout)
            self.last_ok = time.monotonic()
            return out
        except asyncio.TimeoutError:
            raise MCPCallError(f"{what} on MCP server {self.name!r} timed out after "
                               f"{timeout or self.config.call_timeout:g} s (call_timeout in "
                               f"[mcp.servers.{self.name}])") from None
        except BaseException as exc:
            leaf = _leaf(exc)
            if _is_connection_error(leaf) or not self.alive:
                self.alive = False
                raise MCPCallError(self._explain(f"lost the connection during {what}"),
                                   connection_lost=True) from None
            gone = _session_gone(leaf) if self.config.transport != "stdio" else None
            if gone:  # a new session on next use (or now, when safe to repeat)
                self.alive = False
                raise MCPCallError(self._explain(
                    f"ended the session during {what} (it answered with an HTTP error: "
                    f"{leaf}; restarted?); the next call opens a new one"),
                    connection_lost=True, unprocessed=gone == "terminated") from None
            raise
        finally:
            self.in_flight -= 1
            self.last_used = time.monotonic()
            self.trim_stderr()


class _OwnedHTTP:
    """A transport context that also closes the HTTP client it was given."""

    def __init__(self, inner: Any, http: Any) -> None:
        self.inner, self.http = inner, http

    async def __aenter__(self) -> Any:
        await self.http.__aenter__()
        try:
            return await self.inner.__aenter__()
        except BaseException:
            await self.http.__aexit__(None, None, None)
            raise

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self.inner.__aexit__(*exc)
        finally:
            await self.http.__aexit__(None, None, None)
