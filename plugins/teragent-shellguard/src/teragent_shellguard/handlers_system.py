"""Handlers for system state: processes and power, services and schedulers, accounts,
containers, history and logs, security controls and system packages.

Part of layer 3 (see :mod:`~teragent_shellguard.handlers`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from teragent_shellguard.args import Handler, Registry, split_args

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx
    from teragent_shellguard.parser import Command

__all__ = ["HANDLERS"]


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
        if re.match(r"^\$\(\s*(?:pgrep|pidof)\b(?:\s+-\S+)*\s+(?:-f\s+)?['\"]?(?:\.\*?|\*)?['\"]?\s*\)$", t):
            ctx.block("process_kill", f"kill targets every process a match-all listing returns: '{t}'")
        m = re.match(r"^\$\(\s*(?:pgrep|pidof)\b.*?['\"]?([\w.-]+)['\"]?\s*\)$", t)
        if m and m.group(1).lower() in _CRITICAL_PROCS:
            ctx.block("process_kill", f"kill targets a critical system process: '{t}'")
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
    pats = [p.lower() for p in pos]
    if any(k in vals for k in ("-u", "--user", "-U", "-g", "-G", "-t")) and (
            not pos or any(p in ("", ".", ".*", "*") for p in pats)):  # with a pattern only the matching ones die
        ctx.block("process_kill", f"{name} kills every process of a user, group or terminal")
        return
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


_SECURITY_SERVICE = re.compile(r"^(?:auditd|firewalld|ufw|iptables|nftables|apparmor|selinux|fail2ban|rsyslog|syslog\S*|"
                               r"osqueryd|wazuh-agent|falcon-sensor|clamav\S*|aide|sshguard)$")


def _rcupdate(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if any(w in ("add", "defaults", "enable", "on", "--add") for w in words[1:]):
        ctx.block("persistence", f"{words[0]} adds a boot-time service")
    elif any(w in ("off", "del", "delete", "remove", "disable", "--del") for w in words[1:]) and \
            any(_SECURITY_SERVICE.match(w) for w in words[1:]):
        ctx.block("security_disable", f"{words[0]} stops a security or logging service from starting at boot")


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


_ROOT_CAPS = re.compile(r"(?i)cap_(?:setuid|setgid|sys_admin|sys_ptrace|dac_override|dac_read_search|chown|fowner|"
                        r"sys_module|sys_rawio|setfcap|setpcap|bpf|sys_boot)\b")
_ALL_CAPS = re.compile(r"(?i)^(?:all)?[=+][a-z]*e")  # '=ep', 'all=ep': every capability


def _setcap(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    """A capability that is root in disguise (setuid, ptrace, any-file read/write, all of them)
    is refused; a narrow one (binding a low port, raw sockets) warns."""
    caps = [w for w in words[1:] if not w.startswith("-") and ("cap_" in w.lower() or "=" in w or "+" in w)]
    if any(_ROOT_CAPS.search(w) or _ALL_CAPS.match(w) for w in caps):
        ctx.block("privilege_escalation", "setcap grants root-equivalent file capabilities")
    elif caps:
        ctx.warn("privilege_escalation", f"setcap grants file capabilities ({', '.join(caps)})")


_DOCKER_ESCAPE = re.compile(
    r"^--privileged(?:=true)?$|^--pid=host$|^--(?:ipc|uts|userns)=host$|^--cap-add=(?:all|sys_admin|sys_ptrace|sys_module)$|"
    r"^--security-opt=(?:apparmor|seccomp|label)[:=]unconfined$|^--device=/dev/(?:sd|nvme|vd|mem)|"
    r"^(?:-v|--volume|--mount)=?/(?::|$)|^(?:-v|--volume)=?/(?:etc|root|var/run/docker\.sock|run/docker\.sock|boot|proc|sys)[:/]|"
    r"^(?:-v|--volume)=?/var/run/docker\.sock|(?:source|src)=/(?:,|$)", re.I)


_EXEC_TAKES = frozenset({"-e", "--env", "--env-file", "-u", "--user", "-w", "--workdir", "--detach-keys", "--index"})


def _exec_command(words: list[str], ctx: Ctx) -> None:
    """``docker exec [opts] NAME CMD...`` / ``docker compose exec [opts] SERVICE CMD...``: CMD runs in a
    long-lived container (a database, an app) and is checked like a local command."""
    args = words[3:] if words[1] == "compose" else words[2:]
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in _EXEC_TAKES else 1
    if i + 1 < len(args):
        ctx.check_words(args[i + 1:])


def _docker(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    if len(words) >= 3 and (words[1] == "exec" or words[1:3] == ["compose", "exec"] or words[1:3] == ["container", "exec"]):
        _exec_command(words if words[1] != "container" else [words[0], *words[2:]], ctx)
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
    for w in joined:  # the host's network stack, not its processes or files: reachable services, no escape
        if re.match(r"^--(?:net|network)=host$", w):
            ctx.warn("privilege_escalation", f"{words[0]} {words[1]} {w} shares the host's network with the container")



# -- history, logs, security controls ---------------------------------------------------

_HIST_VARS = frozenset({"HISTFILE", "HISTSIZE", "HISTFILESIZE", "SAVEHIST", "HISTCONTROL", "HISTIGNORE",
                        "HISTORY_IGNORE"})


#: variables whose value (one of these) makes a client accept any certificate
_TLS_OFF_VARS = {"NODE_TLS_REJECT_UNAUTHORIZED": ("0",), "PYTHONHTTPSVERIFY": ("0",), "GIT_SSL_NO_VERIFY": ("1", "true"),
                 "CURL_CA_BUNDLE": ("",), "REQUESTS_CA_BUNDLE": ("",), "GOINSECURE": ("*",),
                 "NPM_CONFIG_STRICT_SSL": ("false", "0")}


#: search paths for programs and libraries: a temp directory first lets anyone plant what is loaded
_SEARCH_PATH_VARS = frozenset({"PATH", "PYTHONPATH", "PERL5LIB", "PERLLIB", "RUBYLIB", "NODE_PATH", "LD_LIBRARY_PATH",
                               "DYLD_LIBRARY_PATH", "CLASSPATH", "GEM_PATH", "LUA_PATH"})
#: options variables that load a module into every run: the option that does it, per variable
_PRELOAD_OPTS = {"NODE_OPTIONS": r"(?:^|\s)['\"]?(?:--require|-r|--import|--loader|--experimental-loader)\b",
                 "PERL5OPT": r"-[Mm]", "RUBYOPT": r"-r", "JAVA_TOOL_OPTIONS": r"-javaagent|-agentpath",
                 "_JAVA_OPTIONS": r"-javaagent|-agentpath", "PYTHONSTARTUP": r"\S"}


def _writable_first(value: str) -> bool:
    first = value.strip("'\"").split(":", 1)[0]
    return bool(re.match(r"^/(?:tmp|var/tmp|dev/shm)(?:/|$)", first))


def check_assignment(name: str, value: str, ctx: Ctx) -> None:
    """Rules on ``NAME=value`` (standalone, exported or command-prefixed)."""
    if name in _HIST_VARS:
        v = value.strip("'\"")
        if name == "HISTFILE" or v in ("0", "", "*", "ignorespace", "ignoreboth") or v.startswith("*"):
            ctx.block("history_tampering", f"{name}={value} disables or redirects shell history")
    elif name in _SEARCH_PATH_VARS and _writable_first(value):
        ctx.block("privilege_escalation", f"{name}={value} makes programs load code from a world-writable directory first")
    elif name in _PRELOAD_OPTS and re.search(_PRELOAD_OPTS[name], value):
        ctx.block("privilege_escalation", f"{name}={value} loads extra code into every {name.split('_')[0].lower()} program")
    elif name == "SSH_AUTH_SOCK" and re.match(r"^['\"]?/(?:tmp|var/tmp|run/user/\d+)/", value) and "$" not in value:
        ctx.block("credential_theft", f"SSH_AUTH_SOCK={value} uses another session's SSH agent (its keys)")
    elif name in _TLS_OFF_VARS and value.strip("'\"").lower() in _TLS_OFF_VARS[name]:
        ctx.warn("security_disable", f"{name}={value} turns off TLS certificate verification")
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
                          r"modules_disabled|unprivileged_bpf_disabled)=0|fs\.protected_\w+=0|"
                          # a program the kernel runs as root on every crash / module request
                          r"kernel\.(?:core_pattern=['\"]?\||modprobe=|hotplug=)")


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
    if words[0].rsplit("/", 1)[-1] in ("dpkg", "rpm"):  # option verbs: dpkg -r/-P/--purge, rpm -e/--erase
        removing = removing or any(a in ("-r", "-P", "--remove", "--purge", "--erase") or
                                   re.match(r"^-[a-zA-Z]*e[a-zA-Z]*$", a) and words[0].endswith("rpm") for a in args)
    if removing and any(a in ("--nodeps", "--force-all", "--force-depends", "--force-remove-reinstreq") for a in args):
        ctx.warn("destructive_delete", f"{words[0]} removes packages while ignoring what depends on them")
    if "--allow-remove-essential" in args or "--force-remove-essential" in args:
        ctx.block("destructive_delete", f"{words[0]} is told to remove essential packages")
    elif removing and any(_ESSENTIAL.match(a) for a in args if not a.startswith("-")):
        ctx.block("destructive_delete", f"{words[0]} removes packages the system needs to boot or run")


HANDLERS: dict[str, Handler] = {}
_reg = Registry(HANDLERS)
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
_reg("docker podman nerdctl ctr", _docker)
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
_reg("csrutil spctl fdesetup", _macos_sec)
_reg("apt apt-get aptitude dnf yum zypper pacman apk dpkg rpm brew port", _pkg)
