"""Command wrappers: programs that run another command given as their arguments.

:func:`peel` removes one wrapper (``env``, ``sudo``, ``timeout 5``, ``xargs -0``,
``busybox``, ``strace -f -o f``, ...) and returns the wrapped argv. It is pure, so the
cross-chain layer can use it too; the analysis engine adds the findings (``sudo`` is
privilege escalation) and checks text payloads (``su -c``, ``watch``, ``script -c``).
"""

from __future__ import annotations

__all__ = ["WRAPPERS", "PRIVILEGED", "peel"]

# name -> (options that take an argument, positional arguments before the command)
WRAPPERS: dict[str, tuple[frozenset[str], int]] = {
    "env": (frozenset({"-u", "--unset", "-C", "--chdir"}), 0),
    "command": (frozenset(), 0),
    "builtin": (frozenset(), 0),
    "exec": (frozenset({"-a"}), 0),
    "nice": (frozenset({"-n", "--adjustment"}), 0),
    "ionice": (frozenset({"-c", "-n", "--class", "--classdata"}), 0),
    "nohup": (frozenset(), 0),
    "wsl": (frozenset({"-d", "--distribution", "-u", "--user", "--cd"}), 0),  # runs a Linux command from Windows
    "setsid": (frozenset(), 0),
    "time": (frozenset({"-f", "--format", "-o", "--output"}), 0),
    "timeout": (frozenset({"-s", "--signal", "-k", "--kill-after"}), 1),
    "stdbuf": (frozenset({"-i", "-o", "-e"}), 0),
    "xargs": (frozenset({"-a", "--arg-file", "-d", "--delimiter", "-E", "-I", "-L", "-n",
                         "--max-args", "-P", "--max-procs", "-s", "--max-chars"}), 0),
    "sudo": (frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "--user",
                        "--group", "--chdir", "--prompt", "--role", "--type", "--other-user",
                        "--host", "--close-from", "--command-timeout"}), 0),
    "doas": (frozenset({"-u", "-C"}), 0),
    "pkexec": (frozenset({"--user"}), 0),
    "run0": (frozenset({"--user", "-u"}), 0),
    "gsudo": (frozenset({"-u", "--user"}), 0),
    "runuser": (frozenset({"-u", "--user", "-g", "--group"}), 0),
    "busybox": (frozenset(), 0),
    "toybox": (frozenset(), 0),
    "strace": (frozenset({"-o", "-e", "-p", "-s", "-u", "-E", "-a", "-b", "-O", "-S", "-P", "-I", "-X"}), 0),
    "ltrace": (frozenset({"-o", "-e", "-p", "-s", "-u", "-a", "-n"}), 0),
    "valgrind": (frozenset(), 0),
    "unbuffer": (frozenset(), 0),
    "caffeinate": (frozenset({"-t", "-w"}), 0),
    "chronic": (frozenset(), 0),
    "fakeroot": (frozenset(), 0),
    "eatmydata": (frozenset(), 0),
    "catchsegv": (frozenset(), 0),
    "proxychains": (frozenset({"-f"}), 0),
    "proxychains4": (frozenset({"-f"}), 0),
    "torsocks": (frozenset(), 0),
    "tsocks": (frozenset(), 0),
    "firejail": (frozenset(), 0),
    "chrt": (frozenset(), 1),
    "taskset": (frozenset(), 1),
    "flock": (frozenset({"-w", "--wait", "--timeout", "-E", "--conflict-exit-code"}), 1),
    "chroot": (frozenset({"--userspec", "--groups"}), 1),
    "nsenter": (frozenset({"-t", "--target", "-S", "--setuid", "-G", "--setgid", "-r", "-w"}), 0),
    "unshare": (frozenset({"--setgroups", "--map-user", "--map-group"}), 0),
    "watch": (frozenset({"-n", "--interval", "-q"}), 0),
    "script": (frozenset({"-c", "--command", "-E", "-I", "-O", "-T", "-B"}), 0),
    "ssh-agent": (frozenset({"-a", "-E", "-t", "-P"}), 0),
    "dbus-run-session": (frozenset(), 0),
    "xvfb-run": (frozenset({"-n", "-s", "-e", "-f", "-p"}), 0),
    "tini": (frozenset(), 0),
    "dumb-init": (frozenset(), 0),
    "systemd-run": (frozenset({"-p", "--property", "-u", "--unit", "-E", "--setenv", "--uid", "--gid", "-M"}), 0),
    "cgexec": (frozenset({"-g"}), 0),
    "parallel": (frozenset({"-j", "--jobs", "-S", "--sshlogin"}), 0),
    "sg": (frozenset(), 1),
    "su": (frozenset(), 0),
}
PRIVILEGED = frozenset({"sudo", "doas", "pkexec", "run0", "gsudo", "runuser", "su"})
# wrappers whose payload is one shell string rather than an argv
_TEXT_FLAGS = {"su": ("-c", "--command"), "runuser": ("-c", "--command"), "script": ("-c", "--command"),
               "flock": ("-c", "--command"), "sg": ("-c",)}


def _skip_options(words: list[str], takes: frozenset[str], i: int = 1) -> int:
    n = len(words)
    while i < n:
        w = words[i]
        if w == "--":
            return i + 1
        if not w.startswith("-") or w == "-":
            break
        i += 2 if w in takes else 1
    return i


def peel(name: str, words: list[str]) -> tuple[list[str] | None, str | None]:
    """Remove one wrapper.

    Args:
        name: The canonical wrapper name (``words[0]`` resolved).
        words: The full argv, wrapper included.

    Returns:
        ``(inner_argv, text_payload)``; ``inner_argv`` is ``None`` when the wrapper runs
        no command (``command -v x``, ``su`` alone); ``text_payload`` is a shell string to
        be parsed (``su -c '...'``, ``watch 'cmd'``), if any.
    """
    takes, npos = WRAPPERS.get(name, (frozenset(), 0))
    text_flags = _TEXT_FLAGS.get(name, ())
    if name == "su":
        for j, w in enumerate(words):
            if w in text_flags and j + 1 < len(words):
                return None, words[j + 1]
            if w.startswith("--command="):
                return None, w.split("=", 1)[1]
        return None, None
    if name == "env":
        i = 1
        while i < len(words):
            w = words[i]
            if w in ("-S", "--split-string") and i + 1 < len(words):
                return None, " ".join([words[i + 1], *words[i + 2:]])
            if w.startswith("--split-string="):
                return w.split("=", 1)[1].split() + words[i + 1:], None
            if w == "--":
                i += 1
                continue
            if w.startswith("-") and w != "-":
                i += 2 if w in takes else 1
            elif "=" in w and not w.startswith("="):
                i += 1
            else:
                break
        return (words[i:] if i < len(words) else ["printenv"]), None
    if name == "command" and any(w in ("-v", "-V") for w in words[1:3]):
        return None, None
    if name in ("strace", "ltrace") and "-p" in words:
        return None, None
    if name == "sudo" and any(w in ("-i", "-s", "--login", "--shell") for w in words[1:]):
        i = _skip_options(words, takes)
        return (words[i:] or ["sh"]), None
    if name == "nice" and len(words) > 1 and words[1][:1] == "-" and words[1][1:].isdigit():
        return words[2:], None
    if text_flags:
        for j, w in enumerate(words[1:], 1):
            clustered = w[:1] == "-" and w[1:2] != "-" and w[-1:] == "c" and len(w) <= 5 and "-c" in text_flags
            if (w in text_flags or clustered) and j + 1 < len(words):
                return None, words[j + 1]
    i = _skip_options(words, takes)
    if name == "valgrind" or name == "firejail":
        while i < len(words) and words[i].startswith("--"):
            i += 1
    i += npos
    inner = words[i:]
    if name == "watch":
        return None, " ".join(inner)
    if name == "xargs" and not inner:
        return ["echo"], None
    if name == "parallel" and ":::" in inner:
        inner = inner[:inner.index(":::")]
    if not inner:
        return None, None
    return inner, None
