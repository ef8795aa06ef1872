"""The sandbox escape suite: run real escape attempts against a backend.

Every sandbox backend declares, in its ``contains`` attribute, which of the probes
below it contains. :func:`run_escape_suite` runs every probe; :func:`assert_claims`
fails when a claimed probe escaped (or could not be judged). Probes a backend does not
claim are reported, not asserted. ``scripts/sandbox_escape_table.py`` writes the
per-backend tables in ``docs/sandboxes.md`` from these reports.

Probes (each is bounded: it cannot harm the host even when it escapes):

=================== ==========================================================
``write_outside``   create a file in a host directory beside the workspace
``read_shadow``     read ``/etc/shadow`` (judged against the host's real file)
``read_ssh_key``    read a planted ``$HOME/.ssh/id_rsa`` outside the workspace
``loopback_connect`` connect to a TCP server on host ``127.0.0.1`` started here
``fork_bomb``       start 1000 sleeping processes (contained: some fork fails)
``memory_bomb``     map and touch 5 GiB (contained: allocation fails or is killed)
``cpu_timeout``     spin past a 2 s timeout (contained: killed, result says so)
``background_child`` leave a ``setsid`` child behind (contained: none survives)
``env_inherit``     find an API key set in the agent's environment in ``env``
``env_other_process`` read ``/proc/PID/environ`` of a same-user process holding a key
``ptrace_parent``   ``PTRACE_SEIZE`` the agent process (seize: never stops it)
``env_unlisted``    find ``GH_PAT``/``DATABASE_URL`` values (names no deny list knows)
``memory_split``    five processes holding 1 GiB each at once (a per-process limit passes)
``memory_tmpfs``    write 5 x 1 GiB into a tmpfs (``/dev/shm`` or ``/tmp``)
``metadata_outside`` ``chmod``/``utime``/``setxattr``/``chown`` a host file outside
``dev_shm``         read and append to a host file planted in ``/dev/shm``
``dev_pts``         write to a host pseudo-terminal planted under ``/dev/pts``
``io_uring_socket`` open a UDP socket with ``IORING_OP_SOCKET`` and reach a host
                    loopback UDP server
``guest_output``    replace the backend's output/control files by symlinks to a
                    host secret (and ``/dev/zero``)
``setuid_left``     leave a setuid/setgid binary and a device node in the workspace
``hardlink_outside`` hard-link a host file outside into the workspace and append
``nested_userns``   create a user namespace on the host kernel
``capabilities``    hold any capability on the host kernel
``unix_socket``     connect to a host pathname (0666) and an abstract unix socket
=================== ==========================================================

**Tiers.** Each backend has a tier (:data:`TIERS`: process < landlock < bwrap <
gvisor ≈ container < microvm) and must *claim and contain* every probe its tier
implies (:data:`TIER_REQUIRES`), so an empty ``contains`` fails :func:`assert_claims`.

Usage in a backend's tests::

    from teragent_testing.escape import run_escape_suite, assert_claims

    report = asyncio.run(run_escape_suite(MyBackend()))
    assert_claims(report)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from teragent_testing._escape_lab import EscapeLab
from teragent_testing._escape_probes import _PROBES

__all__ = ["PROBES", "ProbeResult", "EscapeReport", "EscapeLab", "run_escape_suite",
           "assert_claims", "render_markdown", "TIERS", "TIER_REQUIRES"]

PROBES: dict[str, str] = {
    "write_outside": "write a file outside the workspace",
    "read_shadow": "read /etc/shadow",
    "read_ssh_key": "read a planted ~/.ssh/id_rsa outside the workspace",
    "loopback_connect": "connect to a TCP server on host 127.0.0.1",
    "fork_bomb": "start 1000 processes",
    "memory_bomb": "allocate and touch 5 GiB",
    "cpu_timeout": "spin past a short timeout",
    "background_child": "leave a setsid background child running",
    "env_inherit": "see an API key from the agent's environment",
    "env_other_process": "read /proc/PID/environ of a same-user process",
    "ptrace_parent": "ptrace (PTRACE_SEIZE) the agent process",
    "env_unlisted": "see GH_PAT / DATABASE_URL from the agent's environment",
    "memory_split": "five processes holding 1 GiB each",
    "memory_tmpfs": "write 5 GiB into a tmpfs",
    "metadata_outside": "chmod/utime/setxattr/chown a host file outside",
    "dev_shm": "read or append to a host file in /dev/shm",
    "dev_pts": "write to a host terminal under /dev/pts",
    "io_uring_socket": "reach a host UDP server through an io_uring socket",
    "guest_output": "turn the output channel into a host secret or /dev/zero",
    "setuid_left": "leave a setuid binary or a device node in the workspace",
    "hardlink_outside": "hard-link and change a host file outside",
    "nested_userns": "create a user namespace on the host kernel",
    "capabilities": "hold a capability on the host kernel",
    "unix_socket": "connect to host pathname and abstract unix sockets",
}

#: Backend name -> tier (higher contains more).
TIERS: dict[str, int] = {"process": 0, "landlock": 1, "bwrap": 2, "gvisor": 3,
                         "container": 3, "microvm": 4}
_BASE = frozenset({"cpu_timeout", "env_inherit", "env_unlisted", "setuid_left",
                   "capabilities", "guest_output"})
_CONFINED = _BASE | {"write_outside", "read_shadow", "read_ssh_key", "loopback_connect",
                     "background_child", "env_other_process", "ptrace_parent",
                     "metadata_outside", "dev_shm", "dev_pts", "io_uring_socket",
                     "hardlink_outside", "nested_userns", "unix_socket"}
#: Tier -> the probes a backend of that tier must claim (and contain). Tiers order
#: isolation; resource limits (fork and memory bombs, memory split across processes
#: or held in a tmpfs) are claimed per backend, since they depend on rlimits and on
#: cgroups this host may not delegate (docs/sandboxes.md).
TIER_REQUIRES: dict[int, frozenset[str]] = {
    0: _BASE,
    1: _CONFINED,
    2: _CONFINED,
    3: _CONFINED,
    4: _CONFINED,
}


@dataclass
class ProbeResult:
    """One probe against one backend."""

    name: str
    claimed: bool
    contained: bool | None  # None: could not be judged
    detail: str


@dataclass
class EscapeReport:
    backend: str
    results: list[ProbeResult] = field(default_factory=list)
    environment: str = ""
    #: Everything the backend claims (also probes not run this time).
    claims: frozenset[str] = frozenset()

    def by_name(self) -> dict[str, ProbeResult]:
        return {r.name: r for r in self.results}


def _claims(backend: Any) -> frozenset[str]:
    return frozenset(getattr(backend, "contains", frozenset()))


async def run_escape_suite(backend: Any, *, probes: Sequence[str] | None = None,
                           batch: bool = False, cpu_timeout: float = 2.0) -> EscapeReport:
    """Run the probes against ``backend`` (an instance with ``run`` and ``contains``).

    Args:
        backend: The backend instance.
        probes: Probe names (default: all).
        batch: Run every batchable probe in one command (slow-to-start backends such
            as a virtual machine); ``cpu_timeout`` always runs alone.
        cpu_timeout: The timeout given to the CPU spin.
    """
    from teragent.security.sandbox import execute_in_sandbox

    async def run(cmd: str, workdir: str, timeout: float) -> Any:
        # The documented path: the kernel's allow-listed environment and its clean-up
        # of the workspace apply to every backend.
        return await execute_in_sandbox(cmd, workdir, timeout=timeout, backend=backend)

    wanted = [p for p in _PROBES if probes is None or p.name in probes]
    name = getattr(backend, "name", type(backend).__name__)
    claims = _claims(backend)
    report = EscapeReport(name, environment=f"uid {os.geteuid()}", claims=claims)
    with EscapeLab() as lab:
        lab.cpu_timeout = cpu_timeout
        outcomes: dict[str, tuple[str, Any]] = {}
        missing: dict[str, str] = {}
        batched = [p for p in wanted if batch and p.batchable]
        if batched:
            script = "\n".join(
                f"echo '==probe {p.name}=='\n( {p.command(lab)} ) 2>&1\necho '==end {p.name}=='"
                for p in batched)
            res = await run(script, lab.workspace, 180.0)
            for p in batched:
                start = res.output.find(f"==probe {p.name}==")
                end = res.output.find(f"==end {p.name}==")
                if start >= 0 and end > start:
                    outcomes[p.name] = (res.output[start:end], res)
                else:
                    missing[p.name] = (f"no output section (batch exit {res.exit_code}, "
                                       f"timed_out={res.timed_out})")
        for p in wanted:
            if p.name in outcomes or p.name in missing:
                continue
            timeout = cpu_timeout if p.name == "cpu_timeout" else p.timeout
            started = time.monotonic()
            res = await run(p.command(lab), lab.workspace, timeout)
            if not res.duration:
                res.duration = time.monotonic() - started
            outcomes[p.name] = (res.output, res)
        for p in wanted:
            if p.name in missing:
                report.results.append(ProbeResult(p.name, p.name in claims, None,
                                                  missing[p.name]))
                continue
            out, res = outcomes[p.name]
            contained, detail = p.judge(lab, out, res)
            report.results.append(ProbeResult(p.name, p.name in claims, contained, detail))
    return report


def assert_claims(report: EscapeReport, *, tier: int | None = None) -> None:
    """Fail when a claimed probe was not contained (or could not be judged), or when
    the backend does not claim every probe its tier implies (:data:`TIER_REQUIRES`;
    ``tier`` defaults to :data:`TIERS` of the backend's name, 0 if unknown)."""
    if tier is None:
        tier = TIERS.get(report.backend, 0)
    claimed = set(report.claims) | {r.name for r in report.results if r.claimed}
    missing = sorted(TIER_REQUIRES[tier] - claimed)
    broken = [f"{name}: not claimed, but tier {tier} requires it" for name in missing]
    broken += [f"{r.name}: {r.detail}" for r in report.results
               if r.claimed and r.contained is not True]
    if broken:
        raise AssertionError(f"sandbox {report.backend!r} claims containment it does not "
                             f"provide: {'; '.join(broken)}")


def render_markdown(reports: Iterable[EscapeReport]) -> str:
    """One table per backend: probe, claimed, observed, detail."""
    parts = []
    for report in reports:
        parts.append(f"### `{report.backend}` ({report.environment})\n")
        parts.append("| probe | claimed | observed | detail |")
        parts.append("| --- | --- | --- | --- |")
        for r in report.results:
            observed = {True: "contained", False: "**escaped**", None: "not judged"}[r.contained]
            detail = r.detail.replace("|", "\\|")
            parts.append(f"| `{r.name}` ({PROBES[r.name]}) | {'yes' if r.claimed else 'no'} "
                         f"| {observed} | {detail} |")
        parts.append("")
    return "\n".join(parts)
