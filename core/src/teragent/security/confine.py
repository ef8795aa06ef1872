"""Least privilege for sandboxed commands: one home shared by every host-process backend.

:func:`confinement` plans, for one run, what happens in the child between ``fork``
and ``exec`` (:meth:`Confinement.preexec`, Linux only):

1. When the agent is root, a private mount namespace: the workspace is bound over
   itself through an **idmapped mount** (disk uid/gid 0 appear as the sandbox uid), so
   an unprivileged command can still write a root-owned workspace and what it creates
   is owned by root on disk; the bind is ``nosuid,nodev``. ``/dev/shm`` gets a fresh
   tmpfs (no host shared memory). If the file system refuses idmapped mounts the
   command still runs unprivileged (``enforced["workspace"]`` says so).
2. Every capability is dropped from the bounding set, supplementary groups cleared,
   and the process switches to the sandbox uid/gid (default: the workspace's owner,
   or 65534 ``nobody`` when that is root). Leaving uid 0 clears every capability.
3. ``no_new_privs``, so setuid binaries and file capabilities grant nothing.

A non-root agent keeps its uid (it has nothing to drop) and gets ``no_new_privs``.

:func:`sanitize_workspace` runs after the command (every backend, from
:func:`teragent.security.sandbox.execute_in_sandbox`): setuid/setgid bits are
stripped, device nodes removed and hard links to files outside the workspace replaced
by copies, so nothing the command leaves behind gives the agent's uid to anyone.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import stat
import struct
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["SANDBOX_UID", "Confinement", "confinement", "drops_root", "sandbox_uid",
           "sanitize_workspace"]

logger = logging.getLogger("teragent.security.confine")

#: The uid (and gid) commands run as when the agent is root and the workspace is
#: root-owned.
SANDBOX_UID = 65534

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNS = 0x00020000
_MS_REC, _MS_PRIVATE, _MS_NOSUID, _MS_NODEV = 0x4000, 0x40000, 0x2, 0x4
_PR_SET_NO_NEW_PRIVS, _PR_CAPBSET_DROP, _PR_CAP_AMBIENT = 38, 24, 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_SYS = {"x86_64": {"open_tree": 428, "move_mount": 429, "mount_setattr": 442},
        "aarch64": {"open_tree": 428, "move_mount": 429, "mount_setattr": 442}}
_OPEN_TREE_CLONE, _OPEN_TREE_CLOEXEC, _AT_RECURSIVE = 1, 0o2000000, 0x8000
_AT_EMPTY_PATH, _MOVE_MOUNT_F_EMPTY_PATH = 0x1000, 0x4
_MOUNT_ATTR_NOSUID, _MOUNT_ATTR_NODEV, _MOUNT_ATTR_IDMAP = 0x2, 0x4, 0x00100000


def _libc() -> Any:
    lib = ctypes.CDLL(None, use_errno=True)
    lib.syscall.restype = ctypes.c_long
    return lib


def sandbox_uid(workdir: str) -> int | None:
    """The uid a command in ``workdir`` runs as: ``None`` (keep ours) unless we are
    root; then the workspace's owner, or :data:`SANDBOX_UID` when root owns it."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    owner = os.stat(workdir).st_uid
    return owner if owner != 0 else SANDBOX_UID


def _idmap_userns(uid: int, gid: int) -> int:
    """A user namespace fd mapping 0 to ``uid``/``gid`` (kept open for reuse): the
    idmapping of the workspace bind. Made again if something closed the kept fd."""
    fd = _make_idmap_userns(uid, gid)
    try:
        if os.readlink(f"/proc/self/fd/{fd}").startswith("user:"):
            return fd
    except OSError:
        pass
    _make_idmap_userns.cache_clear()
    return _make_idmap_userns(uid, gid)


@functools.lru_cache(maxsize=8)
def _make_idmap_userns(uid: int, gid: int) -> int:
    lib = _libc()
    ready_r, ready_w = os.pipe()
    hold_r, hold_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.close(ready_r)
            os.close(hold_w)
            ok = lib.unshare(_CLONE_NEWUSER) == 0
            os.write(ready_w, b"1" if ok else bytes([ctypes.get_errno() & 0xFF]))
            os.read(hold_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(hold_r)
    try:
        answer = os.read(ready_r, 1)
        if answer != b"1":
            err = answer[0] if answer else 0
            raise OSError(err, "cannot create a user namespace for the workspace idmapping: "
                          + os.strerror(err))
        for name, text in (("uid_map", f"0 {uid} 1"), ("setgroups", "deny"),
                           ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/{pid}/{name}", "w") as fh:
                fh.write(text)
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.close(hold_w)
        os.waitpid(pid, 0)


@dataclass
class Confinement:
    """What :meth:`preexec` does for one run (see the module docstring)."""

    workdir: str
    uid: int | None = None
    gid: int | None = None
    idmap_fd: int | None = None
    private_shm: bool = False
    drop_uid: bool = True
    #: The highest ancestor of the workspace the sandbox uid cannot search: a tmpfs
    #: holding only the path down to the workspace replaces it (siblings stay hidden).
    hide_at: str | None = None
    remount: bool = False
    enforced: dict[str, Any] = field(default_factory=dict)

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self.idmap_fd,) if self.idmap_fd is not None else ()

    def preexec(self, then: Callable[[], None] | None = None) -> Callable[[], None]:
        """The ``preexec_fn``: namespace and mounts, ``then`` (rlimits...), privileges."""
        lib = _libc()
        nr = _SYS.get(os.uname().machine, {})
        cap_last = _cap_last()
        workdir, uid, gid, idmap = self.workdir, self.uid, self.gid, self.idmap_fd
        private_shm, drop_uid, hide_at = self.private_shm, self.drop_uid, self.hide_at
        remount = self.remount

        def run() -> None:
            # Without CAP_SYS_ADMIN (root in a container) there is no mount namespace:
            # the command still loses its capabilities below.
            namespaced = (remount or private_shm) and lib.unshare(_CLONE_NEWNS) == 0
            if namespaced:
                lib.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None)
            if namespaced and remount and nr:
                _rebind_workspace(lib, nr, workdir, idmap, hide_at)
            if namespaced and private_shm and os.path.isdir("/dev/shm"):
                lib.mount(b"tmpfs", b"/dev/shm", b"tmpfs", _MS_NOSUID | _MS_NODEV,
                          b"mode=1777,size=64m")
            os.chdir(workdir)
            if then is not None:
                then()
            if drop_uid and os.geteuid() == 0:
                # An empty bounding set: even a command left at uid 0 gets no
                # capability from exec.
                for cap in range(cap_last + 1):
                    lib.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
                if uid is not None and gid is not None:
                    os.setgroups([])
                    os.setresgid(gid, gid, gid)
                    os.setresuid(uid, uid, uid)
            lib.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
            if lib.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")

        return run


def _rebind_workspace(lib: Any, nr: dict[str, int], workdir: str, userns_fd: int | None,
                      hide_at: str | None) -> None:
    """Bind the workspace over itself (``nosuid,nodev``, idmapped when ``userns_fd``),
    after hiding ``hide_at`` under a tmpfs that holds only the path to it."""
    path = workdir.encode()
    tree = lib.syscall(nr["open_tree"], -100, path,
                       _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC | _AT_RECURSIVE)
    if tree < 0:
        return
    try:
        flags = _MOUNT_ATTR_NOSUID | _MOUNT_ATTR_NODEV
        if userns_fd is not None:
            attr = ctypes.create_string_buffer(struct.pack(
                "QQQQ", flags | _MOUNT_ATTR_IDMAP, 0, 0, userns_fd), 32)
            if lib.syscall(nr["mount_setattr"], tree, b"", _AT_EMPTY_PATH | _AT_RECURSIVE,
                           attr, ctypes.c_size_t(32)) != 0:
                userns_fd = None
        if userns_fd is None:
            attr = ctypes.create_string_buffer(struct.pack("QQQQ", flags, 0, 0, 0), 32)
            lib.syscall(nr["mount_setattr"], tree, b"", _AT_EMPTY_PATH | _AT_RECURSIVE,
                        attr, ctypes.c_size_t(32))
        if hide_at is not None:
            if lib.mount(b"tmpfs", hide_at.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV,
                         b"mode=0755,size=1m") == 0:
                os.makedirs(workdir, mode=0o755, exist_ok=True)
        lib.syscall(nr["move_mount"], tree, b"", -100, path, _MOVE_MOUNT_F_EMPTY_PATH)
    finally:
        os.close(tree)


def _unsearchable_ancestor(workdir: str, uid: int) -> str | None:
    """The highest ancestor of ``workdir`` that ``uid`` (no groups) cannot search."""
    parts = workdir.rstrip("/").split("/")
    for i in range(2, len(parts)):
        path = "/".join(parts[:i])
        try:
            st = os.stat(path)
        except OSError:
            return None
        allowed = (st.st_mode & 0o100) if st.st_uid == uid else (st.st_mode & 0o001)
        if not allowed:
            return path
    return None


@functools.lru_cache(maxsize=1)
def _cap_last() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return 40


def drops_root() -> bool:
    """Whether commands here run without root: we are not root, or a root-owned
    directory in the temp dir can be idmapped for :data:`SANDBOX_UID` (measured once)."""
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return True
    import tempfile

    probe = tempfile.gettempdir()
    return _idmap_works(os.stat(probe).st_dev, probe, SANDBOX_UID, SANDBOX_UID)


_IDMAP_OK: set[tuple[int, str, int, int]] = set()


def _idmap_works(workdir_dev: int, path: str, uid: int, gid: int) -> bool:
    """Whether an idmapped bind of this directory works (probed in a throw-away child
    that only makes system calls; a success is remembered, a failure probed again)."""
    key = (workdir_dev, path, uid, gid)
    if key in _IDMAP_OK:
        return True
    nr = _SYS.get(os.uname().machine)
    if not nr:
        return False
    try:
        fd = _idmap_userns(uid, gid)
    except OSError as exc:
        logger.warning("no idmapped workspace: %s", exc)
        return False
    lib = _libc()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        ok = False
        try:
            if lib.unshare(_CLONE_NEWNS) == 0:
                lib.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None)
                tree = lib.syscall(nr["open_tree"], -100, path.encode(),
                                   _OPEN_TREE_CLONE | _OPEN_TREE_CLOEXEC)
                if tree >= 0:
                    attr = ctypes.create_string_buffer(
                        struct.pack("QQQQ", _MOUNT_ATTR_IDMAP, 0, 0, fd), 32)
                    ok = lib.syscall(nr["mount_setattr"], tree, b"", _AT_EMPTY_PATH, attr,
                                     ctypes.c_size_t(32)) == 0
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    works = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    if works:
        _IDMAP_OK.add(key)
    return works


def confinement(workdir: str, *, uid: int | None = None, private_shm: bool = True,
                drop_uid: bool = True) -> Confinement:
    """Plan least privilege for a command in ``workdir`` (see the module docstring).

    Args:
        workdir: The resolved workspace.
        uid: Run as this uid (and gid) when the agent is root; default
            :func:`sandbox_uid`.
        private_shm: Give the command its own ``/dev/shm`` (root agent only: it needs a
            mount namespace).
        drop_uid: Switch uid in :meth:`Confinement.preexec` (``False`` when a later
            stage, such as the landlock launcher's child, does it).
    """
    plan = Confinement(workdir, drop_uid=drop_uid)
    if not sys.platform.startswith("linux"):
        plan.enforced = {"privileges": "unchanged (not Linux)"}
        return plan
    if os.geteuid() != 0:
        plan.enforced = {"uid": os.geteuid(), "capabilities": "none (not root)",
                         "no_new_privs": True}
        return plan
    chosen = uid if uid is not None else sandbox_uid(workdir)
    assert chosen is not None
    info = os.stat(workdir)
    if (uid is None and info.st_uid == 0
            and not _idmap_works(info.st_dev, workdir, chosen, chosen)):
        # A root-owned workspace we cannot idmap (no mount namespace, or a file system
        # without idmapped mounts): uid 0, but no capability survives exec.
        plan.enforced = {"uid": 0, "capabilities": "none (bounding set emptied)",
                         "no_new_privs": True,
                         "workspace": "root-owned; idmapped mounts unavailable here, so "
                                      "the command keeps uid 0 without capabilities"}
        return plan
    plan.uid = chosen
    plan.gid = plan.uid
    plan.private_shm = private_shm
    plan.remount = True
    plan.hide_at = _unsearchable_ancestor(workdir, plan.uid)
    workspace = "owned by the sandbox uid"
    if info.st_uid != plan.uid:
        if info.st_uid == 0 and _idmap_works(info.st_dev, workdir, plan.uid, plan.uid):
            plan.idmap_fd = _idmap_userns(plan.uid, plan.uid)
            workspace = "idmapped bind (disk root appears as the sandbox uid), nosuid,nodev"
        else:
            workspace = (f"owned by uid {info.st_uid}: not writable by the sandbox uid "
                         "(this file system refuses idmapped mounts)")
    plan.enforced = {"uid": plan.uid, "capabilities": "none (bounding set dropped)",
                     "no_new_privs": True, "workspace": workspace}
    if plan.hide_at:
        plan.enforced["hidden"] = f"{plan.hide_at} (only the path to the workspace shown)"
    if private_shm:
        plan.enforced["dev_shm"] = "private tmpfs"
    return plan


# --- after the command --------------------------------------------------------------

#: Entries :func:`sanitize_workspace` looks at before it stops (a huge tree is scanned
#: in part; the result says so).
SANITIZE_LIMIT = 200_000


def sanitize_workspace(workdir: str, *, since: float | None = None,
                       limit: int = SANITIZE_LIMIT) -> dict[str, Any]:
    """Strip setuid/setgid bits, remove device nodes and replace hard links to files
    outside ``workdir`` by copies. Symlinks are never followed. Returns what was done.

    ``since`` (a ``time.time()``): only inodes changed since then are hard-link
    candidates (making a link changes the inode's ctime), so links the user made
    before the run (``git clone --local``) are left alone."""
    if os.name != "posix":
        return {}
    stripped: list[str] = []
    removed: list[str] = []
    unlinked: list[str] = []
    multi: dict[tuple[int, int], list[str]] = {}
    nlinks: dict[tuple[int, int], int] = {}
    seen = 0
    complete = True
    stack = [workdir]
    root_dev = os.lstat(workdir).st_dev
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > limit:
                complete = False
                stack.clear()
                break
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            mode = st.st_mode
            if stat.S_ISDIR(mode):
                if st.st_dev == root_dev:
                    stack.append(entry.path)
                if mode & (stat.S_ISUID | stat.S_ISGID):
                    _chmod(entry.path, mode & ~(stat.S_ISUID | stat.S_ISGID), stripped)
                continue
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
                try:
                    os.unlink(entry.path)
                    removed.append(entry.path)
                except OSError:
                    pass
                continue
            if not stat.S_ISREG(mode):
                continue
            if mode & (stat.S_ISUID | stat.S_ISGID):
                _chmod(entry.path, mode & ~(stat.S_ISUID | stat.S_ISGID), stripped)
            if st.st_nlink > 1 and (since is None or st.st_ctime >= since - 1.0):
                key = (st.st_dev, st.st_ino)
                multi.setdefault(key, []).append(entry.path)
                nlinks[key] = st.st_nlink
    if complete:
        for key, paths in multi.items():
            if len(paths) < nlinks[key]:  # another name exists outside the workspace
                for path in paths:
                    if _break_link(path):
                        unlinked.append(path)
    out: dict[str, Any] = {}
    if stripped:
        out["setuid_stripped"] = stripped
    if removed:
        out["devices_removed"] = removed
    if unlinked:
        out["outside_links_copied"] = unlinked
    if not complete:
        out["sanitize"] = f"stopped after {limit} entries"
    return out


def _chmod(path: str, mode: int, done: list[str]) -> None:
    try:
        os.chmod(path, stat.S_IMODE(mode), follow_symlinks=False)
        done.append(path)
    except (OSError, NotImplementedError):
        try:
            os.chmod(path, stat.S_IMODE(mode))
            done.append(path)
        except OSError:
            pass


def _break_link(path: str) -> bool:
    """Replace ``path`` (a hard link) by a private copy; on failure remove it."""
    import shutil

    tmp = f"{path}.teragent-unlink-{os.getpid()}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as src, open(tmp, "xb") as dst:
            shutil.copyfileobj(src, dst)
        st = os.lstat(path)
        os.chmod(tmp, stat.S_IMODE(st.st_mode) & 0o777)
        os.replace(tmp, path)
        return True
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        try:
            os.unlink(path)
            return True
        except OSError:
            return False
