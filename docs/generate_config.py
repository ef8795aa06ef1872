"""Generate docs/reference/agent-toml.md from the configuration models (a test checks it
is current).

What it documents, found rather than listed, so the page grows with the code:

- every model registered for a table through ``teragent_register_config_tables`` (any
  registration kind whose name contains ``config``: table name -> model, with its
  ``description`` and ``many`` options), by the kernel or a plugin;
- every other pydantic model defined in a module of :mod:`teragent.config` (the
  kernel's modules and the ones plugins serve there through :mod:`teragent.moved`),
  unless the table it names is already documented by a registered model;
- the kernel tables whose model lives elsewhere (:data:`ELSEWHERE`), if not registered.

A model's table is the first ````[table]```` or ````[[table]]```` its class docstring
names (else its module docstring's, when the module defines one model). A field's text
comes from ``Field(description=...)``, a ``#:`` comment above it, or the class
docstring's ``Attributes:`` section.

Run: .venv/bin/python docs/generate_config.py
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
OUT = HERE / "reference" / "agent-toml.md"

#: Kernel tables whose model is not in teragent.config: table -> "module:Class".
ELSEWHERE = {"routing": "teragent.router.table:RoutingTable"}

#: Tables read from agent.toml that no model documents yet, and where they are explained.
#: A table drops off this list by itself once a model names it.
UNMODELLED = {
    "permission": "the 7 permission layers: [Permissions](../security/permissions.md)",
    "workspace": "`protected = [...]`, extra protected paths: "
                 "[The guard chain](../security/guard-chain.md)",
    "audit": "`path`, the audit log (`.teragent/audit.jsonl`; `\"\"` disables it)",
    "security.sandbox": "which backend runs shell commands: [Sandboxes](../sandboxes.md)",
    "execution.pipeline": "drivers per pipeline stage and `active_profile`: "
                          "[Multi-model routing](../guides/routing.md)",
    "pipeline.profiles.<name>": "named pipeline profiles: "
                                "[Multi-model routing](../guides/routing.md)",
    "recovery": "model-call recovery (retries, fallbacks) of `teragent.reliability`",
    "rate_limit": "client-side rate limits per driver of `teragent.reliability`",
    "plugins.<name>": "a plugin's own settings (it reads them in `teragent_configure`)",
}

_TABLE = re.compile(r"``(\[\[?[a-z_][\w.<>-]*\]\]?)``")


# --- discovery ------------------------------------------------------------------------


def _config_modules() -> tuple[list[types.ModuleType], list[str]]:
    """The modules of teragent.config (kernel files and MOVED ones); and those skipped
    because the plugin that provides them is not installed."""
    import teragent.config as package
    from teragent.moved import MOVED

    names = {f"teragent.config.{m.name}" for m in pkgutil.iter_modules(package.__path__)}
    names |= {n for n in MOVED if n.startswith("teragent.config.") and not n.endswith(".")}
    modules, missing = [], []
    for name in sorted(names):
        try:
            modules.append(importlib.import_module(name))
        except ImportError:
            missing.append(name)
    return modules, missing


def _is_model(obj: Any) -> bool:
    from pydantic import BaseModel

    return inspect.isclass(obj) and issubclass(obj, BaseModel) and obj is not BaseModel


def _defined_models(module: types.ModuleType) -> list[type]:
    # The providing module's own name: a MOVED alias keeps the plugin's __name__.
    return [obj for _, obj in inspect.getmembers(module, _is_model)
            if obj.__module__ == module.__name__]


def _table_of(cls: type, module_doc: str | None) -> str | None:
    m = _TABLE.search(_summary(cls))
    if m is None and module_doc:
        m = _TABLE.search(module_doc)
    return m.group(1) if m else None


def _registered_tables() -> tuple[dict[str, tuple[type, dict[str, Any]]], list[str]]:
    """Models plugins register for tables (``teragent_register_config_tables``, or any
    registration kind whose name contains ``config``): table -> (model, entry details);
    and the registrations whose model cannot be imported."""
    from teragent.plugins import get_host

    host = get_host()
    out: dict[str, tuple[type, dict[str, Any]]] = {}
    missing: list[str] = []
    for kind in sorted(host.registration_hooks):
        if "config" not in kind:
            continue
        registry = host.registry(kind)
        for name in registry.names():
            entry = registry.entry(name)
            try:
                model = entry.resolve()
            except Exception as exc:  # noqa: BLE001 - reported, the page goes on
                missing.append(f"[{name}] ({exc})")
                continue
            if inspect.isclass(model):
                out[name] = (model, {"plugin": entry.plugin,
                                     "description": entry.description,
                                     **entry.options})
    return out, missing


def collect() -> tuple[list[tuple[str | None, type, dict[str, Any]]], list[str]]:
    """``(table or None, model, details)`` in page order, and what was skipped."""
    registered, missing = _registered_tables()
    found: dict[type, tuple[str | None, dict[str, Any]]] = {}
    for table, (cls, details) in registered.items():
        many = details.get("many")
        found[cls] = (f"[[{table}]]" if many else f"[{table}]", details)
    covered = {_sort_key(t) for t, _ in found.values() if t}
    modules, missing_modules = _config_modules()
    missing += missing_modules
    for module in modules:
        defined = _defined_models(module)
        module_doc = module.__doc__ if len(defined) == 1 else None
        for cls in defined:
            if cls in found:
                continue
            table = _table_of(cls, module_doc)
            if table and _sort_key(table) in covered and not _is_nested(table, covered):
                continue  # the registered model of that table documents it
            found[cls] = (table, {})
    for cls, (table, _details) in list(found.items()):
        if table:
            _add_nested(cls, table, found)
    covered = {_sort_key(t) for t, _ in found.values() if t}
    for table, target in ELSEWHERE.items():
        if table in covered:
            continue
        module_name, _, attr = target.partition(":")
        found.setdefault(getattr(importlib.import_module(module_name), attr),
                         (f"[{table}]", {}))
    ordered = sorted(found.items(), key=lambda kv: (kv[1][0] is None, _sort_key(kv[1][0]),
                                                    kv[0].__name__))
    return [(table, cls, details) for cls, (table, details) in ordered], missing


def _model_types(tp: Any) -> list[type]:
    """Models (or dataclasses) inside an annotation: ``X``, ``X | None``, ``list[X]``."""
    if _is_model(tp) or (inspect.isclass(tp) and dataclasses.is_dataclass(tp)):
        return [tp]
    return [m for arg in typing.get_args(tp) for m in _model_types(arg)]


def _add_nested(cls: type, table: str, found: dict[type, Any]) -> None:
    """Document the models a table's fields hold, as ``[table.field]`` (a list of them
    as ``[[table.field]]``)."""
    if not _is_model(cls):
        return
    for name, info in cls.model_fields.items():  # type: ignore[attr-defined]
        many = typing.get_origin(info.annotation) is list
        for sub in _model_types(info.annotation):
            if sub in found and found[sub][0] is not None:
                continue
            # a RootModel[dict[str, X]] table holds [table.<name>] tables of X
            inner = f"{_sort_key(table)}.<name>" if _is_root(cls) else \
                f"{_sort_key(table)}.{name}"
            found[sub] = (f"[[{inner}]]" if many else f"[{inner}]", {"nested": True})
            _add_nested(sub, inner, found)


def _is_root(cls: type) -> bool:
    from pydantic import RootModel

    return inspect.isclass(cls) and issubclass(cls, RootModel)


def _is_nested(table: str, covered: set[str]) -> bool:
    """``[[orchestration.agents]]`` under a registered ``[orchestration]``: the item
    model of a table's array, documented on its own."""
    return "." in _sort_key(table) and _sort_key(table) not in covered


def _sort_key(table: str | None) -> str:
    return (table or "").strip("[]")


# --- rendering ------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        return " | ".join(_value(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin is not None:
        inner = ", ".join(_type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if tp is type(None):
        return "None"
    if _is_model(tp) or dataclasses.is_dataclass(tp):
        return f"[{tp.__name__}](#{tp.__name__.lower()})"
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _value(value: Any) -> str:
    if _is_model(type(value)) or dataclasses.is_dataclass(value):
        return "(its table)"
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, (list, tuple, dict)) and len(value) > 3:
        return f"{len(value)} entries (shipped defaults)"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def _constraints(metadata: list[Any]) -> str:
    marks = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    out = []
    for item in metadata:
        for attr, mark in marks.items():
            if getattr(item, attr, None) is not None:
                out.append(f"{mark} {getattr(item, attr)}")
    return ", ".join(out)


def _comment_docs(cls: type) -> dict[str, str]:
    """``#:`` comments above class attributes, and the docstring's Attributes section."""
    docs: dict[str, str] = {}
    for base in cls.__mro__[1:]:  # inherited fields keep their comments
        if base.__module__.startswith("teragent") and (
                _is_model(base) or dataclasses.is_dataclass(base)):
            docs.update(_comment_docs(base))
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        source = ""
    pending: list[str] = []
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        m = re.match(r"\s+(\w+)\s*:", line)
        if m and pending:
            docs[m.group(1)] = " ".join(pending)
        pending = []
    doc = inspect.getdoc(cls) or ""
    section = re.search(r"^Attributes:\n((?:[ \t]+.*\n?|\n)*)", doc, re.M)
    if section:
        current: list[str] = []
        text: list[str] = []
        for line in section.group(1).splitlines():
            m = re.match(r"    ([\w, ]+?):\s*(.*)", line)
            if m and not line.startswith("     "):
                for name in current:
                    docs.setdefault(name, " ".join(text))
                current = [n.strip() for n in m.group(1).split(",")]
                text = [m.group(2)]
            elif line.strip():
                text.append(line.strip())
        for name in current:
            docs.setdefault(name, " ".join(text))
    return docs


def _md(text: str) -> str:
    """Docstring reST to Markdown: roles and double backticks to code spans, ``::``
    blocks to code blocks."""
    text = re.sub(r":\w+:`~([\w.]+)`", lambda m: f"`{m.group(1).rsplit('.', 1)[-1]}`", text)
    text = re.sub(r":\w+:`([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")
    return re.sub(r"(\S)::$", r"\1:", re.sub(r"^::$", "", text, flags=re.M), flags=re.M)


def _cell(text: str) -> str:
    return _md(text).replace("|", "\\|").replace("\n", " ")


def _fields(cls: type) -> list[tuple[str, str, str, str]]:
    """``(name, type, default, description)`` per field."""
    notes = _comment_docs(cls)
    rows = []
    if _is_root(cls):
        return []  # its keys are names; the section of its item model lists the keys
    if _is_model(cls):
        from pydantic_core import PydanticUndefined

        for name, info in cls.model_fields.items():  # type: ignore[attr-defined]
            if info.default_factory is not None:
                default = _value(info.default_factory())  # type: ignore[call-arg]
            elif info.default is PydanticUndefined:
                default = "required"
            else:
                default = _value(info.default)
            desc = info.description or notes.get(name, "")
            limits = _constraints(list(info.metadata))
            if limits:
                desc = f"{desc} ({limits})" if desc else limits
            rows.append((name, _type_name(info.annotation), default, desc))
    else:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.default_factory is not dataclasses.MISSING:
                default = _value(f.default_factory())
            elif f.default is not dataclasses.MISSING:
                default = _value(f.default)
            else:
                default = "required"
            rows.append((f.name, _type_name(hints.get(f.name, f.type)), default,
                         notes.get(f.name, "")))
    # required keys first (a subclass's ``type`` after its base's fields otherwise)
    return sorted(rows, key=lambda row: row[2] != "required")


def _summary(cls: type) -> str:
    doc = inspect.getdoc(cls) or ""
    body = re.split(r"^(?:Attributes|Args|Example|Examples):\s*$", doc, flags=re.M)[0]
    return body.strip()


def _extra_policy(cls: type) -> str:
    extra = (getattr(cls, "model_config", None) or {}).get("extra")
    if extra == "forbid":
        return "Unknown keys are rejected, with a \"did you mean\" suggestion."
    if extra == "allow":
        return "Other keys are accepted and kept."
    if dataclasses.is_dataclass(cls):
        return "Unknown keys are rejected."
    return ""


def render() -> str:
    from teragent.config import loader

    entries, _missing = collect()
    modelled = {_sort_key(t) for t, _, _ in entries if t}
    lines = [
        "# `agent.toml` reference", "",
        "Generated from the configuration models by `docs/generate_config.py`; do not "
        "edit by hand (a test fails when this page is stale).", "",
        "## Where it is read", "",
        inspect.cleandoc(loader.__doc__ or ""), "",
        "API keys never appear in `agent.toml`: a driver names the environment variable "
        "that holds its key (`api_key_env`), read from the environment or a `.env` file.",
        "",
    ]
    for table, cls, details in entries:
        if table is None:
            continue
        lines += _section(cls, f"`{table}`", details)
    others = [cls for table, cls, _ in entries if table is None]
    if others:
        lines += ["## Other configuration models", "",
                  "Defined in `teragent.config` but naming no table of their own "
                  "(built from several tables, or used inside one).", ""]
        for cls in others:
            lines += _section(cls, None, {})
    rest = {t: where for t, where in UNMODELLED.items() if t not in modelled}
    if rest:
        lines += ["## Tables without a model yet", "",
                  "Read by the kernel or a plugin but not yet described by a model, so "
                  "not generated here:", "", "| table | what, and where it is explained |",
                  "|---|---|"]
        lines += [f"| `[{t}]` | {where} |" for t, where in rest.items()]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _section(cls: type, title: str | None, details: dict[str, Any]) -> list[str]:
    where = f"{cls.__module__}.{cls.__qualname__}"
    heading = f"{title} — {cls.__name__}" if title else cls.__name__
    lines = [f"## {heading} {{#{cls.__name__.lower()}}}", ""]
    if details.get("description"):
        lines += [f"*{details['description']}.*", ""]
    owner = f", registered by plugin `{details['plugin']}`" if details.get("plugin") else ""
    many = " Each `[[...]]` item of the array is one such table." if details.get("many") \
        else ""
    lines += [f"Model: `{where}`{owner}.{many}", ""]
    summary = _summary(cls)
    if summary:
        lines += [_md(summary), ""]
    policy = _extra_policy(cls)
    if policy:
        lines += [policy, ""]
    rows = _fields(cls)
    if rows:
        lines += ["| key | type | default | meaning |", "|---|---|---|---|"]
        lines += [f"| `{n}` | {_cell(t)} | {_cell(d)} | {_cell(desc)} |"
                  for n, t, d, desc in rows]
        lines.append("")
    return lines


def main() -> int:
    _, missing = collect()
    if missing:
        print("warning: not documented (plugin not installed, or the model does not "
              "import): " + "; ".join(missing), file=sys.stderr)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
