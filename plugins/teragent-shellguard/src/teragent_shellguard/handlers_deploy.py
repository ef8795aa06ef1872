"""Commands that carry another command to other machines: configuration-management ad-hoc
runs (``ansible HOSTS -m shell -a CMD``), cloud "run this on the VM" actions (``gcloud compute
ssh VM -- CMD``, ``az vm run-command invoke --scripts CMD``) and copy tools whose transport is
a program (``scp -S PROG``). The carried text is checked as the command it becomes."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from teragent_shellguard.args import Handler, Registry, split_args

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx
    from teragent_shellguard.parser import Command

__all__ = ["HANDLERS", "remote_text"]

#: ansible modules whose argument is a command line (``-a``); with no ``-m`` it is ``command``
_CMD_MODULES = re.compile(r"^(?:ansible\.(?:builtin|legacy)\.)?(?:shell|command|raw|script)$")
_FILE_MODULES = re.compile(r"^(?:ansible\.(?:builtin|legacy)\.)?file$")
_POWER_MODULES = re.compile(r"^(?:ansible\.(?:builtin|legacy)\.|community\.general\.)?(?:reboot|shutdown)$")
_USER_MODULES = re.compile(r"^(?:ansible\.(?:builtin|legacy)\.)?user$")
_PRIV_GROUP = re.compile(r"(?:^|,)\s*(?:root|sudo|wheel|admin)\s*(?:,|$)")
_KV = re.compile(r"(\w+)=(\"[^\"]*\"|'[^']*'|\S+)")


def _ansible(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    _, vals, pos = split_args(words[1:], frozenset({"-m", "--module-name", "-a", "--args", "-i", "--inventory", "-u",
                                                    "--user", "-f", "--forks", "-e", "--extra-vars", "-l", "--limit",
                                                    "-M", "--module-path", "--become-user", "-t", "--tree"}))
    module = vals.get("-m", vals.get("--module-name", "command"))
    args = vals.get("-a", vals.get("--args", ""))
    hosts = pos[0] if pos else "the inventory"
    if _CMD_MODULES.match(module) and args:
        ctx.check_text(args, f"ansible {module} on {hosts}")
        ctx.warn("remote_exec", f"ansible runs a command on {hosts}")
    elif _FILE_MODULES.match(module):
        kv = {k: v.strip("'\"") for k, v in _KV.findall(args)}
        target = kv.get("path") or kv.get("dest") or kv.get("name")
        if target and kv.get("state") == "absent":
            ctx.check_text(f"rm -rf -- '{target}'", f"ansible file state=absent on {hosts}")
            ctx.warn("remote_exec", f"ansible deletes '{target}' on {hosts}")
    elif _USER_MODULES.match(module):
        kv = {k: v.strip("'\"") for k, v in _KV.findall(args)}
        groups = ",".join(kv.get(k, "") for k in ("group", "groups"))
        if kv.get("uid") == "0" or _PRIV_GROUP.search(groups):
            ctx.block("privilege_escalation", f"ansible {module} makes a root or administrator account on {hosts}")
    elif _POWER_MODULES.match(module):
        ctx.block("process_kill", f"ansible {module} powers off or restarts {hosts}")


def remote_text(name: str, low: list[str], words: list[str], ctx: Ctx) -> bool:
    """Commands a cloud CLI runs on a machine: checked as that command. True if one was found."""
    text = ""
    if name == "gcloud" and low[:2] == ["compute", "ssh"]:
        if "--" in words:
            text = " ".join(words[words.index("--") + 1:])
        for w in words:
            if w.startswith("--command="):
                text = w.split("=", 1)[1]
        if "--command" in words[:-1]:
            text = words[words.index("--command") + 1]
    elif name == "az" and low[:2] in (["vm", "run-command"], ["vmss", "run-command"]):
        for k in ("--scripts", "--script"):
            if k in words[:-1]:
                text = words[words.index(k) + 1]
    if not text:
        return False
    ctx.check_text(text, f"{name} remote command")
    ctx.warn("remote_exec", f"{name} runs a command on a cloud machine")
    return True


_SSHLIKE = re.compile(r"^(?:\S*/)?(?:ssh|dbclient|plink|autossh|tsh|sshpass|gcloud|mosh)(?:\s|$)")


def _scp(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    _, vals, _ = split_args(words[1:], frozenset({"-S", "-o", "-F", "-i", "-P", "-c", "-l", "-J", "-D"}))
    prog = vals.get("-S")
    if prog and not _SSHLIKE.match(prog):
        ctx.block("remote_exec", f"{words[0]} -S runs '{prog}' in place of ssh")
    opt = vals.get("-o", "")
    if opt.lower().startswith(("proxycommand", "localcommand")):
        ctx.check_text(opt.split("=", 1)[1] if "=" in opt else opt.split(" ", 1)[-1], f"{words[0]} ProxyCommand")


#: salt execution functions whose arguments are a command line or a script
_SALT_CMD = re.compile(r"^cmd\.(?:run\w*|shell|script|exec_code\w*|powershell\w*)$")


def _salt(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    _, _, pos = split_args(words[1:], frozenset({"-t", "--timeout", "-L", "-G", "-C", "-N", "--out", "-b", "--batch",
                                                 "-c", "--config-dir", "--roster", "-i", "--user", "--priv"}))
    for i, fn in enumerate(pos):
        if _SALT_CMD.match(fn) and i + 1 < len(pos):
            ctx.check_text(" ".join(pos[i + 1:]), f"salt {fn} on {pos[0] if i else 'every minion'}")
            ctx.warn("remote_exec", f"{words[0]} {fn} runs a command on many machines")
            return
        if fn in ("file.remove", "file.rmdir") and i + 1 < len(pos):
            ctx.check_text(f"rm -rf -- '{pos[i + 1]}'", f"salt {fn}")
            return


#: a recursive delete of a phone's shared storage, app data or system partitions
_DEVICE_WIPE = re.compile(r"\brm\s+(?:-\w*\s+)*-\w*[rR]\w*\s+(?:\S+\s+)*['\"]?/(?:sdcard|storage|data|system|vendor|product)\b")


def _adb(words: list[str], ctx: Ctx, cmd: Command | None) -> None:
    i = 1
    while i < len(words) and words[i].startswith("-"):  # adb's own options come before the verb
        i += 2 if words[i] in ("-s", "-t", "-H", "-P", "-L") else 1
    if words[i:i + 1] != ["shell"] or len(words) < i + 2:
        return
    text = " ".join(words[i + 1:])
    if _DEVICE_WIPE.search(text):
        ctx.block("destructive_delete", f"{words[0]} shell deletes the device's storage or system: '{text[:60]}'")
        return
    ctx.check_text(text, f"{words[0]} shell command")


HANDLERS: dict[str, Handler] = {}
_reg = Registry(HANDLERS)
_reg("ansible", _ansible)
_reg("scp", _scp)
_reg("adb", _adb)
_reg("salt salt-ssh salt-call", _salt)
