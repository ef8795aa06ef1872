"""Layer 3: per-command rules of the blacklist, keyed by canonical command name.

Each handler receives the resolved argv (wrappers already removed), the :class:`Ctx`
and the parsed command (for here-doc bodies and substitutions). Handlers describe
*kinds* of danger -- a recursive delete of a system or home path, a setuid bit, a
firewall flush -- never particular command lines.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from teragent_shellguard import handlers_deploy, handlers_files, handlers_remote, handlers_system
from teragent_shellguard.args import Handler, Registry, split_args
from teragent_shellguard.handlers_files import find_targets, mass_delete
from teragent_shellguard.handlers_system import check_assignment
from teragent_shellguard.inline import INLINE_FLAGS
from teragent_shellguard.paths import credential_path, write_danger

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx
    from teragent_shellguard.parser import Command

__all__ = ["HANDLERS", "KNOWN_NAMES", "lookup", "shell", "interpreter", "generic", "check_assignment",
           "find_targets", "mass_delete", "split_args"]


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
                script = args[i + 1]
                for n, value in enumerate(args[i + 2:i + 11]):  # ``sh -c 'rm -rf "$1"' _ /``: $0, $1... are argv
                    script = re.sub(r'"?\$(?:\{%d\}|%d(?!\d))"?' % (n, n), lambda _m, v=value: v, script)
                ctx.check_text(script, f"{words[0]} -c")
            return
        if not a.startswith(("-", "+")):
            if a in ("/dev/stdin", "/proc/self/fd/0", "/dev/fd/0") and cmd is not None and cmd.stdin_text:
                break  # the script is the here-doc
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
        elif not a.startswith("--") and a[:2] in flags and len(a) > 2:
            code = a[2:]  # code glued to its flag: ``ruby -e'...'`` arrives as ``-e...``
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


HANDLERS: dict[str, Handler] = {**handlers_files.HANDLERS, **handlers_system.HANDLERS, **handlers_remote.HANDLERS,
                                **handlers_deploy.HANDLERS}
_reg = Registry(HANDLERS)
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
