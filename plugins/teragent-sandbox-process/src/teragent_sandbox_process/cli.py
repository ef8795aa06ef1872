"""``teragent sandbox``: which backend the ``bash`` tool uses here and what it contains.

Lists every registered backend (level, availability and why), then the default for
``bash`` (``[sandbox] backend`` of ``agent.toml``, else the first available of
:data:`teragent.security.sandbox.DEFAULT_PREFERENCE`), the escape-suite probes it
claims to contain and, when ``teragent-testing`` is installed, those it does not.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

__all__ = ["args_sandbox", "cmd_sandbox", "sandbox_report"]


def args_sandbox(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None, help="the agent.toml to read [sandbox] from")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")


def sandbox_report(config: dict[str, Any] | None = None) -> dict[str, Any]:
    """The data ``teragent sandbox`` prints."""
    from teragent.security.sandbox import DEFAULT_PREFERENCE, get_sandbox, list_sandboxes

    pinned = ((config or {}).get("sandbox") or {}).get("backend")
    infos = list_sandboxes()
    available = {i.name for i in infos if i.available}
    if pinned:
        default, why = str(pinned), "[sandbox] backend in agent.toml"
    else:
        default = next((n for n in DEFAULT_PREFERENCE if n in available), "process")
        why = f"first available of {', '.join(DEFAULT_PREFERENCE)}"
    backend = get_sandbox(default)
    claims = sorted(getattr(backend, "contains", frozenset()))
    report: dict[str, Any] = {
        "default": default, "why": why, "available": default in available,
        "contains": claims,
        "backends": [{"name": i.name, "level": i.level, "priority": i.priority,
                      "available": i.available, "reason": i.reason} for i in infos],
    }
    try:
        from teragent_testing.escape import PROBES, TIERS
    except ImportError:
        return report
    report["tier"] = TIERS.get(default)
    report["not_contained"] = sorted(set(PROBES) - set(claims))
    report["probes"] = dict(PROBES)
    return report


def cmd_sandbox(args: argparse.Namespace) -> int:
    from teragent.config.loader import load_full_config

    config = load_full_config(args.config) if args.config else load_full_config()
    report = sandbox_report(config)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    probes = report.get("probes", {})
    state = "" if report["available"] else " (NOT available here)"
    print(f"bash runs in: {report['default']}{state} ({report['why']})")
    if report.get("tier") is not None:
        print(f"tier: {report['tier']} (process 0 < landlock 1 < bwrap 2 < gvisor, "
              "container 3 < microvm 4)")
    print("contains:")
    for name in report["contains"]:
        print(f"  {name:18} {probes.get(name, '')}".rstrip())
    if report.get("not_contained"):
        print("does not contain:")
        for name in report["not_contained"]:
            print(f"  {name:18} {probes.get(name, '')}".rstrip())
    print("backends:")
    for b in report["backends"]:
        mark = "yes" if b["available"] else "no "
        print(f"  level {b['level']}  {b['name']:12} available: {mark}  {b['reason']}")
    return 0
