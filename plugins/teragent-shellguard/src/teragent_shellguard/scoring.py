"""Scores a checker on the command corpora shipped with the plugin (tests and benchmarks).

``python -m teragent_shellguard.scoring [DIR]`` prints, per corpus, the block detection
rate, the warn coverage and the benign refusal rate, then every miss with its reason.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["CORPORA", "PAIRS", "HELDOUT", "Score", "load", "score", "main"]

#: The corpora directory inside a source checkout (tests/corpora).
CORPORA = Path(__file__).resolve().parents[2] / "tests" / "corpora"
#: (dangerous file, benign file) pairs scored together.
PAIRS = {
    "dev": ("commands_dangerous_dev.jsonl", "commands_benign_dev.jsonl"),
    "plugin": ("commands_adversarial.jsonl", "commands_benign.jsonl"),
}
#: corpora written blind (before reading the checker) that do not reach the thresholds: their reached
#: figures are pinned by tests/test_corpus.py instead
HELDOUT = {
    "heldout": ("heldout/dangerous.jsonl", "heldout/benign.jsonl"),
    # new spellings of the held-out gap classes, written after the fixes, scored after being committed
    "probe": ("heldout/probe_dangerous.jsonl", "heldout/probe_benign.jsonl"),
    # classes the first two covered thinly, written after reading the source, scored after being committed
    "probe2": ("heldout/probe2_dangerous.jsonl", "heldout/probe2_benign.jsonl"),
    # system state, loader variables, commands inside containers, Windows registry; same procedure
    "probe3": ("heldout/probe3_dangerous.jsonl", "heldout/probe3_benign.jsonl"),
    # relative paths after cd/pushd and through ln -s links
    "probe4": ("heldout/probe4_dangerous.jsonl", "heldout/probe4_benign.jsonl"),
    # Windows breadth and obfuscation through argv, joined strings and slices
    "probe5": ("heldout/probe5_dangerous.jsonl", "heldout/probe5_benign.jsonl"),
    # git history, database/ORM destruction, repository exposure, the agent's own files
    "probe6": ("heldout/probe6_dangerous.jsonl", "heldout/probe6_benign.jsonl"),
    # areas never tuned on, written from domain knowledge before reading how the checker handles them:
    # cloud CLIs beyond aws with IaC/deploy tools; database and git-hosting CLIs; macOS, systemd/kernel, Windows
    "cloud": ("heldout/probe_cloud_dangerous.jsonl", "heldout/probe_cloud_benign.jsonl"),
    "dbhost": ("heldout/probe_dbhost_dangerous.jsonl", "heldout/probe_dbhost_benign.jsonl"),
    "host": ("heldout/probe_host_dangerous.jsonl", "heldout/probe_host_benign.jsonl"),
    # new spellings of those three areas after their fixes, plus developer-tool configuration that runs code
    "respell": ("heldout/probe_respell_dangerous.jsonl", "heldout/probe_respell_benign.jsonl"),
    # less common spellings in the core categories (kill, exhaustion, history, reverse shells, setuid)
    "core": ("heldout/probe_core_dangerous.jsonl", "heldout/probe_core_benign.jsonl"),
    # CI files the agent writes, phones and firmware, password managers, registries, browser profiles
    "toolchain": ("heldout/probe_toolchain_dangerous.jsonl", "heldout/probe_toolchain_benign.jsonl"),
    # data-holding service CLIs: brokers, object stores, backup repositories, secret stores, schedulers
    "ops": ("heldout/probe_ops_dangerous.jsonl", "heldout/probe_ops_benign.jsonl"),
    # alerting/metrics, identity providers, BMCs, links and routing, editor extensions, signing
    "infra": ("heldout/probe_infra_dangerous.jsonl", "heldout/probe_infra_benign.jsonl"),
    # CLIs with no table (payment, search, hosting, database-as-a-service, clouds, invented names)
    "unknown": ("heldout/probe_unknown_dangerous.jsonl", "heldout/probe_unknown_benign.jsonl"),
    # new spellings of that area written after the words rule, committed before being scored
    "unknown2": ("heldout/probe_unknown2_dangerous.jsonl", "heldout/probe_unknown2_benign.jsonl"),
}


def load(path: Path) -> list[dict[str, Any]]:
    """Entries of a JSONL corpus. The held-out format (``expect``, ``category``, no ``id``) is
    read as the shared one: ``expect`` gives ``severity``, the line number gives ``id``."""
    out: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            e = json.loads(line)
            e.setdefault("id", f"{path.stem}:{n}")
            if "severity" not in e and e.get("expect") in ("block", "warn"):
                e["severity"] = e["expect"]
            e.setdefault("group", e.get("category", "-"))
            out.append(e)
    return out


@dataclass
class Score:
    blocks: int = 0
    blocked: int = 0
    warns: int = 0
    flagged: int = 0
    benign: int = 0
    refused: int = 0
    misses: list[tuple[str, str, str, str]] = field(default_factory=list)

    def rates(self) -> tuple[float, float, float]:
        return (self.blocked / max(self.blocks, 1), self.flagged / max(self.warns, 1),
                self.refused / max(self.benign, 1))

    def summary(self) -> str:
        b, w, r = self.rates()
        return (f"block detected {self.blocked}/{self.blocks} = {100 * b:.1f}%  "
                f"warn flagged {self.flagged}/{self.warns} = {100 * w:.1f}%  "
                f"benign refused {self.refused}/{self.benign} = {100 * r:.2f}%")


def score(check: Callable[..., Any], dangerous: Iterable[dict[str, Any]], benign: Iterable[dict[str, Any]],
          *, auto: bool = False) -> Score:
    """Run ``check(cmd, platform)`` over both sets; the checker returns a CommandVerdict.

    With ``auto`` the platform is not passed (as the shared ``score_commands.py`` calls it),
    so Windows commands must be recognised from their text.
    """
    s = Score()
    for e in dangerous:
        v = check(e["cmd"]) if auto else check(e["cmd"], e.get("platform"))
        if e["severity"] == "block":
            s.blocks += 1
            ok = not v.allowed
            s.blocked += ok
        else:
            s.warns += 1
            ok = not v.allowed or v.level != "allow"
            s.flagged += ok
        if not ok:
            s.misses.append((e["id"], e["severity"], e["category"], e["cmd"]))
    for e in benign:
        s.benign += 1
        v = check(e["cmd"]) if auto else check(e["cmd"], e.get("platform") or "posix")
        if not v.allowed:
            s.refused += 1
            s.misses.append((e["id"], "benign", e.get("group", "-"), f"{e['cmd']}  -> {v.reason}"))
    return s


def main(argv: list[str] | None = None) -> int:
    from teragent_shellguard.checker import check_command_safety

    argv = sys.argv[1:] if argv is None else argv
    root = Path(argv[0]) if argv else CORPORA
    for name, (d, b) in {**PAIRS, **HELDOUT}.items():
        s = score(check_command_safety, load(root / d), load(root / b))
        print(f"{name:9s} {s.summary()}")
        for m in s.misses:
            print("   ", *m)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
