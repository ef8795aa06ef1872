"""Least privilege for sandboxed commands: one home shared by every host-process backend.

:func:`confinement` plans, for one run, what an exec'd helper
(``_confine_exec.py``, :meth:`Confinement.wrap`) does before it execs the command
(Linux only; a fresh image, because ``unshare`` refuses a forked child that an at-fork
handler of the agent made multi-threaded):

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

import functools
import logging
import os
import stat
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = ["SANDBOX_UID", "Confinement", "confinement", "drops_root", "sandbox_uid",
           "sanitize_workspace"]

logger = logging.getLogger("teragent.security.confine")

#: The uid (and gid) commands run as when the agent is root and the workspace is
#: root-owned.
SANDBOX_UID = 65534

_PR_SET_NO_NEW_PRIVS, _PR_CAP_AMBIENT = 38, 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_SYS = {"x86_64": {"open_tree": 428, "move_mount": 429, "mount_setattr": 442},
        "aarch64": {"open_tree": 428, "move_mount": 429, "mount_setattr": 442}}


def _libc() -> Any:
    import ctypes  # loaded when a command is confined, not with the tools

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


HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_confine_exec.py")


def _helper_argv(*args: str) -> list[str]:
    """The exec'd helper: a fresh image, so no at-fork handler of ours (OpenTelemetry's
    batch processor starts a thread in forked children) makes it multi-threaded, which
    ``unshare`` of a mount or user namespace refuses (EINVAL)."""
    return [sys.executable, "-I", "-S", HELPER, *args]


@functools.lru_cache(maxsize=8)
def _make_idmap_userns(uid: int, gid: int) -> int:
    import subprocess

    holder = subprocess.Popen(_helper_argv("userns", str(uid), str(gid)),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdin is not None and holder.stdout is not None
    try:
        line = holder.stdout.readline().strip()
        if line != "ready":
            parts = line.split()
            err = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
            raise OSError(err, "cannot create a user namespace for the workspace "
                               f"idmapping: {line or 'the helper exited'}")
        for name, text in (("uid_map", f"0 {uid} 1"), ("setgroups", "deny"),
                           ("gid_map", f"0 {gid} 1")):
            with open(f"/proc/{holder.pid}/{name}", "w") as fh:
                fh.write(text)
        return os.open(f"/proc/{holder.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
        holder.stdout.close()


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

    @property
    def privileged(self) -> bool:
        """Whether the exec'd helper runs first (a root agent on Linux)."""
        return sys.platform.startswith("linux") and os.geteuid() == 0

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` behind the helper that applies the plan (unchanged for a non-root
        agent, whose ``preexec`` sets ``no_new_privs``)."""
        if not self.privileged:
            return list(argv)
        import json

        plan = {"workdir": self.workdir, "uid": self.uid, "gid": self.gid,
                "idmap_fd": self.idmap_fd, "hide_at": self.hide_at,
                "remount": self.remount, "private_shm": self.private_shm,
                "drop_uid": self.drop_uid, "cap_last": _cap_last()}
        return _helper_argv("exec", json.dumps(plan), "--", *argv)

    def preexec(self, then: Callable[[], None] | None = None) -> Callable[[], None]:
        """The ``preexec_fn``: ``then`` (rlimits, the cgroup join); for a non-root agent
        also ``no_new_privs``. Namespaces and privileges are the helper's (:meth:`wrap`):
        ``unshare`` fails in a forked child that an at-fork handler made threaded."""
        import ctypes  # bound here: the child must not import

        lib = _libc()
        privileged = self.privileged

        def run() -> None:
            if then is not None:
                then()
            if not privileged:
                lib.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
                if lib.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
                    raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")

        return run


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
    import subprocess

    try:
        works = subprocess.run(_helper_argv("probe", path, str(fd)), pass_fds=(fd,),
                               capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired) as exc:
        logger.warning("no idmapped workspace: %s", exc)
        return False
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
