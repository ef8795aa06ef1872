"""``TerAgentConfig``: the whole ``agent.toml``, every table and key validated.

Each top-level table belongs to whoever reads it, and is registered by that owner
through ``teragent_register_config_tables`` with the model that validates it:

- the kernel (its ``builtin`` plugin): ``[drivers.*]``, ``[agent]``, ``[audit]``,
  ``[workspace]``, ``[streaming]``, ``[tools]``, ``[model_fallback]``;
- plugins: ``[permission]`` (teragent-permissions), ``[[hooks]]`` (teragent-hooks),
  ``[orchestration]`` (teragent-orchestration), ``[file_safety]`` (teragent-tools),
  ``[circuit_breaker]``/``[recovery]``/``[rate_limit]`` (the reliability layer),
  ``[routing]``/``[execution]``/``[pipeline]`` (the router).

A table nobody registered is an error: "did you mean" for a misspelling, ``pip install
<distribution>`` when a known plugin that is not installed owns it. Every error is one
line, ``agent.toml:LINE: [table] key: what is wrong, how to fix``
(:class:`~teragent.errors.ConfigError`). :func:`teragent.load_full_config` runs
:meth:`TerAgentConfig.from_config`, so every entry point (CLI, library, orchestration)
gets the same checks.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from typing import Any, Mapping

from pydantic import BaseModel, ConfigDict, Field, RootModel, TypeAdapter, ValidationError

from teragent.config.agent_loop_config import AgentLoopConfig
from teragent.config.driver_config import DriverConfig
from teragent.config.model_fallback_config import ModelFallbackConfig
from teragent.config.streaming_config import StreamingConfig
from teragent.config.tools_config import ToolsConfig
from teragent.errors import ConfigError

__all__ = ["TerAgentConfig", "AgentTable", "AuditConfig", "WorkspaceConfig",
           "explain", "locate", "validate_config"]


class AgentTable(AgentLoopConfig):
    """``[agent]``: the :class:`~teragent.AgentLoopConfig` fields plus ``driver``."""

    #: The ``[drivers.<adapter>.<identity>]`` to run with, as ``"adapter.identity"``.
    driver: str | None = None


class AuditConfig(BaseModel):
    """``[audit]``: the audit log of tool-call attempts (:mod:`teragent.audit`)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    enabled: bool = True
    #: JSONL file, relative to the workspace; ``""`` turns the log off.
    path: str = ".teragent/audit.jsonl"


class WorkspaceConfig(BaseModel):
    """``[workspace]``: paths no tool may touch, besides the built-in ones."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    #: Globs relative to the workspace (``"secrets/**"``), or one glob.
    protected: list[str] | str = Field(default_factory=list)


class TerAgentConfig(BaseModel):
    """The validated ``agent.toml``: the kernel's tables typed, plugins' tables in
    :attr:`plugin_tables` as their owners' models. Build it with :meth:`from_config`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    drivers: dict[str, DriverConfig] = Field(default_factory=dict)
    agent: AgentTable = Field(default_factory=AgentTable)
    audit: AuditConfig = Field(default_factory=AuditConfig)
    workspace: WorkspaceConfig = Field(default_factory=WorkspaceConfig)
    streaming: StreamingConfig = Field(default_factory=StreamingConfig)
    tools: ToolsConfig = Field(default_factory=ToolsConfig)
    model_fallback: ModelFallbackConfig = Field(default_factory=ModelFallbackConfig)
    #: table name → the validated model (a list of them for ``[[array]]`` tables).
    plugin_tables: dict[str, Any] = Field(default_factory=dict)
    #: The files read, lowest precedence first.
    files: list[str] = Field(default_factory=list)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, host: Any = None) -> TerAgentConfig:
        """Validate a loaded ``agent.toml`` dict (:func:`teragent.load_full_config`).

        Raises:
            ConfigError: the first problem, with file, line, table and key.
        """
        return validate_config(config, host=host)

    def table(self, name: str) -> Any:
        """The validated model of table ``name`` (kernel or plugin), or ``None``."""
        if name in type(self).model_fields and name not in ("plugin_tables", "files"):
            return getattr(self, name)
        return self.plugin_tables.get(name)


KERNEL_TABLES = ("drivers", "agent", "audit", "workspace", "streaming", "tools",
                 "model_fallback")

# --- locating a key in the file ---------------------------------------------------------

_HEADER = re.compile(r"""^\s*(\[\[?)\s*([\w\-."' ]+?)\s*\]\]?\s*(#.*)?$""")


def locate(text: str, path: list[Any]) -> int | None:
    """The 1-based line that sets ``path`` (``["routing", "monthly_budget", "limit_cny"]``,
    ``["hooks", 0, "command"]``): the key's own line if found, else the closest table
    header; ``None`` when neither is in ``text``."""
    lines = text.splitlines()
    sections: list[tuple[list[str], int, int | None]] = [([], -1, None)]
    counts: dict[tuple[str, ...], int] = {}
    for i, line in enumerate(lines):
        m = _HEADER.match(line)
        if m:
            parts = [p.strip().strip("\"'") for p in m.group(2).split(".")]
            index = None
            if m.group(1) == "[[":
                index = counts.get(tuple(parts), 0)
                counts[tuple(parts)] = index + 1
            sections.append((parts, i, index))
    best: tuple[int, int, list[Any]] | None = None
    for parts, start, index in sections:
        if [str(p) for p in path[:len(parts)]] != parts:
            continue
        rest = list(path[len(parts):])
        if index is not None and rest:
            if rest[0] != index:
                continue
            rest = rest[1:]
        used = len(path) - len(rest)
        if best is None or used > best[0]:
            best = (used, start, rest)
    if best is None:
        return None
    _, start, rest = best
    if rest and isinstance(rest[0], str):
        key = re.compile(r"""^\s*["']?""" + re.escape(rest[0]) + r"""["']?\s*[=.]""")
        for i in range(start + 1, len(lines)):
            if i > start + 1 and _HEADER.match(lines[i]):
                break
            if key.match(lines[i]):
                return i + 1
    return start + 1 if start >= 0 else None


# --- validating one table ---------------------------------------------------------------

_UNIONS = (typing.Union, types.UnionType)
_FIXES = {
    "int_parsing": "write a whole number, e.g. 10", "int_type": "write a whole number",
    "float_parsing": "write a number, e.g. 1.5", "float_type": "write a number",
    "bool_parsing": "write true or false", "bool_type": "write true or false",
    "string_type": "write a quoted string", "list_type": 'write a list, e.g. ["a", "b"]',
    "dict_type": "write a table", "model_type": "write a table", "missing": "add it",
    "dataclass_type": "write a table",
}


def _fields(model: Any) -> dict[str, Any]:
    """Field name → annotation of a pydantic model or dataclass (else empty)."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return {n: f.annotation for n, f in model.model_fields.items()}
    if dataclasses.is_dataclass(model):
        hints = typing.get_type_hints(model)
        return {f.name: hints.get(f.name) for f in dataclasses.fields(model)}
    return {}


def _walk(model: Any, loc: tuple[Any, ...]) -> tuple[tuple[Any, ...], Any]:
    """``loc`` without pydantic's union-member tags, and the model (or annotation)
    that validates the value at its parent."""
    clean: list[Any] = []
    current, parent = model, model
    for part in loc:
        if isinstance(current, type) and issubclass(current, RootModel):
            # [table.NAME] tables: a RootModel[dict[str, Model]] validates the names
            current = current.model_fields["root"].annotation
        members = [a for a in typing.get_args(current) if a is not type(None)] \
            if typing.get_origin(current) in _UNIONS else []
        tagged = [a for a in members if isinstance(part, str) and (
            getattr(a, "__name__", None) == part
            or part.startswith(f"{getattr(typing.get_origin(a), '__name__', '~')}["))]
        if tagged:  # "RuleLists" in ("rules", "RuleLists", "maybe"): not a key
            current = tagged[0]
            continue
        if members:
            current = next((a for a in members if _fields(a)), members[-1])
        parent = current
        clean.append(part)
        if isinstance(part, str) and _fields(current):
            current = _fields(current).get(part)
        else:  # a list index or a dict key: the item type
            args = [a for a in typing.get_args(current) if a is not type(None)]
            current = args[-1] if args else None
    return tuple(clean), parent


def _check_table(table: str, value: Any, model: Any) -> tuple[Any, tuple[Any, ...], str]:
    """``(validated, (), "")``, or ``(None, loc, message)`` for the first problem."""
    if not isinstance(value, Mapping):
        return None, (), f"must be a table: write [{table}] and key = value lines under it"
    if dataclasses.is_dataclass(model):
        unknown = [k for k in value if k not in _fields(model)]
        if unknown:
            return None, (unknown[0],), _unknown_key(unknown[0], _fields(model), table)
        adapter: TypeAdapter[Any] = TypeAdapter(model)
        try:
            return adapter.validate_python(dict(value)), (), ""
        except (ValueError, TypeError) as exc:
            loc, msg = explain(exc, model, table)
            return None, loc, msg
    try:
        return model.model_validate(dict(value)), (), ""
    except ValidationError as exc:
        loc, msg = explain(exc, model, table)
        return None, loc, msg


def _unknown_key(key: str, fields: Mapping[str, Any], where: str) -> str:
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown key; {hint}the keys of [{where}] are: {', '.join(fields)}"


def explain(exc: BaseException, model: Any, table: str) -> tuple[tuple[Any, ...], str]:
    """``(loc, message)`` of the first problem of a failed validation of ``[table]``
    by ``model``: the key path inside the table, and what is wrong and how to fix it."""
    if not isinstance(exc, ValidationError):
        return (), str(exc)
    err = exc.errors()[0]
    loc, parent = _walk(model, tuple(err["loc"]))
    if err["type"] == "extra_forbidden":
        where = ".".join([table, *(str(p) for p in loc[:-1] if isinstance(p, str))])
        return loc, _unknown_key(str(loc[-1]), _fields(parent), where)
    msg = err["msg"].removeprefix("Value error, ")
    if "input" in err and not isinstance(err["input"], (dict, list)) and \
            err["type"] != "missing":
        msg += f" (got {err['input']!r})"
    fix = _FIXES.get(err["type"])
    return loc, f"{msg}; {fix}" if fix else msg


def _fail(config: Mapping[str, Any], table: str, path: list[Any], message: str) -> ConfigError:
    """``path`` is ``[table, *keys]``, or ``[table, index, *keys]`` for ``[[table]]``."""
    src = (config.get("__sources__") or {}).get(table) or {}
    line = locate(src.get("text", ""), path) if src else None
    rest = list(path[1:])
    shown = table
    if rest and isinstance(rest[0], int):
        shown = f"{table}[{rest.pop(0)}]"
    key = ".".join(str(p) for p in rest)
    return ConfigError(message, path=src.get("path"), line=line, table=shown,
                       key=key or None)


# --- the whole file ---------------------------------------------------------------------


def _missing_table(config: Mapping[str, Any], table: str, known: list[str]) -> ConfigError:
    from teragent.registry import KNOWN_DISTRIBUTIONS

    dist = KNOWN_DISTRIBUTIONS.get("config_table", {}).get(table)
    if dist:
        return _fail(config, table, [table], (
            f"this table is read by the plugin {dist!r}, which is not installed; install "
            f"it with: pip install {dist} (or remove the table)"))
    close = difflib.get_close_matches(table, known, n=1, cutoff=0.6)
    hint = f"did you mean [{close[0]}]? " if close else ""
    return _fail(config, table, [table], (
        f"unknown table; {hint}the tables installed plugins read are: "
        f"{', '.join(sorted(known))}"))


def _check_component(config: Mapping[str, Any], host: Any, kind: str, name: str,
                     path: list[Any]) -> None:
    """An adapter or compiler name no installed plugin provides and no known plugin
    would (those fail at build time naming ``pip install``): the file's line."""
    from teragent.registry import KNOWN_DISTRIBUTIONS

    registry = host.registry(f"{kind}s")
    if name in registry or name in KNOWN_DISTRIBUTIONS.get(kind, {}):
        return
    known = sorted({*registry.names(), *KNOWN_DISTRIBUTIONS.get(kind, {})})
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise _fail(config, "drivers", path, (
        f"unknown {kind} {name!r}; {hint}the {kind}s of installed and known plugins are: "
        f"{', '.join(known)}"))


def _check_drivers(config: Mapping[str, Any], host: Any = None) -> dict[str, DriverConfig]:
    drivers = dict(config.get("drivers") or {})
    known = [n for n in DriverConfig.model_fields if n not in ("adapter", "identity")]
    for name, driver in drivers.items():
        if host is not None and isinstance(driver, DriverConfig):
            _check_component(config, host, "adapter", driver.adapter,
                             ["drivers", driver.adapter, driver.identity])
            _check_component(config, host, "compiler", driver.compiler,
                             ["drivers", driver.adapter, driver.identity, "compiler"])
        for key in (getattr(driver, "model_extra", None) or {}):
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
            if close:  # other unknown keys are adapter options, by design
                adapter, _, identity = name.partition(".")
                raise _fail(config, "drivers", ["drivers", adapter, identity, key], (
                    f"unknown key; did you mean {close[0]!r}? (adapter options that are "
                    f"not driver keys go in options = {{...}})")) from None
    return drivers


def _check_driver_name(config: Mapping[str, Any], table: str, path: list[Any],
                       name: str, drivers: Mapping[str, Any]) -> None:
    if name in drivers:
        return
    close = difflib.get_close_matches(name, list(drivers), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise _fail(config, table, path, (
        f"{name!r} is not a driver of this configuration; {hint}define "
        f"[drivers.{name}] or use one of: {', '.join(drivers) or '(none)'}"))


def _check_plugin_settings(config: Mapping[str, Any], value: Any, host: Any,
                           registry: Any) -> dict[str, Any]:
    """``[plugins.<name>]``: a plugin's own settings (see ``teragent_configure``). The
    plugin must be loaded; the table is validated when the plugin registered a model
    for ``"plugins.<name>"``, else the plugin checks it itself."""
    if not isinstance(value, Mapping):
        raise _fail(config, "plugins", ["plugins"],
                    "must be a table of tables: write [plugins.<name>]")
    loaded = [r.name for r in host.list_plugins() if r.status == "loaded"]
    out: dict[str, Any] = {}
    for name, table in value.items():
        if name not in loaded:
            close = difflib.get_close_matches(name, loaded, n=1, cutoff=0.6)
            hint = f"did you mean [plugins.{close[0]}]? " if close else ""
            raise _fail(config, "plugins", ["plugins", name], (
                f"no loaded plugin is named {name!r}; {hint}`teragent plugins` lists them "
                "(install the plugin, or remove the table)"))
        key = f"plugins.{name}"
        if key in registry:
            validated, loc, message = _check_table(key, table, registry.entry(key).resolve())
            if message:
                raise _fail(config, "plugins", ["plugins", name, *loc], message)
            out[key] = validated
    return out


def validate_config(config: Mapping[str, Any], *, host: Any = None) -> TerAgentConfig:
    """Validate every table of ``config`` (see the module docstring)."""
    if host is None:
        from teragent.plugins import get_host

        host = get_host()
    registry = host.registry("config_tables")
    drivers = _check_drivers(config, host)
    kernel: dict[str, Any] = {}
    plugin_tables: dict[str, Any] = {}
    for table, value in config.items():
        if table.startswith("__") or table == "drivers":
            continue
        if table == "plugins":
            plugin_tables.update(_check_plugin_settings(config, value, host, registry))
            continue
        if table not in registry:
            raise _missing_table(config, table, registry.names())
        entry = registry.entry(table)
        model = entry.resolve()
        if entry.options.get("many"):
            items = value if isinstance(value, list) else None
            if items is None:
                raise _fail(config, table, [table], (
                    f"must be an array of tables: write each one as [[{table}]]"))
            validated: Any = []
            for i, item in enumerate(items):
                result, loc, message = _check_table(table, item, model)
                if message:
                    raise _fail(config, table, [table, i, *loc], message)
                validated.append(result)
        else:
            validated, loc, message = _check_table(table, value, model)
            if message:
                raise _fail(config, table, [table, *loc], message)
        if table in KERNEL_TABLES:
            kernel[table] = validated
        else:
            plugin_tables[table] = validated
    result = TerAgentConfig(drivers=drivers, plugin_tables=plugin_tables,
                            files=list(config.get("__files__") or []), **kernel)
    if result.agent.driver:
        _check_driver_name(config, "agent", ["agent", "driver"], result.agent.driver,
                           drivers)
    key = "driver" if result.model_fallback.driver else "chain"
    for name in result.model_fallback.drivers:
        _check_driver_name(config, "model_fallback", ["model_fallback", key], name, drivers)
    return result
