"""``teragent config check`` and ``teragent config show``.

``check`` loads ``agent.toml`` the way every run does (:func:`teragent.load_full_config`,
which validates each table against its owner's model) and prints ``ok: N files``; a
problem is the CLI's one-line error (``agent.toml:LINE: [table] key: ...``) and exit
code 2. ``show`` prints the resolved configuration, defaults filled in, as JSON, with
secrets masked: secret-named keys (:func:`teragent.secrets.redact_fields`) and each
driver's resolved key (:func:`teragent.config.secrets.mask`).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["args_config", "cmd_config", "resolved_config"]


def args_config(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate agent.toml (exit 2 on the first problem)")
    check.add_argument("file", nargs="?", help="this file only (default: the search path)")
    show = sub.add_parser("show", help="print the resolved configuration, secrets masked")
    show.add_argument("file", nargs="?", help="this file only (default: the search path)")


def resolved_config(path: str | None = None) -> dict[str, Any]:
    """The validated configuration as plain data, defaults included, secrets masked."""
    from teragent.config.loader import load_full_config
    from teragent.config.secrets import mask, resolve_api_key
    from teragent.config.teragent_config import TerAgentConfig
    from teragent.secrets import redact_fields

    raw = load_full_config(path)
    validated = TerAgentConfig.from_config(raw)
    data: dict[str, Any] = validated.model_dump(mode="json", exclude={"plugin_tables"})
    for name, table in validated.plugin_tables.items():
        data[name] = _dump(table)
    for name, driver in validated.drivers.items():
        key = resolve_api_key(driver.api_key_env, required=False)
        data["drivers"][name]["api_key"] = mask(key) if driver.api_key_env else "(none)"
    masked: dict[str, Any] = redact_fields(data, strict=True)
    for name in validated.drivers:  # masked already by mask(); keep its hint
        masked["drivers"][name]["api_key"] = data["drivers"][name]["api_key"]
    return masked


def _dump(value: Any) -> Any:
    import dataclasses

    if isinstance(value, list):
        return [_dump(v) for v in value]
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    return value


def cmd_config(args: argparse.Namespace) -> int:
    if args.config_command == "check":
        from teragent.config.loader import load_full_config

        files = load_full_config(args.file)["__files__"]
        n = len(files)
        print(f"ok: {n} file{'' if n == 1 else 's'}" + (f" ({', '.join(files)})" if files
                                                          else " (no agent.toml found)"))
        return 0
    print(json.dumps(resolved_config(args.file), indent=2, ensure_ascii=False))
    return 0
