"""Windows (cmd.exe and PowerShell) patterns.

Applied when the platform is Windows, or when a command is unmistakably Windows syntax
(a cmd/PowerShell command name, a drive path, ``%VAR%``). The command is re-parsed with
Windows quoting (backslashes are path separators) and each command is checked against
Windows-specific kinds of danger; PowerShell idioms that do not tokenize well
(``IEX (New-Object Net.WebClient).DownloadString(..)``) are matched on the text.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING

from teragent_shellguard.parser import ParseError, parse

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx

__all__ = ["looks_windows", "analyze"]

_WIN_NAMES = (
    r"cmd|powershell|pwsh|del|erase|rd|format|taskkill|wmic|vssadmin|bitsadmin|certutil|reg|schtasks|sc|"
    r"bcdedit|diskpart|runas|mshta|regsvr32|rundll32|netsh|icacls|takeown|cipher|wbadmin|wevtutil|net|"
    r"start-process|remove-item|invoke-expression|iex|invoke-webrequest|iwr|irm|invoke-restmethod|"
    r"set-mppreference|add-mppreference|stop-process|stop-computer|restart-computer|clear-eventlog|"
    r"register-scheduledtask|new-service|set-executionpolicy|clear-disk|format-volume|remove-partition|"
    r"start-bitstransfer|new-itemproperty|set-itemproperty|get-wmiobject|get-ciminstance|clear-recyclebin"
)
_LOOKS = re.compile(rf"(?i)(?:^|[\s;&|(]|\\)(?:{_WIN_NAMES})(?:\.exe)?(?=$|[\s\"'(])|\b[a-z]:\\|%\w+%|\$env:|%\d\s*\|"
                    # PowerShell's named parameters: -Recurse, -LiteralPath, -ErrorAction (capitalised, long)
                    r"|(?-i:\s-(?:Recurse|Force|LiteralPath|Path|Filter|ErrorAction|ExecutionPolicy|NoProfile|Confirm)\b)")
_DRIVE_ROOT = re.compile(r"(?i)^(?:\\\\\?\\)?[a-z]:\\?(?:\*(?:\.\*)?)?$|^\\\*?$")
_SYSTEM_DIR = re.compile(r"(?i)^(?:\\\\\?\\)?[a-z]:\\(?:windows|program files(?: \(x86\))?|programdata|boot|"
                         r"recovery|system volume information|\$recycle\.bin)(?:\\|$)|"
                         r"^%(?:systemroot|windir|programfiles|programfiles\(x86\)|programdata)%|"
                         r"^\$env:(?:systemroot|windir|programfiles|programdata)")
_USERS = re.compile(r"(?i)^(?:[a-z]:\\users(?:\\[^\\]+)?\\?(?:\*(?:\.\*)?)?$|%(?:userprofile|homepath|appdata|"
                    r"localappdata)%\\?(?:\*(?:\.\*)?)?$|%homedrive%%homepath%|\$env:(?:userprofile|appdata|"
                    r"localappdata|homepath)\\?\*?$|~\\?\*?$|\$home\\?\*?$)")
_CRITICAL = re.compile(r"(?i)^(?:explorer|winlogon|csrss|lsass|svchost|wininit|smss|services|dwm|lsm|"
                       r"msmpeng|system|\*)(?:\.exe)?$")
_PS_DOWNLOAD = re.compile(r"(?i)downloadstring|downloadfile|downloaddata|net\.webclient|invoke-webrequest|"
                          r"\biwr\b|invoke-restmethod|\birm\b|start-bitstransfer|http[s]?://")
_PS_DECODE = re.compile(r"(?i)frombase64string|\[convert\]|-enc(?:odedcommand)?\b|\bxor\b|decompress|gzipstream")
_PS_EXEC = re.compile(r"(?i)\biex\b|invoke-expression|\.invoke\(|&\s*\(|scriptblock\]::create|invoke-command")
_PERSIST_KEY = re.compile(r"(?i)\\(?:run|runonce|runservices|winlogon|image file execution options|"
                          r"userinit|shell folders|appinit_dlls)\b")
_DEFENDER = re.compile(r"(?i)-disable(?:realtimemonitoring|behaviormonitoring|ioavprotection|scriptscanning|"
                       r"intrusionpreventionsystem|archivescanning)|-exclusion(?:path|process|extension)|"
                       r"disableantispyware|disableantivirus")


_SCRIPTBLOCK = re.compile(r"(?is)-scriptblock\s*\{(.*)\}")
_TEXT_RULES = [(re.compile(p, re.I | re.S), c, w) for p, c, w in [
    (r"win32_shadowcopy.*\.delete\(|shadowcopy.*remove-ciminstance", "windows_destructive", "deletes volume shadow copies"),
    (r"amsiutils|amsiinitfailed|amsicontext|amsiscanbuffer", "security_disable", "disables AMSI (script scanning)"),
    (r"\\policies\\system\b.*\benablelua\b.*/d\s+0", "security_disable", "turns User Account Control off"),
    (r"/v:on\b.*![A-Za-z_]\w*!", "obfuscation", "builds a command name with delayed variable expansion"),
    (r"net\.sockets\.tcpclient.*(?:iex|invoke-expression)|(?:iex|invoke-expression).*net\.sockets\.tcpclient",
     "reverse_shell", "runs commands received over a TCP socket"),
    (r"(?:get-childitem|gci|dir|ls)\s+(?:-(?:literal)?path\s+)?['\"]?(?:[a-z]:\\(?:users|windows|program files)?\\?['\"]?(?:\s|$)|"
     r"\$env:(?:userprofile|systemroot|windir|programfiles)|\$home\b|~[\\/]?['\"]?\s).*-recurse.*\|\s*(?:remove-item|ri|rm|del|erase|rd|rmdir)\b",
     "windows_destructive", "deletes everything under a system folder or profile"),
    (r"(?:^|[\s&|])%0\s*\|\s*%0", "resource_exhaustion", "batch fork bomb"),
    (r"-file\s+['\"]?\\\\[\w.-]+\\", "download_exec", "runs a script from a network share"),
    (r"\\environment\b.*\buserinitmprlogonscript\b|\\winlogon\b.*/v\s+(?:userinit|shell)\b", "persistence",
     "installs a logon script"),
]]


_SWITCH = re.compile(r"^/[a-z?][a-z0-9:]{0,3}$", re.I)


def _effect_args(args: list[str]) -> list[str]:
    """cmd switches (``/s``, ``/q``) dropped or mapped (``/s`` means recursive), options lower-cased."""
    out = []
    for a in args:
        low = a.lower()
        if low in ("/s", "-recurse", "-r"):
            out.append("-r")
        elif _SWITCH.match(a):
            continue
        else:
            out.append(low if a[:1] == "-" else a)
    return out


def looks_windows(text: str) -> bool:
    """Whether ``text`` uses cmd/PowerShell commands or Windows paths."""
    return bool(_LOOKS.search(text))


#: a grant of full, modify or write access to everyone / all users / all signed-in users (the SIDs too)
_WORLD_GRANT = re.compile(r"/grant(?::r)?\s+['\"]?(?:everyone|\*?s-1-1-0|users|\*?s-1-5-32-545|authenticated users|"
                          r"\*?s-1-5-11)['\"]?:(?:\([a-z]+\))*\(?(?:f|m|w)\b")


def _dangerous_path(p: str) -> bool:
    p = p.strip("\"'").replace("/", "\\")
    return bool(_DRIVE_ROOT.match(p) or _SYSTEM_DIR.match(p) or _USERS.match(p))


def _name(w: str) -> str:
    n = w.replace("/", "\\").rsplit("\\", 1)[-1].lower()
    return n[:-4] if n.endswith((".exe", ".com")) else n


def _flags(args: list[str]) -> set[str]:
    return {a.lower() for a in args if a.startswith(("/", "-")) and not _DRIVE_ROOT.match(a)}


def _check_cmd(words: list[str], ctx: Ctx, depth: int) -> None:
    name = _name(words[0])
    args = words[1:]
    low = [a.lower() for a in args]
    fl = _flags(args)
    targets = [a for a in args if not a.startswith(("/", "-")) or a.startswith("\\")]
    if name in ("cmd",) and any(f in ("/c", "/k", "/r") for f in low):
        i = next(i for i, f in enumerate(low) if f in ("/c", "/k", "/r"))
        _recurse(" ".join(args[i + 1:]), ctx, depth)
        return
    if name in ("powershell", "pwsh"):
        for i, f in enumerate(low):
            if f in ("-enc", "-e", "-ec", "-encodedcommand") and i + 1 < len(args):
                ctx.block("obfuscation", "powershell -EncodedCommand hides the command being run")
                try:
                    _recurse(base64.b64decode(args[i + 1]).decode("utf-16-le", "ignore"), ctx, depth)
                except ValueError:
                    pass
                return
            if f in ("-c", "-command") and i + 1 < len(args):
                _recurse(" ".join(args[i + 1:]), ctx, depth)
                return
        return
    if name in ("del", "erase", "rd", "rmdir", "remove-item", "ri", "rm", "rmdir"):
        recursive = bool(fl & {"/s", "-recurse", "-r", "-rec"}) or name in ("del", "erase")
        for t in targets:
            if _dangerous_path(t) and recursive:
                ctx.block("windows_destructive", f"{name} deletes '{t}' (drive root, system or user profile)")
                return
    elif name == "format" and targets:
        ctx.block("windows_destructive", f"format erases the volume {targets[0]}")
    elif name in ("diskpart", "clear-disk", "format-volume", "remove-partition", "initialize-disk"):
        ctx.block("windows_destructive", f"{name} erases disks or partitions")
    elif name == "vssadmin" and ("delete" in low or "resize" in low):
        ctx.block("windows_destructive", "vssadmin deletes shadow copies (backups)")
    elif name == "wmic" and "shadowcopy" in low and "delete" in low:
        ctx.block("windows_destructive", "wmic deletes shadow copies (backups)")
    elif name == "wbadmin" and "delete" in low:
        ctx.block("windows_destructive", "wbadmin deletes backups")
    elif name == "bcdedit" and ("/delete" in low or "/deletevalue" in low or any("recoveryenabled" in x or
                                                                                  "bootstatuspolicy" in x for x in low)):
        ctx.block("windows_destructive", "bcdedit disables recovery or deletes boot entries")
    elif name == "cipher" and any(x.startswith("/w") for x in low):
        ctx.block("windows_destructive", "cipher /w wipes free space")
    elif name == "reg":
        keys = " ".join(low)
        if low[:1] == ["delete"] and re.search(r"hklm|hkey_local_machine|hkcr|hkey_classes_root", keys):
            ctx.block("windows_destructive", "reg delete removes machine-wide registry keys")
        elif low[:1] == ["add"] and _PERSIST_KEY.search(keys):
            ctx.block("persistence", "reg add installs an autostart entry")
        elif low[:1] == ["add"] and _DEFENDER.search(keys):
            ctx.block("security_disable", "reg add disables Windows Defender")
        elif low[:1] == ["save"] and re.search(r"\\(?:sam|system|security)\b", keys):
            ctx.block("credential_theft", "reg save dumps the SAM/SYSTEM hive (password hashes)")
    elif name in ("new-itemproperty", "set-itemproperty") and _PERSIST_KEY.search(" ".join(args)):
        ctx.block("persistence", f"{name} installs an autostart entry")
    elif name == "schtasks" and "/create" in low or name in ("register-scheduledtask", "new-service"):
        ctx.block("persistence", f"{name} installs a task or service that runs later")
    elif name == "sc" and low[:1] in (["create"], ["config"]):
        ctx.block("persistence", "sc creates or reconfigures a service")
    elif name == "sc" and low[:1] in (["stop"], ["delete"]) and any(x in ("windefend", "mpssvc", "wscsvc", "eventlog")
                                                                     for x in low):
        ctx.block("security_disable", "sc stops a security service")
    elif name == "taskkill" or name in ("stop-process", "kill", "spps"):
        names = [args[i + 1] for i, f in enumerate(low) if f in ("/im", "-name", "-processname") and i + 1 < len(args)]
        if any(_CRITICAL.match(n) for n in names) or "/fi" in low and "*" in " ".join(args):
            ctx.block("process_kill", f"{name} kills a critical Windows process")
        elif names:
            ctx.warn("process_kill", f"{name} kills every process named {', '.join(names)}")
    elif name in ("shutdown",) and fl & {"/s", "/r", "/p", "/h", "-s", "-r"} or name in ("stop-computer",
                                                                                        "restart-computer"):
        ctx.block("process_kill", f"{name} shuts down or restarts the machine")
    elif name == "start-process" and ("runas" in low or "-verb runas" in " ".join(low)):
        ctx.block("privilege_escalation", "Start-Process -Verb RunAs requests administrator rights")
    elif name == "runas":
        ctx.block("privilege_escalation", "runas runs a command as another (administrator) user")
    elif name == "net" and low[:1] in (["user"], ["localgroup"]) and "/add" in low:
        ctx.block("privilege_escalation", "net adds a user or group membership")
    elif name in ("icacls", "cacls") and _WORLD_GRANT.search(" ".join(low)) and any(
            t.strip("\"'").startswith(("%", "$env:", "~", "\\")) or _dangerous_path(t) or t[1:2] == ":" for t in targets):
        ctx.block("privilege_escalation", f"{name} gives every user write or full access outside the workspace")
    elif name in ("takeown", "icacls") and any(_dangerous_path(t) for t in targets):
        ctx.block("privilege_escalation", f"{name} changes ownership/ACLs of system files")
    elif name in ("set-mppreference", "add-mppreference") and _DEFENDER.search(" ".join(args)):
        ctx.block("security_disable", f"{name} disables Windows Defender protections")
    elif name == "netsh" and ("off" in low or "disable" in low) and ("firewall" in low or "advfirewall" in low):
        ctx.block("security_disable", "netsh turns the firewall off")
    elif name == "wevtutil" and low[:1] in (["cl"], ["clear-log"]) or name in ("clear-eventlog", "remove-eventlog"):
        ctx.block("history_tampering", f"{name} clears Windows event logs")
    elif name == "bitsadmin" and "/transfer" in low or name == "start-bitstransfer" and re.search(
            r"(?i)\.(?:exe|dll|ps1|bat|cmd|vbs|hta|scr)\b", " ".join(args)):
        ctx.block("download_exec", f"{name} downloads an executable in the background")
    elif name == "certutil" and any(x in ("-urlcache", "/urlcache", "-decode", "/decode", "-decodehex") for x in low):
        ctx.block("download_exec", "certutil downloads or decodes a payload")
    elif name == "mshta" and targets or name == "regsvr32" and any(x.startswith(("/i:http", "-i:http")) for x in low) \
            or name == "rundll32" and re.search(r"(?i)javascript:|url\.dll|shell32\.dll,shellexec", " ".join(args)):
        ctx.block("download_exec", f"{name} runs remote or script content (LOLBin)")
    elif name == "set-executionpolicy" and any(x in ("unrestricted", "bypass") for x in low):
        ctx.warn("security_disable", "Set-ExecutionPolicy lets unsigned scripts run")


def _recurse(text: str, ctx: Ctx, depth: int) -> None:
    if depth > 6:
        ctx.block("obfuscation", "Windows command nests too deeply to be checked")
        return
    analyze(text, ctx, depth + 1)


def analyze(text: str, ctx: Ctx, depth: int = 0) -> None:
    """Check ``text`` with Windows quoting and Windows rules."""
    if _PS_EXEC.search(text):
        if _PS_DOWNLOAD.search(text):
            ctx.block("download_exec", "PowerShell executes downloaded content (IEX + download)")
        elif _PS_DECODE.search(text):
            ctx.block("obfuscation", "PowerShell executes decoded content")
    try:
        script = parse(text, windows=True)
    except ParseError as exc:
        ctx.block("obfuscation", str(exc))
        return
    for rx, cat, why in _TEXT_RULES:
        if rx.search(text):
            ctx.block(cat, why)
    m = _SCRIPTBLOCK.search(text)
    if m:
        _recurse(m.group(1), ctx, depth)
    from teragent_shellguard import flows, rules

    for cmd in script.walk():
        if cmd.words:
            _check_cmd(cmd.words, ctx, depth)
            name = _name(cmd.words[0])
            words = [cmd.words[0]] + _effect_args(cmd.words[1:])
            ctx.effects[id(cmd)] = (name, words, rules.judge(name, words, ctx, None))
    flows.judge_list(script, ctx, ctx.effects)
