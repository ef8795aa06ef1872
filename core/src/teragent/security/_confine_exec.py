"""The exec'd helper of :mod:`teragent.security.confine` (standard library only).

Run as ``python -I -S _confine_exec.py MODE ...``. It is a fresh process image, so
no at-fork handler of the agent's process (OpenTelemetry's batch processor starts a
thread in every forked child) can make it multi-threaded: ``unshare`` of a mount or
user namespace refuses a multi-threaded caller with EINVAL.

Modes:

* ``userns UID GID``: enter a new user namespace, print ``ready``, wait for stdin to
  close (the parent writes the maps and opens ``/proc/PID/ns/user`` meanwhile).
* ``probe PATH FD``: in a new mount namespace, exit 0 when ``PATH`` can be bound
  with the idmapping of the user namespace ``FD``.
* ``exec PLAN -- PROGRAM [ARGS...]``: apply the plan (mount namespace, the workspace
  rebound ``nosuid,nodev`` and idmapped, a tmpfs over an unsearchable ancestor, a
  private ``/dev/shm``; an empty capability bounding set, the sandbox uid/gid,
  ``no_new_privs``) and exec the program; exit 126 without running it on failure.
"""

from __future__ import annotations

import ctypes
import json
import os
import struct
import sys
from typing import Any

CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
MS_REC, MS_PRIVATE, MS_NOSUID, MS_NODEV = 0x4000, 0x40000, 0x2, 0x4
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_CAP_AMBIENT = 38, 24, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SYS = {"x86_64": {"open_tree": 428, "move_mount": 429, "mount_setattr": 442},
       "aarch64": {"open_tree": 428, "move_mount": 429, "mount_setattr": 442}}
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC, AT_RECURSIVE = 1, 0o2000000, 0x8000
AT_EMPTY_PATH, MOVE_MOUNT_F_EMPTY_PATH = 0x1000, 0x4
MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_IDMAP = 0x2, 0x4, 0x00100000


def libc() -> Any:
    lib = ctypes.CDLL(None, use_errno=True)
    lib.syscall.restype = ctypes.c_long
    return lib


def _setattr(lib: Any, nr: dict[str, int], tree: int, flags: int, userns_fd: int,
             recursive: bool) -> bool:
    attr = ctypes.create_string_buffer(struct.pack("QQQQ", flags, 0, 0, userns_fd), 32)
    how = AT_EMPTY_PATH | (AT_RECURSIVE if recursive else 0)
    return bool(lib.syscall(nr["mount_setattr"], tree, b"", how, attr,
                            ctypes.c_size_t(32)) == 0)


def rebind_workspace(lib: Any, nr: dict[str, int], workdir: str, userns_fd: int | None,
                     hide_at: str | None) -> bool:
    """Bind the workspace over itself (``nosuid,nodev``, idmapped when ``userns_fd``),
    after hiding ``hide_at`` under a tmpfs that holds only the path to it. Whether the
    idmapping applied."""
    path = workdir.encode()
    tree = lib.syscall(nr["open_tree"], -100, path,
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)
    if tree < 0:
        return False
    try:
        flags = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
        mapped = userns_fd is not None and _setattr(lib, nr, tree, flags | MOUNT_ATTR_IDMAP,
                                                    userns_fd, True)
        if not mapped:
            _setattr(lib, nr, tree, flags, 0, True)
        if hide_at is not None:
            if lib.mount(b"tmpfs", hide_at.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                         b"mode=0755,size=1m") == 0:
                os.makedirs(workdir, mode=0o755, exist_ok=True)
        lib.syscall(nr["move_mount"], tree, b"", -100, path, MOVE_MOUNT_F_EMPTY_PATH)
        return mapped
    finally:
        os.close(tree)


def _userns(uid: str, gid: str) -> int:
    lib = libc()
    if lib.unshare(CLONE_NEWUSER) != 0:
        err = ctypes.get_errno()
        print(f"error {err} {os.strerror(err)}", flush=True)
        return 1
    print("ready", flush=True)
    sys.stdin.read()
    return 0


def _probe(path: str, fd: str) -> int:
    lib = libc()
    nr = SYS.get(os.uname().machine)
    if not nr or lib.unshare(CLONE_NEWNS) != 0:
        return 1
    lib.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    tree = lib.syscall(nr["open_tree"], -100, path.encode(),
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
    if tree < 0:
        return 1
    return 0 if _setattr(lib, nr, tree, MOUNT_ATTR_IDMAP, int(fd), False) else 1


def _exec(plan: dict[str, Any], argv: list[str]) -> int:
    lib = libc()
    nr = SYS.get(os.uname().machine, {})
    workdir = plan["workdir"]
    if plan.get("remount") or plan.get("private_shm"):
        if lib.unshare(CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS)")
        lib.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None)
        if plan.get("remount") and nr:
            rebind_workspace(lib, nr, workdir, plan.get("idmap_fd"), plan.get("hide_at"))
        if plan.get("private_shm") and os.path.isdir("/dev/shm"):
            lib.mount(b"tmpfs", b"/dev/shm", b"tmpfs", MS_NOSUID | MS_NODEV,
                      b"mode=1777,size=64m")
    if plan.get("idmap_fd") is not None:
        os.close(int(plan["idmap_fd"]))
    os.chdir(workdir)
    if plan.get("drop_uid") and os.geteuid() == 0:
        for cap in range(int(plan.get("cap_last", 40)) + 1):
            lib.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        uid, gid = plan.get("uid"), plan.get("gid")
        if uid is not None and gid is not None:
            os.setgroups([])
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
    lib.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    if lib.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        print(f"sandbox: cannot run {argv[0]}: {exc.strerror}", file=sys.stderr)
    return 127


def main(args: list[str]) -> int:
    if len(args) >= 3 and args[0] == "userns":
        return _userns(args[1], args[2])
    if len(args) >= 3 and args[0] == "probe":
        return _probe(args[1], args[2])
    if len(args) >= 4 and args[0] == "exec" and args[2] == "--":
        try:
            return _exec(json.loads(args[1]), args[3:])
        except OSError as exc:
            print(f"sandbox: cannot confine the command: {exc}", file=sys.stderr)
            return 126
    print("usage: _confine_exec.py userns UID GID | probe PATH FD | "
          "exec PLAN -- PROGRAM [ARGS...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
