"""The ``container`` sandbox backend: podman (or docker) with local images only."""

from __future__ import annotations

import functools
import os
import shutil
import sys
import tempfile
import time
import uuid
from typing import Any, Mapping

from teragent.errors import SandboxUnavailableError
from teragent.security.confine import confinement
from teragent.security.processes import OutputCallback, PosixControl, run_process
from teragent.security.sandbox import DEFAULT_MAX_OUTPUT, SandboxBackend, SandboxResult

__all__ = ["ContainerSandbox", "make_rootfs"]

MERGED_USR_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def make_rootfs(dest: str) -> str:
    """A minimal root for a container whose ``/usr`` is the host's, bound read-only at
    run time (this backend's and teragent-sandbox-gvisor's).

    Creates the merged-``/usr`` symlinks (``bin -> usr/bin``...), the mount points and
    an ``/etc`` holding only ``passwd``, ``group``, ``hosts``, ``nsswitch.conf`` and the
    dynamic linker cache: none of the host's secrets.
    """
    for sub in ("usr", "etc", "tmp", "proc", "dev", "sys", "root", "run", "home", "workspace"):
        os.makedirs(os.path.join(dest, sub), exist_ok=True)
    for link in MERGED_USR_LINKS:
        if os.path.exists(f"/usr/{link}") and not os.path.lexists(os.path.join(dest, link)):
            os.symlink(f"usr/{link}", os.path.join(dest, link))
    files = {
        "passwd": "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
        "group": "root:x:0:\nnogroup:x:65534:\n",
        "hosts": "127.0.0.1 localhost\n::1 localhost\n",
        "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
    }
    for name, text in files.items():
        with open(os.path.join(dest, "etc", name), "w") as fh:
            fh.write(text)
    if os.path.exists("/etc/ld.so.cache"):
        shutil.copyfile("/etc/ld.so.cache", os.path.join(dest, "etc", "ld.so.cache"))
    return dest


#: Syscalls taken out of the engine's default seccomp profile: no nested user
#: namespaces (``unshare``/``setns``; ``clone`` keeps only calls without namespace
#: flags), no kernel keyrings, no ``ptrace``.
SECCOMP_REMOVED = ("unshare", "setns", "keyctl", "add_key", "request_key", "ptrace")
CLONE_NAMESPACE_MASK = 0x7E020000
DEFAULT_PROFILE = "/usr/share/containers/seccomp.json"


@functools.lru_cache(maxsize=2)
def seccomp_profile(base: str = DEFAULT_PROFILE) -> str | None:
    """The engine's default profile minus :data:`SECCOMP_REMOVED`, written once per
    process to a private file (``None`` when the default profile is not installed)."""
    import json

    try:
        with open(base) as fh:
            profile = json.load(fh)
    except (OSError, ValueError):
        return None
    rules = []
    for rule in profile.get("syscalls", []):
        if rule.get("action") != "SCMP_ACT_ALLOW":
            rules.append(rule)
            continue
        names = [n for n in rule.get("names", []) if n not in SECCOMP_REMOVED]
        plain_clone = "clone" in names and not rule.get("args")
        if plain_clone:
            names.remove("clone")
        if names:
            rules.append({**rule, "names": names})
        if plain_clone:
            rules.append({**rule, "names": ["clone"], "args": [
                {"index": 0, "value": CLONE_NAMESPACE_MASK, "valueTwo": 0,
                 "op": "SCMP_CMP_MASKED_EQ"}]})
    profile["syscalls"] = rules
    fd, path = tempfile.mkstemp(prefix="teragent-seccomp-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(profile, fh)
    return path


@functools.lru_cache(maxsize=4)
def _probe(engine: str, image: str | None) -> tuple[bool, str]:
    if not sys.platform.startswith("linux"):
        return False, "the container backend is tested on Linux only"
    binary = shutil.which(engine)
    if binary is None:
        return False, f"{engine} not found: apt-get install podman runc"
    import subprocess

    if engine == "podman" and shutil.which("runc") is None:
        return False, "runc not found (crun fails on hybrid cgroups): apt-get install runc"
    check = [binary, "version"] if image is None else [binary, "image", "inspect", image]
    try:
        probe = subprocess.run(check, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"{engine} does not answer: {exc}"
    if probe.returncode != 0:
        err = probe.stderr.decode(errors="replace").strip().splitlines()
        return False, f"{engine} is not usable: {err[-1] if err else probe.returncode}"
    return True, f"{binary}" + (f" with local image {image}" if image else " with a host-/usr rootfs")


class ContainerSandbox(SandboxBackend):
    """Level 1: a container (podman with ``runc``, or docker), local images only.

    Without ``image`` (podman only) the container's root is a throw-away directory
    (``--rootfs``) with the host's ``/usr`` bound read-only and a minimal ``/etc``;
    with ``image`` it is that local image (``--pull=never``: no registry is contacted).
    Always: ``--network=none``, ``--cap-drop=ALL``, ``no-new-privileges``, a tmpfs
    ``/tmp``, the workspace bound read-write at its own path, ``--memory`` and
    ``--pids-limit`` (cgroups), explicit ``--ulimit``\\ s (root without
    ``CAP_SYS_RESOURCE`` cannot raise hard limits) and the command run as the
    workspace's owner, or, for a root agent's root-owned workspace, as uid 65534 with the
    workspace an idmapped bind in the engine's mount namespace
    (:mod:`teragent.security.confine`), so it is still writable. ``--runtime runc`` because ``crun`` refuses hybrid cgroups.

    Args:
        engine: ``podman`` (default) or ``docker``.
        image: A local image; required for docker.
        memory: The memory cgroup limit (default ``512m``).
        pids: The pids cgroup limit (default 256).
        runtime: The OCI runtime for podman (default ``runc``).
        kill_grace: Seconds between SIGTERM and SIGKILL of the client.
    """

    name = "container"
    level = 1
    contains = frozenset({"write_outside", "read_shadow", "read_ssh_key", "loopback_connect",
                          "fork_bomb", "memory_bomb", "cpu_timeout", "background_child",
                          "env_inherit", "env_other_process", "ptrace_parent",
                          "env_unlisted", "setuid_left", "capabilities", "guest_output",
                          "metadata_outside", "dev_shm", "dev_pts", "io_uring_socket",
                          "hardlink_outside", "nested_userns", "unix_socket", "memory_split",
                          "memory_tmpfs"})

    def __init__(self, *, engine: str = "podman", image: str | None = None,
                 memory: str = "512m", pids: int = 256, runtime: str = "runc",
                 kill_grace: float = 2.0) -> None:
        if engine == "docker" and image is None:
            raise ValueError("the docker engine needs image=...: docker has no --rootfs")
        self.engine, self.image, self.memory, self.pids = engine, image, memory, pids
        self.runtime = runtime
        self.kill_grace = kill_grace

    def available(self) -> tuple[bool, str]:
        return _probe(self.engine, self.image)

    def argv(self, binary: str, cmd: str, workdir: str, env_file: str, rootfs: str | None,
             name: str, user: tuple[int, int] | None = None) -> list[str]:
        owner = os.stat(workdir)
        uid, gid = user if user is not None else (owner.st_uid, owner.st_gid)
        args = [binary, "run", "--rm", "--name", name, "--network=none", "--cap-drop=ALL",
                "--security-opt", "no-new-privileges", "--memory", self.memory,
                "--memory-swap", self.memory, "--pids-limit", str(self.pids),
                "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
                "--user", f"{uid}:{gid}", "--tmpfs", "/tmp:rw,mode=1777",
                "--env-file", env_file, "-v", f"{workdir}:{workdir}:rw", "-w", workdir]
        if self.engine == "podman":
            args += ["--runtime", self.runtime, "--cgroup-manager", "cgroupfs"]
            profile = seccomp_profile()
            if profile is not None:
                args += ["--security-opt", f"seccomp={profile}"]
        if rootfs is not None:
            args += ["-v", "/usr:/usr:ro", "--rootfs", rootfs]
        else:
            args += ["--pull=never", str(self.image)]
        return args + ["/bin/sh", "-c", cmd]

    async def run(self, cmd: str, workdir: str, timeout: float,
                  env: Mapping[str, str] | None, *, max_output: int = DEFAULT_MAX_OUTPUT,
                  on_output: OutputCallback | None = None) -> SandboxResult:
        ok, reason = self.available()
        binary = shutil.which(self.engine)
        if not ok or binary is None:
            raise SandboxUnavailableError(f"The container sandbox is unavailable: {reason}")
        base = tempfile.mkdtemp(prefix="teragent-container-")
        name = f"teragent-{uuid.uuid4().hex[:12]}"
        finished = False
        try:
            rootfs = make_rootfs(os.path.join(base, "rootfs")) if self.image is None else None
            env_file = os.path.join(base, "env")
            run_env = {**(env or {}), "HOME": "/tmp", "TMPDIR": "/tmp"}
            with open(env_file, "w") as fh:
                for key, value in sorted(run_env.items()):
                    if "\n" not in value:
                        fh.write(f"{key}={value}\n")
            # A root agent's root-owned workspace: the engine starts in a mount
            # namespace where it is an idmapped bind, so the command runs as an
            # unprivileged uid and can still write it (teragent.security.confine).
            plan = confinement(workdir, drop_uid=False, private_shm=False)
            user = (plan.uid, plan.gid) if plan.uid is not None and plan.gid is not None \
                else None
            started = time.monotonic()
            outcome = await run_process(
                plan.wrap(self.argv(binary, cmd, workdir, env_file, rootfs, name, user)),
                cwd=base,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": base},
                timeout=timeout, max_output=max_output, on_output=on_output,
                kill_grace=self.kill_grace, control=PosixControl(),
                preexec_fn=plan.preexec(), pass_fds=plan.pass_fds)
            duration = time.monotonic() - started
            finished = not outcome.timed_out
        finally:
            if not finished:
                # A killed client leaves the container (and conmon) running.
                await run_process([binary, "rm", "--force", "--ignore", name]
                                  if self.engine == "podman" else [binary, "rm", "-f", name],
                                  cwd=base, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                                  timeout=30)
            shutil.rmtree(base, ignore_errors=True)
        enforced: dict[str, Any] = {"engine": self.engine, "network": "none",
                                    "memory": self.memory, "pids": self.pids,
                                    "image": self.image or "host /usr read-only rootfs"}
        return SandboxResult.from_outcome(outcome, self.name, duration=duration,
                                          enforced=enforced)
