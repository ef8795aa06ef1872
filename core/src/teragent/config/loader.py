"""Loading ``agent.toml`` from the platform's search paths.

Files are merged, later ones overriding earlier ones table by table:

1. the user config directory: ``$XDG_CONFIG_HOME/teragent/agent.toml`` (Linux),
   ``~/Library/Application Support/teragent/agent.toml`` (macOS),
   ``%APPDATA%\\teragent\\agent.toml`` (Windows);
2. the project root (nearest parent with ``.git`` / ``pyproject.toml``);
3. the current directory;
4. ``$TERAGENT_CONFIG`` or an explicit ``path`` (then only that file).

Errors name the file, the line and the key.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from pydantic import ValidationError

from teragent.config.secrets import project_root
from teragent.errors import ConfigError

if TYPE_CHECKING:  # the TOML parser and the driver model load when a file is read
    from teragent.config.driver_config import DriverConfig

__all__ = ["config_search_paths", "load_toml", "load_full_config", "table_defaults",
           "user_config_dir", "validate_table"]

CONFIG_NAME = "agent.toml"


def user_config_dir() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "teragent"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "teragent"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "teragent"


def config_search_paths() -> list[Path]:
    """Candidate files, lowest precedence first (missing ones included)."""
    paths = [user_config_dir() / CONFIG_NAME]
    root = project_root()
    if root is not None:
        paths.append(root / CONFIG_NAME)
    paths.append(Path.cwd() / CONFIG_NAME)
    out: list[Path] = []
    for p in paths:
        if all(p.resolve() != q.resolve() for q in out):
            out.append(p)
    return out


def _line_of(text: str, table: list[str], key: str | None) -> int | None:
    """Best-effort 1-based line of ``key`` inside ``[table]`` (or of the table)."""
    lines = text.splitlines()
    header = re.compile(r"^\s*\[\s*" + r"\s*\.\s*".join(re.escape(t) for t in table) + r"\s*\]")
    start = 0
    if table:
        for i, line in enumerate(lines):
            if header.match(line):
                start = i
                if key is None:
                    return i + 1
                break
        else:
            return None
    if key is None:
        return None
    keyre = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
    for i in range(start, len(lines)):
        if i > start and lines[i].lstrip().startswith("[") and table:
            break
        if keyre.match(lines[i]):
            return i + 1
    return None


_TOML_HEADER = re.compile(r"""^\s*\[\[?\s*([\w\-."' ]+?)\s*\]\]?\s*(#.*)?$""")
_TOML_KEY = re.compile(r"""^\s*([\w\-]+|"[^"]*"|'[^']*')\s*[=.]""")


def _table_and_key_at(text: str, line: int | None) -> tuple[str | None, str | None]:
    """The table in effect at ``line`` and the key written on it, as far as a file
    that does not parse shows them (for syntax errors)."""
    if not line:
        return None, None
    lines = text.splitlines()
    here = lines[line - 1] if 0 < line <= len(lines) else ""
    m = _TOML_HEADER.match(here)
    if m:
        return m.group(1).replace(" ", ""), None
    if here.lstrip().startswith("["):  # a broken header: the name it starts with
        name = re.match(r"\s*\[+\s*([\w\-.]*)", here)
        return (name.group(1) or None) if name else None, None
    table = None
    for prev in reversed(lines[:line - 1]):
        m = _TOML_HEADER.match(prev)
        if m:
            table = m.group(1).replace(" ", "")
            break
    k = _TOML_KEY.match(here)
    key = k.group(1).strip("\"'") if k else None
    if table is None and key is not None:
        return key, None  # a top-level key: shown as its table
    return table, key


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse one TOML file; syntax errors become :class:`ConfigError` with the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found; check the path or create it", path=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not valid UTF-8 ({exc.reason}); save it as UTF-8",
                          path=str(path)) from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(m.group(1)) if m else None
        table, key = _table_and_key_at(text, line)
        raise ConfigError(f"invalid TOML: {exc}", path=str(path), line=line,
                          table=table, key=key) from None
    data["__source__"] = {"path": str(path), "text": text}
    return data


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _parse_drivers(data: dict[str, Any], sources: dict[str, dict[str, str]]) -> dict[str, DriverConfig]:
    from teragent.config.driver_config import DriverConfig

    drivers: dict[str, DriverConfig] = {}
    raw = data.get("drivers", {})
    if not isinstance(raw, dict):
        src = sources.get("drivers", {})
        raise ConfigError("must be a table of tables: write [drivers.<adapter>.<identity>]",
                          path=src.get("path"), line=_line_of(src.get("text", ""), [],
                                                                "drivers"),
                          table="drivers")
    for adapter, identities in raw.items():
        if not isinstance(identities, dict):
            src = sources.get("drivers", {})
            raise ConfigError(
                f"must be a table of identities: write [drivers.{adapter}.<identity>], "
                f"e.g. [drivers.{adapter}.main]", path=src.get("path"),
                line=_line_of(src.get("text", ""), ["drivers"], adapter)
                or _line_of(src.get("text", ""), [], "drivers"),
                table="drivers", key=adapter)
        for identity, table in identities.items():
            name = f"{adapter}.{identity}"
            src = sources.get(name, {})
            if not isinstance(table, dict):
                src = src or sources.get("drivers", {})
                raise ConfigError(
                    f"must be a table: write [drivers.{name}] and key = value lines under it",
                    path=src.get("path"),
                    line=_line_of(src.get("text", ""), ["drivers", adapter], identity),
                    table="drivers", key=name)
            try:
                drivers[name] = DriverConfig(adapter=adapter, identity=identity, **table)
            except ValidationError as exc:
                from teragent.config.teragent_config import explain

                loc, msg = explain(exc, DriverConfig, f"drivers.{name}")
                key = ".".join(str(p) for p in loc) or None
                if key is None:  # a whole-table check: blame the key it names
                    named = re.search(r"'(\w+)'", msg)
                    key = named.group(1) if named and named.group(1) in table else None
                line = _line_of(src.get("text", ""), ["drivers", adapter, identity], key) \
                    or _line_of(src.get("text", ""), ["drivers", adapter, identity], None)
                raise ConfigError(msg, path=src.get("path"), line=line,
                                  table=f"drivers.{name}", key=key) from None
    return drivers


def load_full_config(path: str | Path | None = None) -> dict[str, Any]:
    """Load and merge ``agent.toml`` files.

    Args:
        path: One explicit file (skips the search). ``$TERAGENT_CONFIG`` does the same.

    Returns:
        The merged tables, with ``"drivers"`` mapping ``"adapter.identity"`` to
        :class:`DriverConfig` and ``"__files__"`` listing the files read.

    Raises:
        ConfigError: a syntax error, or a table or key that its owner's model rejects
            (:class:`~teragent.config.teragent_config.TerAgentConfig`), as
            ``agent.toml:LINE: [table] key: what is wrong, how to fix``.
    """
    explicit = path or os.environ.get("TERAGENT_CONFIG")
    files = [Path(explicit)] if explicit else [p for p in config_search_paths() if p.is_file()]
    merged: dict[str, Any] = {}
    sources: dict[str, dict[str, str]] = {}
    tables: dict[str, dict[str, str]] = {}
    for f in files:
        data = load_toml(f)
        src = data.pop("__source__")
        for table in data:
            tables[table] = src  # the last file that sets a table is the one to blame
        raw_drivers = data.get("drivers")
        for adapter, ids in (raw_drivers if isinstance(raw_drivers, dict) else {}).items():
            if isinstance(ids, dict):
                for identity in ids:
                    sources[f"{adapter}.{identity}"] = src
        if "drivers" in data:
            sources["drivers"] = src  # the last file that sets it is the one to blame
        else:
            sources.setdefault("drivers", src)
        merged = _merge(merged, data)
    merged["drivers"] = _parse_drivers(merged, sources)
    merged["__files__"] = [str(f) for f in files]
    merged["__sources__"] = tables
    from teragent.config.teragent_config import validate_config
    from teragent.plugins import get_host

    # Every table and key checked against its owner's model (TerAgentConfig), before
    # any plugin sees the configuration.
    validate_config(merged, host=get_host())
    get_host().hook.teragent_configure.call_historic(kwargs={"config": merged})
    return merged


def _constructible(model: Any) -> bool:
    """Whether ``model.model_construct()`` gives what ``model()`` gives: every field has
    a default, no default is validated, and the model's own checks are plain "after"
    validators taking only the instance (they are run on it)."""
    import inspect

    try:
        decorators = model.__pydantic_decorators__
        fields = model.__pydantic_fields__
    except AttributeError:
        return False
    if model.model_config.get("validate_default") or \
            getattr(model, "__pydantic_root_model__", False):
        return False
    if any(f.is_required() or f.validate_default for f in fields.values()):
        return False
    for dec in decorators.model_validators.values():
        if dec.info.mode != "after" or len(inspect.signature(dec.func).parameters) != 1:
            return False
    return True


def table_defaults(model: Any) -> Any:
    """``model()`` (a table absent from ``agent.toml``) without building the model's
    validator: pydantic builds a model's schema on its first validation (~1-5 ms each,
    and the first one loads pydantic's own plugins), which building an agent with an
    empty configuration need not pay. Falls back to ``model()`` when construction is
    not the same thing (required fields, validated defaults, other validators)."""
    if not _constructible(model):
        return model()
    # Plain container factories are called here: pydantic would inspect each one's
    # signature (for a validated-data argument), which tokenizes a builtin's text
    # signature (~1.5 ms the first time). The fields stay unset, as after validation.
    made = {name: f.default_factory() for name, f in model.__pydantic_fields__.items()
            if f.default_factory in (list, dict, set, tuple, frozenset)}
    instance = model.model_construct(_fields_set=set(), **made)
    try:
        for dec in model.__pydantic_decorators__.model_validators.values():
            instance = dec.func(instance)
    except (ValueError, AssertionError):
        return model()  # the same check fails again, as the ValidationError validation gives
    return instance


def validate_table(config: Mapping[str, Any], table: str, model: Any,
                   overrides: dict[str, Any] | None = None) -> Any:
    """``model(**config[table], **overrides)``, with a validation error turned into a
    :class:`ConfigError` naming the file, line and key, and "did you mean" for a
    misspelled key. Overrides (CLI flags, keyword arguments) are blamed on the caller.
    An absent (or empty) table with no overrides gives :func:`table_defaults`."""
    values = dict(config.get(table) or {})
    values.update(overrides or {})
    try:
        return model(**values) if values else table_defaults(model)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or None
        src = (config.get("__sources__") or {}).get(table, {})
        from_file = key is not None and key.split(".")[0] in (config.get(table) or {}) \
            and key.split(".")[0] not in (overrides or {})
        fields = list(getattr(model, "model_fields", {}))
        if err["type"] == "extra_forbidden":
            import difflib  # (the error path only)

            close = difflib.get_close_matches(key or "", fields, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            msg = (f"unknown key; {hint}the keys of [{table}] are: {', '.join(fields)}")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            if "input" in err and not isinstance(err["input"], dict):
                msg += f" (got {err['input']!r})"
        if not from_file:
            raise ConfigError(msg, table=table, key=key) from None
        line = _line_of(src.get("text", ""), [table], key)
        raise ConfigError(msg, path=src.get("path"), line=line, table=table,
                          key=key) from None
