"""The escape suite's probes: for each, the command run in the sandbox and the judge of
what it left on the host (``True`` contained, ``False`` escaped, ``None`` not judged).

Internal to :mod:`teragent_testing.escape`; the table of names is ``escape.PROBES``.
"""

from __future__ import annotations

import os
import re
import signal
from typing import Any

from teragent_testing._escape_lab import (
    PY, EscapeLab, _accept_all, _agent_start_time, _host_shadow_line, _last_line, _meta,
    _on_host_kernel, _Probe, _processes_with, _ran, _verdict,
)



def _cmd_write(lab: EscapeLab) -> str:
    return f"echo pwned > {lab.outside}/escaped.txt"


def _judge_write(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    path = os.path.join(lab.outside, "escaped.txt")
    return _verdict(os.path.exists(path), "the file appeared on the host",
                    out, "no file on the host")


def _cmd_shadow(lab: EscapeLab) -> str:
    return "cat /etc/shadow"


def _judge_shadow(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    line = _host_shadow_line()
    if line is None:
        return None, "the host has no readable /etc/shadow to compare with"
    return _verdict(line in out, "the host's /etc/shadow was printed", out, "nothing printed")


def _cmd_ssh(lab: EscapeLab) -> str:
    return f"cat {lab.key_path}; cat \"$HOME/.ssh/id_rsa\""


def _judge_marker(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    return _verdict(lab.marker in out, "the secret marker appeared in the output",
                    out, "marker not seen")


def _cmd_connect(lab: EscapeLab) -> str:
    probe = lab.python("connect", (
        "import socket, sys\n"
        "try:\n"
        f"    s = socket.create_connection(('127.0.0.1', {lab.port}), timeout=5)\n"
        "    s.sendall(b'escaped'); s.close(); print('connected')\n"
        "except OSError as e:\n"
        "    print('refused:', e)\n"))
    return f"{probe} || nc -w 3 127.0.0.1 {lab.port} </dev/null"


def _judge_connect(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    return _verdict(lab.accepted_connection(), "the host server accepted a connection",
                    out, "no connection")


def _cmd_fork(lab: EscapeLab) -> str:
    return lab.python("fork", (
        "import os, time\n"
        "n = 0\n"
        "for _ in range(1000):\n"
        "    try:\n"
        "        pid = os.fork()\n"
        "    except OSError as e:\n"
        "        print('fork failed:', e); break\n"
        "    if pid == 0:\n"
        "        time.sleep(5); os._exit(0)\n"
        "    n += 1\n"
        "print(f'spawned={n}', flush=True)\n"
        "os._exit(0)\n"))


def _judge_fork(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    return _verdict("spawned=1000" in out, "all 1000 processes started",
                    out, "the bomb was stopped")


def _cmd_memory(lab: EscapeLab) -> str:
    return lab.python("memory", (
        "import mmap\n"
        "size = 5 << 30\n"
        "m = mmap.mmap(-1, size)\n"
        "for i in range(0, size, 4096):\n"
        "    m[i] = 1\n"
        "print('allocated', size, flush=True)\n"))


def _judge_memory(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    return _verdict("allocated" in out, "5 GiB were allocated and touched",
                    out, "the allocation failed")


def _cmd_cpu(lab: EscapeLab) -> str:
    return "while :; do :; done"


def _judge_cpu(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if res is None:
        return None, "not run"
    limit = lab.cpu_timeout + 20
    if res.timed_out and res.duration < limit:
        return True, f"killed after {res.duration:.1f} s, timed_out reported"
    if res.exit_code != 0 and res.duration < limit:
        return True, f"killed (exit {res.exit_code}) after {res.duration:.1f} s"
    return False, f"ran {res.duration:.1f} s (timed_out={res.timed_out})"


def _bg_token(lab: EscapeLab) -> str:
    return f"3600.{int(lab.marker[-6:]):06d}"


def _cmd_background(lab: EscapeLab) -> str:
    return f"setsid sleep {_bg_token(lab)} >/dev/null 2>&1 </dev/null & echo started"


def _judge_background(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    left = _processes_with(_bg_token(lab))
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if left:
        return False, f"{len(left)} process(es) survived the command (killed now)"
    return True, "nothing survived"


def _cmd_env(lab: EscapeLab) -> str:
    return "env"


def _cmd_environ(lab: EscapeLab) -> str:
    decoy = lab.decoy.pid if lab.decoy else 0
    return f"cat /proc/{decoy}/environ; cat /proc/{os.getpid()}/environ"


def _cmd_ptrace(lab: EscapeLab) -> str:
    pid, started = os.getpid(), _agent_start_time()
    return lab.python("ptrace", (
        "import ctypes, os\n"
        f"pid, started = {pid}, {started!r}\n"
        "try:\n"
        "    stat = open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[19]\n"
        "except (OSError, IndexError):\n"
        "    stat = None\n"
        "if started and stat is not None and stat != started:\n"
        "    print('ptrace=pid is another process here (not the agent)')\n"
        "    raise SystemExit(0)\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]\n"
        "r = libc.ptrace(0x4206, pid, None, None)\n"
        "print('ptrace=ok' if r == 0 else 'ptrace=' + os.strerror(ctypes.get_errno()))\n"))


def _judge_ptrace(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if "ptrace=ok" in out:
        return False, "PTRACE_SEIZE of the agent succeeded"
    return _ran(out, "ptrace=")


_BOOT = "echo boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)"


def _cmd_memory_split(lab: EscapeLab) -> str:
    # Five children each touch 1 GiB, report it, and hold it until the parent, having
    # heard from or buried every child, counts those still alive. Counting "held"
    # lines was wrong: the OOM killer may pick a child that already held its share,
    # and the last one then gets its 1 GiB although five never held at once.
    return lab.python("memsplit", (
        "import mmap, os, select, time\n"
        "size = 1 << 30\n"
        "release_r, release_w = os.pipe()\n"
        "report_r, report_w = os.pipe()\n"
        "kids = []\n"
        "for n in range(5):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os.close(release_w)\n"
        "        try:\n"
        "            m = mmap.mmap(-1, size)\n"
        "            for i in range(0, size, 4096):\n"
        "                m[i] = 1\n"
        "            os.write(report_w, bytes([n]))\n"
        "            os.read(release_r, 1)\n"
        "        except BaseException as e:\n"
        "            print('failed', n, e, flush=True)\n"
        "        os._exit(0)\n"
        "    kids.append(pid)\n"
        "os.close(release_r)\n"
        "held, dead = set(), set()\n"
        "deadline = time.monotonic() + 80\n"
        "def reap():\n"
        "    for n, pid in enumerate(kids):\n"
        "        if n not in dead and os.waitpid(pid, os.WNOHANG)[0]:\n"
        "            dead.add(n)\n"
        "while len(held | dead) < 5 and time.monotonic() < deadline:\n"
        "    if select.select([report_r], [], [], 0.1)[0]:\n"
        "        held.update(os.read(report_r, 16))\n"
        "    reap()\n"
        "time.sleep(0.5)\n"
        "reap()\n"
        "print('held at once', len(held - dead), flush=True)\n"
        "os.close(release_w)\n"
        "for n, pid in enumerate(kids):\n"
        "    if n not in dead:\n"
        "        os.waitpid(pid, 0)\n"))


def _judge_memory_split(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    found = re.search(r"held at once (\d+)", out)
    if found is None:
        if res.exit_code in (137, -signal.SIGKILL) and not getattr(res, "timed_out", False):
            # the whole run killed at its memory limit (not by the timeout)
            return True, f"the run was killed before five held 1 GiB (exit {res.exit_code})"
        return None, f"the probe did not report (exit {res.exit_code}): {_last_line(out)}"
    held = int(found.group(1))
    if held >= 5:
        return False, "five processes held 1 GiB each at once"
    return True, f"{held} of 5 processes held their 1 GiB at once"


def _cmd_memory_tmpfs(lab: EscapeLab) -> str:
    # 5 files of 1000 MiB (under a 1 GiB RLIMIT_FSIZE) in the first writable tmpfs.
    return ("for d in /dev/shm \"$TMPDIR\" /tmp; do "
            "[ -d \"$d\" ] && [ -w \"$d\" ] && [ \"$(stat -f -c %T \"$d\")\" = tmpfs ] "
            "&& { T=$d; break; }; done; "
            "[ -z \"$T\" ] && { echo 'no writable tmpfs'; exit 0; }; "
            "ok=0; for i in 1 2 3 4 5; do "
            "dd if=/dev/zero of=$T/.escape_fill$i bs=1M count=1000 2>/dev/null "
            "&& ok=$((ok+1)); done; echo tmpfs_written=$ok in $T; "
            "rm -f $T/.escape_fill*")


def _judge_memory_tmpfs(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    return _verdict("tmpfs_written=5" in out, "5 x 1000 MiB were written to a tmpfs",
                    out, "the writes failed")


def _cmd_metadata(lab: EscapeLab) -> str:
    f = lab.meta_path
    return (f"chmod 700 {f}; touch -d 2001-01-01 {f}; chown 12345 {f}; "
            f"{PY} -c \"import os; os.setxattr('{f}', 'user.escape', b'1')\"; echo tried")


def _judge_metadata(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    after = _meta(lab.meta_path)
    if after != lab.meta_before:
        return False, f"the host file's metadata changed: {lab.meta_before} -> {after}"
    return True, "mode, owner, mtime and xattrs unchanged"


def _cmd_dev_shm(lab: EscapeLab) -> str:
    if not lab.shm_path:
        return "echo 'no host /dev/shm'"
    return f"cat {lab.shm_path}; echo appended >> {lab.shm_path}"


def _judge_dev_shm(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if not lab.shm_path:
        return None, "the host has no /dev/shm"
    with open(lab.shm_path) as fh:
        grown = "appended" in fh.read()
    how = "changed" if grown else "read"
    return _verdict(lab.marker in out or grown, f"the host /dev/shm file was {how}", out,
                    "not reached")


def _cmd_dev_pts(lab: EscapeLab) -> str:
    return f"echo pts-escape-{lab.marker[-6:]} > {lab.pty_name}; echo tried"


def _judge_dev_pts(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    try:
        got = os.read(lab.pty_master, 65536).decode(errors="replace")
    except (BlockingIOError, OSError):
        got = ""
    return _verdict(f"pts-escape-{lab.marker[-6:]}" in got,
                    f"text reached the host terminal {lab.pty_name}", out,
                    "nothing reached the host terminal")


_IO_URING = r"""
import ctypes, mmap, os, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
params = ctypes.create_string_buffer(120)
fd = libc.syscall(425, 8, params)
if fd < 0:
    print('io_uring=' + os.strerror(ctypes.get_errno())); sys.exit(0)
p = params.raw
sq_entries, cq_entries = struct.unpack_from('II', p, 0)
sq_off = struct.unpack_from('IIIIIII', p, 40)
cq_off = struct.unpack_from('IIIIII', p, 80)
sq = mmap.mmap(fd, sq_off[6] + sq_entries * 4, offset=0)
cq = mmap.mmap(fd, cq_off[5] + cq_entries * 16, offset=0x8000000)
sqes = mmap.mmap(fd, sq_entries * 64, offset=0x10000000)
sqe = bytearray(64)
struct.pack_into('BBHiQQII', sqe, 0, 45, 0, 0, socket.AF_INET, socket.SOCK_DGRAM, 0, 0, 0)
sqes[0:64] = bytes(sqe)
mask = struct.unpack_from('I', sq, sq_off[2])[0]
tail = struct.unpack_from('I', sq, sq_off[1])[0]
struct.pack_into('I', sq, sq_off[6] + 4 * (tail & mask), 0)
struct.pack_into('I', sq, sq_off[1], tail + 1)
r = libc.syscall(426, fd, 1, 1, 1, None, 0)
if r < 0:
    print('io_uring=enter ' + os.strerror(ctypes.get_errno())); sys.exit(0)
head = struct.unpack_from('I', cq, cq_off[0])[0]
cmask = struct.unpack_from('I', cq, cq_off[2])[0]
_, res, _ = struct.unpack_from('QiI', cq, cq_off[5] + 16 * (head & cmask))
if res < 0:
    print('io_uring=socket ' + os.strerror(-res)); sys.exit(0)
s = socket.socket(fileno=res)
try:
    s.sendto(sys.argv[1].encode(), ('127.0.0.1', int(sys.argv[2])))
    print('io_uring=sent')
except OSError as e:
    print('io_uring=send', e)
"""


def _cmd_io_uring(lab: EscapeLab) -> str:
    return lab.python("io_uring", _IO_URING, f"uring-{lab.marker}", lab.udp_port)


def _judge_io_uring(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    got = False
    while True:
        try:
            data = lab.udp.recv(65536)
        except (BlockingIOError, OSError):
            break
        got = got or f"uring-{lab.marker}".encode() in data
    if got:
        return False, "a datagram from an io_uring socket reached the host"
    return _ran(out, "io_uring=")


def _cmd_unix(lab: EscapeLab) -> str:
    return lab.python("unix", (
        "import socket, sys\n"
        "for address in sys.argv[1:]:\n"
        "    if address.startswith('@'):\n"
        "        address = '\\0' + address[1:]\n"
        "    try:\n"
        "        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "        s.settimeout(3); s.connect(address); print('unix=connected'); s.close()\n"
        "    except OSError as e:\n"
        "        print('unix=refused', e)\n"), lab.unix_path, f"@{lab.unix_name}")


def _judge_unix(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    reached = [what for srv, what in zip(lab.unix_servers, ("pathname", "abstract"))
               if _accept_all(srv)]
    if reached:
        return False, f"the host {' and '.join(reached)} socket accepted a connection"
    return _ran(out, "unix=")


def _cmd_guest_output(lab: EscapeLab) -> str:
    # Every writable file or directory a backend might read back after the command.
    return ("for d in /ctl /control /run/teragent /.teragent-ctl; do [ -d $d ] || continue; "
            "for f in out rc output result; do rm -f $d/$f 2>/dev/null; "
            f"ln -s {lab.key_path} $d/$f 2>/dev/null; done; "
            "ln -sf /dev/zero $d/out 2>/dev/null; done; echo guest-output-tried")


def _judge_guest_output(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if lab.marker in out:
        return False, "the host returned a host secret as the output"
    if res is not None and res.duration > 170:
        return False, f"the host spun {res.duration:.0f} s reading the output"
    return True, "the output channel is not guest-controlled"


def _cmd_setuid(lab: EscapeLab) -> str:
    return ("cp /bin/sh ./.escape_suid && chmod 6755 ./.escape_suid; "
            "mknod ./.escape_dev c 1 3 2>&1; ls -l ./.escape_suid")


def _judge_setuid(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    import stat as st

    bad = []
    suid = os.path.join(lab.workspace, ".escape_suid")
    dev = os.path.join(lab.workspace, ".escape_dev")
    if os.path.lexists(suid) and os.lstat(suid).st_mode & (st.S_ISUID | st.S_ISGID):
        bad.append(f"setuid file owned by uid {os.lstat(suid).st_uid}")
    if os.path.lexists(dev) and (st.S_ISCHR(os.lstat(dev).st_mode)
                                 or st.S_ISBLK(os.lstat(dev).st_mode)):
        bad.append("a device node")
    for path in (suid, dev):
        if os.path.lexists(path):
            os.unlink(path)
    if bad:
        return False, "left in the workspace: " + ", ".join(bad)
    return True, "no setuid file or device node left"


def _cmd_hardlink(lab: EscapeLab) -> str:
    return (f"ln {lab.link_target} ./.escape_link 2>&1 && echo linked; "
            "echo changed >> ./.escape_link")


def _judge_hardlink(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    with open(lab.link_target) as fh:
        changed = "changed" in fh.read()
    link = os.path.join(lab.workspace, ".escape_link")
    shared = (os.path.lexists(link)
              and os.lstat(link).st_ino == os.lstat(lab.link_target).st_ino)
    if os.path.lexists(link):
        os.unlink(link)
    if changed:
        return False, "the host file outside was changed through a hard link"
    return _verdict(shared, "a hard link to the host file was left in the workspace",
                    out, "no link")


def _cmd_userns(lab: EscapeLab) -> str:
    return (f"{_BOOT}; unshare -Ur sh -c 'echo nested_uid=$(id -u)' 2>&1 || "
            f"{PY} -c \"import ctypes, os; c = ctypes.CDLL(None, use_errno=True); "
            "r = c.unshare(0x10000000); "
            "print('nested_uid=new' if r == 0 else 'unshare: ' + "
            "os.strerror(ctypes.get_errno()))\" 2>&1")


def _judge_userns(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    if "nested_uid=" in out and _on_host_kernel(out):
        return False, "a user namespace was created on the host kernel"
    if "nested_uid=" in out:
        return True, "created, but on a guest kernel (not the host's)"
    return True, _last_line(out) or "refused"


_CAPGET = (
    "import ctypes, struct; c = ctypes.CDLL(None, use_errno=True); "
    "h = ctypes.create_string_buffer(struct.pack('Ii', 0x20080522, 0), 8); "
    "d = ctypes.create_string_buffer(24); r = c.capget(h, d); "
    "e0, p0, _, e1, p1, _ = struct.unpack('6I', d.raw); "
    "print('CapEff: %016x' % (e1 << 32 | e0)); print('CapPrm: %016x' % (p1 << 32 | p0))")


def _cmd_caps(lab: EscapeLab) -> str:
    return f"{_BOOT}; {PY} -c \"{_CAPGET}\" 2>&1"


def _judge_caps(lab: EscapeLab, out: str, res: Any) -> tuple[bool | None, str]:
    held = [m.group(0) for m in re.finditer(r"Cap(Eff|Prm|Amb):\s*([0-9a-f]+)", out)
            if int(m.group(2), 16) != 0]
    if not re.search(r"CapEff:", out):
        return None, _last_line(out) or "no /proc/self/status"
    if held and _on_host_kernel(out):
        return False, "holds capabilities on the host kernel: " + ", ".join(held)
    if held:
        return True, "capabilities only on a guest kernel"
    return True, "no capabilities"


_PROBES = [
    _Probe("write_outside", _cmd_write, _judge_write),
    _Probe("read_shadow", _cmd_shadow, _judge_shadow),
    _Probe("read_ssh_key", _cmd_ssh, _judge_marker),
    _Probe("loopback_connect", _cmd_connect, _judge_connect),
    _Probe("fork_bomb", _cmd_fork, _judge_fork),
    _Probe("memory_bomb", _cmd_memory, _judge_memory, timeout=60),
    _Probe("cpu_timeout", _cmd_cpu, _judge_cpu, timeout=2, batchable=False),
    _Probe("background_child", _cmd_background, _judge_background),
    _Probe("env_inherit", _cmd_env, _judge_marker),
    _Probe("env_other_process", _cmd_environ, _judge_marker),
    _Probe("ptrace_parent", _cmd_ptrace, _judge_ptrace),
    _Probe("env_unlisted", _cmd_env, _judge_marker),
    _Probe("memory_split", _cmd_memory_split, _judge_memory_split, timeout=90),
    _Probe("memory_tmpfs", _cmd_memory_tmpfs, _judge_memory_tmpfs, timeout=90),
    _Probe("metadata_outside", _cmd_metadata, _judge_metadata),
    _Probe("dev_shm", _cmd_dev_shm, _judge_dev_shm),
    _Probe("dev_pts", _cmd_dev_pts, _judge_dev_pts),
    _Probe("io_uring_socket", _cmd_io_uring, _judge_io_uring),
    _Probe("guest_output", _cmd_guest_output, _judge_guest_output),
    _Probe("setuid_left", _cmd_setuid, _judge_setuid),
    _Probe("hardlink_outside", _cmd_hardlink, _judge_hardlink),
    _Probe("nested_userns", _cmd_userns, _judge_userns),
    _Probe("capabilities", _cmd_caps, _judge_caps),
    _Probe("unix_socket", _cmd_unix, _judge_unix),
]
