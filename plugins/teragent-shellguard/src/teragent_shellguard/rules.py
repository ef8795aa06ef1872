"""Judgement: a small set of rules over :class:`~teragent_shellguard.effects.Effect` lists.

The same rules hold for every program: "writes a persistence location", "deletes the home
directory", "reads a credential store", "sends a credential-class file to the network",
"looks up a host name built from command output". Each finding names the effect and the
words that caused it, e.g. ``writes a persistence location (runs code at login, boot or on
a schedule): 'tee -a ~/.bashrc'``.

:func:`judge` handles one command. What only shows across commands (a pipeline's data
flow, a file made by one command and run by a later one) is judged in
:mod:`~teragent_shellguard.flows` with the same rules.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from teragent_shellguard import pathclass as pc
from teragent_shellguard.effects import METADATA_HOST, Effect, describe
from teragent_shellguard.paths import login_secret
from teragent_shellguard.tables import EXEMPT_READ, SHELL_NAMES

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx
    from teragent_shellguard.parser import Command

__all__ = ["judge", "ACTION_RULES"]

_W = pc.CLASS_WORDS
_WRITE = frozenset({"write", "append", "write_r", "mode", "mode_r"})
_DELETE = frozenset({"delete", "delete_r"})
# class written -> category (any writer: redirect, tee, cp, sed -i, dd, interpreter code, archive extraction)
_WRITE_RULES = {
    pc.PERSIST: "persistence", pc.AGENT: "agent_tampering", pc.SYSCONF: "dangerous_redirect",
    pc.SYSTEM: "dangerous_redirect", pc.BOOT: "dangerous_redirect", pc.ACCOUNTS: "dangerous_redirect",
    pc.KERNEL: "dangerous_redirect", pc.DISK: "destructive_disk", pc.DEVICE: "dangerous_redirect",
    pc.HISTORY: "history_tampering", pc.LOG: "history_tampering", pc.ROOT: "dangerous_redirect",
    pc.NETDEV: "reverse_shell", pc.CREDENTIAL: "credential_theft", pc.VCS: "vcs_destructive",
}
_DELETE_RULES = {
    pc.ROOT: "destructive_delete", pc.SYSTEM: "destructive_delete", pc.SYSCONF: "destructive_delete",
    pc.BOOT: "destructive_delete", pc.ACCOUNTS: "destructive_delete", pc.HOMEDIR: "destructive_delete",
    pc.CREDENTIAL: "destructive_delete", pc.PERSIST: "persistence", pc.HISTORY: "history_tampering",
    pc.LOG: "history_tampering", pc.AGENT: "agent_tampering", pc.VCS: "vcs_destructive", pc.DISK: "destructive_disk",
}
#: effect name (or its prefix before the dot) -> (level, category); level 2 = block, 1 = warn
ACTION_RULES: dict[str, tuple[int, str]] = {
    "vcs.force_push": (2, "vcs_destructive"), "vcs.remote_delete": (2, "vcs_destructive"),
    "vcs.rewrite": (2, "vcs_destructive"), "vcs.repo_delete": (2, "vcs_destructive"),
    "vcs.force_push_lease": (1, "vcs_destructive"), "vcs.discard": (1, "vcs_destructive"),
    "vcs.push_all": (1, "exfiltration"), "agent.hooks": (1, "agent_tampering"), "exec.alias": (2, "persistence"),
    "security.tls_off": (1, "security_disable"), "security.quarantine_off": (1, "security_disable"),
    "security.log_block": (1, "security_disable"), "security": (2, "security_disable"),
    "service.stop_critical": (1, "process_kill"), "kernel.module": (2, "persistence"), "system.kernel": (2, "dangerous_redirect"),
    "history.off": (2, "history_tampering"), "persist.ssh_key": (1, "persistence"), "persist": (2, "persistence"),
    "priv.escalate": (2, "privilege_escalation"), "cred.secret_read": (1, "credential_theft"), "cred": (2, "credential_theft"),
    "disk.erase": (2, "destructive_disk"), "cloud.mass_delete": (2, "remote_exec"), "cloud.iam_grant": (2, "remote_exec"),
    "remote.exec": (1, "remote_exec"), "net.tunnel_reverse": (2, "remote_exec"), "net.tunnel": (1, "remote_exec"),
    "net.upload_cloud": (1, "exfiltration"), "resource.stress": (1, "resource_exhaustion"),
    "resource.fill": (2, "resource_exhaustion"), "resource.fork": (2, "resource_exhaustion"),
    "resource.big": (1, "resource_exhaustion"), "exec.download": (2, "download_exec"), "exec.socket": (2, "reverse_shell"), "exec.shell": (2, "inline_exec"), "exec.remote_msi": (2, "download_exec"),
    "delete.home": (2, "destructive_delete"), "persist.hooks": (2, "persistence"), "remote.exec_admin": (2, "remote_exec"),
    "net.upload_sensitive": (2, "exfiltration"), "security.av_off": (2, "security_disable"),
    "security.boot": (2, "security_disable"), "net.serve_home": (2, "exfiltration"), "net.delete": (1, "remote_exec"), "package.install": (1, "package_install"), "db.drop": (2, "database_destructive"), "db.reset": (1, "database_destructive"),
    "system.state": (2, "dangerous_redirect"), "system.network": (2, "process_kill"), "system.boot": (2, "destructive_disk"),
    "net.scan": (2, "remote_exec"), "delete.keychain": (2, "destructive_delete"), "resource.mine": (2, "resource_exhaustion"),
    "system.registry": (2, "windows_destructive"), "delete.recycle": (2, "windows_destructive"),
    "security.firewall_open": (2, "security_disable"),
    "vcs.expose": (2, "exfiltration"), "vcs.archive": (1, "vcs_destructive"), "fs.hide": (1, "obfuscation"),
    "device.erase": (1, "destructive_disk"), "system.power": (2, "process_kill"), "cred.cmdline": (1, "credential_theft"),
    "pkg.publish": (1, "package_install"), "pkg.registry": (1, "package_install"), "net.capture": (1, "credential_theft"),
    "disk.mount": (1, "privilege_escalation"), "delete.volumes": (1, "destructive_delete"),
}
_SAFE_DB = re.compile(r"(?i)\b(?:if\s+exists\s+)?[\w.\"`]*(?:test|tmp|temp|scratch|dev|local|sandbox|staging_copy)\w*")
_SECRET_VAR = re.compile(r"\$\{?([A-Za-z_]*(?:KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|_PAT|AUTH)[A-Za-z_]*)\}?")
_IP_PORT = re.compile(r"^(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?$|^\d{2,5}$")


def _hit(ctx: Ctx, level: int, cat: str, reason: str) -> None:
    (ctx.block if level == 2 else ctx.warn)(cat, reason)


_UNITS = {"": 1, "c": 1, "w": 2, "b": 512, "k": 2**10, "kb": 1000, "m": 2**20, "mb": 10**6, "g": 2**30, "gb": 10**9,
          "t": 2**40, "tb": 10**12}


def _dd_bytes(words: list[str]) -> int:
    """Bytes a ``dd`` writes (``bs`` x ``count``); 0 when unknown."""
    kv = dict(w.split("=", 1) for w in words[1:] if "=" in w)
    def size(v: str) -> int:
        m = re.match(r"^(\d+)([a-zA-Z]*)$", v or "")
        return int(m.group(1)) * _UNITS.get(m.group(2).lower(), 0) if m else 0
    return size(kv.get("bs", kv.get("obs", "512"))) * size(kv.get("count", "0"))


def actions_only(name: str, words: list[str], ctx: Ctx) -> None:
    """State-change effects of a wrapper (``systemd-run --on-calendar``) before it is peeled."""
    for e in describe(name, words, None):
        if "." in e.kind:
            _one(e, name, True, ctx)


def judge(name: str, words: list[str], ctx: Ctx, cmd: Command | None) -> list[Effect]:
    """Describe ``words`` and add the findings its effects deserve; returns the effects."""
    effects = describe(name, words, cmd)
    exempt = name in EXEMPT_READ
    for e in effects:
        if e.kind == "read" and login_secret(e.target, words):
            continue
        _one(e, name, exempt, ctx)
    if cmd is not None and cmd.redirs and (name == "yes" or name == "seq" and "inf" in words[1:] or name in ("cat", "pv", "tee") and any(
            e.target in ("/dev/zero", "/dev/urandom", "/dev/random") for e in effects)) and any(
            e.kind in ("write", "append") and e.cls not in (pc.NULL, pc.DEVICE, pc.DISK) for e in effects):
        ctx.block("resource_exhaustion", f"writes an endless stream into a file: '{name} {' '.join(words[1:])[:40]}'")
    if name == "dd" and _dd_bytes(words) > 50 * 2**30:
        ctx.block("resource_exhaustion", f"dd writes more than 50 GB: '{' '.join(words)[:60]}'")
    _shell_escapes(name, words, cmd, ctx)
    if cmd is not None and any(e.kind in ("net", "send") for e in effects):
        for e in effects:  # ``nc host < /etc/passwd``: a file on stdin of a network client is sent
            if e.kind == "read" and e.word.startswith("<") and e.cls in pc.SENSITIVE_SEND:
                ctx.block("exfiltration", f"sends {_W[e.cls]} to the network: '{name} {e.word}'")
    if name in _RUNNERS and len(words) > 1:  # ``npx prisma migrate reset``: the package's own command is judged too
        rest = words[1:]
        while rest and rest[0].startswith("-") or rest[:1] in (["exec"], ["dlx"], ["x"]):
            rest = rest[1:]
        if rest:
            from teragent_shellguard.engine import cmd_name

            inner = cmd_name(rest[0].split("@", 1)[0] if not rest[0].startswith("@") else rest[0])
            for e in describe(inner.removesuffix("-cli"), [inner, *rest[1:]], None):
                if "." in e.kind:
                    _one(e, inner, True, ctx)
    for opt, text in _command_options(name, words):
        ctx.check_text(text, f"{name} {opt}")
    if any("stratum+tcp://" in w or "stratum+ssl://" in w or "stratum2+tcp://" in w for w in words[1:]):
        ctx.block("resource_exhaustion", f"'{name}' connects to a mining pool (stratum): a cryptocurrency miner")
    if name not in SHELL_NAMES and name not in ("nc", "ncat", "socat"):
        args = words[1:]
        if any(a.rsplit("/", 1)[-1] in SHELL_NAMES for a in args) and sum(bool(_IP_PORT.match(a)) for a in args) >= 2:
            ctx.block("reverse_shell", f"{name} connects a shell to a network address ('{' '.join(args)[:60]}')")
    return effects


#: interactive programs that run a shell command from their own command language (GTFOBins "shell"):
#: program -> (options whose value is such a command, prefixes that escape to the shell)
_ESCAPES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ed": ((), ("!",)), "ex": (("-c",), ("!", ":!")), "ftp": ((), ("!",)), "sftp": ((), ("!",)), "lftp": (("-c", "-e"), ("!",)),
    "gdb": (("-ex", "--ex", "-iex", "--eval-command"), ("!", "shell ")), "less": (("+",), ("!",)), "more": (("+",), ("!",)),
    "mysql": ((), ("\\!", "system ")), "psql": ((), ("\\!",)), "sqlite3": (("-cmd",), (".shell ", ".system ")),
    "telnet": ((), ("!",)), "tftp": ((), ("!",)), "nslookup": ((), ("!",)),
}


def _shell_escapes(name: str, words: list[str], cmd: Command | None, ctx: Ctx) -> None:
    spec = _ESCAPES.get(name)
    if spec is None:
        return
    opts, prefixes = spec
    lines: list[str] = []
    args = words[1:]
    for i, a in enumerate(args):
        if "+" in opts and a.startswith("+"):
            lines.append(a[1:])
        for o in opts:
            if o != "+" and a == o and i + 1 < len(args):
                lines.append(args[i + 1])
            elif o.startswith("--") and a.startswith(o + "="):
                lines.append(a.split("=", 1)[1])
    if cmd is not None and cmd.stdin_text:
        lines.extend(cmd.stdin_text.splitlines())
    for line in lines:
        line = line.lstrip()
        for pre in prefixes:
            rest = line[len(pre):].strip()
            if line.startswith(pre) and rest:
                ctx.check_text(rest, f"{name} shell escape")
                if rest.split()[0].rsplit("/", 1)[-1] in SHELL_NAMES and len(rest.split()) == 1:
                    ctx.block("inline_exec", f"{name} escapes to an interactive shell: '{line[:40]}'")
                else:
                    ctx.warn("inline_exec", f"{name} runs a shell command from its own command line: '{line[:40]}'")


#: program -> options whose value is a shell command (GTFOBins "shell" and "command" facts)
COMMAND_OPTIONS: dict[str, tuple[str, ...]] = {
    "man": ("-P", "--pager", "-H", "--html"), "less": ("--lesskey-src",), "git": ("--exec-path",),
    "rsync": ("-e", "--rsh", "--rsync-path"), "tcpdump": ("-z",), "pssh": ("-i", "@last"), "parallel-ssh": ("@last",),
    "make": ("--eval",), "nmap": ("--script-args",), "kubectl": ("@--",), "oc": ("@--",), "ionice": (),
    "journalctl": (), "mysql": ("--pager",), "psql": (),
}


def _command_options(name: str, words: list[str]) -> list[tuple[str, str]]:
    opts = COMMAND_OPTIONS.get(name)
    if not opts:
        return []
    out: list[tuple[str, str]] = []
    args = words[1:]
    for i, a in enumerate(args):
        for o in opts:
            if o.startswith("@"):
                continue
            if a == o and i + 1 < len(args):
                out.append((o, args[i + 1]))
            elif a.startswith(o + "=") or (len(o) == 2 and a.startswith(o) and len(a) > 2 and not a.startswith("--")):
                out.append((o, a[len(o) + 1:] if a.startswith(o + "=") else a[2:]))
    if "@last" in opts and args and " " in args[-1]:
        out.append(("command", args[-1]))
    if "@--" in opts and "--" in args:
        out.append(("--", " ".join(args[args.index("--") + 1:])))
    if name == "make":
        out = [(o, "\n".join(ln.strip().lstrip("-@+") for ln in t.splitlines() if ln.startswith("\t")) or t)
               for o, t in out]
    if name == "kubectl" and out:
        from shlex import quote

        out = [(o, " ".join(quote(w) for w in args[args.index("--") + 1:])) for o, _ in out]
    return out


#: package runners: the first word after them is a program from a package
_RUNNERS = frozenset({"npx", "pnpx", "bunx", "pnpm", "yarn", "uvx", "pipx"})


def _one(e: Effect, name: str, exempt: bool, ctx: Ctx) -> None:
    kind, cls = e.kind, e.cls
    prot = pc.is_protected(e.target, ctx.protected, ctx.workspace) if ctx.protected and cls else None
    if prot and kind in _WRITE | _DELETE | {"read", "mention", "send", "download"} and not (kind == "mention" and exempt):
        ctx.block("protected_path", f"'{e.word}' touches the protected path '{e.target}' (protected by '{prot}')")
        return
    if kind in _WRITE or kind == "download":
        cat = _WRITE_RULES.get(cls)
        if kind in ("mode", "mode_r") and cls not in (pc.PERSIST, pc.AGENT, pc.CREDENTIAL, pc.SYSCONF, pc.BOOT, pc.ROOT):
            return
        if kind in ("mode", "mode_r") and cls in (pc.CREDENTIAL, pc.AGENT):
            if cls == pc.AGENT:
                ctx.warn("agent_tampering", f"changes the mode of {_W[cls]}: '{e.word}'")
            return
        if cat == "credential_theft" and kind in ("write", "append"):
            cat = "dangerous_redirect"
        if cat:
            ctx.block(cat, f"writes {_W[cls]}: '{e.word}'")
        elif kind == "write_r" and cls in (pc.HOMEDIR, pc.DOTFILE):
            ctx.block("persistence", f"extracts files over {_W[cls]} (can replace startup files): '{e.word}'")
    elif kind in _DELETE:
        cat = _DELETE_RULES.get(cls)
        if cls in (pc.HOMETOP, pc.DOTFILE) and kind == "delete_r":
            cat = "destructive_delete"
        if cls == pc.AGENT and ".git/hooks" in e.target:
            return  # removing a hook runs nothing; writing one is what the rules stop
        if cat:  # the repository store: .git itself, its objects, refs and submodule stores
            ctx.block(cat, f"deletes {_W[cls]}: '{e.word}'")
    elif kind in ("read", "mention"):
        if cls in pc.SENSITIVE_READ and not exempt:
            ctx.block("credential_theft", f"reads {_W[cls]}: '{e.word}'")
        elif cls == pc.SECRETS and not exempt and kind == "read":
            ctx.warn("credential_theft", f"reads {_W[cls]}: '{e.word}'")
    elif kind == "send":
        if cls in pc.SENSITIVE_SEND or cls == "environment":
            ctx.block("exfiltration", f"sends {_W.get(cls, cls)} to the network: '{e.word}'")
        elif cls == "data" and _SECRET_VAR.search(e.target):
            ctx.block("exfiltration", f"sends a secret variable to the network: '{e.word}'")
    elif kind in ("net", "dns"):
        if METADATA_HOST.search(e.target):
            ctx.block("credential_theft", f"queries a cloud metadata endpoint (instance credentials): '{e.word}'")
        elif _SECRET_VAR.search(e.target):
            ctx.block("exfiltration", f"puts a secret variable in a network request: '{e.word}'")
    elif kind == "sql":
        if re.match(r"(?i)copy\b|config\s|module\s", e.target):
            ctx.block("remote_exec", f"makes the database server run a program or write files where it is told: '{e.target}'")
            return
        level = 1 if _SAFE_DB.search(e.word) or e.target.lower().startswith("update") else 2
        _hit(ctx, level, "database_destructive", f"runs a destructive statement: '{e.word}'")
    elif "." in kind:
        rule = ACTION_RULES.get(kind) or ACTION_RULES.get(kind.split(".", 1)[0])
        if rule:
            _hit(ctx, rule[0], rule[1], f"{e.target}: '{e.word}'")
