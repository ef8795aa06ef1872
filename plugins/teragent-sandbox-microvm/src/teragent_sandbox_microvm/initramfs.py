"""Build the guest's initramfs: busybox, the 9p/virtio modules and an init script."""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import os
import platform
import shutil
import stat
import tempfile

__all__ = ["INIT_SCRIPT", "MODULES", "build_initramfs", "find_kernel", "find_busybox",
           "cached_initramfs"]

#: Loaded in this order; ``virtio_mmio`` gets the ``device=`` parameters QEMU's
#: ``microvm`` machine appends to the kernel command line.
MODULES = ("virtio_ring", "virtio", "virtio_mmio", "netfs", "fscache", "9pnet",
           "9pnet_virtio", "9p")

INIT_SCRIPT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
for m in virtio_ring virtio virtio_mmio netfs fscache 9pnet 9pnet_virtio 9p; do
  [ -f /modules/$m.ko ] || continue
  if [ $m = virtio_mmio ]; then
    insmod /modules/$m.ko $(tr ' ' '\n' </proc/cmdline | grep '^virtio_mmio.device=' | sed 's/^virtio_mmio\.//')
  else
    insmod /modules/$m.ko
  fi
done
O=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o $O,ro usr /usr || echo "microvm: cannot mount /usr" >&2
mount -t 9p -o $O,ro ctl /ctl || { echo "microvm: cannot mount the control share" >&2; poweroff -f; }
mount -t tmpfs -o size=64m tmp /tmp
WS=$(cat /ctl/workdir)
N=$(cat /ctl/nonce)
MAX=$(cat /ctl/max)
mkdir -p "$WS" && mount -t 9p -o $O ws "$WS"
cd "$WS"
set -a; . /ctl/env; set +a
/bin/sh /ctl/cmd >/tmp/.teragent-out 2>&1 </dev/null
RC=$?
cd /
sync
SIZE=$(wc -c </tmp/.teragent-out)
echo "TERAGENT-FC $N BEGIN $SIZE"
if [ "$SIZE" -gt $((2 * MAX)) ]; then
  { head -c "$MAX" /tmp/.teragent-out; printf '\n[... output cut in the guest ...]\n'
    tail -c "$MAX" /tmp/.teragent-out; } | base64
else
  base64 </tmp/.teragent-out
fi
echo "TERAGENT-FC $N RC $RC"
echo "TERAGENT-FC $N END"
poweroff -f
"""


def find_kernel() -> str | None:
    """The newest ``/boot/vmlinuz-*`` readable by us, or ``None``."""
    kernels = sorted(k for k in glob.glob("/boot/vmlinuz-*") if os.access(k, os.R_OK))
    return kernels[-1] if kernels else None


def find_busybox() -> str | None:
    for path in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(path):
            return path
    return shutil.which("busybox")


def _module_path(release: str, name: str) -> str | None:
    found = glob.glob(f"/lib/modules/{release}/kernel/**/{name}.ko", recursive=True)
    return found[0] if found else None


class _Cpio:
    """A ``newc`` cpio archive writer (what the kernel unpacks as initramfs)."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def add(self, name: str, mode: int, data: bytes = b"") -> None:
        encoded = name.encode() + b"\0"
        header = "070701" + "".join(f"{v:08X}" for v in (
            self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0))
        self.ino += 1
        self.buf.write(header.encode() + encoded)
        self.buf.write(b"\0" * (-(110 + len(encoded)) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-len(data) % 4))

    def finish(self) -> bytes:
        self.add("TRAILER!!!", 0)
        return self.buf.getvalue()


def build_initramfs(kernel: str, busybox: str) -> bytes:
    """A gzip-compressed initramfs for ``kernel`` (its modules are looked up by release)."""
    release = os.path.basename(kernel).removeprefix("vmlinuz-")
    cpio = _Cpio()
    for d in ("bin", "dev", "proc", "sys", "usr", "ctl", "tmp", "etc", "modules", "root"):
        cpio.add(d, stat.S_IFDIR | 0o755)
    for link in ("lib", "lib64"):
        cpio.add(link, stat.S_IFLNK | 0o777, f"usr/{link}".encode())
    with open(busybox, "rb") as fh:
        cpio.add("bin/busybox", stat.S_IFREG | 0o755, fh.read())
    cpio.add("bin/sh", stat.S_IFLNK | 0o777, b"busybox")
    cpio.add("init", stat.S_IFREG | 0o755, INIT_SCRIPT.encode())
    cpio.add("etc/passwd", stat.S_IFREG | 0o644, b"root:x:0:0:root:/root:/bin/sh\n")
    if os.path.exists("/etc/ld.so.cache"):
        with open("/etc/ld.so.cache", "rb") as fh:
            cpio.add("etc/ld.so.cache", stat.S_IFREG | 0o644, fh.read())
    for name in MODULES:
        path = _module_path(release, name)
        if path:
            with open(path, "rb") as fh:
                cpio.add(f"modules/{name}.ko", stat.S_IFREG | 0o644, fh.read())
    return gzip.compress(cpio.finish(), compresslevel=1)


def cached_initramfs(kernel: str, busybox: str, cache_dir: str | None = None) -> str:
    """Build (once per kernel/busybox/init version) and return the initramfs path."""
    key = hashlib.sha256(f"{kernel}|{os.path.getmtime(kernel)}|{busybox}|"
                         f"{os.path.getsize(busybox)}|{INIT_SCRIPT}|{platform.machine()}"
                         .encode()).hexdigest()[:16]
    cache_dir = cache_dir or os.path.join(tempfile.gettempdir(), f"teragent-microvm-{os.getuid()}")
    os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    path = os.path.join(cache_dir, f"initramfs-{key}.cpio.gz")
    if not os.path.exists(path):
        data = build_initramfs(kernel, busybox)
        fd, tmp = tempfile.mkstemp(dir=cache_dir)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    return path
