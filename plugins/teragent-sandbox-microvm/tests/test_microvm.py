"""The microvm backend: the initramfs, the QEMU command line, and a real boot."""

from __future__ import annotations

import asyncio
import gzip
from pathlib import Path

import pytest

from teragent_testing.escape import assert_claims, run_escape_suite
from teragent_sandbox_microvm.backend import MicroVMSandbox, qemu_argv
from teragent_sandbox_microvm.initramfs import build_initramfs, find_busybox, find_kernel

backend = MicroVMSandbox()
ok, reason = backend.available()
needs_qemu = pytest.mark.skipif(not ok, reason=f"microvm unavailable: {reason}")


def test_qemu_command_line_has_no_network_and_a_read_only_usr() -> None:
    argv = qemu_argv("qemu", "k", "i", usr="/usr", workdir="/w", ctl="/c", memory_mb=256,
                     accel="tcg")
    assert argv[argv.index("-M") + 1].startswith("microvm")
    assert "-nodefaults" in argv and not any(a.startswith("-net") for a in argv)
    assert "local,id=usr,path=/usr,security_model=none,readonly=on" in argv
    assert "local,id=ws,path=/w,security_model=none" in argv


@pytest.mark.skipif(find_kernel() is None or find_busybox() is None,
                    reason="needs /boot/vmlinuz-* and busybox (scripts/install-sandbox-deps.sh)")
def test_initramfs_is_a_newc_archive_with_init_and_modules() -> None:
    data = gzip.decompress(build_initramfs(find_kernel() or "", find_busybox() or ""))
    assert data.startswith(b"070701") and data.rstrip(b"\0").endswith(b"TRAILER!!!")
    for name in (b"init\0", b"bin/busybox\0", b"modules/9p.ko\0", b"modules/virtio_mmio.ko\0"):
        assert name in data


@needs_qemu
@pytest.mark.slow
def test_boots_runs_and_holds_its_claims() -> None:
    # One boot for the batched probes, one for the CPU spin (about 55 s under TCG).
    report = asyncio.run(run_escape_suite(backend, batch=True))
    assert_claims(report)
    assert report.by_name()["write_outside"].detail.endswith("nonexistent directory")
