"""Layer 5: patterns visible only across a pipeline or a command list.

* a downloader anywhere upstream of a stage that executes its stdin (``curl | cat | sh``);
* a decoder upstream of such a stage (``base64 -d | sh``, ``xxd -r -p | bash``);
* a network tool and a shell in one pipeline (``sh -i | nc host port``);
* an environment dump piped to the network or filtered for secrets;
* ``find``/``ls`` of a dangerous root piped into ``xargs rm``;
* a substitution whose output is executed (``sh -c "$(curl ..)"``, ``. <(wget ..)``);
* a file downloaded earlier in the list, then executed (``wget -O f; chmod +x f; ./f``).
"""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from teragent_shellguard.handlers_files import find_targets, mass_delete
from teragent_shellguard.wrappers import WRAPPERS, peel

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx
    from teragent_shellguard.parser import Command, Script

__all__ = ["check"]

DOWNLOADERS = frozenset({"curl", "wget", "fetch", "aria2c", "http", "https", "xh", "lwp-request", "lwp-download",
                         "lynx", "w3m", "links", "invoke-webrequest", "iwr", "invoke-restmethod", "irm", "wget2",
                         "curlie", "tftp", "ftp", "certutil", "bitsadmin", "start-bitstransfer"})
_SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "yash"})
_INTERPS = frozenset({"python", "perl", "ruby", "node", "php", "lua", "bun", "deno", "tclsh", "osascript"})
_STDIN_EXEC_ALWAYS = frozenset({"invoke-expression", "at", "batch", "cmd"})
_NET = frozenset({"nc", "socat", "telnet", "openssl", "cryptcat", "ssh"})
_DECOMPRESS = frozenset({"gunzip", "zcat", "bzcat", "bunzip2", "xzcat", "unxz", "zstdcat", "unzstd", "lzcat",
                         "uudecode", "rev", "tr", "base32", "basenc"})
_SECRET_GREP = re.compile(r"(?i)key|token|secret|pass|cred|auth|aws|api")


def _name(word: str) -> str:
    from teragent_shellguard.engine import cmd_name

    return cmd_name(word)


def _argv(cmd: Command) -> list[str]:
    words = cmd.words
    for _ in range(8):
        if not words:
            return []
        name = _name(words[0])
        if name not in WRAPPERS:
            return [name, *words[1:]]
        inner, _text = peel(name, words)
        if inner is None:
            return [name]
        words = inner
    return []


def _stage_argvs(cmd: Command) -> list[list[str]]:
    if cmd.group is not None:
        return [a for c in cmd.group.walk() if (a := _argv(c))]
    a = _argv(cmd)
    return [a] if a else []


def _reads_stdin_script(argv: list[str]) -> bool:
    name, args = argv[0], argv[1:]
    if name in _STDIN_EXEC_ALWAYS:
        return True
    if name in ("source", "."):
        return bool(args) and args[0] in ("/dev/stdin", "-", "/proc/self/fd/0")
    if name == "powershell":
        return "-" in args or not args
    if name in _SHELLS:
        if any(a.startswith("-") and not a.startswith("--") and "c" in a[1:] for a in args):
            return False
        return all(a.startswith(("-", "+")) for a in args) or "-s" in args
    if name in _INTERPS:
        return all(a.startswith("-") and a not in ("-c", "-e", "-m", "-r", "-E", "-p") for a in args) or args == ["-"]
    return False


def _is_decoder(argv: list[str]) -> bool:
    name, args = argv[0], argv[1:]
    if name in ("base64", "base32", "basenc"):
        return any(a in ("-d", "--decode", "-D") or (a.startswith("-") and "d" in a[1:] and not a.startswith("--"))
                   for a in args)
    if name == "xxd":
        return any(a.startswith("-") and "r" in a for a in args)
    if name == "openssl":
        return "-d" in args or "-base64" in args or "base64" in args or "enc" in args
    if name in ("gzip", "bzip2", "xz", "zstd", "lz4", "brotli"):
        return any(a in ("-d", "--decompress", "-dc", "-cd") for a in args)
    if name in ("printf", "echo"):
        return any(re.search(r"\\(?:x[0-9a-fA-F]|[0-7]{3}|u[0-9a-fA-F]{4})", a) for a in args)
    if name in ("python", "perl", "ruby", "node"):
        return any(re.search(r"b64decode|decode_base64|base64|fromhex|unhexlify|atob|pack\(", a) for a in args)
    return name in _DECOMPRESS


def _is_downloader(argv: list[str]) -> bool:
    name = argv[0]
    if name in DOWNLOADERS:
        return True
    if name == "nc":
        return not any(a.startswith("-") and "l" in a for a in argv[1:])
    if name == "openssl":
        return "s_client" in argv
    return False


def _script_has(script: Script, pred: object) -> bool:
    return any((a := _argv(c)) and pred(a) for c in script.walk())  # type: ignore[operator]


def _check_pipeline(cmds: list[Command], ctx: Ctx) -> None:
    stages = [_stage_argvs(c) for c in cmds]
    seen_dl = seen_dec = seen_env = seen_find = False
    find_roots: tuple[list[str], bool] | None = None
    has_net = any(a[0] in _NET for st in stages for a in st)
    for i, st in enumerate(stages):
        for a in st:
            name = a[0]
            if _reads_stdin_script(a) and i > 0:
                if seen_dl:
                    ctx.block("download_exec", f"downloaded content is piped into '{name}' and executed")
                if seen_dec:
                    ctx.block("obfuscation", f"decoded/unpacked data is piped into '{name}' and executed")
            if has_net and (name in _SHELLS or name in _INTERPS) and not any(
                    not x.startswith("-") for x in a[1:]):  # first stage too: ``sh 0</tmp/fifo | nc host port``
                ctx.block("reverse_shell", f"a shell ('{name}') and a network tool share one pipeline")
            if has_net and name in _SHELLS and any(x.startswith("-") and "i" in x[1:] for x in a[1:]):
                ctx.block("reverse_shell", "an interactive shell is wired to a network tool")
            if seen_env and (name in _NET or (name in ("curl", "wget") and len(st) > 0 and i > 0)):
                ctx.block("credential_theft", "the environment (with its secrets) is sent over the network")
            if seen_env and name in ("grep", "rg", "egrep", "awk") and any(_SECRET_GREP.search(x) for x in a[1:]):
                ctx.block("credential_theft", "the environment is filtered for secrets")
            if name in ("rm", "shred", "unlink", "srm") and seen_find and find_roots is not None:
                # only reachable through ``xargs``/``parallel`` (peeled by _argv)
                why = mass_delete(*find_roots)
                if why:
                    ctx.block("destructive_delete", f"a file listing piped into '{name}' {why}")
        for a in st:
            name = a[0]
            if _is_downloader(a):
                seen_dl = True
            if _is_decoder(a):
                seen_dec = True
            if (name in ("env", "printenv") and len(a) == 1) or (name in ("set", "export", "declare") and (
                    len(a) == 1 or a[1:] in (["-p"], ["-x"]))) or any("/environ" in x for x in a[1:]):
                seen_env = True
            if name == "find":
                seen_find, find_roots = True, find_targets(a[1:])
            elif name in ("echo", "printf") and len(a) > 1:
                seen_find, find_roots = True, ([x for x in a[1:] if not x.startswith("-")], True)
            elif name == "ls" and len(a) > 1:
                listed = [x for x in a[1:] if not x.startswith("-")] or ["."]
                # ``ls *.log``: a name pattern narrows the listing as -name does for find
                seen_find, find_roots = True, (listed, all(set("*?[") & set(x.rsplit("/", 1)[-1]) and
                                                           x.rsplit("/", 1)[-1] not in ("*", ".*") for x in listed))


_EXEC_CTX = _SHELLS | _INTERPS | frozenset({"eval", "source", ".", "exec", "invoke-expression", "powershell", "xargs"})


def _check_substitutions(cmd: Command, ctx: Ctx) -> None:
    if not cmd.subs or not cmd.words:
        return
    name = _name(cmd.words[0])
    argv = _argv(cmd)
    stdin_exec = bool(argv) and _reads_stdin_script(argv)
    for kind, sub, idx in cmd.subs:
        if idx == -1 and stdin_exec:
            idx = 0
        if idx < 0 or not (idx == 0 or name in _EXEC_CTX or kind == "<("):
            continue
        if kind == "<(" and idx > 0 and name not in _EXEC_CTX:
            continue
        if _script_has(sub, _is_downloader):
            ctx.block("download_exec", f"the output of a download is executed via '{cmd.words[idx][:40]}'")
        if _script_has(sub, _is_decoder):
            ctx.block("obfuscation", f"decoded data is executed via '{cmd.words[idx][:40]}'")


def _norm(p: str) -> str:
    return posixpath.normpath(p.strip("'\""))


def _download_target(a: list[str]) -> str | None:
    name, args = a[0], a[1:]
    for i, x in enumerate(args):
        if x in ("-o", "--output", "-O", "--output-document", "-OutFile", "-outfile") and i + 1 < len(args):
            if name == "curl" and x == "-O":
                continue
            if args[i + 1] != "-":
                return _norm(args[i + 1])
        if x.startswith(("--output=", "--output-document=")):
            return _norm(x.split("=", 1)[1])
    urls = [x for x in args if "://" in x]
    if urls and (name == "wget" or (name == "curl" and ("-O" in args or "--remote-name" in args))):
        base = urls[0].split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
        return _norm(base) if base else None
    if name in ("certutil", "bitsadmin") and args:
        return _norm(args[-1])
    return None


def _check_list(script: Script, ctx: Ctx) -> None:
    downloaded: set[str] = set()
    for pipe in script.pipelines:
        for cmd in pipe.cmds:
            a = _argv(cmd)
            if not a:
                continue
            if _is_downloader(a):
                t = _download_target(a)
                for op, target in cmd.redirs:
                    if op in (">", ">>", ">|"):
                        t = _norm(target)
                if t:
                    downloaded.add(t)
                    downloaded.add(posixpath.basename(t))
                continue
            if not downloaded:
                continue
            run = _norm(cmd.words[0]) if cmd.words else ""
            targets = [run, posixpath.basename(run) if "/" in run and run.startswith("./") else run]
            if a[0] in _SHELLS | _INTERPS | {"source", ".", "exec", "start-process", "start", "invoke-item"}:
                targets += [_norm(x) for x in a[1:] if not x.startswith("-")][:1]
            if any(t in downloaded for t in targets if t):
                ctx.block("download_exec", f"a file downloaded earlier in the command ('{run}') is executed")
            elif a[0] == "chmod" and any(_norm(x) in downloaded for x in a[2:]) and "x" in a[1] + "".join(
                    c for c in a[1] if c in "1357"):
                ctx.warn("download_exec", "a downloaded file is made executable")


def check(script: Script, ctx: Ctx) -> None:
    """Run the layer-5 checks on one parsed script (nested scripts are checked on their own)."""
    pipes = script.pipelines
    for pipe in pipes:
        if len(pipe.cmds) > 1:
            _check_pipeline(pipe.cmds, ctx)
        for cmd in pipe.cmds:
            _check_substitutions(cmd, ctx)
    if len(pipes) > 1:
        _check_list(script, ctx)
