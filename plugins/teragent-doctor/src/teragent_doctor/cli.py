"""``teragent doctor``: find API keys written where they do not belong.

Runs :func:`~teragent_doctor.keys.audit_config_security` over every ``agent.toml`` on
the search path (or ``--config``) and :func:`~teragent_doctor.keys.audit_env_file`
over the ``.env`` files TerAgent reads keys from (or ``--env-file``). Findings never
show a key (values are masked). Exit status: 1 when a ``critical`` or ``high`` finding
exists, else 0.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["args_doctor", "cmd_doctor"]

_FAILING = ("critical", "high")


def args_doctor(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", default=None,
                   help="an agent.toml to audit (default: every one on the search path)")
    p.add_argument("--env-file", action="append", default=None,
                   help="a .env file to audit (repeatable; default: the ones keys are "
                        "read from)")
    p.add_argument("--json", action="store_true", help="print JSON instead of lines")


def cmd_doctor(args: argparse.Namespace) -> int:
    from teragent.config.secrets import dotenv_paths

    from teragent_doctor.keys import audit_config_security, audit_env_file

    findings = list(audit_config_security(args.config))
    env_files = [Path(p) for p in args.env_file] if args.env_file else \
        [p for p in dotenv_paths() if p.is_file()]
    for path in env_files:
        findings.extend(audit_env_file(path))
    if args.json:
        print(json.dumps([f.__dict__ for f in findings], indent=2))
    elif not findings:
        print(f"No problems found ({len(env_files)} .env file(s) checked).")
    else:
        for finding in findings:
            print(finding)
    return 1 if any(f.severity in _FAILING for f in findings) else 0
