"""The guard contract suite on the kernel's guards and on the whole chain an agent gets
(every installed plugin's guards and command checks, built by the composition root)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from teragent.compose import build_runtime
from teragent.guards import PathGuard, SafetyGate
from teragent_testing.guard_contract import GuardContract


def _chain(workspace: Path) -> Any:
    return build_runtime({}, workspace=workspace).chain


def _path_guard(workspace: Path) -> Any:
    return PathGuard(build_runtime({}, workspace=workspace).path_policy)


class TestKernelGuards(GuardContract):
    guards = {"safety_gate": lambda ws: SafetyGate(), "chain": _chain}
    # by default: shell needs --allow-shell, destructive tools are refused
    must_refuse = [("bash", {"command": "ls"}), ("opaque", {"x": "y"})]


class TestChainRefusesProtectedPaths(GuardContract):
    guards = {"path_guard": _path_guard, "chain": _chain}
    must_refuse = [("read_file", {"path": ".env"}), ("read_file", {"path": "sub/.env.local"}),
                   ("write_file", {"path": ".git/hooks/pre-commit", "content": "x"}),
                   ("opaque", {"anything": ["x", {"y": ".envrc"}]}),
                   ("read_file", {"path": "notes\x00.txt"})]
