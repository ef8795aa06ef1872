"""Handlers for file and disk operations: deletion, permissions, raw writes, archives.

Part of layer 3 (see :mod:`~teragent_shellguard.handlers`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from teragent_shellguard.args import Handler, Registry, split_args
from teragent_shellguard.pathclass import TEMP, WORKSPACE, classify
from teragent_shellguard.paths import (
    HOME, canon, credential_path, delete_danger, is_block_device, write_danger,
)

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx
    from teragent_shellguard.parser import Command

__all__ = ["HANDLERS"]


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
    in_action = False
    for a in args[i:]:
        if in_action:  # the words of an -exec command are not predicates (``-exec rm -rf {} +``)
            in_action = a not in (";", "\\;", "+")
        elif a in _FIND_ACTIONS:
            in_action = True
        elif a.startswith("-") and a not in _FIND_NEUTRAL and a != "-delete":
            narrowed = True
    return roots or ["."], narrowed


def mass_delete(roots: list[str], narrowed: bool) -> str | None:
    for r in roots:
        if narrowed and classify(r) == TEMP:
            continue  # only matching entries below a temp directory go, never the directory itself
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
            if args[i + 1:i + 2] == ["{}"]:
                ctx.block("inline_exec", f"find {args[i]} {{}} runs every file it finds as a program")
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
    if not devs and name.startswith(("mkfs", "mke2fs", "mkswap", "wipefs")) and not any("$" in a for a in args):
        files = [a for a in args if not a.startswith("-") and "." in a.rsplit("/", 1)[-1]]
        if files and all(classify(f) in (WORKSPACE, TEMP) for f in files):
            return  # an image file in the workspace or temp (mkfs.ext4 -F disk.img), not a device
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


HANDLERS: dict[str, Handler] = {}
_reg = Registry(HANDLERS)
_reg("rm unlink rmdir srm", _rm)
_reg("shred wipe", _shred)
_reg("find", _find)
_reg("chmod chown chgrp chattr setfacl", _chmod)
_reg("dd", _dd)
_reg("mkfs mke2fs mkswap wipefs fdisk sfdisk cfdisk parted gdisk sgdisk blkdiscard badblocks hdparm flashrom "
     "cryptsetup", _disk)
_reg("mv", _mv)
_reg("tar", _tar)
_reg("zip", _zip)
