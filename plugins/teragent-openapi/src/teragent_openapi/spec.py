"""Reading OpenAPI 3.0/3.1 and Swagger 2.0 documents into :class:`Operation` s.

Both versions come out in one shape: an operation's parameters (path, query, header;
Swagger's ``formData`` become a form body), its request body (JSON, form or text),
its security requirements and the servers' base URL. ``$ref`` s are resolved inside the
document (``#/components/...``, ``#/definitions/...``, ``#/parameters/...``, JSON
pointers with ``~0``/``~1``); a chain of references that loops is an error, and a
*schema* that refers to itself (a tree, a linked list) is cut where it recurses (see
:func:`to_json_schema`), so no document can make the converter loop or blow up.
References to other files are refused with the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urljoin, urlsplit

from teragent.errors import UserError

__all__ = ["SpecError", "Document", "Operation", "Parameter", "Body", "load_document",
           "parse_document", "to_json_schema", "METHODS"]

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

#: Schema keywords kept in a tool's JSON Schema (the rest is documentation or
#: OpenAPI-only: xml, discriminator, externalDocs, example, readOnly, ...). ``writeOnly``
#: stays: it marks a secret field (with ``format: password``), which records redact.
_KEEP = frozenset({
    "type", "properties", "required", "items", "enum", "const", "description", "default",
    "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
    "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "additionalProperties",
    "anyOf", "oneOf", "allOf", "multipleOf", "minProperties", "maxProperties",
    "prefixItems", "not", "writeOnly",
})
#: How often a schema is expanded inside itself before the recursion is cut.
RECURSION_DEPTH = 2
#: Nodes of one converted schema before deeper references are cut short.
MAX_SCHEMA_NODES = 4000


class SpecError(UserError):
    """The document cannot be turned into tools; the message says where and why."""


@dataclass
class Parameter:
    name: str
    location: str  # path | query | header | cookie
    required: bool
    schema: dict[str, Any]
    description: str = ""
    style: str | None = None
    explode: bool | None = None


@dataclass
class Body:
    content_type: str  # application/json | application/x-www-form-urlencoded | text/plain
    schema: dict[str, Any]
    required: bool
    description: str = ""


@dataclass
class Operation:
    method: str
    path: str
    operation_id: str | None
    summary: str
    description: str
    parameters: list[Parameter]
    body: Body | None
    #: Alternatives (any one suffices), each ``{scheme name: scopes}``.
    security: list[dict[str, list[str]]]
    tags: list[str] = field(default_factory=list)
    deprecated: bool = False

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass
class Document:
    version: str  # "2.0", "3.0.x", "3.1.x"
    title: str
    base_url: str | None
    operations: list[Operation]
    security_schemes: dict[str, dict[str, Any]]
    #: Operations left out, with the reason (e.g. a multipart body).
    skipped: list[tuple[str, str]] = field(default_factory=list)


# --- loading ---------------------------------------------------------------------------


def _parse_text(text: str, where: str) -> Any:
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise SpecError(f"{where}: invalid JSON: {exc}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{where}: invalid YAML: {exc}") from None


def load_document(source: str, *, relative_to: Path | None = None, timeout: float = 30.0,
                  transport: Any = None) -> tuple[dict[str, Any], str]:
    """The raw document from a file path or an http(s) URL, and where it came from
    (a URL or an absolute path), for resolving relative server URLs."""
    if re.match(r"^https?://", source):
        import httpx

        try:
            with httpx.Client(timeout=timeout, follow_redirects=True,
                              transport=transport) as client:
                response = client.get(source)
        except httpx.HTTPError as exc:
            raise SpecError(f"could not fetch the OpenAPI document {source}: "
                            f"{type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise SpecError(f"could not fetch the OpenAPI document {source}: HTTP "
                            f"{response.status_code}")
        data, where = _parse_text(response.text, source), str(response.url)
    else:
        path = Path(source).expanduser()
        if not path.is_absolute() and relative_to is not None:
            path = relative_to / path
        if not path.is_file():
            raise SpecError(f"the OpenAPI document {str(path)!r} does not exist; give a "
                            "path (relative to agent.toml) or an http(s) URL")
        data, where = _parse_text(path.read_text(encoding="utf-8"), str(path)), str(path)
    if not isinstance(data, dict):
        raise SpecError(f"{where}: an OpenAPI document is a JSON/YAML object, got "
                        f"{type(data).__name__}")
    return data, where


# --- references ------------------------------------------------------------------------


class _Refs:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.doc = doc

    def lookup(self, ref: str) -> Any:
        if not ref.startswith("#"):
            raise SpecError(f"$ref {ref!r} points outside the document; bundle the spec "
                            "into one file (e.g. with redocly bundle) first")
        node: Any = self.doc
        for raw in ref[1:].lstrip("/").split("/") if ref not in ("#", "#/") else []:
            part = unquote(raw).replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise SpecError(f"$ref {ref!r} does not resolve (no {part!r})")
        return node

    def deref(self, node: Any) -> Any:
        """Follow ``$ref`` s until a node without one (a loop of references is an error)."""
        seen: list[str] = []
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                raise SpecError(f"$ref loop: {' -> '.join([*seen, ref])}")
            seen.append(ref)
            node = self.lookup(ref)
        return node


def to_json_schema(schema: Any, refs: "_Refs | dict[str, Any]", *,
                   openapi30: bool = True, request: bool = True) -> dict[str, Any]:
    """An OpenAPI schema as plain JSON Schema with every ``$ref`` inlined.

    A schema met inside itself (a tree, a linked list) is expanded
    :data:`RECURSION_DEPTH` times, then becomes an open ``{"type": "object"}``
    (described as such) instead of being expanded forever; past
    :data:`MAX_SCHEMA_NODES` nodes, further references are cut the same way. OpenAPI
    3.0's ``nullable`` becomes a ``"null"`` type; in request schemas ``readOnly``
    properties are left out."""
    r = refs if isinstance(refs, _Refs) else _Refs(refs)
    budget = [MAX_SCHEMA_NODES]

    def conv(node: Any, stack: tuple[str, ...]) -> Any:
        budget[0] -= 1
        if not isinstance(node, dict):
            return {} if node is True or node is None else node
        if isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            name = ref.rsplit("/", 1)[-1]
            if stack.count(ref) >= RECURSION_DEPTH or budget[0] <= 0:
                why = "recursive" if ref in stack else "nested too deep to expand"
                return {"type": "object", "description": f"a {name} ({why}; same shape "
                        "as above)"}
            target = r.lookup(ref)
            out = conv(target, (*stack, ref))
            if isinstance(out, dict) and "description" not in out and \
                    isinstance(node.get("description"), str):
                out = {**out, "description": node["description"]}
            return out
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key not in _KEEP:
                continue
            if key == "properties" and isinstance(value, dict):
                props = {}
                for pname, psub in value.items():
                    if request and isinstance(psub, dict) and psub.get("readOnly") is True:
                        continue
                    props[pname] = conv(psub, stack)
                out[key] = props
            elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
                out[key] = conv(value, stack)
            elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
                out[key] = [conv(v, stack) for v in value]
            elif key == "type" and value == "file":
                out[key] = "string"  # Swagger 2.0 uploads: not sent as JSON
            else:
                out[key] = value
        if request and "required" in out and "properties" in out:
            out["required"] = [n for n in out["required"] if n in out["properties"]]
            if not out["required"]:
                del out["required"]
        if openapi30 and node.get("nullable") is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "properties" in out and "type" not in out:
            out["type"] = "object"
        return out

    result = conv(schema, ())
    return result if isinstance(result, dict) else {}


# --- the document ----------------------------------------------------------------------


def _base_url(doc: dict[str, Any], where: str, version: str) -> str | None:
    origin = where if re.match(r"^https?://", where) else None
    if version == "2.0":
        host = doc.get("host")
        base_path = doc.get("basePath") or ""
        schemes = doc.get("schemes") or []
        if host:
            scheme = "https" if "https" in schemes or not schemes else schemes[0]
            return f"{scheme}://{host}{base_path}"
        if origin:
            parts = urlsplit(origin)
            return f"{parts.scheme}://{parts.netloc}{base_path}"
        return None
    servers = doc.get("servers") or []
    url = servers[0].get("url") if servers and isinstance(servers[0], dict) else None
    if isinstance(url, str):
        for var, spec in (servers[0].get("variables") or {}).items():
            if isinstance(spec, dict) and "default" in spec:
                url = url.replace("{" + var + "}", str(spec["default"]))
        if re.match(r"^https?://", url):
            return url
        if origin:
            return urljoin(origin, url)
        return None
    if origin:
        parts = urlsplit(origin)
        return f"{parts.scheme}://{parts.netloc}"
    return None


def _swagger_param_schema(p: dict[str, Any]) -> dict[str, Any]:
    """A Swagger 2.0 parameter's own type keywords as a schema (``required`` there is
    the parameter's flag, not a list of properties)."""
    return {k: v for k, v in p.items() if k in _KEEP and k != "required"}


def _iter_operations(doc: dict[str, Any], refs: _Refs) -> Iterator[tuple[str, str, dict[str, Any],
                                                                         list[Any]]]:
    for path, item in (doc.get("paths") or {}).items():
        item = refs.deref(item)
        if not isinstance(item, dict):
            continue
        shared = list(item.get("parameters") or [])
        for method in METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                yield path, method, op, shared


def parse_document(doc: dict[str, Any], *, where: str = "<document>") -> Document:
    """The operations of a raw OpenAPI 3.x or Swagger 2.0 document."""
    if "swagger" in doc:
        version = str(doc["swagger"])
        if not version.startswith("2"):
            raise SpecError(f"{where}: Swagger {version} is not supported (2.0 is)")
    elif "openapi" in doc:
        version = str(doc["openapi"])
        if not version.startswith("3"):
            raise SpecError(f"{where}: OpenAPI {version} is not supported (3.0 and 3.1 are)")
    else:
        raise SpecError(f"{where}: not an OpenAPI 3.x or Swagger 2.0 document (it has no "
                        "'openapi' or 'swagger' key)")
    refs = _Refs(doc)
    v2 = version.startswith("2")
    v30 = version.startswith("3.0")
    schemes = (doc.get("securityDefinitions") if v2 else
               (doc.get("components") or {}).get("securitySchemes")) or {}
    schemes = {n: refs.deref(s) for n, s in schemes.items()}
    global_security = doc.get("security")
    ops: list[Operation] = []
    skipped: list[tuple[str, str]] = []
    for path, method, op, shared in _iter_operations(doc, refs):
        label = f"{method.upper()} {path}"
        by_key: dict[tuple[str, str], dict[str, Any]] = {}
        for raw in [*shared, *(op.get("parameters") or [])]:
            p = refs.deref(raw)
            if isinstance(p, dict) and "name" in p and "in" in p:
                by_key[(p["in"], p["name"])] = p
        params: list[Parameter] = []
        body: Body | None = None
        form: dict[str, Any] = {}
        form_required: list[str] = []
        problem = None
        for (loc, name), p in by_key.items():
            desc = str(p.get("description") or "")
            if v2 and loc == "body":
                body = Body("application/json",
                            to_json_schema(p.get("schema") or {}, refs, openapi30=False),
                            bool(p.get("required")), desc)
            elif v2 and loc == "formData":
                if p.get("type") == "file":
                    problem = f"file upload parameter {name!r} (multipart) is not supported"
                form[name] = {**to_json_schema(_swagger_param_schema(p), refs,
                                               openapi30=False),
                              **({"description": desc} if desc else {})}
                if p.get("required"):
                    form_required.append(name)
            elif loc in ("path", "query", "header"):
                if v2:
                    schema = to_json_schema(_swagger_param_schema(p), refs, openapi30=False)
                elif "schema" in p:
                    schema = to_json_schema(p["schema"], refs, openapi30=v30)
                elif isinstance(p.get("content"), dict) and p["content"]:
                    first = next(iter(p["content"].values()))
                    schema = to_json_schema((first or {}).get("schema") or {}, refs,
                                            openapi30=v30)
                else:
                    schema = {"type": "string"}
                style = p.get("style")
                explode = p.get("explode")
                if v2 and p.get("collectionFormat") in ("csv", "ssv", "tsv", "pipes"):
                    style, explode = p["collectionFormat"], False
                params.append(Parameter(name, loc, loc == "path" or bool(p.get("required")),
                                        schema, desc, style, explode))
            # cookie parameters: left out (the client keeps no cookie jar for tools)
        if form:
            consumes = op.get("consumes") or doc.get("consumes") or []
            if "multipart/form-data" in consumes and \
                    "application/x-www-form-urlencoded" not in consumes:
                problem = problem or "multipart/form-data bodies are not supported"
            body = Body("application/x-www-form-urlencoded",
                        {"type": "object", "properties": form,
                         **({"required": form_required} if form_required else {})},
                        bool(form_required))
        if not v2 and op.get("requestBody") is not None:
            rb = refs.deref(op["requestBody"])
            content = rb.get("content") or {}
            chosen = next((ct for ct in content if ct.split(";")[0].strip() in (
                "application/json",) or ct.split(";")[0].strip().endswith("+json")), None)
            chosen = chosen or next((ct for ct in content if ct.startswith(
                "application/x-www-form-urlencoded")), None)
            chosen = chosen or next((ct for ct in content if ct.startswith("text/")), None)
            if chosen is None and content:
                problem = (f"request body types {', '.join(content)} are not supported "
                           "(JSON, form and text are)")
            elif chosen is not None:
                media = content[chosen] or {}
                kind = chosen.split(";")[0].strip()
                if kind.endswith("+json"):
                    kind = "application/json"
                body = Body(kind, to_json_schema(media.get("schema") or {}, refs,
                                                 openapi30=v30),
                            bool(rb.get("required")), str(rb.get("description") or ""))
        if problem:
            skipped.append((op.get("operationId") or label, problem))
            continue
        security = op.get("security", global_security) or []
        ops.append(Operation(
            method=method, path=path, operation_id=op.get("operationId"),
            summary=str(op.get("summary") or ""), description=str(op.get("description") or ""),
            parameters=params, body=body,
            security=[{k: list(v or []) for k, v in alt.items()} for alt in security
                      if isinstance(alt, dict)],
            tags=list(op.get("tags") or []), deprecated=bool(op.get("deprecated"))))
    info = doc.get("info") or {}
    return Document(version=version, title=str(info.get("title") or ""),
                    base_url=_base_url(doc, where, version), operations=ops,
                    security_schemes=schemes, skipped=skipped)
