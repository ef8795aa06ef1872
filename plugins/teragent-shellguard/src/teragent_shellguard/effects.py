"""Effects: what one resolved command does, described from data tables.

:func:`describe` turns a resolved argv (wrappers already peeled) plus the command's
redirections into a list of :class:`Effect` -- files read, written, appended, deleted or
re-moded (each with its path class from :mod:`~teragent_shellguard.pathclass`), network
connections and the data they send, DNS lookups, and state changes named in
:data:`~teragent_shellguard.tables.ACTIONS`. A program absent from the tables still has
effects: every path-like argument is a *mention* (treated as a read), every URL a network
connection, every redirection a write or read. Judgement lives in
:mod:`~teragent_shellguard.rules`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from teragent_shellguard.pathclass import classify, is_pathlike
from teragent_shellguard.tables import ACTIONS, DB_CLIENTS, IO, Spec

if TYPE_CHECKING:
    from teragent_shellguard.parser import Command

__all__ = ["Effect", "describe", "URL", "METADATA_HOST", "code_effects"]


class Effect(NamedTuple):
    """One thing a command does. ``kind`` is ``read``, ``write``, ``append``, ``delete``,
    ``mode``, ``mention``, ``net``, ``send``, ``dns``, ``sql`` or an action name from the tables
    (``vcs.force_push``); ``target`` the path/host/text; ``cls`` the path class; ``word`` the
    words that caused it (for the reason)."""

    kind: str
    target: str
    cls: str
    word: str


URL = re.compile(r"(?i)\b(?:https?|ftps?|tftp|smb|scp|sftp|wss?|gopher|dict|ldap|file)://[^\s'\"]+")
METADATA_HOST = re.compile(r"(?i)(?:^|//|@)(?:169\.254\.169\.254|metadata\.google\.internal|metadata\.azure\.com|"
                           r"\[?fd00:ec2::254\]?|100\.100\.100\.200|169\.254\.170\.2)(?:[:/]|$)")
_RECURSIVE = frozenset({"-r", "-R", "--recursive", "-a", "--archive", "--delete", "-recurse"})


def _select(pos: list[str], how: str) -> list[str]:
    if not how or not pos:
        return []
    if how == "all":
        return pos
    if how == "first":
        return pos[:1]
    if how == "rest":
        return pos[1:]
    if how == "last":
        return pos[-1:] if len(pos) > 1 else []
    if how == "init":
        return pos[:-1]
    return []


def split(args: list[str], takes: frozenset[str]) -> tuple[set[str], dict[str, list[str]], list[str]]:
    """(flags, option values, positionals); ``-abc`` gives ``-a -b -c``; ``--k=v`` and ``k=v`` keys kept."""
    flags: set[str] = set()
    vals: dict[str, list[str]] = {}
    pos: list[str] = []
    i, n = 0, len(args)
    while i < n:
        a = args[i]
        if a == "--":
            pos.extend(args[i + 1:])
            break
        if a.startswith("--") and len(a) > 2:
            k, eq, v = a.partition("=")
            flags.add(k)
            if eq:
                vals.setdefault(k, []).append(v)
            elif k in takes and i + 1 < n:
                vals.setdefault(k, []).append(args[i + 1])
                i += 1
        elif a.startswith("-") and len(a) > 1 and not a[1:2].isdigit():
            if a in takes and i + 1 < n:
                flags.add(a)
                vals.setdefault(a, []).append(args[i + 1])
                i += 1
            elif a[:2] in takes and len(a) > 2:
                flags.add(a[:2])
                vals.setdefault(a[:2], []).append(a[2:])
            else:
                flags.update("-" + c for c in a[1:])
                last = "-" + a[-1]
                if last in takes and i + 1 < n and len(a) > 2:
                    vals.setdefault(last, []).append(args[i + 1])
                    i += 1
        elif "=" in a and a.split("=", 1)[0] + "=" in takes:
            k, _, v = a.partition("=")
            vals.setdefault(k + "=", []).append(v)
        else:
            pos.append(a)
        i += 1
    return flags, vals, pos


def _path_of(value: str) -> str:
    """``@file`` (curl), ``name=@file`` (curl -F), ``<file`` -> the path."""
    if "=@" in value or "=<" in value:
        value = re.split(r"=[@<]", value, 1)[1]
    value = value.lstrip("@<")
    return value.split(";", 1)[0]


def _remote(word: str) -> bool:
    """``host:path`` or ``user@host:path`` (scp/rsync remote)."""
    return bool(re.match(r"^(?:[\w.-]+@)?[\w.-]+:(?!//)", word)) and not word.startswith(("/", "./", "~")) and \
        not re.match(r"^[A-Za-z]:[\\/]", word)


def describe(name: str, words: list[str], cmd: Command | None) -> list[Effect]:
    """Effects of ``words`` (``words[0]`` resolves to ``name``) and of ``cmd``'s redirections."""
    out: list[Effect] = []
    args = words[1:]
    spec = IO.get(name)
    joined = " ".join(args)
    if spec is not None:
        _io(name, spec, args, out)
    else:
        for a in args:
            if is_pathlike(a) and not a.startswith("$"):
                for cand in (a, a.split("=", 1)[-1]) if "=" in a else (a,):
                    out.append(Effect("mention", cand, classify(cand), f"{name} {a}"))
    if name in _UPLOAD_PROGS:
        sub = tuple(a for a in args[:3] if not a.startswith("-"))
        for k in _UPLOADS:
            if (name, *sub[:len(k) - 1]) == k:  # ``gh gist create FILE``: the files are published
                for a in args[len(k) - 1:]:
                    if not a.startswith("-") and (is_pathlike(a) or "." in a):
                        out.append(Effect("send", a, classify(a), f"{' '.join(k)} {a}"))
    if spec is None or not spec.net:
        for m in URL.finditer(joined):
            out.append(Effect("net", m.group(0), "", f"{name} {m.group(0)}"))
    if cmd is not None and cmd.stdin_text and ("-" in args or "/dev/stdin" in args):
        joined += " " + " ".join(cmd.stdin_text.split())  # ``kubectl apply -f - <<EOF``: the input is the here-doc
    low = joined.lower()
    for rx, kind, what in _actions(name):
        if rx.search(low):
            out.append(Effect(kind, what, "", f"{name} {joined[:60]}".strip()))
    if name in DB_CLIENTS:
        for stmt in _sql(name, args, cmd):
            out.append(Effect("sql", stmt, "", f"{name} {joined[:80]}"))
    if cmd is not None:
        for op, target in cmd.redirs:
            if op in ("<<", "<<-", "<<<", "<&", ">&") and not target.startswith("/"):
                continue
            kind = "read" if op == "<" else "append" if op == ">>" else "write"
            out.append(Effect(kind, target, classify(target), f"{op} {target}"))
    return out


#: (program, subcommand...) whose positional file arguments are uploaded or published
_UPLOADS = (("gh", "gist", "create"), ("gh", "gist", "edit"), ("gh", "release", "upload"), ("croc", "send"),
            ("wormhole", "send"), ("ffsend", "upload"), ("gsutil", "cp"), ("pastebinit",), ("termbin",))
_UPLOAD_PROGS = frozenset(k[0] for k in _UPLOADS)

_ACT_CACHE: dict[str, list[tuple[re.Pattern[str], str, str]]] = {}


def _actions(name: str) -> list[tuple[re.Pattern[str], str, str]]:
    got = _ACT_CACHE.get(name)
    if got is None:
        got = [(re.compile(p), k, w) for p, k, w in ACTIONS.get(name, ())]
        _ACT_CACHE[name] = got
    return got


def _io(name: str, spec: Spec, args: list[str], out: list[Effect]) -> None:
    flags, vals, pos = split(args, spec.takes)
    inplace = name in ("sed", "perl") and any(f.startswith("-i") or f == "-i" for f in flags | {a for a in args if a.startswith("-i")})
    if name in ("grep", "egrep", "fgrep", "rg", "ag", "ack") and not ({"-e", "-f", "--regexp", "--file"} & flags):
        pos = pos[1:]
    if name == "sed":
        pos = pos if any(k in vals for k in ("-e", "--expression", "-f", "--file")) else pos[1:]
    recursive = bool(flags & _RECURSIVE) or name in ("rmdir",)
    for p in _select(pos, spec.reads):
        if not _remote(p) and p != "-":
            out.append(Effect("read", p, classify(p), f"{name} {p}"))
    writes = _select(pos, spec.writes)
    if inplace:
        writes = [p for p in pos if not p.startswith("-")]
    for k in spec.optw:
        writes.extend(vals.get(k, ()))
    for p in writes:
        if not _remote(p):
            out.append(Effect("append" if name == "tee" and "-a" in flags else "write", p, classify(p), f"{name} {p}"))
    for k in spec.optr:
        for p in vals.get(k, ()):
            out.append(Effect("read", p, classify(p), f"{name} {k} {p}"))
    for p in _select(pos, spec.deletes):
        out.append(Effect("delete" if not recursive else "delete_r", p, classify(p), f"{name} {p}"))
    for p in _select(pos, spec.modes):
        out.append(Effect("mode_r" if recursive else "mode", p, classify(p), f"{name} {p}"))
    if spec.net:
        targets = [a for a in pos if a != "-"]
        for t in targets[:2] if spec.net != "dns" else targets:
            out.append(Effect("dns" if spec.net == "dns" else "net", t, "", f"{name} {t}"))
        for k in spec.send:
            for v in vals.get(k, ()):
                if v.startswith("@") or "=@" in v or "=<" in v or k in ("-T", "--upload-file", "--post-file", "--body-file", "-infile"):
                    p = _path_of(v)
                    out.append(Effect("send", p, classify(p) if p != "-" else "stdin", f"{name} {k} {v}"))
                else:
                    out.append(Effect("send", v, "data", f"{name} {k} {v[:40]}"))
        if name in ("scp", "rsync", "rclone", "s3cmd") or any(_remote(p) for p in pos):
            if any(_remote(p) or "://" in p or re.match(r"^\w[\w-]*:", p) for p in pos[-1:]):
                for p in pos[:-1]:
                    out.append(Effect("send", p, classify(p), f"{name} {p}"))
    if name in ("scp", "rsync") and pos and any(_remote(p) for p in pos[:-1]) and len(pos) >= 2:
        out.append(Effect("download", pos[-1], classify(pos[-1]), f"{name} {pos[-1]}"))
    if name in ("curl", "wget", "fetch", "aria2c", "tftp", "wget2", "invoke-webrequest", "iwr", "invoke-restmethod", "irm",
                "start-bitstransfer"):
        for p in writes:
            out.append(Effect("download", p, classify(p), f"{name} {p}"))
        if name == "tftp" and "get" in args:
            i = args.index("get")
            if i + 1 < len(args):
                out.append(Effect("download", args[i + 1], "workspace", f"tftp get {args[i + 1]}"))
    if name == "tar":
        c = vals.get("-C", vals.get("--directory", []))
        extracting = "-x" in flags or "--extract" in flags or (args and args[0][:1] != "-" and "x" in args[0])
        if extracting and c:
            out.append(Effect("write_r", c[0], classify(c[0]), f"tar -C {c[0]}"))
        elif not extracting:
            base = c[0].rstrip("/") + "/" if c else ""
            for p in pos[1:] if args and args[0][:1] != "-" else pos:
                full = p if p.startswith(("/", "~", "$")) else base + p
                out.append(Effect("read", full, classify(full), f"tar {' '.join(['-C', c[0]] if c else [])} {p}".strip()))
    if name in ("unzip", "cpio", "7z"):
        for k in ("-d", "-D", "--directory"):
            for p in vals.get(k, ()):
                out.append(Effect("write_r", p, classify(p), f"{name} {k} {p}"))


_SQL_STMT = re.compile(r"(?is)\b(?:drop\s+(?:database|schema|table|keyspace|collection|index|view|user)\b[^;]*|"
                       r"truncate\b[^;]*|delete\s+from\s+[\w.\"`]+\s*(?:where\s+(?:1\s*=\s*1|1|true|'1'\s*=\s*'1')\s*)?(?:;|$)|update\s+[\w.\"`]+\s+set\b(?:(?!\bwhere\b)[^;])*(?:;|$)|"
                       r"db\.dropdatabase\(\)|db(?:\.\w+|\[[^\]]*\]|\.getcollection\([^)]*\))\.drop\(\)|\bflushall\b|\bflushdb\b|dropdatabase|"
                       r"\.(?:deletemany|remove)\(\s*\{\s*\}\s*\)|"  # a MongoDB filter that matches every document
                       # the server runs a program, or writes its files where it is told (redis CONFIG SET dir)
                       r"\bcopy\b[^;]*\b(?:to|from)\s+program\b[^;]*|\bconfig\s+set\s+(?:dir|dbfilename)\b\s*\S*|"
                       r"\bmodule\s+load\b\s*\S*)")


def _sql(name: str, args: list[str], cmd: Command | None) -> list[str]:
    texts: list[str] = []
    how = DB_CLIENTS[name]
    for i, a in enumerate(args):
        for opt in how:
            if opt.startswith("-") and (a == opt or a.startswith(opt + "=")) :
                texts.append(a.split("=", 1)[1] if "=" in a and a.startswith("--") else (args[i + 1] if i + 1 < len(args) else ""))
    pos = [a for a in args if not a.startswith("-")]
    if "@2" in how and len(pos) >= 2:
        texts.append(" ".join(pos[1:]))
    if "@*" in how:
        texts.append(" ".join(args))
    if "@dropdb" in how and pos:
        texts.append(f"drop database {pos[-1]}")
    if cmd is not None and cmd.stdin_text:
        texts.append(cmd.stdin_text)
    return [m.group(0).strip() for t in texts for m in _SQL_STMT.finditer(t)]


# -- inline code: string literals that are paths, and what the code does with them -------
_STR = re.compile(r"""(?:'([^'\n]{1,200})'|"([^"\n]{1,200})")""")
_CODE_WRITE = re.compile(r"""(?:open\s*\([^)]*,\s*['"][wax]|\.write(?:_text|_bytes)?\s*\(|writeFile|appendFile|"""
                         r"""File\.(?:write|open)|IO\.write|file_put_contents|\bprintf?\b[^;}]*>{1,2}\s*["']|\bsay\s+\w+\s|fopen\s*\([^)]*['"][wa]|open\s*\(\s*\w+\s*,\s*['"]?>)""")
_CODE_DELETE = re.compile(r"rmtree|rm_rf|rmSync|rmdirSync|unlinkSync|os\.remove|os\.unlink|unlink\s*\(|remove_tree|"
                          r"rm_r\b|FileUtils\.rm|Path\([^)]*\)\.unlink|shutil\.move")
_CODE_HOME = re.compile(r"expanduser\(\s*['\"]~['\"]\s*\)|Path\.home\(\)|\.homedir\(\)|Dir\.home|\$ENV\{HOME\}|os\.UserHomeDir|"
                        r"process\.env\.HOME|getenv\(\s*['\"]HOME['\"]\s*\)|environ\[['\"]HOME['\"]\]")
_CODE_EVAL = re.compile(r"\b(?:eval|exec|instance_eval|Function|compile|loadstring)\b|\beval\)")
_CODE_FETCH = re.compile(r"(?<![.\w])get\s*\(|\bfetch\s*\(|URI\.open|\burlopen\b|requests\.get|LWP|open-uri|"
                         r"https?\.get|https?['\"]\s*\)\s*\.\s*(?:get|request)\b|Net::HTTP|file_get_contents\s*\(\s*['\"]https?:|socket\.http")
_CODE_HUGE = re.compile(r"\*\s*10\s*\*\*\s*(?:1[0-9]|[2-9]\d)|\*\s*\d{10,}|range\s*\(\s*10\s*\*\*\s*1[2-9]")
_CODE_NET = re.compile(r"requests\.(?:post|put)|urlopen\([^)]*data=|\.post\(|fetch\([^)]*method\s*:\s*['\"]POST|"
                       r"http\.request|Net::HTTP\.post|HTTP::Tiny->new->post|curl_exec")


# the whole environment (not one variable of it) and an endless loop that only grows memory
_CODE_WHOLE_ENV = re.compile(r"os\.environ(?!\s*[\[.(])|environ\.(?:items|copy)\(\)|process\.env(?!\s*[.\[])|%ENV\b(?!\{)|"
                             r"ENV\.(?:to_h|to_a|each)\b|getenv\(\s*\)|\$_ENV\b(?!\[)")
_CODE_ENDLESS_GROWTH = re.compile(r"(?:while\s*\(?\s*(?:True|true|1)\s*\)?\s*[:{]?|for\s*\(\s*;\s*;\s*\)|\bloop\s*(?:do|\{))"
                                  r"[^\n]{0,60}?(?:\.append\(|\.push\(|\.extend\(|\+=|<<\s)", re.S)


def code_effects(lang: str, code: str) -> list[Effect]:
    """Effects named by inline interpreter code: paths written, deleted, read, sent."""
    out: list[Effect] = []
    lits = [a or b for a, b in _STR.findall(code)]
    paths = [s for s in lits if is_pathlike(s) and " " not in s.strip()]
    if _CODE_HOME.search(code):
        paths.append("~")
        # ``Path.home() / '.bashrc'``, ``homedir() + '/.zshrc'``: literals joined to home
        paths.extend("~/" + s.strip().lstrip("/") for s in lits if re.match(r"^/?\.[\w.-]+(?:/[\w.-]+)*$", s.strip()))
    write = bool(_CODE_WRITE.search(code))
    delete = bool(_CODE_DELETE.search(code))
    send = bool(_CODE_NET.search(code))
    for p in paths:
        cls = classify(p)
        if delete:
            out.append(Effect("delete_r", p, cls, f"{lang} code deleting '{p}'"))
        elif write:
            out.append(Effect("write", p, cls, f"{lang} code writing '{p}'"))
        else:
            out.append(Effect("read", p, cls, f"{lang} code reading '{p}'"))
        if send:
            out.append(Effect("send", p, cls, f"{lang} code sending '{p}'"))
    if _CODE_EVAL.search(code) and _CODE_FETCH.search(code):
        out.append(Effect("exec.download", "runs downloaded code", "", f"{lang} code evaluating a download"))
    if _CODE_HUGE.search(code):
        out.append(Effect("resource.fill", "allocates an enormous amount of memory", "", f"{lang} code"))
    if send and re.search(r"environ|process\.env|ENV\b", code) or _CODE_WHOLE_ENV.search(code) and (
            _CODE_FETCH.search(code) or URL.search(code)):
        out.append(Effect("send", "environment", "environment", f"{lang} code sending the environment"))
    if _CODE_ENDLESS_GROWTH.search(code) and not re.search(r"\b(?:break|sleep|return|exit)\b|\blen\(", code):
        out.append(Effect("resource.fill", "grows a collection in an endless loop (exhausts memory)", "", f"{lang} code"))
    return out
