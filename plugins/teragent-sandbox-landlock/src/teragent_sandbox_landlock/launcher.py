"""Confine this process with Landlock and seccomp, then run a command and reap it.

Run as ``python -I -S launcher.py POLICY_JSON -- /bin/sh -c CMD``. The module uses
the standard library only (it is started with ``-S``, no site-packages, to start
fast) and talks to the kernel with raw syscalls through :mod:`ctypes`:

1. ``prctl(PR_SET_CHILD_SUBREAPER)``: orphans of the command (``setsid`` daemons,
   double forks) are re-parented to this launcher instead of to init. The launcher
   forks; steps 2-3 happen in the child, which then execs the command.
2. ``prctl(PR_SET_NO_NEW_PRIVS)``, then a Landlock ruleset (``landlock_create_ruleset``
   444, ``landlock_add_rule`` 445, ``landlock_restrict_self`` 446): read/execute below
   the system directories, read/write below the workspace and a private tmp, nothing
   else; with ABI >= 4 no TCP bind/connect except allow-listed ports; with ABI >= 6
   signals and abstract unix sockets scoped to the sandbox. The ruleset is built for
   the ABI the kernel reports, and what was enforced is printed to fd 3 if asked.
3. A seccomp BPF filter assembled here (no libseccomp): ``ptrace``,
   ``process_vm_*``, ``mount``/``umount2``/new mount API, ``unshare``/``setns``/
   namespace flags of ``clone``, ``kexec_*``, ``bpf``, module loading, ``keyctl``,
   ``perf_event_open``, ``userfaultfd``, ``chroot``/``pivot_root``, ``reboot``,
   ``swapon``, ``TIOCSTI``... fail with EPERM; ``clone3`` gets ENOSYS (its flags cannot
   be inspected by BPF, so libc falls back to ``clone``), and so does io_uring (its
   ``IORING_OP_SOCKET`` would bypass the socket filter); ``socket(AF_NETLINK/
   AF_PACKET)`` always, and with networking off ``socket(AF_INET/AF_INET6)``, fail with
   EACCES. Before all this, when the launcher runs as root, the child empties its
   capability bounding set and switches to the unprivileged uid in the policy. Another architecture than
   the one compiled in is killed.
4. ``fork`` + ``execvp`` of the command; the launcher waits, and when the command
   exits (or a SIGTERM arrives) it SIGKILLs every remaining descendant, then exits
   with the command's status (``128 + signal`` for a signal death).
"""

from __future__ import annotations

import ctypes
import errno
import json
import os

import signal
import struct
import sys
from typing import Any

# --- Landlock -----------------------------------------------------------------------

SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1
LANDLOCK_RULE_NET_PORT = 2

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
FS_IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

FILE_ONLY = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE | FS_IOCTL_DEV
READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
WRITE = (FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_DIR | FS_MAKE_REG
         | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_SYM | FS_REFER | FS_TRUNCATE)

PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _fs_mask(abi: int) -> int:
    mask = (1 << 13) - 1
    if abi >= 2:
        mask |= FS_REFER
    if abi >= 3:
        mask |= FS_TRUNCATE
    if abi >= 5:
        mask |= FS_IOCTL_DEV
    return mask


def landlock_abi() -> int:
    """The Landlock ABI version of the running kernel (0: none or disabled)."""
    if not sys.platform.startswith("linux"):
        return 0
    res = _libc.syscall(SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION))
    return int(res) if res > 0 else 0


def _check(res: int, what: str) -> int:
    if res < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return res


def apply_landlock(policy: dict[str, Any]) -> dict[str, Any]:
    """Restrict this thread (and every descendant) to ``policy``; return what was
    enforced. Paths that do not exist are skipped."""
    abi = landlock_abi()
    if abi < 1:
        raise OSError(errno.ENOSYS, "Landlock is not supported or is disabled")
    handled_fs = _fs_mask(abi)
    handled_net = NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    attr = struct.pack("QQQ", handled_fs, handled_net, scoped)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    buf = ctypes.create_string_buffer(attr[:size], size)
    fd = _check(_libc.syscall(SYS_LANDLOCK_CREATE_RULESET, buf, ctypes.c_size_t(size),
                              ctypes.c_uint32(0)), "landlock_create_ruleset")
    enforced: dict[str, Any] = {"landlock_abi": abi, "read": [], "write": [],
                                "net_tcp": "unrestricted", "scoped": bool(scoped)}
    try:
        for kind, paths, access in (("read", policy.get("read", []), READ),
                                    ("write", policy.get("write", []), READ | WRITE),
                                    ("dev", policy.get("dev", []),
                                     FS_READ_FILE | FS_WRITE_FILE | FS_IOCTL_DEV)):
            for path in paths:
                if _add_path_rule(fd, path, access & handled_fs):
                    enforced["write" if kind == "write" else "read"].append(path)
        if handled_net:
            for port in policy.get("tcp_connect", []):
                rule = struct.pack("QQ", NET_CONNECT_TCP, int(port))
                rbuf = ctypes.create_string_buffer(rule, len(rule))
                _check(_libc.syscall(SYS_LANDLOCK_ADD_RULE, fd,
                                     ctypes.c_int(LANDLOCK_RULE_NET_PORT), rbuf,
                                     ctypes.c_uint32(0)), "landlock_add_rule(net)")
            ports = policy.get("tcp_connect", [])
            enforced["net_tcp"] = f"connect only to ports {ports}" if ports else "denied"
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
        _check(_libc.syscall(SYS_LANDLOCK_RESTRICT_SELF, fd, ctypes.c_uint32(0)),
               "landlock_restrict_self")
    finally:
        os.close(fd)
    return enforced


def _add_path_rule(ruleset_fd: int, path: str, access: int) -> bool:
    try:
        pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not os.path.isdir(path):
            access &= FILE_ONLY
        rule = struct.pack("=Qi", access, pfd)
        rbuf = ctypes.create_string_buffer(rule, len(rule))
        _check(_libc.syscall(SYS_LANDLOCK_ADD_RULE, ruleset_fd,
                             ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH), rbuf,
                             ctypes.c_uint32(0)), f"landlock_add_rule({path})")
        return True
    finally:
        os.close(pfd)


# --- seccomp ------------------------------------------------------------------------

AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# Names -> numbers for the architectures this filter knows.
SYSCALLS = {
    "x86_64": {
        "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "mount": 165,
        "umount2": 166, "unshare": 272, "setns": 308, "kexec_load": 246,
        "kexec_file_load": 320, "bpf": 321, "init_module": 175, "finit_module": 313,
        "delete_module": 176, "keyctl": 250, "add_key": 248, "request_key": 249,
        "pivot_root": 155, "chroot": 161, "swapon": 167, "swapoff": 168, "reboot": 169,
        "perf_event_open": 298, "userfaultfd": 323, "open_by_handle_at": 304,
        "name_to_handle_at": 303, "syslog": 103, "acct": 163, "quotactl": 179,
        "iopl": 172, "ioperm": 173, "settimeofday": 164, "clock_settime": 227,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "clone": 56, "clone3": 435, "socket": 41, "ioctl": 16,
    },
    "aarch64": {
        "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "mount": 40,
        "umount2": 39, "unshare": 97, "setns": 268, "kexec_load": 104,
        "kexec_file_load": 294, "bpf": 280, "init_module": 105, "finit_module": 273,
        "delete_module": 106, "keyctl": 219, "add_key": 217, "request_key": 218,
        "pivot_root": 41, "chroot": 51, "swapon": 224, "swapoff": 225, "reboot": 142,
        "perf_event_open": 241, "userfaultfd": 282, "open_by_handle_at": 265,
        "name_to_handle_at": 264, "syslog": 116, "acct": 89, "quotactl": 60,
        "settimeofday": 170, "clock_settime": 112,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
        "fsmount": 432, "fspick": 433, "mount_setattr": 442,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "clone": 220, "clone3": 435, "socket": 198, "ioctl": 29,
    },
}
DENIED = [n for n in SYSCALLS["x86_64"] if n not in ("clone", "clone3", "socket", "ioctl")
          and not n.startswith("io_uring")]
#: io_uring bypasses the socket() filter (IORING_OP_SOCKET): not available at all.
NOSYS = ["io_uring_setup", "io_uring_enter", "io_uring_register"]
CLONE_NAMESPACE_FLAGS = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000
                         | 0x20000000 | 0x40000000 | 0x00000080)  # NS, CGROUP, UTS..NET, TIME
AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET = 1, 2, 10, 16, 17
TIOCSTI, TIOCLINUX = 0x5412, 0x541C

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_JGE_K = 0x35
BPF_JSET_K = 0x45
BPF_RET_K = 0x06
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
RET_KILL_PROCESS = 0x80000000
OFF_NR, OFF_ARCH, OFF_ARG0, OFF_ARG1 = 0, 4, 16, 24


def build_seccomp_filter(machine: str | None = None, *, deny_inet: bool = True,
                         deny_unix: bool = True) -> bytes:
    """The filter program as packed ``struct sock_filter`` entries."""
    machine = machine or os.uname().machine
    if machine not in SYSCALLS:
        raise OSError(errno.ENOSYS, f"no seccomp syscall table for {machine}")
    nr = SYSCALLS[machine]
    prog: list[tuple[int, int, int, int]] = []

    def ins(code: int, k: int, jt: int = 0, jf: int = 0) -> None:
        prog.append((code, jt, jf, k))

    def errno_ret(err: int) -> int:
        return RET_ERRNO | err

    ins(BPF_LD_W_ABS, OFF_ARCH)
    ins(BPF_JEQ_K, AUDIT_ARCH[machine], 1, 0)
    ins(BPF_RET_K, RET_KILL_PROCESS)
    ins(BPF_LD_W_ABS, OFF_NR)
    if machine == "x86_64":
        ins(BPF_JGE_K, 0x40000000, 0, 1)  # the x32 ABI: refuse wholesale
        ins(BPF_RET_K, errno_ret(errno.EPERM))
    for name in DENIED:
        if name in nr:
            ins(BPF_JEQ_K, nr[name], 0, 1)
            ins(BPF_RET_K, errno_ret(errno.EPERM))
    for name in NOSYS + ["clone3"]:
        ins(BPF_JEQ_K, nr[name], 0, 1)
        ins(BPF_RET_K, errno_ret(errno.ENOSYS))
    # clone(flags, ...): refuse namespace flags (flags are arg0 on both arches).
    ins(BPF_JEQ_K, nr["clone"], 0, 3)
    ins(BPF_LD_W_ABS, OFF_ARG0)
    ins(BPF_JSET_K, CLONE_NAMESPACE_FLAGS, 0, 1)
    ins(BPF_RET_K, errno_ret(errno.EPERM))
    ins(BPF_LD_W_ABS, OFF_NR)
    # ioctl(fd, TIOCSTI/TIOCLINUX): no typing into the controlling terminal.
    ins(BPF_JEQ_K, nr["ioctl"], 0, 5)
    ins(BPF_LD_W_ABS, OFF_ARG1)
    ins(BPF_JEQ_K, TIOCSTI, 1, 0)
    ins(BPF_JEQ_K, TIOCLINUX, 0, 1)
    ins(BPF_RET_K, errno_ret(errno.EPERM))
    ins(BPF_LD_W_ABS, OFF_NR)
    # socket(family): netlink and raw packets always refused (even with TCP ports
    # allowed), IP unless ports are allowed, unix unless asked for (host daemons'
    # pathname sockets are beyond Landlock's reach; socketpair() stays allowed).
    families = [AF_NETLINK, AF_PACKET]
    if deny_inet:
        families += [AF_INET, AF_INET6]
    if deny_unix:
        families.append(AF_UNIX)
    ins(BPF_JEQ_K, nr["socket"], 0, len(families) + 2)
    ins(BPF_LD_W_ABS, OFF_ARG0)
    for i, family in enumerate(families):
        last = i == len(families) - 1
        ins(BPF_JEQ_K, family, len(families) - 1 - i, 1 if last else 0)
    ins(BPF_RET_K, errno_ret(errno.EACCES))
    ins(BPF_RET_K, RET_ALLOW)
    return b"".join(struct.pack("HBBI", *p) for p in prog)


def apply_seccomp(program: bytes) -> int:
    """Install ``program`` for this thread and its descendants (needs NO_NEW_PRIVS)."""
    count = len(program) // 8
    filt = ctypes.create_string_buffer(program, len(program))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    fprog = SockFprog(count, ctypes.cast(filt, ctypes.c_void_p))
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
           "prctl(PR_SET_SECCOMP)")
    return count


# --- reaping ------------------------------------------------------------------------


def _children() -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/self/task/{tid}/children") as fh:
                found += [int(p) for p in fh.read().split()]
        except OSError:
            pass
    return found


def kill_descendants() -> int:
    """SIGKILL every child (orphans are re-parented here) until none is left; return
    how many processes were reaped."""
    reaped = 0
    while True:
        for pid in _children():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return reaped
        reaped += 1


PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4


def drop_privileges(drop: dict[str, Any]) -> dict[str, Any]:
    """Root only: empty the capability bounding set, clear supplementary groups and
    switch to ``drop["uid"]``/``drop["gid"]`` (leaving uid 0 clears every capability);
    clear ambient capabilities either way."""
    done: dict[str, Any] = {}
    if drop and os.geteuid() == 0:
        for cap in range(int(drop.get("cap_last", 40)) + 1):
            _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        done = {"uid": 0, "capabilities": "none (bounding set emptied)"}
        if drop.get("uid") is None:
            return done  # no capability survives exec with an empty bounding set
        os.setgroups([])
        gid, uid = int(drop["gid"]), int(drop["uid"])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if drop.get("nproc"):  # RLIMIT_NPROC (6): counts the sandbox uid's processes
            limit = struct.pack("QQ", int(drop["nproc"]), int(drop["nproc"]))
            _check(_libc.setrlimit(6, ctypes.create_string_buffer(limit, 16)),
                   "setrlimit(RLIMIT_NPROC)")
        done = {"uid": uid, "capabilities": "none"}
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    return done


def _confine_and_exec(policy: dict[str, Any], command: list[str]) -> None:
    """In the forked child: confine, report, exec. Never returns; never runs the
    command unconfined (any failure exits 126)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        # Landlock first: its rules open the allowed paths, which the unprivileged uid
        # might not be able to reach by name (a workspace below a 0700 directory).
        enforced = apply_landlock(policy)
        enforced.update(drop_privileges(policy.get("drop") or {}))
        program = build_seccomp_filter(deny_inet=not policy.get("tcp_connect"),
                                       deny_unix=not policy.get("unix_sockets"))
        enforced["seccomp_instructions"] = apply_seccomp(program)
    except Exception as exc:  # noqa: BLE001 - never run the command unconfined
        print(f"sandbox: cannot confine the command: {exc}", file=sys.stderr)
        os._exit(126)
    report_fd = policy.get("report_fd")
    if report_fd is not None:
        os.write(int(report_fd), json.dumps(enforced).encode())
        os.close(int(report_fd))
    try:
        os.execvp(command[0], command)
    except OSError as exc:
        print(f"sandbox: cannot run {command[0]}: {exc.strerror}", file=sys.stderr)
    os._exit(127)


def main(argv: list[str]) -> int:
    """Supervise: the launcher itself stays unconfined (it must read ``/proc`` to find
    leftovers); only the forked child is confined before it execs the command."""
    if len(argv) < 4 or argv[2] != "--":
        print("usage: launcher.py POLICY_JSON -- PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    policy = json.loads(argv[1])
    command = argv[3:]
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

    def on_term(signum: int, _frame: Any) -> None:
        kill_descendants()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    pid = os.fork()
    if pid == 0:
        _confine_and_exec(policy, command)
    report_fd = policy.get("report_fd")
    if report_fd is not None:
        os.close(int(report_fd))
    status = 0
    while True:
        try:
            got, status = os.waitpid(pid, 0)
        except InterruptedError:
            continue
        if got == pid:
            break
    if kill_descendants():
        print("\n[background processes left by the command were stopped]", file=sys.stderr)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
