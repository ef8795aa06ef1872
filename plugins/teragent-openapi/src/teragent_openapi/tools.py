"""``OpenAPITool``: one operation of an OpenAPI document as an ordinary TerAgent tool.

Its arguments are the operation's path, query and header parameters (by name; a name
used in two places gets its location in front, ``header_id``) and ``body`` for the
request body. Its safety comes from the method: GET/HEAD/OPTIONS read-only,
POST/PUT/PATCH write, DELETE destructive; ``[openapi.NAME] safety`` overrides it per
operation. Every argument is declared as data (none is a local path), and
:meth:`OpenAPITool.effects` reports the URL a call reaches, so the guard chain, the
audit log and approvals see what the call does.

A call goes through its toolset's one shared client (timeouts, auth). Idempotent
methods (GET, HEAD, OPTIONS, PUT, DELETE) answered 429 or 503 are retried with the
kernel's backoff rule (:func:`teragent.pipeline.retry.backoff_delay`), which honours
``Retry-After`` as read by :func:`teragent.core.headers.retry_after_of`; POST and PATCH
are never retried.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from teragent.core.headers import retry_after_of
from teragent.core.types import ToolSafety
from teragent.pipeline.retry import backoff_delay
from teragent.secrets import declare_sensitive_arguments, schema_secret_paths
from teragent.tools.base import BaseTool, ProgressCallback, ToolEffects, ToolResult
from teragent_openapi.spec import Operation, Parameter

if TYPE_CHECKING:  # httpx (~90 ms) loads with the toolset's client, at the first call
    import httpx

    from teragent_openapi.toolset import OpenAPIToolset

__all__ = ["OpenAPITool", "method_safety", "IDEMPOTENT", "tool_name_for"]

logger = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"get", "head", "options", "put", "delete"})
_RETRY_STATUS = frozenset({429, 503})
_SAFETY_BY_METHOD = {
    "get": ToolSafety.READ_ONLY, "head": ToolSafety.READ_ONLY,
    "options": ToolSafety.READ_ONLY, "trace": ToolSafety.READ_ONLY,
    "post": ToolSafety.SAFE_WRITE, "put": ToolSafety.SAFE_WRITE,
    "patch": ToolSafety.SAFE_WRITE, "delete": ToolSafety.DESTRUCTIVE,
}
_NAME_OK = re.compile(r"[^A-Za-z0-9_-]+")


def method_safety(method: str) -> ToolSafety:
    """The safety an HTTP method implies (see the module docstring)."""
    return _SAFETY_BY_METHOD.get(method.lower(), ToolSafety.DESTRUCTIVE)


def tool_name_for(prefix: str, op: Operation) -> str:
    """``prefix_operationId`` (or ``prefix_method_path``), cut to the 64 characters
    function-calling APIs accept."""
    base = op.operation_id or f"{op.method}_{op.path}"
    name = _NAME_OK.sub("_", f"{prefix}_{base}" if prefix else base).strip("_")
    return re.sub(r"_{2,}", "_", name)[:64]


def _describe(op: Operation, title: str) -> str:
    parts = [op.summary.strip(), op.description.strip()]
    text = " ".join(p for p in parts if p) or f"{op.label} of {title or 'the API'}"
    if op.summary and op.description.startswith(op.summary):
        text = op.description.strip()
    text = f"{text} ({op.label})"
    if op.deprecated:
        text += " Deprecated."
    return text[:1000]


class OpenAPITool(BaseTool):
    """One operation (see the module docstring)."""

    category: ClassVar[str] = "api"

    def __init__(self, toolset: "OpenAPIToolset", op: Operation, name: str,
                 safety: ToolSafety | None = None) -> None:
        self.toolset = toolset
        self.operation = op
        self.name = name  # type: ignore[misc]
        self.description = _describe(op, toolset.title)  # type: ignore[misc]
        self._safety = safety or method_safety(op.method)  # type: ignore[misc]
        self._concurrency_safe = self._safety == ToolSafety.READ_ONLY  # type: ignore[misc]
        self.keywords = tuple(t.lower() for t in op.tags)  # type: ignore[misc]
        #: argument name -> the parameter it fills
        self.arguments: dict[str, Parameter] = {}
        props: dict[str, Any] = {}
        required: list[str] = []
        taken = {p.name for p in op.parameters}
        for p in op.parameters:
            arg = p.name
            if arg in self.arguments or arg == "body":  # e.g. ``id`` in path and header
                arg = f"{p.location}_{p.name}"
                while arg in taken or arg in self.arguments:
                    arg = f"_{arg}"
            self.arguments[arg] = p
            schema = dict(p.schema) or {"type": "string"}
            desc = p.description or schema.get("description") or ""
            schema["description"] = (f"{desc} " if desc else "") + f"({p.location} parameter)"
            props[arg] = schema
            if p.required:
                required.append(arg)
        if op.body is not None:
            body_schema = dict(op.body.schema) or {"type": "object"}
            if op.body.description and "description" not in body_schema:
                body_schema["description"] = op.body.description
            props["body"] = body_schema
            if op.body.required:
                required.append("body")
        schema: dict[str, Any] = {"type": "object", "properties": props,
                                  "additionalProperties": False}
        if required:
            schema["required"] = required
        self.parameters_schema = schema  # type: ignore[misc]
        self.data_params = tuple(props) or ("body",)  # type: ignore[misc]
        # Secrets by the spec's own word: a parameter or body field with ``format:
        # password`` or ``writeOnly: true`` is redacted in every record of a call
        # (BaseTool.sensitive_params; nested body fields as ``body.a.b``).
        sensitive = schema_secret_paths(schema)
        if sensitive:
            self.sensitive_params = sensitive  # type: ignore[misc]
            declare_sensitive_arguments(name, sensitive)

    # --- what a call touches ---------------------------------------------------------------

    def url_for(self, params: dict[str, Any]) -> str:
        """The URL (without the query string) a call with ``params`` reaches."""
        path = self.operation.path
        for arg, p in self.arguments.items():
            if p.location == "path" and arg in params:
                path = path.replace("{" + p.name + "}", _path_value(params[arg], p))
        return self.toolset.base_url.rstrip("/") + "/" + path.lstrip("/")

    def _effects(self, params: Any) -> ToolEffects:
        fx = super()._effects(params)
        try:
            fx.urls.append(self.url_for(params if isinstance(params, dict) else {}))
        except Exception:  # noqa: BLE001 - the effects of a malformed call: the API root
            fx.urls.append(self.toolset.base_url)
        return fx

    # --- the request ----------------------------------------------------------------------

    def build_request(self, params: dict[str, Any]) -> dict[str, Any]:
        """The ``client.request`` keyword arguments of a call."""
        query: list[tuple[str, str]] = []
        headers: dict[str, str] = {}
        for arg, p in self.arguments.items():
            if arg not in params or params[arg] is None:
                continue
            value = params[arg]
            if p.location == "query":
                query.extend(_query_pairs(p, value))
            elif p.location == "header":
                headers[p.name] = _scalar(value) if not isinstance(value, list) else \
                    ",".join(_scalar(v) for v in value)
        kwargs: dict[str, Any] = {"method": self.operation.method.upper(),
                                  "url": self.url_for(params), "params": query,
                                  "headers": headers}
        body = self.operation.body
        if body is not None and params.get("body") is not None:
            value = params["body"]
            if body.content_type == "application/json":
                kwargs["json"] = value
            elif body.content_type == "application/x-www-form-urlencoded":
                kwargs["data"] = {k: _scalar(v) if not isinstance(v, list) else
                                  [_scalar(x) for x in v] for k, v in dict(value).items()}
            else:
                kwargs["content"] = value if isinstance(value, str) else json.dumps(value)
                headers["Content-Type"] = body.content_type
        return kwargs

    async def execute(self, params: dict[str, Any],
                      progress_callback: ProgressCallback | None = None) -> ToolResult:
        ts = self.toolset
        try:
            kwargs = self.build_request(params)
        except (TypeError, ValueError) as exc:
            return ToolResult(success=False, error=f"bad arguments for {self.name}: {exc}",
                              safety=self.safety)
        import httpx

        client = await ts.client()
        idempotent = self.operation.method in IDEMPOTENT
        attempt = 0
        while True:
            try:
                response = await client.request(**kwargs, auth=ts.auth_for(self.operation))
            except httpx.ConnectTimeout as exc:  # (aiohttp's transport: also "refused")
                return self._fail(f"{self.operation.label}: could not connect to "
                                  f"{ts.base_url}: {exc}")
            except httpx.TimeoutException:
                return self._fail(f"{self.operation.label} timed out after "
                                  f"{ts.timeout:g} s")
            except httpx.HTTPError as exc:
                return self._fail(f"{self.operation.label} failed: {type(exc).__name__}: "
                                  f"{exc}")
            except Exception as exc:  # credentials: missing variable, token endpoint
                return self._fail(f"{self.operation.label}: {exc}")
            if response.status_code in _RETRY_STATUS and idempotent and attempt < ts.retries:
                wait = retry_after_of(response.headers)
                if wait is None or wait <= ts.max_retry_after:
                    delay = backoff_delay(attempt, base_delay=ts.retry_base_delay,
                                          max_delay=ts.retry_max_delay, retry_after=wait)
                    await response.aclose()
                    logger.debug("%s: HTTP %s, retrying in %.2f s", self.name,
                                 response.status_code, delay)
                    await ts.sleep(delay)
                    attempt += 1
                    continue
            return self._result(response, attempt)

    def _fail(self, message: str) -> ToolResult:
        return ToolResult(success=False, error=self.toolset.redact(message),
                          safety=self.safety)

    def _result(self, response: httpx.Response, retries: int) -> ToolResult:
        cap = self.toolset.max_response_chars
        text = response.text
        cut = len(text) > cap
        data: Any = text[:cap]
        if not cut and "json" in response.headers.get("content-type", ""):
            try:
                data = response.json()
            except ValueError:
                pass
        meta = {"status": response.status_code, "retries": retries,
                "url": self.toolset.redact(str(response.request.url))}
        if response.status_code >= 400:
            shown = text[:2000]
            hint = ""
            if response.status_code in (401, 403):
                hint = self.toolset.auth_hint(self.operation)
            return ToolResult(success=False, safety=self.safety, metadata=meta,
                              error=self.toolset.redact(
                                  f"HTTP {response.status_code} from {self.operation.label}"
                                  f": {shown}{hint}"))
        out: dict[str, Any] = {"status": response.status_code, "body": data}
        if cut:
            out["truncated"] = f"the response had {len(text)} characters; showing {cap}"
        return ToolResult(success=True, data=out, safety=self.safety, metadata=meta)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _path_value(value: Any, p: Parameter) -> str:
    if isinstance(value, list):
        return ",".join(quote(_scalar(v), safe="") for v in value)
    return quote(_scalar(value), safe="")


_SEPARATORS = {"csv": ",", "form": ",", "ssv": " ", "spaceDelimited": " ", "tsv": "\t",
               "pipes": "|", "pipeDelimited": "|"}


def _query_pairs(p: Parameter, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, list):
        explode = p.explode if p.explode is not None else (p.style in (None, "form"))
        if explode:
            return [(p.name, _scalar(v)) for v in value]
        sep = _SEPARATORS.get(p.style or "form", ",")
        return [(p.name, sep.join(_scalar(v) for v in value))]
    if isinstance(value, dict) and p.style == "deepObject":
        return [(f"{p.name}[{k}]", _scalar(v)) for k, v in value.items()]
    if isinstance(value, dict) and (p.explode is None or p.explode):
        return [(k, _scalar(v)) for k, v in value.items()]
    return [(p.name, _scalar(value))]

