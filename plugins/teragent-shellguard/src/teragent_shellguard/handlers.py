"""Layer 3: per-command rules of the blacklist, keyed by canonical command name.

Each handler receives the resolved argv (wrappers already removed), the :class:`Ctx`
and the parsed command (for here-doc bodies and substitutions). Handlers describe
*kinds* of danger -- a recursive delete of a system or home path, a setuid bit, a
firewall flush -- never particular command lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from teragent_shellguard.inline import INLINE_FLAGS
from teragent_shellguard.paths import (
    HOME, canon, credential_path, delete_danger, is_block_device, write_danger,
)

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx
    from teragent_shellguard.parser import Command

Handler = Callable[[list[str], "Ctx", "Command | None"], None]


def split_args(args: list[str], takes: frozenset[str] = frozenset()) -> tuple[set[str], dict[str, str], list[str]]:
    """Split argv into (flags, option values, positionals); ``-rf`` gives ``-r`` and ``-f``."""
    flags: set[str] = set()
    vals: dict[str, str] = {}
    pos: list[str] = []
    i, n = 0, len(args)
    while i < n:
        a = args[i]
        if a == "--":
            pos.extend(args[i + 1:])
            break
        if a.startswith("--"):
            k, eq, v = a.partition("=")
            flags.add(k)
            if eq:
                vals[k] = v
            elif k in takes and i + 1 < n:
                vals[k] = args[i + 1]
                i += 1
        elif a.startswith("-") and len(a) > 1:
            flags.add(a)
            if a in takes and i + 1 < n:
                vals[a] = args[i + 1]
                i += 1
            elif a[:2] in takes and len(a) > 2:
                vals[a[:2]] = a[2:]
            elif "-" + a[-1] in takes and i + 1 < n and not a[1:].isdigit():
                flags.update("-" + c for c in a[1:-1])
                vals["-" + a[-1]] = args[i + 1]
                i += 1
            else:
                flags.update("-" + c for c in a[1:])
        else:
            pos.append(a)
        i += 1
    return flags, vals, pos


# -- destructive file operations -------------------------------------------------------

def _rm(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    flags, _, pos = split_args(words[1:])
    if "--no-preserve-root" in flags:
        ctx.block("destructive_delete", "rm --no-preserve-root disables the safeguard against deleting /")
    recursive = bool(flags & {"-r", "-R", "--recursive"}) or words[0].endswith("rmdir") and "-p" in flags
    for target in pos:
        why = delete_danger(target, recursive)
        if why:
            cat = "history_tampering" if "history" in target or target.startswith("/var/log") else "destructive_delete"
            ctx.block(cat, f"rm {why}")


def _shred(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    _, _, pos = split_args(words[1:], frozenset({"-n", "-s", "--iterations", "--size", "--random-source"}))
    for target in pos:
        if is_block_device(target):
            ctx.block("destructive_disk", f"shred overwrites the device '{target}'")
        elif write_danger(target) or delete_danger(target, False) or credential_path(target):
            hit = write_danger(target)
            ctx.block(hit[0] if hit and hit[0] == "history_tampering" else "destructive_delete",
                      f"shred destroys '{target}'")


_FIND_NEUTRAL = frozenset({"-type", "-xtype", "-maxdepth", "-mindepth", "-depth", "-xdev", "-mount",
                           "-follow", "-print", "-print0", "-ls", "-fls", "-nowarn", "-daystart",
                           "-true", "-false", "-noleaf", "-regextype", "-d", "-a", "-and", "-o", "-or"})
_FIND_ACTIONS = frozenset({"-exec", "-execdir", "-ok", "-okdir"})
_DELETERS = frozenset({"rm", "shred", "unlink", "srm", "wipe", "rmdir"})


def find_targets(args: list[str]) -> tuple[list[str], bool]:
    """Roots of a ``find`` and whether any predicate narrows the match set."""
    roots: list[str] = []
    i = 0
    while i < len(args) and args[i] in ("-H", "-L", "-P", "-O0", "-O1", "-O2", "-O3"):
        i += 1
    while i < len(args) and not args[i].startswith(("-", "(", "!", "\\(")):
        roots.append(args[i])
        i += 1
    narrowed = False
    for a in args[i:]:
        if a.startswith("-") and a not in _FIND_NEUTRAL and a not in _FIND_ACTIONS and a != "-delete":
            narrowed = True
    return roots or ["."], narrowed


def mass_delete(roots: list[str], narrowed: bool) -> str | None:
    for r in roots:
        why = delete_danger(r, True)
        if why and (not narrowed or not why.startswith("deletes the whole workspace")):
            return why
    if not narrowed:
        return "deletes every file it finds (no -name/-path/-mtime filter)"
    return None


def _find(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    args = words[1:]
    roots, narrowed = find_targets(args)
    destructive = "-delete" in args
    i = 0
    while i < len(args):
        if args[i] in _FIND_ACTIONS:
            j = i + 1
            while j < len(args) and args[j] not in (";", "+", "\\;"):
                j += 1
            root = roots[0].rstrip("/") + "/" if len(roots) == 1 and roots[0] not in (".", "./") else ""
            sub = [(root + "FILE" if w == "{}" else w) for w in args[i + 1:j]]
            if sub:
                from teragent_shellguard.engine import cmd_name

                if cmd_name(sub[0]) in _DELETERS | {"mv", "chmod", "chown"}:
                    destructive = True
                ctx.check_words(sub)
            i = j
        i += 1
    if destructive:
        why = mass_delete(roots, narrowed)
        if why:
            ctx.block("destructive_delete", f"find with a delete action {why}")


_SETUID_MODE = re.compile(r"^(?:[ugoa]*[+=][rwxXt]*s[rwxXts]*|[2467][0-7]{3})$")


def _chmod(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    name = words[0].rsplit("/", 1)[-1]
    flags, _, pos = split_args(words[1:], frozenset({"--reference"}))
    recursive = bool(flags & {"-R", "--recursive"})
    targets = pos[1:] if name in ("chmod", "chown", "chgrp", "setfacl") and pos else pos
    if name == "chmod" and pos and any(_SETUID_MODE.match(m) for m in pos[0].split(",")):
        ctx.block("privilege_escalation", f"chmod {pos[0]} sets the setuid/setgid bit")
    for t in targets:
        why = delete_danger(t, True)
        if why and why.startswith("deletes the whole workspace"):
            continue  # permissions inside the workspace are the project's business
        if why and (recursive or t in ("/", "/*") or canon(t).startswith(("/etc", "/usr", "/bin", "/boot", "/sbin"))):
            ctx.block("destructive_delete" if recursive else "privilege_escalation",
                      f"{name} changes ownership/permissions of '{t}' ({why.removeprefix('deletes ')})")
            return


def _dd(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    for w in words[1:]:
        if w.startswith("of="):
            hit = write_danger(w[3:])
            if hit:
                ctx.block(hit[0], f"dd {hit[1]}")


def _disk(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    name = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if any(a in ("-l", "--list", "-L", "print", "-p", "--print") for a in args) and not name.startswith("mk"):
        return
    devs = [a for a in args if a.startswith("/dev/")]
    if devs or name.startswith(("mkfs", "mke2fs", "wipefs", "blkdiscard")):
        ctx.block("destructive_disk", f"{name} rewrites a disk or partition{(' ' + devs[0]) if devs else ''}")


def _mv(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    _, vals, pos = split_args(words[1:], frozenset({"-t", "--target-directory", "-S", "--suffix"}))
    if len(pos) < 2 and "-t" not in vals and "--target-directory" not in vals:
        return
    sources = pos if ("-t" in vals or "--target-directory" in vals) else pos[:-1]
    for s in sources:
        why = delete_danger(s, True)
        if why:
            ctx.block("destructive_delete", f"mv moves away '{s}' ({why.removeprefix('deletes ')})")
    if pos and canon(pos[-1]) == "/dev/null":
        ctx.block("destructive_delete", "mv onto /dev/null destroys the source")


# -- processes and power -----------------------------------------------------------------

def _kill(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    args, i, targets = words[1:], 0, []
    signal_seen = False
    while i < len(args):
        a = args[i]
        if a == "--":
            targets.extend(args[i + 1:])
            break
        if a in ("-s", "-n", "--signal"):
            i += 2
            signal_seen = True
            continue
        if a.startswith("-") and not signal_seen and a not in ("-1",) or a in ("-l", "-L"):
            signal_seen = True
        elif a.startswith("-") and not signal_seen:
            signal_seen = True  # ``kill -1 pid`` sends SIGHUP
        else:
            targets.append(a)
        i += 1
    for t in targets:
        if t in ("-1", "1"):
            ctx.block("process_kill", "kill targets every process (-1) or init (1)")
        elif t in ("$$", "$PPID", "${PPID}"):
            ctx.warn("process_kill", "kill targets the agent's own shell")


_CRITICAL_PROCS = frozenset({
    "sshd", "ssh", "systemd", "init", "dockerd", "containerd", "kubelet", "xorg", "x", "gnome-shell",
    "kwin", "explorer", "explorer.exe", "winlogon", "lsass", "csrss", "login", "dbus-daemon", "journald",
    "systemd-journald", "networkmanager", "wpa_supplicant", "getty", "agetty", "launchd", "loginwindow",
    "windowserver", "finder", "dock", "bash", "zsh", "sh", "cron", "rsyslogd", "polkitd",
})


def _pkill(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    name = words[0].rsplit("/", 1)[-1]
    if name == "killall5":
        ctx.block("process_kill", "killall5 signals every process on the system")
        return
    flags, vals, pos = split_args(words[1:], frozenset({"-u", "--user", "-U", "-g", "-G", "-s", "--signal",
                                                        "-P", "-t", "-n", "--ns", "-o", "--older-than",
                                                        "-y", "--younger-than", "-F"}))
    if any(k in vals for k in ("-u", "--user", "-U", "-g", "-G", "-t")):
        ctx.block("process_kill", f"{name} kills every process of a user, group or terminal")
        return
    pats = [p.lower() for p in pos]
    if any(p.strip("^$") in _CRITICAL_PROCS for p in pats):
        ctx.block("process_kill", f"{name} kills a critical system process ({', '.join(pos)})")
    elif any(p in ("", ".", ".*", "*") for p in pats):
        ctx.block("process_kill", f"{name} pattern matches every process")
    elif pos:
        ctx.warn("process_kill", f"{name} kills every process matching {' '.join(pos)}")


def _power(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if "-c" in words[1:] or "--help" in words:
        return
    ctx.block("process_kill", f"{words[0]} shuts down or restarts the machine")


def _init(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if len(words) > 1 and words[1] in ("0", "1", "6", "s", "S", "q", "Q") and words[1] not in ("q", "Q"):
        ctx.block("process_kill", f"{words[0]} {words[1]} changes the runlevel (shutdown/reboot/single-user)")


_SECURITY_UNITS = re.compile(r"(?i)^(?:firewalld|ufw|iptables|nftables|apparmor|auditd|selinux|fail2ban|"
                             r"clamav|clamd|falco|osqueryd|wazuh|crowdstrike|falcon-sensor|sshguard|"
                             r"systemd-journald|rsyslog|syslog)(?:\.service)?$")


def _systemctl(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    _, _, pos = split_args(words[1:], frozenset({"-H", "--host", "-M", "--machine", "-t", "--type", "-p",
                                                  "--property", "-n", "--lines", "-o", "--output"}))
    if not pos:
        return
    verb, units = pos[0], pos[1:]
    if verb in ("poweroff", "reboot", "halt", "kexec", "rescue", "emergency", "suspend", "hibernate",
                "hybrid-sleep", "soft-reboot") or (verb == "isolate" and any("rescue" in u or "poweroff" in u
                                                                                  or "reboot" in u for u in units)):
        ctx.block("process_kill", f"systemctl {verb} takes the machine down")
    elif verb in ("stop", "disable", "mask", "kill") and any(_SECURITY_UNITS.match(u) for u in units):
        ctx.block("security_disable", f"systemctl {verb} turns off a security service ({' '.join(units)})")
    elif verb in ("enable", "link", "preset", "set-default", "add-wants", "add-requires", "edit", "revert"):
        ctx.block("persistence", f"systemctl {verb} installs a unit that survives reboots")


def _service(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if len(words) > 2 and words[2] in ("stop", "disable") and _SECURITY_UNITS.match(words[1]):
        ctx.block("security_disable", f"service {words[1]} {words[2]} turns off a security service")


def _crontab(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    flags, _, pos = split_args(words[1:], frozenset({"-u"}))
    if flags & {"-l", "-T"} and not pos:
        return
    ctx.block("persistence", "crontab installs or changes scheduled jobs")


def _at(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    flags, _, pos = split_args(words[1:], frozenset({"-q", "-f", "-t"}))
    if flags & {"-l", "-d", "-r", "-c"}:
        return
    ctx.block("persistence", f"{words[0]} schedules commands to run later")


def _launchctl(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if len(words) > 1 and words[1] in ("load", "bootstrap", "submit", "enable", "kickstart"):
        ctx.block("persistence", f"launchctl {words[1]} installs a launch agent/daemon")


def _rcupdate(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if any(w in ("add", "defaults", "enable", "on", "--add") for w in words[1:]):
        ctx.block("persistence", f"{words[0]} adds a boot-time service")


_PRIV_GROUPS = re.compile(r"(?:^|,)(?:sudo|wheel|admin|root|docker|lxd|libvirt|disk|adm|shadow)(?:,|$)")


def _users(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    name = words[0].rsplit("/", 1)[-1]
    flags, vals, pos = split_args(words[1:], frozenset({"-u", "--uid", "-g", "--gid", "-G", "--groups", "-s",
                                                        "-d", "-c", "-p", "-e", "-f", "-k", "-K", "-l"}))
    if name in ("visudo", "vipw", "vigr", "chpasswd", "passwd", "newusers"):
        if name == "passwd" and flags & {"-S", "--status"}:
            return
        ctx.block("privilege_escalation", f"{name} changes passwords or sudo rules")
        return
    if vals.get("-u", vals.get("--uid")) == "0" or "-o" in flags or "--non-unique" in flags:
        ctx.block("privilege_escalation", f"{name} creates an account with uid 0")
    elif _PRIV_GROUPS.search(vals.get("-G", vals.get("--groups", vals.get("-g", "")))) or \
            (name in ("gpasswd", "adduser", "addgroup") and any(_PRIV_GROUPS.search(p) for p in pos[1:])):
        ctx.block("privilege_escalation", f"{name} adds an account to a privileged group")
    elif name in ("useradd", "adduser", "usermod", "userdel", "deluser", "groupadd", "gpasswd"):
        ctx.warn("privilege_escalation", f"{name} changes system accounts")


def _setcap(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if any(re.search(r"cap_(?:setuid|setgid|sys_admin|sys_ptrace|dac_override|dac_read_search|chown)|=ep|\+ep", w)
           for w in words[1:]):
        ctx.block("privilege_escalation", "setcap grants root-equivalent file capabilities")


_DOCKER_ESCAPE = re.compile(
    r"^--privileged(?:=true)?$|^--pid=host$|^--(?:net|network|ipc|uts|userns)=host$|^--cap-add=(?:all|sys_admin|sys_ptrace|sys_module)$|"
    r"^--security-opt=(?:apparmor|seccomp|label)[:=]unconfined$|^--device=/dev/(?:sd|nvme|vd|mem)|"
    r"^(?:-v|--volume|--mount)=?/(?::|$)|^(?:-v|--volume)=?/(?:etc|root|var/run/docker\.sock|run/docker\.sock|boot|proc|sys)[:/]|"
    r"^(?:-v|--volume)=?/var/run/docker\.sock|source=/(?:,|$)", re.I)


def _docker(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if len(words) < 2 or words[1] not in ("run", "create", "exec", "container", "compose"):
        return
    joined: list[str] = []
    i = 2
    while i < len(words):
        w = words[i]
        if w in ("-v", "--volume", "--mount", "--security-opt", "--cap-add", "--device", "--pid", "--net",
                 "--network", "--ipc", "--uts", "--userns") and i + 1 < len(words):
            joined.append(f"{w}={words[i + 1]}")
            i += 2
            continue
        joined.append(w)
        i += 1
    for w in joined:
        if _DOCKER_ESCAPE.search(w):
            ctx.block("privilege_escalation", f"{words[0]} {words[1]} {w} gives the container control of the host")
            return


# -- network, remote, reverse shells -----------------------------------------------------

def _nc(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    for w in words[1:]:
        if w in ("-e", "-c", "--exec", "--sh-exec", "--lua-exec") or (w.startswith("-") and not w.startswith("--")
                                                                      and ("e" in w[1:] or "c" in w[1:]) and len(w) <= 5):
            ctx.block("reverse_shell", f"{words[0]} {w} attaches a program to a network socket")
            return


def _socat(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    text = " ".join(words[1:]).lower()
    if re.search(r"\b(?:exec|system):", text) or ("pty" in text and "tcp" in text):
        ctx.block("reverse_shell", "socat connects a shell to a network socket")


def _xterm(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if "-display" in words or "-d" in words:
        ctx.block("reverse_shell", "xterm -display opens a shell on a remote X server")


_EDITOR_ESCAPE = re.compile(r"^\s*:?\s*(?:!|sh(?:ell)?\b|te(?:rm(?:inal)?)?\b|py(?:thon)?3?\b|perl\b|lua\b|ruby\b|"
                            r"call\s+system|.*\bsystem\s*\()|shell-command|call-process|start-process")


def _editor(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    args = words[1:]
    for i, a in enumerate(args):
        payload = None
        if a in ("-c", "--cmd", "--eval", "-e", "--command") and i + 1 < len(args):
            payload = args[i + 1]
        elif a.startswith("+") and len(a) > 1:
            payload = a[1:]
        if payload and _EDITOR_ESCAPE.search(payload):
            ctx.block("inline_exec", f"{words[0]} runs a shell escape ({payload[:40]})")
            return


def _tar(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    args = words[1:]
    for i, a in enumerate(args):
        if a.startswith(("--checkpoint-action=exec", "--to-command", "--info-script", "--new-volume-script",
                         "--rmt-command", "--rsh-command")) or a in ("-F",):
            ctx.block("inline_exec", f"tar {a.split('=', 1)[0]} runs an arbitrary command")
            return
        if a in ("-I", "--use-compress-program") and i + 1 < len(args) or a.startswith("--use-compress-program="):
            prog = a.split("=", 1)[1] if "=" in a else args[i + 1]
            if " " in prog or prog.rsplit("/", 1)[-1] in ("sh", "bash", "python", "python3", "perl"):
                ctx.block("inline_exec", f"tar compress program '{prog}' runs a command")
                return
    flags, vals, _ = split_args(args, frozenset({"-C", "--directory", "-f", "--file"}))
    extracting = "-x" in flags or "--extract" in flags or (args and not args[0].startswith("-") and "x" in args[0])
    target = vals.get("-C", vals.get("--directory"))
    if extracting and target:
        hit = write_danger(target)
        if hit or canon(target) in ("/", HOME):
            ctx.block("dangerous_redirect", f"tar extracts over '{target}'")


def _zip(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if any(a in ("-TT", "--unzip-command") or a.startswith("--unzip-command=") for a in words[1:]):
        ctx.block("inline_exec", "zip -TT runs an arbitrary command")


_GIT_EXEC_KEYS = re.compile(r"(?i)^(?:core\.(?:sshcommand|pager|editor|fsmonitor|hookspath|askpass|gitproxy)|"
                            r"alias\.[^=]+|.*\.(?:command|cmd|helper|textconv|clean|smudge|process)|"
                            r"diff\.external|sequence\.editor|uploadpack\.packobjectshook|protocol\.ext\.allow)=")


def _git(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    args = words[1:]
    for i, a in enumerate(args):
        if a == "-c" and i + 1 < len(args):
            kv = args[i + 1]
            if _GIT_EXEC_KEYS.match(kv):
                value = kv.split("=", 1)[1].lstrip("!")
                before = len(ctx.findings)
                ctx.check_text(value, "git -c command")
                if len(ctx.findings) > before or re.search(r"\b(?:sh|bash)\s+-c\b|[|;&]", value):
                    ctx.block("inline_exec", f"git -c {kv.split('=', 1)[0]} runs a shell command")
    if len(args) >= 2 and args[0] == "config":
        for i, a in enumerate(args):
            if _GIT_EXEC_KEYS.match(a + "=") and i + 1 < len(args):
                ctx.check_text(args[i + 1].lstrip("!"), "git config command")


def _rsync(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    _, vals, _ = split_args(words[1:], frozenset({"-e", "--rsh", "--rsync-path"}))
    for k in ("-e", "--rsh", "--rsync-path"):
        if k in vals and " " in vals[k]:
            ctx.check_text(vals[k], f"rsync {k}")


_SSH_TAKES = frozenset({"-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o",
                        "-p", "-Q", "-R", "-S", "-W", "-w", "-B"})


def _ssh(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    flags, vals, pos = split_args(words[1:], _SSH_TAKES)
    for k, v in vals.items():
        if k == "-o" and v.lower().startswith(("proxycommand", "localcommand", "permitlocalcommand")):
            ctx.check_text(v.split("=", 1)[1] if "=" in v else v.split(" ", 1)[-1], "ssh ProxyCommand")
    if "-R" in vals or "-D" in vals:
        ctx.warn("remote_exec", "ssh opens a reverse or dynamic tunnel")
    if len(pos) > 1:
        ctx.check_text(" ".join(pos[1:]), "remote command")
        ctx.warn("remote_exec", f"ssh runs a command on the remote host {pos[0]}")
    elif pos:
        ctx.warn("remote_exec", f"ssh opens an interactive session on {pos[0]}")


def _tunnel(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    name = words[0].rsplit("/", 1)[-1]
    if name == "cloudflared" and "tunnel" not in words:
        return
    ctx.warn("remote_exec", f"{name} exposes a local service to the internet")


def _kubectl(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    _, _, pos = split_args(words[1:], frozenset({"-n", "--namespace", "--context", "-l", "--selector", "-f",
                                                  "--filename", "-o", "--output", "--kubeconfig", "-c", "--container"}))
    if not pos:
        return
    verb = pos[0]
    args = words[1:]
    if verb == "delete":
        if any(a in ("--all", "-A", "--all-namespaces") for a in args) or \
                (len(pos) > 1 and pos[1].split("/")[0] in ("namespace", "namespaces", "ns", "node", "nodes", "pv",
                                                            "crd", "crds", "clusterrole", "clusterrolebinding")):
            ctx.block("remote_exec", f"{words[0]} delete removes cluster-wide resources")
        else:
            ctx.warn("remote_exec", f"{words[0]} delete removes cluster resources")
    elif verb in ("drain", "cordon", "exec", "cp", "scale", "replace", "patch", "apply", "rollout"):
        ctx.warn("remote_exec", f"{words[0]} {verb} changes or runs commands in a cluster")
    elif verb == "config" and "--raw" in args:
        ctx.block("credential_theft", "kubectl config view --raw prints cluster credentials")


_DESTROY_VERB = re.compile(r"^(?:delete|terminate|remove|rm|rb|purge|destroy|deregister|drop|wipe|reset|erase)"
                           r"(?:[-:_].*)?$|^(?:apps|addons|pg|redis):(?:destroy|reset)$")


def _cloud(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    name = words[0].rsplit("/", 1)[-1]
    _, _, pos = split_args(words[1:], frozenset({"--profile", "--region", "--zone", "--project", "-g",
                                                  "--resource-group", "--output", "-o", "--query", "--endpoint-url"}))
    low = [p.lower() for p in pos]
    if name == "gcloud" and low[:2] == ["auth", "print-access-token"] or \
            name == "gcloud" and "print-identity-token" in low or \
            (name == "gcloud" and low[:3] == ["auth", "application-default", "print-access-token"]):
        ctx.block("credential_theft", "gcloud prints an access token")
        return
    if name == "az" and low[:2] == ["account", "get-access-token"]:
        ctx.block("credential_theft", "az prints an access token")
        return
    if name == "aws" and (low[:2] == ["configure", "get"] and any("secret" in p or "key" in p for p in low)
                          or low[:2] == ["configure", "export-credentials"] or low[:2] == ["sts", "get-session-token"]):
        ctx.block("credential_theft", "aws prints credentials")
        return
    if name == "gh" and low[:2] == ["auth", "token"]:
        ctx.block("credential_theft", "gh auth token prints a GitHub token")
        return
    if name in ("terraform", "tofu", "pulumi", "cdk", "terragrunt") and low[:1] == ["destroy"]:
        ctx.block("remote_exec", f"{name} destroy tears down infrastructure")
        return
    if name in ("terraform", "tofu") and low[:1] == ["apply"] and any("auto-approve" in w for w in words):
        ctx.warn("remote_exec", f"{name} apply -auto-approve changes infrastructure without review")
        return
    for p in low[:4]:
        if _DESTROY_VERB.match(p):
            ctx.block("remote_exec", f"{name} {p} deletes cloud resources")
            return
    if name == "aws" and "sync" in low and "--delete" in words:
        ctx.warn("remote_exec", "aws s3 sync --delete removes remote objects")
    if name == "helm" and low[:1] in (["uninstall"], ["delete"]):
        ctx.warn("remote_exec", "helm uninstall removes a release")


def _gsutil(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if "rm" in words or "rb" in words:
        ctx.block("remote_exec", "gsutil deletes cloud storage objects or buckets")


# -- credentials -------------------------------------------------------------------------

_SECRET_TOKENS = frozenset({"KEY", "APIKEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "CREDENTIAL",
                            "CREDENTIALS", "AUTH", "SESSION", "COOKIE", "PAT", "DSN", "PRIVATE", "PWD_HASH"})
_VAR_REF = re.compile(r"\$\{?([A-Za-z_]\w*)")


def is_secret_name(name: str) -> bool:
    parts = name.upper().split("_")
    if "SOCK" in parts or name.upper() in ("PWD", "OLDPWD", "KEYMAP", "XAUTHORITY"):
        return False
    return any(p in _SECRET_TOKENS or p.endswith(("KEY", "TOKEN", "SECRET", "PASSWORD")) for p in parts)


def _printenv(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    for w in words[1:]:
        if not w.startswith("-") and is_secret_name(w):
            ctx.block("credential_theft", f"prints the secret environment variable {w}")
            return


def _echo(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    for w in words[1:]:
        if "$" in w:
            for var in _VAR_REF.findall(w):
                if is_secret_name(var):
                    ctx.block("credential_theft", f"prints the secret environment variable {var}")
                    return


def _gpg(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if any(w.startswith(("--export-secret-keys", "--export-secret-subkeys", "--export-ssh-key")) for w in words):
        ctx.block("credential_theft", "gpg exports private keys")


def _security(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if len(words) > 1 and (words[1] == "dump-keychain" or
                           (words[1].startswith("find-") and "password" in words[1] and ("-w" in words or "-g" in words))):
        ctx.block("credential_theft", "security reads passwords from the macOS keychain")


# -- history, logs, security controls ---------------------------------------------------

_HIST_VARS = frozenset({"HISTFILE", "HISTSIZE", "HISTFILESIZE", "SAVEHIST", "HISTCONTROL", "HISTIGNORE",
                        "HISTORY_IGNORE"})


def check_assignment(name: str, value: str, ctx: Ctx) -> None:
    """Rules on ``NAME=value`` (standalone, exported or command-prefixed)."""
    if name in _HIST_VARS:
        v = value.strip("'\"")
        if name == "HISTFILE" or v in ("0", "", "*", "ignorespace", "ignoreboth") or v.startswith("*"):
            ctx.block("history_tampering", f"{name}={value} disables or redirects shell history")
    elif name in ("LD_PRELOAD", "LD_AUDIT", "DYLD_INSERT_LIBRARIES"):
        ctx.block("privilege_escalation", f"{name} injects a library into every program started")
    elif name in ("PROMPT_COMMAND", "BASH_ENV", "ENV", "GIT_SSH_COMMAND", "GIT_EXTERNAL_DIFF", "PAGER",
                  "GIT_PAGER", "EDITOR", "VISUAL", "MANPAGER", "SYSTEMD_PAGER", "LESSOPEN", "LESSCLOSE", "GIT_EDITOR",
                  "GIT_SEQUENCE_EDITOR", "GIT_ASKPASS", "SSH_ASKPASS", "SUDO_ASKPASS", "BROWSER"):
        ctx.check_text(value, name)


def _history(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if any(w in ("-c", "-d", "-w", "-r", "-p", "-cw") or w.startswith("-c") for w in words[1:]):
        ctx.block("history_tampering", "history clears or rewrites the shell history")


def _unset(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if any(w in _HIST_VARS for w in words[1:]):
        ctx.block("history_tampering", "unset disables shell history")


def _set(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if "+o" in words and "history" in words:
        ctx.block("history_tampering", "set +o history stops recording commands")


def _export(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    for w in words[1:]:
        if "=" in w and not w.startswith("-"):
            name, _, value = w.partition("=")
            check_assignment(name, value, ctx)
            ctx.vars[name] = value


def _journalctl(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if any(w.startswith(("--vacuum", "--rotate", "--flush", "--relinquish-var")) for w in words[1:]):
        if any(w.startswith("--vacuum") for w in words[1:]):
            ctx.block("history_tampering", "journalctl --vacuum deletes system logs")


def _setenforce(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if len(words) > 1 and words[1].lower() in ("0", "permissive"):
        ctx.block("security_disable", "setenforce 0 turns SELinux enforcement off")


def _firewall(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    name = words[0].rsplit("/", 1)[-1]
    args = words[1:]
    if name.startswith(("iptables", "ip6tables", "ebtables", "arptables")):
        if any(a in ("-F", "--flush", "-X", "--delete-chain") for a in args) or \
                ("-P" in args or "--policy" in args) and "ACCEPT" in args:
            ctx.block("security_disable", f"{name} flushes the firewall or sets it to accept everything")
    elif name == "nft":
        if "flush" in args or ("delete" in args and "table" in args):
            ctx.block("security_disable", "nft flushes firewall rules")
    elif name == "ufw":
        if args[:1] in (["disable"], ["reset"]) or args[:2] == ["default", "allow"]:
            ctx.block("security_disable", f"ufw {' '.join(args[:2])} disables the firewall")
    elif name == "firewall-cmd":
        if any(a.startswith(("--set-default-zone=trusted", "--panic-off")) or a == "--complete-reload" and False
               for a in args):
            ctx.block("security_disable", "firewall-cmd trusts all traffic")


def _apparmor(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    name = words[0].rsplit("/", 1)[-1]
    if name != "apparmor_parser" or "-R" in words or "--remove" in words:
        ctx.block("security_disable", f"{name} unloads or weakens AppArmor profiles")


def _auditctl(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    args = words[1:]
    if "-D" in args or ("-e" in args and args[args.index("-e") + 1:][:1] == ["0"]):
        ctx.block("security_disable", "auditctl deletes audit rules or disables auditing")


_SYSCTL_WEAK = re.compile(r"kernel\.(?:randomize_va_space|yama\.ptrace_scope|kptr_restrict|dmesg_restrict|"
                          r"modules_disabled|unprivileged_bpf_disabled)=0|fs\.protected_\w+=0")


def _sysctl(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if any(_SYSCTL_WEAK.search(w.replace(" ", "")) for w in words[1:]):
        ctx.block("security_disable", "sysctl weakens a kernel hardening setting")


def _macos_sec(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if "disable" in words or "--master-disable" in words or "--global-disable" in words:
        ctx.block("security_disable", f"{words[0]} turns off a macOS security control")


_ESSENTIAL = re.compile(r"^(?:libc6|libc-bin|glibc|coreutils|bash|dash|systemd|init|sudo|apt|dpkg|rpm|yum|dnf|"
                        r"python3?|perl-base|openssh-server|linux-image[\w.-]*|kernel[\w.-]*|grub[\w.-]*|"
                        r"util-linux|login|passwd|base-files|libssl[\d.]*|zlib1g|e2fsprogs|mount|bsdutils|"
                        r"ca-certificates|pacman|musl|busybox|apk-tools|tar|gzip|sed|grep)(?::\w+)?$")


def _pkg(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    args = words[1:]
    removing = any(a in ("remove", "purge", "autoremove", "erase", "del", "uninstall", "-R", "-Rns", "-Rs",
                         "-Rdd", "-Rc") or a.startswith("-R") for a in args)
    if "--allow-remove-essential" in args or "--force-remove-essential" in args:
        ctx.block("destructive_delete", f"{words[0]} is told to remove essential packages")
    elif removing and any(_ESSENTIAL.match(a) for a in args if not a.startswith("-")):
        ctx.block("destructive_delete", f"{words[0]} removes packages the system needs to boot or run")


# -- code execution and shells ----------------------------------------------------------

def _eval(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    ctx.check_text(" ".join(words[1:]), "eval")


def _alias(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    for w in words[1:]:
        if "=" in w:
            ctx.check_text(w.split("=", 1)[1], "alias")


def _trap(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if len(words) > 2:
        ctx.check_text(words[1], "trap")


def _source(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if cmd is not None and len(words) > 1 and words[1] in ("/dev/stdin", "-", "/proc/self/fd/0") and cmd.stdin_text:
        ctx.check_text(cmd.stdin_text, "sourced here-doc")


def _sed(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    flags, vals, pos = split_args(words[1:], frozenset({"-e", "--expression", "-f", "--file", "-l", "-s"}))
    scripts = [vals[k] for k in ("-e", "--expression") if k in vals]
    if not scripts and pos:
        scripts, pos = [pos[0]], pos[1:]
    for s in scripts:
        if re.search(r"(?:^|[;\n}])\s*\d*,?\d*\s*e\b|s(.).*\1.*\1[gpiIm0-9]*e", s):
            ctx.block("inline_exec", "sed 'e' executes shell commands")
    if any(f == "-i" or f.startswith(("-i", "--in-place")) for f in flags) or "-i" in vals:
        _writes_to(pos, ctx, "sed -i")


def shell(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    """``sh``/``bash``/...: ``-c`` strings and here-doc bodies are checked as scripts."""
    args = words[1:]
    for i, a in enumerate(args):
        if a == "--":
            break
        if a.startswith("-") and not a.startswith("--") and "c" in a[1:] or a == "--command":
            if i + 1 < len(args):
                ctx.check_text(args[i + 1], f"{words[0]} -c")
            return
        if not a.startswith(("-", "+")):
            return  # a script file: cannot be inspected from here
    if cmd is not None and cmd.stdin_text:
        ctx.check_text(cmd.stdin_text, f"{words[0]} here-doc")


def interpreter(name: str, words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    """Inline code of python/perl/ruby/node/php/lua/awk is scanned."""
    flags = INLINE_FLAGS[name]
    args = words[1:]
    if name == "awk":
        _, vals, pos = split_args(args, frozenset({"-v", "-F", "-f", "--assign", "--field-separator", "--file", "-i",
                                                   "--include", "-E"}))
        if pos and "-f" not in vals and "--file" not in vals:
            ctx.check_code("awk", pos[0])
        return
    for i, a in enumerate(args):
        code = None
        if a in flags and i + 1 < len(args):
            code = args[i + 1]
        elif a.startswith("-") and not a.startswith("--") and 2 < len(a) <= 5 and a[1:].isalpha() and a[-1] in "ecrE" and \
                "-" + a[-1] in flags and i + 1 < len(args):
            code = args[i + 1]  # clustered flags such as ``perl -ne`` or ``python -Ic``
        elif any(a.startswith(f + "=") for f in flags if f.startswith("--")):
            code = a.split("=", 1)[1]
        if code is not None:
            ctx.check_code(name, code)
            return
        if not a.startswith("-"):
            break
    if cmd is not None and cmd.stdin_text and not any(not a.startswith("-") for a in args):
        ctx.check_code(name, cmd.stdin_text)


# -- generic checks and writers -----------------------------------------------------------

def _writes_to(targets: list[str], ctx: Ctx, what: str) -> None:
    for t in targets:
        hit = write_danger(t)
        if hit:
            ctx.block(hit[0], f"{what} {hit[1]}")


def _writer_targets(name: str, words: list[str]) -> list[str]:
    args = words[1:]
    if name == "tee":
        return split_args(args)[2]
    if name == "sort":
        _, vals, _ = split_args(args, frozenset({"-o", "--output", "-k", "-t", "-S", "-T"}))
        return [v for k, v in vals.items() if k in ("-o", "--output")]
    if name in ("cp", "install", "ln", "rsync", "scp", "mv"):
        _, vals, pos = split_args(args, frozenset({"-t", "--target-directory", "-m", "--mode", "-o", "-g",
                                                   "--owner", "--group", "-S", "--suffix", "-e", "--rsh"}))
        if "-t" in vals or "--target-directory" in vals:
            return [vals.get("-t", vals.get("--target-directory", ""))]
        return pos[-1:] if len(pos) >= 2 else []
    if name in ("truncate", "touch"):
        return split_args(args, frozenset({"-s", "--size", "-r", "--reference", "-d", "-t"}))[2]
    if name in ("curl", "wget", "aria2c"):
        _, vals, _ = split_args(args, frozenset({"-o", "--output", "-O", "--output-document", "-d", "--dir"}))
        keys = ("-o", "--output") if name == "curl" else ("-O", "--output-document", "-o", "-d", "--dir")
        return [v for k, v in vals.items() if k in keys]
    return []


_WRITERS = frozenset({"tee", "sort", "cp", "install", "ln", "rsync", "scp", "mv", "truncate", "touch", "curl",
                      "wget", "aria2c"})
_CRED_EXEMPT = frozenset({"ls", "stat", "file", "chmod", "chown", "test", "[", "[[", "ssh", "ssh-add",
                          "ssh-keygen", "ssh-copy-id", "mkdir", "touch", "echo", "printf", "realpath", "basename",
                          "dirname", "readlink", "which", "du", "cd", "pushd", "export", "declare", "local", "rm",
                          "shred", "unlink", "git", "find"})


def generic(name: str, words: list[str], ctx: Ctx) -> None:
    """Checks that apply to every command: credential paths, /dev/tcp, write targets."""
    if name in _WRITERS:
        _writes_to(_writer_targets(name, words), ctx, name)
    cred = name not in _CRED_EXEMPT
    args = words[1:]
    if name in ("grep", "egrep", "fgrep", "rg", "ag", "ack", "git") and args:
        first = next((i for i, a in enumerate(args) if not a.startswith("-")), None)
        if first is not None and not any(a in ("-e", "-f", "--regexp", "--file") for a in args):
            args = args[:first] + args[first + 1:]
    for w in args:
        if "/dev/" in w and ("/dev/tcp/" in w or "/dev/udp/" in w):
            ctx.block("reverse_shell", f"'{w}' opens a raw network connection")
        if cred and credential_path(w):
            ctx.block("credential_theft", f"{name} reads or sends the credential file '{credential_path(w)}'")
            cred = False


HANDLERS: dict[str, Handler] = {}


def _reg(names: str, fn: Any) -> None:
    for n in names.split():
        HANDLERS[n] = fn


_reg("rm unlink rmdir srm", _rm)
_reg("shred wipe", _shred)
_reg("find", _find)
_reg("chmod chown chgrp chattr setfacl", _chmod)
_reg("dd", _dd)
_reg("mkfs mke2fs mkswap wipefs fdisk sfdisk cfdisk parted gdisk sgdisk blkdiscard badblocks hdparm flashrom "
     "cryptsetup", _disk)
_reg("mv", _mv)
_reg("kill", _kill)
_reg("pkill killall killall5 skill slay", _pkill)
_reg("shutdown poweroff reboot halt", _power)
_reg("init telinit", _init)
_reg("systemctl", _systemctl)
_reg("service", _service)
_reg("crontab", _crontab)
_reg("at batch", _at)
_reg("launchctl", _launchctl)
_reg("update-rc.d chkconfig rc-update", _rcupdate)
_reg("useradd adduser usermod groupadd gpasswd passwd chpasswd visudo vipw vigr newusers addgroup", _users)
_reg("setcap", _setcap)
_reg("docker podman nerdctl", _docker)
_reg("nc", _nc)
_reg("socat", _socat)
_reg("xterm", _xterm)
_reg("vim vi nvim view ex ed emacs vimdiff gvim", _editor)
_reg("tar", _tar)
_reg("zip", _zip)
_reg("git", _git)
_reg("rsync", _rsync)
_reg("ssh", _ssh)
_reg("ngrok cloudflared lt localtunnel bore frpc serveo pagekite", _tunnel)
_reg("kubectl oc", _kubectl)
_reg("aws gcloud az doctl heroku flyctl fly terraform tofu pulumi cdk terragrunt gh helm linode-cli", _cloud)
_reg("gsutil", _gsutil)
_reg("printenv", _printenv)
_reg("echo printf", _echo)
_reg("gpg gpg2", _gpg)
_reg("security", _security)
_reg("history", _history)
_reg("unset", _unset)
_reg("set", _set)
_reg("export declare typeset local readonly", _export)
_reg("journalctl", _journalctl)
_reg("setenforce", _setenforce)
_reg("iptables ip6tables iptables-legacy iptables-nft ip6tables-legacy nft ufw firewall-cmd ebtables", _firewall)
_reg("aa-teardown aa-disable aa-complain apparmor_parser", _apparmor)
_reg("auditctl", _auditctl)
_reg("sysctl", _sysctl)
_reg("csrutil spctl", _macos_sec)
_reg("apt apt-get aptitude dnf yum zypper pacman apk dpkg rpm brew port", _pkg)
_reg("eval", _eval)
_reg("alias", _alias)
_reg("trap", _trap)
_reg("source .", _source)
_reg("sed", _sed)

KNOWN_NAMES = sorted(set(HANDLERS) | {"sh", "bash", "zsh", "dash", "ksh", "python", "perl", "ruby", "node", "nc",
                                       "sudo", "su", "curl", "wget", "base64", "socat", "openssl", "xxd"})


def lookup(name: str) -> Handler | None:
    """The handler for ``name``; ``mkfs.ext4`` and ``iptables-save``-style names fall back to the stem."""
    h = HANDLERS.get(name)
    if h is None and "." in name:
        h = HANDLERS.get(name.split(".", 1)[0])
    return h
