"""The ``microvm`` sandbox backend: the command runs in its own Linux guest.

Two virtual machine monitors:

* **QEMU** ``-M microvm`` (the path that runs on this project's machines): the host's
  kernel from ``/boot``, an initramfs built here (busybox + 9p/virtio modules), and
  three 9p shares: the host ``/usr`` read-only (so the guest has the host's tools),
  the workspace read-write at its own path, and a control directory carrying the
  command, its environment, its output and its exit status. No network device. KVM
  is used when ``/dev/kvm`` boots guests; otherwise TCG (software emulation), which
  is slow to boot (seconds) but needs nothing from the host.
* **Firecracker** is a separate backend, ``firecracker``
  (:mod:`teragent_sandbox_microvm.firecracker`): its REST API on a unix socket, ext4
  drive images instead of shares, preferred over this one when available.
"""

from __future__ import annotations

import functools
import os
import platform
import secrets
import shlex
import shutil
import sys
import tempfile
import time
from typing import Any, Mapping

from teragent.errors import SandboxUnavailableError
from teragent.security.processes import OutputBuffer, OutputCallback, PosixControl, run_process
from teragent.security.sandbox import DEFAULT_MAX_OUTPUT, SandboxBackend, SandboxResult

from teragent_sandbox_microvm.firecracker_guest import parse_console
from teragent_sandbox_microvm.initramfs import cached_initramfs, find_busybox, find_kernel

__all__ = ["MicroVMSandbox", "qemu_argv"]


def qemu_argv(binary: str, kernel: str, initrd: str, *, usr: str, workdir: str, ctl: str,
              memory_mb: int, accel: str) -> list[str]:
    """The QEMU ``microvm`` command line.

    Measured under TCG on this project's machines: without ``pit=on,pic=on`` Debian's
    6.1 kernel hangs calibrating the TSC; with only ``no_timer_check tsc=reliable`` it
    still hung after "Unable to calibrate against PIT" in about 1 boot in 8 (and in
    half of them with ``quiet``). Giving the TSC frequency and the delay-loop value
    (``tsc_early_khz``, ``lpj``) skips both calibrations: 14 boots out of 14. The
    console goes to QEMU's stdout; its tail is shown only when a boot fails.
    """
    args = [binary, "-M", "microvm,x-option-roms=off,pit=on,pic=on,rtc=on", "-accel", accel,
            "-cpu", "max" if accel == "tcg" else "host", "-m", str(memory_mb), "-smp", "1",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-serial", "stdio", "-kernel", kernel, "-initrd", initrd,
            "-append", "console=ttyS0 rdinit=/init panic=-1 reboot=t "
            "no_timer_check tsc=reliable tsc_early_khz=2000000 lpj=8000000"]
    for tag, path, readonly in (("usr", usr, True), ("ws", workdir, False),
                                ("ctl", ctl, True)):
        fsdev = f"local,id={tag},path={path},security_model=none"
        if readonly:
            fsdev += ",readonly=on"
        args += ["-fsdev", fsdev, "-device", f"virtio-9p-device,fsdev={tag},mount_tag={tag}"]
    return args


@functools.lru_cache(maxsize=1)
def _probe() -> tuple[bool, str]:
    if not sys.platform.startswith("linux") or platform.machine() != "x86_64":
        return False, "the QEMU microvm path is built for x86_64 Linux hosts"
    binary = shutil.which("qemu-system-x86_64")
    if binary is None:
        return False, "qemu-system-x86_64 not found: apt-get install qemu-system-x86"
    kernel = find_kernel()
    if kernel is None:
        return False, ("no readable guest kernel in /boot: apt-get install linux-image-amd64 "
                       "(or pass kernel=...)")
    if find_busybox() is None:
        return False, "busybox not found: apt-get install busybox-static"
    return True, f"{binary} microvm, kernel {kernel}"


class MicroVMSandbox(SandboxBackend):
    """Level 2: a throw-away Linux virtual machine per command (QEMU ``microvm``).

    Args:
        accel: ``tcg`` (default: software emulation, works everywhere) or ``kvm``
            (only where ``/dev/kvm`` boots standard guests; on PVM hosts it hangs).
        memory_mb: Guest memory (default 256 MiB): a memory bomb hits the guest's OOM
            killer, not the host.
        kernel: Guest kernel (default: the newest ``/boot/vmlinuz-*``).
        kill_grace: Seconds between SIGTERM and SIGKILL of QEMU.
    """

    name = "microvm"
    level = 2
    # Not ``fork_bomb``: the guest has no process limit (its command runs as the
    # guest's root), so 1000 processes can start; they exhaust only the guest, which
    # the timeout destroys.
    contains = frozenset({"write_outside", "read_shadow", "read_ssh_key", "loopback_connect",
                          "memory_bomb", "cpu_timeout", "background_child",
                          "env_inherit", "env_other_process", "ptrace_parent",
                          "env_unlisted", "setuid_left", "capabilities", "guest_output",
                          "metadata_outside", "dev_shm", "dev_pts", "io_uring_socket",
                          "hardlink_outside", "nested_userns", "unix_socket", "memory_split",
                          "memory_tmpfs"})

    def __init__(self, *, accel: str = "tcg", memory_mb: int = 256,
                 kernel: str | None = None, kill_grace: float = 1.0) -> None:
        self.accel = accel
        self.memory_mb = memory_mb
        self.kernel = kernel
        self.kill_grace = kill_grace

    def available(self) -> tuple[bool, str]:
        return _probe()

    async def run(self, cmd: str, workdir: str, timeout: float,
                  env: Mapping[str, str] | None, *, max_output: int = DEFAULT_MAX_OUTPUT,
                  on_output: OutputCallback | None = None) -> SandboxResult:
        ok, reason = self.available()
        binary = shutil.which("qemu-system-x86_64")
        kernel = self.kernel or find_kernel()
        busybox = find_busybox()
        if not ok or binary is None or kernel is None or busybox is None:
            raise SandboxUnavailableError(f"The microvm sandbox is unavailable: {reason}")
        initrd = cached_initramfs(kernel, busybox)
        ctl = tempfile.mkdtemp(prefix="teragent-microvm-")
        nonce = secrets.token_hex(16)
        try:
            files = {"cmd": cmd + "\n", "workdir": workdir + "\n", "nonce": nonce + "\n",
                     "max": f"{max_output}\n",
                     "env": "".join(f"{k}={shlex.quote(v)}\n" for k, v in sorted(
                         {**(env or {}), "HOME": "/tmp", "TMPDIR": "/tmp"}.items())
                         if k.isidentifier())}
            for name, text in files.items():
                with open(os.path.join(ctl, name), "w") as fh:
                    fh.write(text)
            argv = qemu_argv(binary, kernel, initrd, usr="/usr", workdir=workdir, ctl=ctl,
                             memory_mb=self.memory_mb, accel=self.accel)
            started = time.monotonic()
            # The result comes back on the serial console, through a pipe, within the
            # run's deadline and a size cap: the control share is read-only to the guest
            # and the host never opens a path the guest could have replaced.
            console = await run_process(argv, cwd=ctl, env={"PATH": "/usr/bin:/bin"},
                                        timeout=timeout, max_output=4 * max_output + 65536,
                                        kill_grace=self.kill_grace, control=PosixControl())
            duration = time.monotonic() - started
        finally:
            shutil.rmtree(ctl, ignore_errors=True)
        parsed = parse_console(console.output, nonce)
        output = OutputBuffer(max_output)
        exit_code = -1
        if parsed is not None:
            exit_code, text, _size = parsed
            output.add(text)
            text = output.text()
        else:
            why = "timed out" if console.timed_out else "stopped without an exit status"
            tail = console.output[-2000:]
            text = f"[microvm: the guest {why}; console tail:]\n{tail}"
        if text and on_output is not None:
            res = on_output(text)
            if hasattr(res, "__await__"):
                await res
        enforced: dict[str, Any] = {"vmm": "qemu microvm", "accel": self.accel,
                                    "guest_memory_mb": self.memory_mb, "network": "none",
                                    "kernel": kernel, "shares": ["/usr (ro)", workdir]}
        enforced["output"] = "serial console, capped, within the deadline"
        return SandboxResult(exit_code, text, self.name, console.timed_out,
                             output.truncated or "[... output cut in the guest ...]" in text,
                             duration, enforced)
