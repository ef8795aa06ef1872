"""Tools: ``BaseTool``, ``ToolResult``, the ``@tool`` decorator and ``ToolPack``.

A tool declares a JSON Schema for its parameters, a :class:`ToolSafety` level and
whether it is safe to run concurrently with other calls. The agent loop validates a
model's arguments against the schema *before* calling :meth:`BaseTool.execute`, and
answers invalid arguments with a tool error the model can read and correct.
"""

from __future__ import annotations

import inspect
import json
import re
from typing import Any, Callable, ClassVar, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from teragent.core.types import ToolSafety
from teragent.tools.schema import validate_arguments

__all__ = ["BaseTool", "ToolResult", "ToolPack", "FunctionTool", "tool", "ProgressCallback",
           "validate_arguments", "ToolEffects", "PathOp", "leaf_strings"]

#: What a tool does with a path argument. ``unknown`` is any of them.
PathOp = str  # "read" | "write" | "delete" | "unknown"
PATH_OPS = ("read", "write", "delete", "unknown")


def leaf_strings(value: Any) -> list[str]:
    """Every string inside ``value``, whatever the container: dict keys and values,
    lists, tuples, sets, ``os.PathLike`` objects and (decodable) bytes."""
    import os

    out: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, (bytes, bytearray)):
            out.append(bytes(item).decode("utf-8", "surrogateescape"))
        elif isinstance(item, os.PathLike):
            raw = os.fspath(item)
            out.append(raw if isinstance(raw, str) else raw.decode("utf-8", "surrogateescape"))
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)
    return out


class ToolEffects:
    """What one call of a tool touches, from the tool's declarations.

    Attributes:
        paths: ``(op, path)`` pairs: every string found under a declared path
            parameter, whatever its container shape.
        commands: Shell command strings (declared command parameters).
        urls: URLs (declared URL parameters).
        undeclared: Strings under parameters the tool did not declare as data; the
            guards treat each as a path of unknown effect. For a tool that declares
            nothing, that is every string of the call.
    """

    __slots__ = ("paths", "commands", "urls", "undeclared")

    def __init__(self) -> None:
        self.paths: list[tuple[str, str]] = []
        self.commands: list[str] = []
        self.urls: list[str] = []
        self.undeclared: list[str] = []

    def all_paths(self) -> list[tuple[str, str]]:
        """Declared paths plus undeclared strings (as ``unknown``)."""
        return self.paths + [("unknown", s) for s in self.undeclared]

ProgressCallback = Callable[[str], Any]


class ToolResult(BaseModel):
    """What a tool returns. ``data`` is shown to the model (as JSON if not a string)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, defer_build=True)

    success: bool = True
    data: Any = None
    error: str | None = None
    safety: ToolSafety = ToolSafety.READ_ONLY
    metadata: dict[str, Any] = Field(default_factory=dict)

    def to_text(self) -> str:
        """The text the model sees."""
        if not self.success:
            return f"Error: {self.error or 'the tool failed'}"
        if self.data is None:
            return "OK"
        if isinstance(self.data, str):
            return self.data
        try:
            return json.dumps(self.data, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            return str(self.data)


class BaseTool:
    """Base class of every tool.

    Subclasses set ``name``, ``description``, ``parameters_schema``, ``_safety`` and
    ``_concurrency_safe``, and implement :meth:`execute`.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    parameters_schema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    category: ClassVar[str] = "general"
    #: Words that make this tool relevant to a request (intent-based recommendation).
    keywords: ClassVar[tuple[str, ...]] = ()
    _safety: ClassVar[ToolSafety] = ToolSafety.READ_ONLY
    _concurrency_safe: ClassVar[bool] = False
    #: What the tool touches, per parameter: ``{"path": "read", "dest": "write"}``
    #: (ops: read, write, delete, unknown). Values may be strings or any nesting of
    #: lists, tuples and dicts of them.
    path_params: ClassVar[dict[str, str]] = {}
    #: Parameters holding shell commands (checked by the command checks).
    command_params: ClassVar[tuple[str, ...]] = ()
    #: Parameters holding URLs.
    url_params: ClassVar[tuple[str, ...]] = ()
    #: Parameters that are plain data (file contents, regexes, messages), never opened
    #: as paths. A tool that declares none of these four is of *unknown effect*: every
    #: string of its calls is checked as a path.
    data_params: ClassVar[tuple[str, ...]] = ()
    #: Parameters whose values are secrets (a password the desktop tool types, a token
    #: a login tool sends). :meth:`execute` receives the real values; every record of
    #: the call (audit log, events, traces, the conversation kept for later model calls
    #: and so sessions and transcripts) shows ``"[redacted: N chars]"`` instead. See
    #: :func:`teragent.secrets.redact_arguments`. Fields the tool's JSON Schema marks
    #: (``format: password``, ``writeOnly: true``) are added to it
    #: (:func:`teragent.secrets.schema_secret_paths`). A tool whose name is set per
    #: instance is declared when a :class:`~teragent.tools.registry.ToolRegistry`
    #: registers it.
    sensitive_params: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        schema = cls.__dict__.get("parameters_schema")
        if isinstance(schema, dict) and schema:
            from teragent.secrets import schema_secret_paths

            marked = schema_secret_paths(schema)  # format: password / writeOnly fields
            if not set(marked) <= set(cls.sensitive_params):
                cls.sensitive_params = tuple(dict.fromkeys((*cls.sensitive_params, *marked)))
        name = cls.__dict__.get("name")
        if isinstance(name, str) and cls.sensitive_params:
            from teragent.secrets import declare_sensitive_arguments

            declare_sensitive_arguments(name, cls.sensitive_params)

    def redact(self, params: Any) -> Any:
        """``params`` as records show them: the :attr:`sensitive_params` values
        redacted (a copy; ``params`` itself when nothing is sensitive)."""
        if not self.sensitive_params:
            return params
        from teragent.secrets import redact_arguments

        return redact_arguments(self.name, params, self.sensitive_params)

    @property
    def safety(self) -> ToolSafety:
        return self._safety

    @property
    def is_read_only(self) -> bool:
        return self.safety == ToolSafety.READ_ONLY

    @property
    def concurrency_safe(self) -> bool:
        return self._concurrency_safe

    @property
    def declares_effects(self) -> bool:
        return bool(self.path_params or self.command_params or self.url_params
                    or self.data_params)

    def effects(self, params: Any) -> ToolEffects:
        """What a call with ``params`` touches (see :class:`ToolEffects`). The result
        for the same arguments object is computed once (every guard asks)."""
        cached = self.__dict__.get("_effects_cache")
        if cached is not None and cached[0] is params:
            return cached[1]  # type: ignore[no-any-return]
        fx = self._effects(params)
        self.__dict__["_effects_cache"] = (params, fx)
        return fx

    def _effects(self, params: Any) -> ToolEffects:
        fx = ToolEffects()
        if not isinstance(params, dict):
            fx.undeclared = leaf_strings(params)
            return fx
        declared = self.declares_effects
        # Top-level keys are parameter names, not data; values of any shape (and the
        # keys of nested dicts) are what may name a path.
        for key, value in params.items():
            if not declared or key not in (*self.path_params, *self.command_params,
                                           *self.url_params, *self.data_params):
                fx.undeclared.extend(leaf_strings(value))
            elif key in self.path_params:
                op = self.path_params[key]
                fx.paths.extend((op, s) for s in leaf_strings(value))
            elif key in self.command_params:
                fx.commands.extend(leaf_strings(value) if not isinstance(value, list)
                                   else [" ".join(leaf_strings(value))])
            elif key in self.url_params:
                fx.urls.extend(leaf_strings(value))
        return fx

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-tool definition for this tool."""
        return {"type": "function", "function": {
            "name": self.name, "description": self.description,
            "parameters": self.parameters_schema}}

    async def execute(
        self, params: dict[str, Any], progress_callback: ProgressCallback | None = None
    ) -> ToolResult:
        raise NotImplementedError(f"tool {self.name!r} does not implement execute()")

    def validate(self, params: Any) -> str | None:
        """Check ``params`` against the schema; return an error message or ``None``."""
        return validate_arguments(self.parameters_schema, params)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self.safety.value}>"


# --- @tool ---------------------------------------------------------------------------

_ARG_DOC = re.compile(r"^\s*(\w+)\s*(?:\([^)]*\))?\s*:\s*(.+)$")


_ARG_SECTIONS = {"Args", "Arguments", "Parameters"}
_SECTIONS = _ARG_SECTIONS | {"Returns", "Raises", "Yields", "Examples", "Example", "Note"}


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Google-style docstring → (first paragraph, {arg: description})."""
    summary: list[str] = []
    args: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    arg_indent: int | None = None
    for line in inspect.cleandoc(doc or "").splitlines():
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if indent == 0 and stripped.endswith(":") and stripped[:-1] in _SECTIONS:
            section = "args" if stripped[:-1] in _ARG_SECTIONS else "other"
            current, arg_indent = None, None
            continue
        if section is None:
            if stripped:
                summary.append(stripped)
            elif summary:
                section = "body"
            continue
        if section == "args" and stripped:
            m = _ARG_DOC.match(line)
            if m and (arg_indent is None or indent <= arg_indent):
                arg_indent, current = indent, m.group(1)
                args[current] = m.group(2).strip()
            elif current:
                args[current] += " " + stripped
    return " ".join(summary), args


class FunctionTool(BaseTool):
    """A tool built from a Python function by :func:`tool`."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        safety: ToolSafety = ToolSafety.READ_ONLY,
        concurrency_safe: bool | None = None,
        category: str = "general",
        keywords: tuple[str, ...] = (),
        sensitive_params: tuple[str, ...] = (),
    ) -> None:
        self.func = func
        self.name = name or func.__name__  # type: ignore[misc]
        summary, arg_docs = _parse_docstring(func.__doc__ or "")
        self.description = description or summary or self.name  # type: ignore[misc]
        self._safety = safety  # type: ignore[misc]
        self._concurrency_safe = (  # type: ignore[misc]
            safety == ToolSafety.READ_ONLY if concurrency_safe is None else concurrency_safe)
        self.category = category  # type: ignore[misc]
        self.keywords = keywords  # type: ignore[misc]
        self._model = self._build_model(func, arg_docs)
        schema = self._model.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        schema["additionalProperties"] = False
        self.parameters_schema = schema  # type: ignore[misc]
        from teragent.secrets import declare_sensitive_arguments, schema_secret_paths

        # declared, plus what the annotations mark (a SecretStr argument)
        sensitive = tuple(dict.fromkeys((*sensitive_params, *schema_secret_paths(schema))))
        if sensitive:
            self.sensitive_params = sensitive  # type: ignore[misc]
            declare_sensitive_arguments(self.name, sensitive)
        self._is_async = inspect.iscoroutinefunction(func)
        self._wants_progress = "progress_callback" in inspect.signature(func).parameters

    @staticmethod
    def _build_model(func: Callable[..., Any], arg_docs: dict[str, str]) -> type[BaseModel]:
        hints = get_type_hints(func)
        fields: dict[str, Any] = {}
        for pname, param in inspect.signature(func).parameters.items():
            if pname in ("self", "progress_callback") or param.kind in (
                    param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            annotation = hints.get(pname, Any)
            default = ... if param.default is inspect.Parameter.empty else param.default
            fields[pname] = (annotation, Field(default, description=arg_docs.get(pname)))
        return create_model(f"{func.__name__}_args", **fields)

    def validate(self, params: Any) -> str | None:
        if not isinstance(params, dict):
            return f"arguments must be a JSON object, got {type(params).__name__}"
        extra = sorted(set(params) - set(self._model.model_fields))
        if extra:
            return (f"unexpected argument(s) {', '.join(map(repr, extra))}; allowed: "
                    f"{', '.join(self._model.model_fields) or '(none)'}")
        try:
            self._model.model_validate(params)
        except ValidationError as exc:
            errs = exc.errors()
            first = errs[0]
            loc = ".".join(str(p) for p in first["loc"]) or "arguments"
            if first["type"] == "missing":
                return f"missing required argument {loc!r}"
            return f"argument {loc!r}: {first['msg']}"
        return None

    async def execute(
        self, params: dict[str, Any], progress_callback: ProgressCallback | None = None
    ) -> ToolResult:
        values = self._model.model_validate(params)
        kwargs = {k: getattr(values, k) for k in self._model.model_fields}
        if self._wants_progress:
            kwargs["progress_callback"] = progress_callback
        if self._is_async:
            out = await self.func(**kwargs)
        else:
            import asyncio

            out = await asyncio.get_running_loop().run_in_executor(
                None, lambda: self.func(**kwargs))
        if isinstance(out, ToolResult):
            return out
        return ToolResult(success=True, data=out, safety=self.safety)


def tool(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    safety: ToolSafety = ToolSafety.READ_ONLY,
    concurrency_safe: bool | None = None,
    category: str = "general",
    keywords: tuple[str, ...] = (),
    sensitive_params: tuple[str, ...] = (),
) -> Any:
    """Turn a function into a :class:`BaseTool`; the schema comes from its type hints
    and its Google-style docstring. ``sensitive_params`` names the arguments whose
    values records redact (:attr:`BaseTool.sensitive_params`); an argument annotated
    ``pydantic.SecretStr`` is one without being named.

    Example::

        @tool
        def add(a: int, b: int) -> int:
            \"\"\"Add two numbers.

            Args:
                a: The first number.
                b: The second number.
            \"\"\"
            return a + b
    """

    def wrap(f: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(f, name=name, description=description, safety=safety,
                            concurrency_safe=concurrency_safe, category=category,
                            keywords=keywords, sensitive_params=sensitive_params)

    return wrap(func) if func is not None else wrap


class ToolPack:
    """A group of tools sharing a lifecycle and resources (a connection pool, a server
    process, one HTTP client for every operation of an API).

    The agent drives the lifecycle:

    - ``on_start`` runs once, before the first call of any of the pack's tools (the tool
      orchestrator awaits :meth:`ensure_started`, which concurrent calls share);
      building an agent opens nothing.
    - ``on_stop`` runs when the agent closes (``await agent.aclose()``, ``async with
      agent``, or :meth:`ToolRegistry.stop`); a later call starts the pack again.

    Register a pack (an instance, a class or an import string) through
    ``teragent_register_tools``. A pack class whose constructor takes ``config`` is
    built for each agent with its loaded ``agent.toml`` (teragent-openapi's
    ``[openapi.NAME]`` toolsets are built that way).
    """

    name: ClassVar[str] = "pack"

    def __init__(self, tools: list[BaseTool] | None = None) -> None:
        self._tools = list(tools or [])
        self.started = False
        self._start_lock_: Any = None  # an asyncio.Lock, made when the pack first starts

    def get_tools(self) -> list[BaseTool]:
        return list(self._tools)

    async def on_start(self) -> None:
        """Acquire shared resources."""

    async def on_stop(self) -> None:
        """Release shared resources."""

    async def ensure_started(self) -> None:
        if getattr(self, "_start_lock_", None) is None:
            import asyncio  # here, not at import: building an agent does not need it

            self._start_lock_ = asyncio.Lock()
        async with self._start_lock_:
            if not self.started:
                await self.on_start()
                self.started = True

    async def stop(self) -> None:
        if self.started:
            self.started = False
            await self.on_stop()

