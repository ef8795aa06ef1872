"""Host probes for the Firecracker backend: KVM, the guest kernel, e2fsprogs' tools.

Firecracker boots an uncompressed ELF ``vmlinux``: one is searched for, or extracted
from a ``/boot/vmlinuz-*`` bzImage into a per-user cache (see
:mod:`teragent_sandbox_microvm.firecracker`, "Guest kernel").
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from typing import Any

KVM_GET_API_VERSION = 0xAE00


def kvm_problem(device: str = "/dev/kvm") -> str | None:
    """Why ``device`` is not a usable KVM device, or ``None`` when it is."""
    try:
        fd = os.open(device, os.O_RDWR | os.O_CLOEXEC)
    except OSError as exc:
        return f"no usable {device}: {exc.strerror}"
    try:
        version = fcntl.ioctl(fd, KVM_GET_API_VERSION)
    except OSError as exc:
        return f"no usable {device}: KVM_GET_API_VERSION failed: {exc.strerror}"
    finally:
        os.close(fd)
    if version != 12:
        return f"no usable {device}: KVM API version {version}, expected 12"
    return None


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"\x7fELF"
    except OSError:
        return False


def find_vmlinux() -> str | None:
    """The newest readable uncompressed ``vmlinux`` in /boot or /usr/lib/debug."""
    found = [p for pattern in ("/boot/vmlinux-*", "/usr/lib/debug/boot/vmlinux-*",
                               "/usr/lib/debug/lib/modules/*/vmlinux")
             for p in glob.glob(pattern) if _is_elf(p)]
    return sorted(found)[-1] if found else None


def _find_bzimage() -> str | None:
    found = sorted(k for k in glob.glob("/boot/vmlinuz-*") if os.access(k, os.R_OK))
    return found[-1] if found else None


def extract_vmlinux(bzimage: bytes) -> bytes:
    """The ELF ``vmlinux`` inside a bzImage (what the kernel's ``extract-vmlinux`` does).

    Tries every gzip, xz and zstd stream start in the image and keeps the first that
    decompresses to an ELF file. zstd needs the ``zstd`` program.

    Raises:
        ValueError: no compressed ELF kernel was found.
    """
    for magic, kind in ((b"\x1f\x8b\x08", "gzip"), (b"\xfd7zXZ\x00", "xz"),
                        (b"\x28\xb5\x2f\xfd", "zstd")):
        start = bzimage.find(magic)
        while start != -1:
            data = b""
            try:
                if kind == "gzip":
                    data = zlib.decompressobj(31).decompress(bzimage[start:])
                elif kind == "xz":
                    data = lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(bzimage[start:])
                elif shutil.which("zstd"):
                    data = subprocess.run(["zstd", "-dcq"], input=bzimage[start:],
                                          capture_output=True, check=False).stdout
            except (zlib.error, lzma.LZMAError):
                data = b""
            if data.startswith(b"\x7fELF"):
                return data
            start = bzimage.find(magic, start + 1)
    raise ValueError("no gzip, xz or zstd compressed ELF kernel found in the image")


def _cache_dir() -> str:
    path = os.path.join(tempfile.gettempdir(), f"teragent-firecracker-{os.getuid()}")
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def _cached(name: str, key: str, make: Any) -> str:
    path = os.path.join(_cache_dir(), f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:16]}")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=_cache_dir())
        os.close(fd)
        try:
            make(tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return path


def cached_vmlinux(bzimage_path: str) -> str:
    def make(dest: str) -> None:
        with open(bzimage_path, "rb") as fh:
            data = extract_vmlinux(fh.read())
        with open(dest, "wb") as fh:
            fh.write(data)

    return _cached("vmlinux", f"{bzimage_path}|{os.path.getmtime(bzimage_path)}", make)


def _missing_builtins(kernel_source: str) -> list[str]:
    """Drivers the guest needs that the kernel's /boot/config-* builds as modules."""
    release = re.sub(r"^vmlinu[xz]-", "", os.path.basename(kernel_source))
    config = f"/boot/config-{release}"
    if not os.path.exists(config):
        return []
    with open(config) as fh:
        text = fh.read()
    return [opt for opt in ("CONFIG_VIRTIO_MMIO", "CONFIG_VIRTIO_BLK", "CONFIG_EXT4_FS")
            if f"\n{opt}=y" not in f"\n{text}"]


def _tool(name: str) -> str | None:
    """``name`` on PATH, or in /usr/sbin or /sbin (often not on a user's PATH)."""
    found = shutil.which(name)
    if found:
        return found
    for d in ("/usr/sbin", "/sbin"):
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return None
