"""The ``firecracker`` sandbox backend: one Firecracker microVM per command.

Firecracker is driven through its REST API on a unix socket
(:mod:`teragent_sandbox_microvm.firecracker_api`: the requests, checked against
Firecracker's OpenAPI spec, and :class:`FirecrackerAPIError`). Host probes are in
:mod:`~teragent_sandbox_microvm.firecracker_host`, the guest's images, console protocol
and the workspace merge in :mod:`~teragent_sandbox_microvm.firecracker_guest`.

A run:

1. Three ext4 images are made with ``mkfs.ext4 -d`` (e2fsprogs; no root, no loop
   mount): the root filesystem (busybox + the init script :data:`GUEST_INIT`; built
   once and cached, or your own ``rootfs=`` image), a control image (the command, its
   environment, its timeout and a per-run nonce) and a copy of the workspace (its size plus
   ``workspace_headroom_mb`` of free space).
2. ``firecracker --api-sock <dir>/api.sock`` starts in its own session; its stdout is
   the guest's serial console. The socket is awaited (while watching the process).
3. ``/logger``, ``/metrics``, ``/machine-config``, ``/boot-source``, ``/drives/rootfs``
   (read-only, root device), ``/drives/control`` (read-only), ``/drives/workspace``
   (read-write), then ``/actions InstanceStart``. There is no network device.
4. The guest's init mounts the control and workspace drives (by label), runs
   ``/bin/sh -c CMD`` under ``timeout`` in ``/workspace``, unmounts the workspace, and
   prints the exit status and the output (base64, between lines carrying the nonce) on
   the console, then ``reboot -f``, which makes Firecracker exit.
5. When the host-side timeout fires first, the whole process group is killed.

**Workspace semantics.** The guest works on a copy. Only when the guest reported a
finished command (so the workspace file system was cleanly unmounted) is the image read
back with ``debugfs -R 'rdump / DIR'`` and merged into the host workspace: files and
directories the command created or changed are written (symlinks stay symlinks, never
followed), and entries that were in the copy but are gone from the image are deleted.
Files the host changed meanwhile that the command did not touch are kept; ``lost+found``
is ignored. After a timeout or a crash the host workspace is left exactly as it was.
Inside the guest the workspace is at ``/workspace``, not at its host path. The command
runs as the guest's root and can read the nonce, so it can forge its own result lines
(and so its own exit status and output); it cannot reach anything outside the guest.

**Guest kernel.** Firecracker boots an uncompressed ELF ``vmlinux``. The backend takes
``kernel=``, else the newest ``/boot/vmlinux-*``, ``/usr/lib/debug/boot/vmlinux-*`` or
``/usr/lib/debug/lib/modules/*/vmlinux``; else it extracts the ELF from a
``/boot/vmlinuz-*`` bzImage (gzip, xz, zstd via the ``zstd`` tool) into a cache. The
root filesystem is mounted by the kernel itself, so virtio-mmio, virtio-blk and ext4 must
be built in (Firecracker's recommended guest configs are); Debian's kernel has them as
modules, which :meth:`FirecrackerSandbox.available` reports (pass ``initrd=`` with an
initramfs that loads them to use such a kernel anyway).

**Jailer.** Not used: the backend starts ``firecracker`` directly, as the calling user.
For production, wrap it with Firecracker's ``jailer`` (chroot, new namespaces, cgroups,
an unprivileged uid); then every path passed through the API must be inside the chroot.

Tested only against a fake Firecracker API server (no Firecracker binary can be obtained
on this project's machines, and their PVM-backed ``/dev/kvm`` does not boot stock
kernels); the QEMU ``microvm`` backend is the one that boots here.
"""

from __future__ import annotations

import asyncio
import os
import platform
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any, Mapping

from teragent.errors import SandboxUnavailableError
from teragent.security.processes import OutputBuffer, OutputCallback, PosixControl, spawn
from teragent.security.sandbox import DEFAULT_MAX_OUTPUT, SandboxBackend, SandboxResult

from teragent_sandbox_microvm.firecracker_api import (SPEC_COMMIT, SPEC_VERSION,
                                                      FirecrackerAPIError, FirecrackerClient)
from teragent_sandbox_microvm.firecracker_guest import (GUEST_INIT, MARK, _listing, _mkfs,
                                                        _tree_size, build_rootfs, merge_back,
                                                        parse_console)
from teragent_sandbox_microvm.firecracker_host import (_cached, _find_bzimage, _is_elf,
                                                       _missing_builtins, _tool,
                                                       cached_vmlinux, extract_vmlinux,
                                                       find_vmlinux, kvm_problem)
from teragent_sandbox_microvm.initramfs import find_busybox

__all__ = ["FirecrackerSandbox", "FirecrackerAPIError", "FirecrackerClient", "GUEST_INIT",
           "BOOT_ARGS", "find_vmlinux", "extract_vmlinux", "kvm_problem", "parse_console",
           "SPEC_COMMIT", "SPEC_VERSION"]

#: Firecracker's usual guest command line, plus our root and init.
BOOT_ARGS = ("console=ttyS0 reboot=k panic=1 pci=off quiet loglevel=1 "
             "root=/dev/vda ro rootfstype=ext4 init=/init")


class FirecrackerSandbox(SandboxBackend):
    """Level 2: a throw-away Firecracker microVM per command (preferred over QEMU).

    Args:
        binary: The Firecracker program (looked up on ``PATH``).
        kernel: An uncompressed ``vmlinux`` (or a bzImage, extracted); default: searched.
        initrd: An optional initramfs (``BootSource.initrd_path``).
        rootfs: Your own ext4 root image (must run an init like :data:`GUEST_INIT`);
            default: busybox + that init, built once with ``mkfs.ext4 -d``.
        vcpu_count, memory_mb: ``/machine-config``.
        workspace_headroom_mb: Free space in the workspace image.
        boot_args: The kernel command line (default :data:`BOOT_ARGS`).
        kvm_device: The KVM device probed by :meth:`available`.
        shutdown_grace: Seconds to wait for Firecracker to exit after the guest's result.
        api_timeout: Seconds for the API socket to appear and for each request.
    """

    name = "firecracker"
    level = 2
    # Claims mirror the QEMU microvm path (a separate guest, no network device, a copy
    # of the workspace only); they are NOT checked here: no guest boots on this machine.
    contains = frozenset({"write_outside", "read_shadow", "read_ssh_key", "loopback_connect",
                          "memory_bomb", "cpu_timeout", "background_child",
                          "env_inherit", "env_other_process", "ptrace_parent"})

    def __init__(self, *, binary: str = "firecracker", kernel: str | None = None,
                 initrd: str | None = None, rootfs: str | None = None, vcpu_count: int = 1,
                 memory_mb: int = 256, workspace_headroom_mb: int = 64,
                 boot_args: str = BOOT_ARGS, kvm_device: str = "/dev/kvm",
                 shutdown_grace: float = 5.0, api_timeout: float = 10.0) -> None:
        self.binary = binary
        self.kernel = kernel
        self.initrd = initrd
        self.rootfs = rootfs
        self.vcpu_count = vcpu_count
        self.memory_mb = memory_mb
        self.workspace_headroom_mb = workspace_headroom_mb
        self.boot_args = boot_args
        self.kvm_device = kvm_device
        self.shutdown_grace = shutdown_grace
        self.api_timeout = api_timeout

    # -- probes ------------------------------------------------------------------------

    def _kernel_source(self) -> tuple[str | None, str]:
        """``(path, problem)``: the kernel to use (vmlinux or bzImage) or why none."""
        if self.kernel:
            if not os.access(self.kernel, os.R_OK):
                return None, f"the kernel {self.kernel} is not readable"
            return self.kernel, ""
        found = find_vmlinux() or _find_bzimage()
        if found is None:
            return None, ("no vmlinux kernel: none in /boot/vmlinux-*, /usr/lib/debug "
                          "or /boot/vmlinuz-* (pass kernel=...)")
        return found, ""

    def problems(self) -> list[str]:
        """Everything that stops this backend from running here (empty: it can run)."""
        out: list[str] = []
        if not sys.platform.startswith("linux") or platform.machine() not in ("x86_64",
                                                                             "aarch64"):
            out.append("Firecracker needs Linux on x86_64 or aarch64")
        if shutil.which(self.binary) is None:
            out.append(f"no `{self.binary}` binary on PATH (Firecracker releases are on "
                       "GitHub; there is no Debian, PyPI or npm package)")
        kvm = kvm_problem(self.kvm_device)
        if kvm:
            out.append(kvm)
        source, why = self._kernel_source()
        if source is None:
            out.append(why)
        elif not self.initrd:
            missing = _missing_builtins(source)
            if missing:
                out.append(f"the kernel {source} builds {', '.join(missing)} as modules, so "
                           "it cannot mount the root drive without an initramfs: pass a "
                           "Firecracker guest kernel (kernel=...) or initrd=...")
            elif not _is_elf(source) and not source.startswith("/boot/vmlinuz-"):
                out.append(f"the kernel {source} is not an ELF vmlinux")
        for tool in ("mkfs.ext4", "debugfs"):
            if _tool(tool) is None:
                out.append(f"no `{tool}`: apt-get install e2fsprogs")
        if self.rootfs is None and find_busybox() is None:
            out.append("no busybox for the guest root: apt-get install busybox-static "
                       "(or pass rootfs=...)")
        elif self.rootfs is not None and not os.access(self.rootfs, os.R_OK):
            out.append(f"the rootfs image {self.rootfs} is not readable")
        return out

    def available(self) -> tuple[bool, str]:
        problems = self.problems()
        if problems:
            return False, "; ".join(problems)
        return True, f"{shutil.which(self.binary)}, kernel {self._kernel_source()[0]}"

    # -- run ---------------------------------------------------------------------------

    def _vmlinux(self) -> str:
        source, why = self._kernel_source()
        if source is None:
            raise SandboxUnavailableError(f"The firecracker sandbox is unavailable: {why}")
        if _is_elf(source):
            return source
        try:
            return cached_vmlinux(source)
        except ValueError as exc:
            raise SandboxUnavailableError(
                f"The firecracker sandbox cannot use {source}: {exc}. Pass an uncompressed "
                "vmlinux with kernel=...") from exc

    def _rootfs(self) -> str:
        if self.rootfs:
            return self.rootfs
        busybox = find_busybox() or ""
        key = f"{busybox}|{os.path.getsize(busybox)}|{GUEST_INIT}"
        return _cached("rootfs", key, lambda dest: build_rootfs(busybox, dest))

    async def run(self, cmd: str, workdir: str, timeout: float,
                  env: Mapping[str, str] | None, *, max_output: int = DEFAULT_MAX_OUTPUT,
                  on_output: OutputCallback | None = None) -> SandboxResult:
        ok, reason = self.available()
        if not ok:
            raise SandboxUnavailableError(f"The firecracker sandbox is unavailable: {reason}")
        kernel = self._vmlinux()
        rootfs = self._rootfs()
        binary = shutil.which(self.binary) or self.binary
        run_dir = tempfile.mkdtemp(prefix="teragent-fc-")
        started = time.monotonic()
        try:
            nonce = secrets.token_hex(8)
            ctl_dir = os.path.join(run_dir, "control")
            os.mkdir(ctl_dir)
            guest_env = {**(env or {}), "HOME": "/tmp", "TMPDIR": "/tmp",
                         "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"}
            files = {"cmd": cmd, "nonce": nonce + "\n", "timeout": f"{max(1, int(timeout))}\n",
                     "max": f"{max_output}\n",
                     "env": "".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(
                         guest_env.items()) if k.isidentifier())}
            for fname, text in files.items():
                with open(os.path.join(ctl_dir, fname), "w") as fh:
                    fh.write(text)
            ctl_img = os.path.join(run_dir, "control.ext4")
            ws_img = os.path.join(run_dir, "workspace.ext4")
            _mkfs(ctl_img, ctl_dir, "tg-control", 4)
            before = _listing(workdir)
            size_mb = _tree_size(workdir) * 2 // (1 << 20) + self.workspace_headroom_mb
            _mkfs(ws_img, workdir, "tg-workspace", max(size_mb, 8))
            sock = os.path.join(run_dir, "api.sock")
            vm = await self._boot(binary, sock, run_dir, kernel, rootfs, ctl_img, ws_img,
                                  nonce, timeout - (time.monotonic() - started))
            duration = time.monotonic() - started
            parsed = parse_console(vm["console"], nonce)
            output = OutputBuffer(max_output)
            if parsed is None:
                why = "timed out" if vm["timed_out"] else "stopped without a result"
                output.add(f"[firecracker: the guest {why}; the workspace was not changed; "
                           f"console tail:]\n{vm['console'][-2000:]}")
                exit_code = -1
                guest_cut = False
            else:
                exit_code, text, size = parsed
                output.add(text)
                guest_cut = size > 2 * max_output
                dump = os.path.join(run_dir, "dump")
                os.mkdir(dump)
                proc = subprocess.run([_tool("debugfs") or "debugfs", "-R", f"rdump / {dump}",
                                       ws_img], capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    raise FirecrackerAPIError("debugfs could not read the workspace image "
                                              f"back: {proc.stderr.strip()}")
                merge_back(dump, workdir, before)
            text = output.text()
            if text and on_output is not None:
                res = on_output(text)
                if hasattr(res, "__await__"):
                    await res
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        enforced: dict[str, Any] = {
            "vmm": "firecracker", "guest_memory_mb": self.memory_mb,
            "vcpu_count": self.vcpu_count, "network": "none", "kernel": kernel,
            "workspace": "ext4 copy, merged back on completion", "jailer": False}
        return SandboxResult(exit_code, text, self.name, vm["timed_out"],
                             output.truncated or guest_cut, duration, enforced)

    async def _boot(self, binary: str, sock: str, run_dir: str, kernel: str, rootfs: str,
                    ctl_img: str, ws_img: str, nonce: str, timeout: float) -> dict[str, Any]:
        """Start Firecracker, configure and boot it; return its console and how it ended."""
        control = PosixControl()
        child = await spawn([binary, "--api-sock", sock], cwd=run_dir,
                            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, **control.spawn_options())
        console: list[str] = []
        done = asyncio.Event()
        end_line = f"{MARK} {nonce} END"

        async def pump() -> None:
            assert child.stdout is not None
            tail = ""
            total = 0
            while chunk := await child.stdout.read(65536):
                text = chunk.decode(errors="replace")
                total += len(text)
                if total <= 16 * 1024 * 1024:
                    console.append(text)
                tail = (tail + text)[-(len(end_line) + 2 * 65536):]
                if end_line in tail:
                    done.set()

        reader = asyncio.create_task(pump())
        exited = asyncio.create_task(child.wait_exit())
        client: FirecrackerClient | None = None
        timed_out = False
        try:
            deadline = time.monotonic() + max(timeout, 0.1)
            await self._wait_socket(sock, exited, reader,
                                    min(self.api_timeout, max(timeout, 0.1)), console)
            client = FirecrackerClient(sock, timeout=self.api_timeout)
            for fname in ("firecracker.log", "metrics.json"):
                open(os.path.join(run_dir, fname), "a").close()  # older versions need them
            await client.logger(os.path.join(run_dir, "firecracker.log"))
            await client.metrics(os.path.join(run_dir, "metrics.json"))
            await client.machine_config(self.vcpu_count, self.memory_mb)
            await client.boot_source(kernel, self.boot_args, self.initrd)
            await client.drive("rootfs", rootfs, is_root_device=True, is_read_only=True)
            await client.drive("control", ctl_img, is_root_device=False, is_read_only=True)
            await client.drive("workspace", ws_img, is_root_device=False, is_read_only=False)
            await client.action("InstanceStart")
            finished = asyncio.create_task(done.wait())
            try:
                await asyncio.wait({finished, exited}, timeout=deadline - time.monotonic(),
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                finished.cancel()
            if done.is_set() or exited.done():
                # ``reboot -f`` in the guest makes Firecracker exit; give it a moment.
                await asyncio.wait({exited}, timeout=self.shutdown_grace)
            else:
                timed_out = True
        finally:
            if client is not None:
                await client.aclose()
            # SIGKILL to the whole process group (its own session): on timeout, and to
            # anything left behind after a normal exit.
            await control.kill(child)
            await child.wait_exit()
            await asyncio.wait({reader}, timeout=1.0)
            for task in (reader, exited):
                task.cancel()
            await asyncio.gather(reader, exited, return_exceptions=True)
            child.close()
        return {"console": "".join(console), "timed_out": timed_out,
                "returncode": child.returncode}

    async def _wait_socket(self, sock: str, exited: asyncio.Task[Any],
                           reader: asyncio.Task[Any], limit: float,
                           console: list[str]) -> None:
        """Until ``sock`` accepts connections; fails early if Firecracker exits."""
        deadline = time.monotonic() + limit
        while True:
            if os.path.exists(sock):
                try:
                    _r, w = await asyncio.open_unix_connection(sock)
                    w.close()
                    await w.wait_closed()
                    return
                except OSError:
                    pass
            if exited.done():
                await asyncio.wait({reader}, timeout=1.0)  # collect what it printed
                raise FirecrackerAPIError(
                    f"firecracker exited (status {exited.result()}) before its API socket "
                    f"appeared: {''.join(console)[-1000:].strip()}")
            if time.monotonic() >= deadline:
                raise FirecrackerAPIError(
                    f"the Firecracker API socket {sock} did not appear within {limit:.1f} s")
            # Wake on process exit, else re-check the socket every 10 ms.
            await asyncio.wait({exited}, timeout=0.01)
