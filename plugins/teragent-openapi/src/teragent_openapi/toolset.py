"""``OpenAPIToolset``: the tools of one OpenAPI document, as a :class:`ToolPack`.

The pack's shared resource is one pooled HTTP client (the kernel's
:func:`teragent.core.http.make_async_client`: base URL, timeouts, transport) opened by
``on_start`` when the first of its tools runs and closed by ``on_stop`` when the agent
closes (``await agent.aclose()``). :class:`ConfiguredToolsets` is what the plugin
registers: every ``[openapi.NAME]`` of ``agent.toml``, built by the composition root
for each agent, so every entry point (library, ``build_agent``, CLI, orchestration)
gets the same tools.
"""

from __future__ import annotations

import asyncio
import difflib
import fnmatch
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable, Mapping

if TYPE_CHECKING:  # httpx (~90 ms) loads with the first client (make_async_client)
    import httpx

from teragent.core.types import ToolSafety
from teragent.errors import ConfigError, redact
from teragent.tools.base import BaseTool, ToolPack
from teragent_auth import AuthCredential, AuthManager
from teragent_openapi.pack import ConfiguredToolsets
from teragent_openapi.spec import Document, Operation, SpecError, load_document, parse_document
from teragent_openapi.tools import OpenAPITool, tool_name_for

__all__ = ["OpenAPIToolset", "ConfiguredToolsets", "credential_for_scheme"]

logger = logging.getLogger(__name__)


class OpenAPIToolset(ToolPack):
    """The tools of one OpenAPI 3.0/3.1 or Swagger 2.0 document.

    Args:
        spec: The document: a path or http(s) URL, the parsed dict, or a
            :class:`~teragent_openapi.spec.Document`.
        name: The toolset's name; tool names are ``PREFIX_operationId``.
        prefix: Default: ``name``.
        base_url: Default: the document's ``servers``/``host`` (relative to its URL).
        auth: Credentials for every operation (an :class:`AuthCredential` or several).
        security: ``{scheme name: AuthCredential}`` for the document's security
            schemes; an operation gets the first of its alternatives whose schemes all
            have one. Ignored when ``auth`` is given.
        auth_manager: Used to redact secrets from errors (default: one holding the
            credentials above).
        include / exclude: Globs over operationIds, tool names, ``"METHOD /path"``
            and ``"tag:TAG"``.
        safety: ``{operationId or tool name: ToolSafety}`` overriding the method's.
        timeout: Seconds for one request.
        retries: Retries of idempotent calls answered 429/503.
        max_retry_after: A longer ``Retry-After`` is not waited for.
        cache: A :class:`teragent_cache.ResultCache` for the read-only operations.
        max_response_chars: Longer responses are cut.
        headers: Extra non-secret headers.
        transport: For the kernel's HTTP client (``"httpx"``, ``"aiohttp"`` or an
            ``httpx.AsyncBaseTransport``).
        sleep: Waits between retries (tests inject one).
    """

    def __init__(self, spec: Any, *, name: str = "api", prefix: str | None = None,
                 base_url: str | None = None,
                 auth: AuthCredential | Iterable[AuthCredential] | None = None,
                 security: Mapping[str, AuthCredential] | None = None,
                 auth_manager: AuthManager | None = None,
                 include: Iterable[str] = (), exclude: Iterable[str] = (),
                 safety: Mapping[str, ToolSafety | str] | None = None,
                 timeout: float = 30.0, retries: int = 2, max_retry_after: float = 60.0,
                 retry_base_delay: float = 0.5, retry_max_delay: float = 8.0,
                 cache: Any = None, max_response_chars: int = 20000,
                 headers: Mapping[str, str] | None = None, transport: Any = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 relative_to: Path | None = None, where: str = "") -> None:
        self.toolset_name = name
        self.name = f"openapi:{name}"  # type: ignore[misc]
        self.where = where or f"OpenAPI toolset {name!r}"
        doc = self._document(spec, relative_to, timeout)
        self.document = doc
        self.title = doc.title
        url = base_url or doc.base_url
        if not url:
            raise SpecError(f"{self.where}: the document names no server; set base_url")
        self.base_url = url.rstrip("/")
        if auth is None:
            self.auth: tuple[AuthCredential, ...] = ()
        elif isinstance(auth, AuthCredential):
            self.auth = (auth,)
        else:
            self.auth = tuple(auth)
        self.security = dict(security or {})
        self.auth_manager = auth_manager or AuthManager(
            {**{f"{name}.{k}": c for k, c in self.security.items()},
             **{f"{name}.auth{i}": c for i, c in enumerate(self.auth)}})
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.max_retry_after = float(max_retry_after)
        self.retry_base_delay = retry_base_delay
        self.retry_max_delay = retry_max_delay
        self.max_response_chars = int(max_response_chars)
        self.headers = dict(headers or {})
        self.transport = transport
        self.sleep = sleep
        self.cache = cache
        self._clients: dict[int, tuple[asyncio.AbstractEventLoop, httpx.AsyncClient]] = {}
        self._auth_cache: dict[int, Any] = {}
        super().__init__(self._build_tools(doc, prefix if prefix is not None else name,
                                           list(include), list(exclude), dict(safety or {})))

    # --- building ------------------------------------------------------------------------

    def _document(self, spec: Any, relative_to: Path | None, timeout: float) -> Document:
        if isinstance(spec, Document):
            return spec
        if isinstance(spec, (str, os.PathLike)):
            raw, where = load_document(os.fspath(spec), relative_to=relative_to,
                                       timeout=timeout)
            return parse_document(raw, where=where)
        if isinstance(spec, Mapping):
            return parse_document(dict(spec), where=self.where)
        raise TypeError("spec must be a path, a URL, a dict or a Document")

    @staticmethod
    def _keys(op: Operation, tool_name: str) -> list[str]:
        return [k for k in (op.operation_id, tool_name, op.label,
                            *(f"tag:{t}" for t in op.tags)) if k]

    def _build_tools(self, doc: Document, prefix: str, include: list[str],
                     exclude: list[str], safety: dict[str, Any]) -> list[BaseTool]:
        names: dict[str, Operation] = {}
        for op in doc.operations:
            base = name = tool_name_for(prefix, op)
            n = 2
            while name in names:
                name = f"{base[:60]}_{n}"
                n += 1
            names[name] = op
        known = [k for name, op in names.items() for k in self._keys(op, name)]
        for what, patterns in (("include", include), ("exclude", exclude),
                               ("safety", list(safety))):
            for pattern in patterns:
                if not any(fnmatch.fnmatchcase(k, pattern) for k in known):
                    close = difflib.get_close_matches(pattern, known, n=1)
                    hint = f"did you mean {close[0]!r}? " if close else ""
                    ops = ", ".join(o.operation_id or o.label for o in doc.operations)
                    raise SpecError(f"{self.where}: {what} {pattern!r} matches no operation; "
                                    f"{hint}operations: {ops}")
        tools: list[BaseTool] = []
        for name, op in names.items():
            keys = self._keys(op, name)
            if include and not any(fnmatch.fnmatchcase(k, p) for p in include for k in keys):
                continue
            if any(fnmatch.fnmatchcase(k, p) for p in exclude for k in keys):
                continue
            level = next((safety[p] for p in safety
                          if any(fnmatch.fnmatchcase(k, p) for k in keys)), None)
            tool: BaseTool = OpenAPITool(self, op, name,
                                         ToolSafety(level) if level is not None else None)
            if self.cache is not None and tool.safety == ToolSafety.READ_ONLY:
                from teragent_cache import cached

                tool = cached(tool, self.cache)
            tools.append(tool)
        return tools

    # --- shared resources -------------------------------------------------------------------

    async def on_start(self) -> None:
        await self.client()

    async def on_stop(self) -> None:
        clients, self._clients = self._clients, {}
        for loop, client in clients.values():
            if loop is asyncio.get_running_loop():
                await client.aclose()

    async def client(self) -> httpx.AsyncClient:
        """The pack's client for the running event loop (one per loop: a pooled client
        cannot move between loops)."""
        from teragent.core.http import make_async_client

        loop = asyncio.get_running_loop()
        entry = self._clients.get(id(loop))
        if entry is None or entry[0] is not loop or entry[1].is_closed:
            client = make_async_client(self.base_url, timeout=self.timeout,
                                       headers=self.headers, transport=self.transport)
            self._clients[id(loop)] = (loop, client)
            self.started = True  # a tool used outside an agent: stop() must close it
            return client
        return entry[1]

    async def __aenter__(self) -> "OpenAPIToolset":
        await self.ensure_started()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    # --- auth -----------------------------------------------------------------------------

    def credentials_for(self, op: Operation) -> tuple[AuthCredential, ...]:
        if self.auth:
            return self.auth
        for alternative in op.security:
            if not alternative:
                return ()  # {} among the alternatives: anonymous access is allowed
            if all(s in self.security for s in alternative):
                return tuple(self.security[s] for s in alternative)
        return ()

    def auth_for(self, op: Operation) -> Any:
        creds = self.credentials_for(op)
        if not creds:
            return None
        key = hash(tuple(id(c) for c in creds))
        auth = self._auth_cache.get(key)
        if auth is None:
            from teragent_auth.httpx_auth import HttpxAuth

            auth = self._auth_cache[key] = HttpxAuth(*creds)
        return auth

    def auth_hint(self, op: Operation) -> str:
        if self.auth or not op.security:
            return ""
        if self.credentials_for(op):
            return ""
        wanted = " or ".join(" + ".join(alt) for alt in op.security if alt)
        return (f" (this operation needs {wanted}: map the scheme to a variable in "
                f"[openapi.{self.toolset_name}] security, e.g. security = "
                f"{{ {next(iter(op.security[0]), 'scheme')} = \"ENV_VAR\" }})")

    def redact(self, text: str) -> str:
        return self.auth_manager.redact(redact(text) or "")

    def __repr__(self) -> str:
        return (f"OpenAPIToolset({self.toolset_name!r}, {self.base_url!r}, "
                f"{len(self.get_tools())} tools)")


# --- security schemes -> credentials ---------------------------------------------------------


def credential_for_scheme(scheme_name: str, scheme: Mapping[str, Any], setting: Any, *,
                          base_url: str, scopes: Iterable[str] = (),
                          where: str = "", **options: Any) -> AuthCredential:
    """The credential for one security scheme of a document, its secrets named by
    ``setting`` (a variable name, or a :class:`SchemeCredentialConfig`-shaped table)."""
    from urllib.parse import urljoin

    from teragent_auth import credential_from_config

    if isinstance(setting, str):
        table: dict[str, Any] = {"key_env": setting}
    elif hasattr(setting, "model_dump"):
        table = setting.model_dump(exclude_none=True)
    else:
        table = {k: v for k, v in dict(setting).items() if v is not None}
    kind = str(scheme.get("type") or "")
    label = f"{where}security scheme {scheme_name!r} ({kind or 'no type'})"
    if kind == "apiKey":
        where_in = scheme.get("in")
        if where_in not in ("header", "query"):
            raise SpecError(f"{label}: API keys in {where_in!r} are not supported (header "
                            "and query are)")
        return credential_from_config({
            "type": "api_key", "key_env": table.get("key_env") or table.get("token_env"),
            where_in: scheme.get("name") or "X-API-Key"})
    is_bearer = kind == "http" and str(scheme.get("scheme", "")).lower() == "bearer"
    if is_bearer:
        return credential_from_config({
            "type": "bearer", "token_env": table.get("token_env") or table.get("key_env")})
    if (kind == "http" and str(scheme.get("scheme", "")).lower() == "basic") or \
            kind == "basic":
        if isinstance(setting, str):
            raise SpecError(f"{label}: basic auth needs a table: {{ username = \"...\", "
                            "password_env = \"VAR\" }")
        table.pop("key_env", None)
        return credential_from_config({"type": "basic", **{
            k: v for k, v in table.items() if k in ("username", "username_env",
                                                    "password_env")}})
    if kind == "oauth2":
        flows = scheme.get("flows") or {}
        flow = flows.get("clientCredentials") if flows else (
            scheme if scheme.get("flow") == "application" else None)
        if not isinstance(flow, Mapping) or not flow.get("tokenUrl"):
            raise SpecError(f"{label}: only the client-credentials flow is supported "
                            "(OpenAPI 3 flows.clientCredentials, Swagger 2 flow: application)")
        if isinstance(setting, str):
            raise SpecError(f"{label}: OAuth2 needs a table: {{ client_id_env = \"VAR\", "
                            "client_secret_env = \"VAR\" }")
        token_url = urljoin(base_url.rstrip("/") + "/", str(flow["tokenUrl"])) \
            if not str(flow["tokenUrl"]).startswith(("http://", "https://")) \
            else str(flow["tokenUrl"])
        cfg = {k: v for k, v in table.items() if k != "key_env"}
        cfg.setdefault("scopes", list(scopes))
        return credential_from_config({"type": "oauth2_client_credentials",
                                       "token_url": token_url, **cfg},
                                      name=scheme_name, **options)
    raise SpecError(f"{label}: this kind of scheme is not supported (apiKey, http bearer, "
                    "http basic and oauth2 client credentials are)")


# --- the toolsets of agent.toml -----------------------------------------------------------


def _error(config: Mapping[str, Any], name: str, key: str, message: str) -> ConfigError:
    try:
        from teragent.config.teragent_config import _fail

        return _fail(config, "openapi", ["openapi", name, key], message)
    except Exception:  # noqa: BLE001 - the location is a courtesy
        return ConfigError(message, table="openapi", key=f"{name}.{key}")


def build_toolsets(config: Mapping[str, Any], *, workspace: str | None = None,
                   **options: Any) -> list[OpenAPIToolset]:
    """One :class:`OpenAPIToolset` per ``[openapi.NAME]`` (``options``, e.g.
    ``transport=``/``sleep=``, go to each)."""
    tables = config.get("openapi") or {}
    if not tables:
        return []  # (before importing the config models: building an agent stays cheap)
    from teragent_openapi.config import OpenAPIToolsetConfig

    src = ((config.get("__sources__") or {}).get("openapi") or {}).get("path")
    base = Path(src).parent if src else Path(workspace or os.getcwd())
    manager = AuthManager.from_config(config, **{k: v for k, v in options.items()
                                                 if k in ("clock",)})
    out = []
    for name, raw in tables.items():
        table = raw if isinstance(raw, OpenAPIToolsetConfig) else \
            OpenAPIToolsetConfig.model_validate(dict(raw))
        out.append(_toolset(config, name, table, base, manager, options))
    return out


def _toolset(config: Mapping[str, Any], name: str, table: Any, base: Path,
             manager: AuthManager, options: dict[str, Any]) -> OpenAPIToolset:
    from teragent_auth import credential_from_config

    where = f"[openapi.{name}] "
    auth: AuthCredential | None = None
    if isinstance(table.auth, str):
        if table.auth not in manager:
            close = difflib.get_close_matches(table.auth, manager.names(), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _error(config, name, "auth", f"no [auth.{table.auth}] credential; {hint}"
                         f"declare one (known: {', '.join(manager.names()) or 'none'})")
        auth = manager.get(table.auth)
    elif table.auth is not None:
        auth = credential_from_config(table.auth, name=f"openapi.{name}")
        manager.add(f"openapi.{name}", auth)
    cache = None
    if table.cache_ttl:
        from teragent_cache import ResultCache

        cache = ResultCache(ttl=table.cache_ttl, max_entries=table.cache_size)
    try:
        raw, source = load_document(table.spec, relative_to=base, timeout=table.timeout,
                                    transport=options.get("spec_transport"))
        doc = parse_document(raw, where=source)
    except SpecError as exc:
        raise _error(config, name, "spec", str(exc)) from None
    base_url = table.base_url or doc.base_url or ""
    security: dict[str, AuthCredential] = {}
    for scheme_name, setting in table.security.items():
        scheme = doc.security_schemes.get(scheme_name)
        if scheme is None:
            close = difflib.get_close_matches(scheme_name, list(doc.security_schemes), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise _error(config, name, "security",
                         f"the document has no security scheme {scheme_name!r}; {hint}"
                         f"its schemes: {', '.join(doc.security_schemes) or 'none'}")
        scopes = sorted({s for op in doc.operations for alt in op.security
                         for s in alt.get(scheme_name, [])})
        try:
            cred = credential_for_scheme(
                scheme_name, scheme, setting, base_url=base_url, scopes=scopes, where=where,
                **{k: v for k, v in options.items() if k in ("clock",)})
        except (SpecError, ValueError) as exc:
            raise _error(config, name, "security", str(exc).removeprefix(where)) from None
        security[scheme_name] = cred
        manager.add(f"openapi.{name}.{scheme_name}", cred)
    try:
        return OpenAPIToolset(
            doc, name=name, prefix=table.prefix, base_url=table.base_url, auth=auth,
            security=security, auth_manager=manager, include=table.include,
            exclude=table.exclude, safety=table.safety, timeout=table.timeout,
            retries=table.retries, max_retry_after=table.max_retry_after, cache=cache,
            max_response_chars=table.max_response_chars, headers=table.headers,
            where=f"[openapi.{name}]",
            **{k: v for k, v in options.items() if k in ("transport", "sleep")})
    except SpecError as exc:
        key = "include" if " include " in str(exc) else "exclude" if " exclude " in str(exc) \
            else "safety" if " safety " in str(exc) else "spec"
        raise _error(config, name, key, str(exc).removeprefix(f"[openapi.{name}]: ")) \
            from None
