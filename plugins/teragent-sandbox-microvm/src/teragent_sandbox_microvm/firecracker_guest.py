"""What goes into a Firecracker guest and what comes back out.

The guest's init (:data:`GUEST_INIT`) and the root filesystem holding it, the ext4
images made with ``mkfs.ext4 -d``, the result the init prints between nonce-marked lines
on the serial console (:func:`parse_console`), and the workspace image's dump merged
back into the host workspace (:func:`merge_back`; the rules are in
:mod:`teragent_sandbox_microvm.firecracker`, "Workspace semantics").
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import shutil
import stat
import subprocess
import tempfile

from teragent_sandbox_microvm.firecracker_api import FirecrackerAPIError
from teragent_sandbox_microvm.firecracker_host import _tool

MARK = "TERAGENT-FC"

#: The root filesystem's ``/init``. The control drive holds ``cmd``, ``env``, ``nonce``,
#: ``timeout`` and ``max`` (bytes of output sent back before it is cut).
GUEST_INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin 2>/dev/null
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mount -t tmpfs tmp /tmp
CTL=$(findfs LABEL=tg-control 2>/dev/null || echo /dev/vdb)
WSD=$(findfs LABEL=tg-workspace 2>/dev/null || echo /dev/vdc)
mount -t ext4 -o ro "$CTL" /control || {
  echo "firecracker guest: no control drive"; reboot -f; }
N=$(cat /control/nonce)
mount -t ext4 "$WSD" /workspace || echo "firecracker guest: cannot mount the workspace" >/tmp/out
cd /workspace
set -a; . /control/env; set +a
timeout -s KILL "$(cat /control/timeout)" /bin/sh -c "$(cat /control/cmd)" \
  >>/tmp/out 2>&1 </dev/null
RC=$?
cd /
sync
umount /workspace
SIZE=$(wc -c </tmp/out)
MAX=$(cat /control/max)
echo "TERAGENT-FC $N BEGIN $SIZE"
if [ "$SIZE" -gt $((2 * MAX)) ]; then
  { head -c "$MAX" /tmp/out; printf '\n[... output cut in the guest ...]\n'
    tail -c "$MAX" /tmp/out; } | base64
else
  base64 </tmp/out
fi
echo "TERAGENT-FC $N RC $RC"
echo "TERAGENT-FC $N END"
reboot -f
"""


def _mkfs(image: str, source: str, label: str, size_mb: int) -> None:
    with open(image, "wb") as fh:
        fh.truncate(size_mb * 1024 * 1024)
    mkfs = _tool("mkfs.ext4") or "mkfs.ext4"
    proc = subprocess.run([mkfs, "-q", "-F", "-L", label, "-d", source, image],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise FirecrackerAPIError(f"mkfs.ext4 -d {source} failed: {proc.stderr.strip()}")


def build_rootfs(busybox: str, dest: str) -> None:
    """A 16 MiB ext4 root filesystem: busybox and :data:`GUEST_INIT`."""
    with tempfile.TemporaryDirectory() as stage:
        for d in ("bin", "dev", "proc", "sys", "tmp", "control", "workspace", "etc", "root"):
            os.mkdir(os.path.join(stage, d), 0o755)
        shutil.copyfile(busybox, os.path.join(stage, "bin", "busybox"))
        os.chmod(os.path.join(stage, "bin", "busybox"), 0o755)
        os.symlink("busybox", os.path.join(stage, "bin", "sh"))
        with open(os.path.join(stage, "init"), "w") as fh:
            fh.write(GUEST_INIT)
        os.chmod(os.path.join(stage, "init"), 0o755)
        with open(os.path.join(stage, "etc", "passwd"), "w") as fh:
            fh.write("root:x:0:0:root:/root:/bin/sh\n")
        _mkfs(dest, stage, "tg-rootfs", 16 + os.path.getsize(busybox) // (1 << 20))


def _tree_size(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _listing(path: str) -> set[str]:
    out = set()
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            out.add(os.path.relpath(os.path.join(root, name), path))
    return out


def merge_back(dump: str, workdir: str, before: set[str]) -> None:
    """Make ``workdir`` reflect the guest's workspace (``dump``); see the module doc
    of :mod:`teragent_sandbox_microvm.firecracker`."""
    after = _listing(dump) - {"lost+found"}
    after = {p for p in after if not p.startswith("lost+found" + os.sep)}
    for rel in sorted(before - after, key=lambda p: -p.count(os.sep)):
        target = os.path.join(workdir, rel)
        if os.path.islink(target) or os.path.isfile(target):
            os.unlink(target)
        elif os.path.isdir(target):
            shutil.rmtree(target, ignore_errors=True)
    for rel in sorted(after, key=lambda p: p.count(os.sep)):
        src, dst = os.path.join(dump, rel), os.path.join(workdir, rel)
        st = os.lstat(src)
        if stat.S_ISDIR(st.st_mode):
            if os.path.islink(dst) or (os.path.lexists(dst) and not os.path.isdir(dst)):
                os.unlink(dst)
            os.makedirs(dst, exist_ok=True)
            os.chmod(dst, stat.S_IMODE(st.st_mode))
            continue
        if os.path.isdir(dst) and not os.path.islink(dst):
            shutil.rmtree(dst)
        elif os.path.lexists(dst):
            if (stat.S_ISREG(st.st_mode) and os.path.isfile(dst) and not os.path.islink(dst)
                    and _same_file_content(src, dst)):
                continue
            os.unlink(dst)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), dst)
        elif stat.S_ISREG(st.st_mode):
            shutil.copy2(src, dst, follow_symlinks=False)
        # device nodes, fifos and sockets made in the guest are not copied back


def _same_file_content(a: str, b: str) -> bool:
    if os.path.getsize(a) != os.path.getsize(b):
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            ca, cb = fa.read(1 << 20), fb.read(1 << 20)
            if ca != cb:
                return False
            if not ca:
                return True


def parse_console(console: str, nonce: str) -> tuple[int, str, int] | None:
    """``(exit_code, output, output_bytes)`` from the console, or ``None`` if incomplete."""
    lines = console.replace("\r", "").split("\n")
    prefix = f"{MARK} {nonce} "
    begin = rc = end = None
    size = 0
    for i, line in enumerate(lines):
        if line.startswith(prefix + "BEGIN") and begin is None:
            begin = i
            parts = line.split()
            size = int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 0
        elif line.startswith(prefix + "RC ") and begin is not None and rc is None:
            raw = line[len(prefix) + 3:].strip()
            rc = int(raw) if raw.lstrip("-").isdigit() else -1
        elif line.startswith(prefix + "END") and rc is not None:
            end = i
            break
    if begin is None or rc is None or end is None:
        return None
    body = "".join(line.strip() for line in lines[begin + 1:end]
                   if re.fullmatch(r"[A-Za-z0-9+/=]+", line.strip()))
    try:
        output = base64.b64decode(body).decode(errors="replace")
    except (binascii.Error, ValueError):
        output = "[firecracker: the guest's output could not be decoded]"
    return rc, output, size
