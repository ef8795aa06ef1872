"""The analysis walk: layers 3 and 4 per command, layer 5 per script, with recursion.

:class:`Ctx` collects findings while :func:`analyze_script` walks a parsed script. Every
simple command is first *resolved*: variables assigned earlier in the same script are
substituted, brace expansion and globbed command names are expanded, and wrappers
(``env``, ``sudo``, ``timeout``, ``xargs``, ``busybox``, ``strace``, ``/usr/bin/...``)
are peeled off until the real command word is reached. Code strings handed to shells
(``sh -c``, ``eval``, ``su -c``, ``find -exec sh -c``, ``watch``, ``ssh host CMD``) are
parsed and analysed recursively up to :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable

from teragent_shellguard import chains, flows, handlers, install, rules, unknown
from teragent_shellguard.effects import Effect, code_effects
from teragent_shellguard.inline import INLINE_FLAGS, literal_argvs, scan_code, shell_strings
from teragent_shellguard.parser import Command, ParseError, Script, parse
from teragent_shellguard.paths import credential_path, login_secret, write_danger
from teragent_shellguard.wrappers import PRIVILEGED, WRAPPERS, peel

__all__ = ["Ctx", "BLOCK", "WARN", "analyze_script", "cmd_name", "resolve"]

BLOCK, WARN = 2, 1
MAX_DEPTH = 8

_VERSIONED = re.compile(r"^(python|pypy|pip|perl|ruby|php|lua|node|tclsh|rscript|idle)[\d.]*[mw]?$")
_ALIASES = {
    "nodejs": "node", "gawk": "awk", "mawk": "awk", "nawk": "awk", "busybox-awk": "awk",
    "pypy": "python", "luajit": "lua", "ncat": "nc", "netcat": "nc", "nc.traditional": "nc",
    "nc.openbsd": "nc", "pip": "pip", "rbash": "bash", "pwsh": "powershell",
    "powershell_ise": "powershell", "iex": "invoke-expression", "mkfs": "mkfs",
}
_VAR = re.compile(r"\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))")
_BRACE = re.compile(r"^\{([^{}]*,[^{}]*)\}$")
SHELLS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh",
                    "yash", "posh", "oksh", "loksh", "busybox-sh"})
_DYNAMIC_OK = re.compile(r"^\$\{?(?:EDITOR|VISUAL|PAGER|SHELL|PYTHON|CC|CXX|MAKE|GIT|NPM|PIP|BROWSER|[A-Z_]*_?(?:BIN|CMD|EXE|PATH))\}?$")
_GLOB_CHARS = frozenset("*?[")


class Ctx:
    """Findings and state for one check."""

    __slots__ = ("findings", "depth", "vars", "windows", "seen", "protected", "workspace", "effects", "cwd", "links")

    def __init__(self, windows: bool = False, protected: tuple[str, ...] = (), workspace: str | None = None) -> None:
        self.findings: list[tuple[int, str, str]] = []
        self.depth = 0
        self.vars: dict[str, str] = {}
        self.windows = windows
        self.seen = 0
        self.protected = protected
        self.workspace = workspace
        # id(Command) -> (name, argv, effects), for the pipeline and list rules
        self.effects: dict[int, tuple[str, list[str], list[Effect]]] = {}
        # ``cd DIR`` earlier in the line (None: the workspace) and ``ln -s TARGET LINK`` links made in it
        self.cwd: str | None = None
        self.links: dict[str, str] = {}

    def block(self, category: str, reason: str) -> None:
        self.findings.append((BLOCK, category, reason))

    def warn(self, category: str, reason: str) -> None:
        self.findings.append((WARN, category, reason))

    def blocked(self) -> bool:
        return any(f[0] == BLOCK for f in self.findings)

    def check_text(self, text: str, what: str = "nested command") -> None:
        """Parse ``text`` as a shell script and analyse it one level deeper."""
        if not text or not text.strip():
            return
        if self.depth >= MAX_DEPTH:
            self.block("obfuscation", f"{what} nests shells more than {MAX_DEPTH} levels deep")
            return
        try:
            script = parse(text, windows=False)
        except ParseError as exc:
            self.block("obfuscation", str(exc))
            return
        self.depth += 1
        try:
            analyze_script(script, self)
        finally:
            self.depth -= 1

    def check_words(self, words: list[str], cmd: Command | None = None) -> None:
        """Analyse an argument vector (e.g. ``find -exec`` or ``xargs`` payloads)."""
        if self.depth >= MAX_DEPTH:
            self.block("obfuscation", f"command nests more than {MAX_DEPTH} levels deep")
            return
        self.depth += 1
        try:
            analyze_words(words, self, cmd)
        finally:
            self.depth -= 1

    def check_code(self, lang: str, code: str) -> None:
        for category, reason in scan_code(code):
            self.block(category, f"{lang}: {reason}")
        for e in code_effects(lang, code):
            rules._one(e, lang, False, self)
        for s in shell_strings(code):
            self.check_text(s, f"{lang} shell string")
        for argv in literal_argvs(code) or ():
            self.check_words(argv)


def cmd_name(word: str, windows: bool = False) -> str:
    """The command's canonical name: basename, lower case, no ``.exe``, no version."""
    if "/" in word:
        word = word.rstrip("/").rsplit("/", 1)[-1]
    if windows and "\\" in word:
        word = word.rsplit("\\", 1)[-1]
    name = word.lower()
    if name.endswith((".exe", ".com")):
        name = name[:-4]
    m = _VERSIONED.match(name)
    if m:
        name = m.group(1)
    return _ALIASES.get(name, name)


def _expand(word: str, vars_: dict[str, str]) -> str:
    if "$" not in word or not vars_:
        return word
    return _VAR.sub(lambda m: vars_.get(m.group(1) or m.group(2), m.group(0)), word)


def _eval_literal_sub(script: Script) -> str | None:
    """Output of ``$(printf '\\x72m')``, ``$(echo rm)`` or ``$(which rm)``, when static."""
    if len(script.pipelines) != 1 or len(script.pipelines[0].cmds) != 1:
        return None
    words = script.pipelines[0].cmds[0].words
    if not words:
        return None
    name = cmd_name(words[0])
    args = [w for w in words[1:] if not (w.startswith("-") and len(w) <= 3)]
    if name in ("which", "type", "command", "whereis") and args:
        return args[-1]
    if name in ("echo", "printf") and args and not any("$" in a for a in args):
        from teragent_shellguard.parser import decode_ansi_c

        fmt = args[0]
        text = decode_ansi_c(fmt)
        if name == "printf" and "%s" in text:
            text = text.replace("%s", "".join(args[1:]), 1)
        elif name == "echo":
            text = decode_ansi_c(" ".join(args))
        return text.strip()
    return None


_IFS = re.compile(r"\$\{IFS(?:%?\?\?)?\}|\$IFS\b")
_SLICE = re.compile(r"\$\{([A-Za-z_]\w*):(\d+)(?::(\d+))?\}")
#: variables whose value is an absolute path whatever the machine: their first character is '/'
_ABSOLUTE = frozenset({"PWD", "HOME", "OLDPWD", "SHELL"})


def _slice(m: re.Match[str], vars_: dict[str, str]) -> str:
    """``${NAME:OFF:LEN}`` of a variable set earlier in the line, or the leading '/' of a path variable."""
    name, off = m.group(1), int(m.group(2))
    end = off + int(m.group(3)) if m.group(3) is not None else None
    if name in vars_:
        return vars_[name][off:end]
    if name in _ABSOLUTE and off == 0 and end == 1:
        return "/"
    return m.group(0)


def resolve(words: list[str], ctx: Ctx, cmd: Command | None) -> list[str]:
    """Apply variable substitution, brace expansion and static substitutions to argv."""
    if ctx.vars:
        first = _expand(words[0], ctx.vars)
        split0 = "$" in words[0] and not (cmd is not None and cmd.quoted0) and len(first.split()) > 1
        words = [first, *(_expand(w, ctx.vars) for w in words[1:])]
        if split0:
            words = [*first.split(), *words[1:]]  # an unquoted ``$c`` holding 'rm -rf' is split into words
    if any("${" in w for w in words):
        words = [_SLICE.sub(lambda m: _slice(m, ctx.vars), w) if "${" in w else w for w in words]
    if any("IFS" in w for w in words):
        words = [p for w in words for p in _IFS.sub(" ", w).split()]
    while len(words) > 1 and words[0].startswith("-") and len(words[0]) > 1:
        words = words[1:]  # a reserved word (``time -p``) was dropped by the parser; its options remain
    if len(words) > 1 and words[-1] == "" and words[0].startswith("{"):
        words = words[:-1]
    w0 = words[0]
    m = _BRACE.match(w0)
    if m:
        words = [w for w in m.group(1).split(",") if w] + words[1:]
    elif cmd is not None and ("$(" in w0 or "`" in w0):
        for kind, sub, idx in cmd.subs:
            if idx == 0:
                value = _eval_literal_sub(sub)
                if value:  # ``"$(echo r)m"``: the output replaces the substitution inside the word
                    w0 = _SUB_SPAN.sub(lambda _m: value, w0, count=1)
                    words = _ifs_split(w0, ctx) + words[1:]
                break
    return words


_SUB_SPAN = re.compile(r"\$\((?:[^()]|\([^()]*\))*\)|`[^`]*`")


def _ifs_split(text: str, ctx: Ctx) -> list[str]:
    """Field splitting of unquoted substitution output, with an ``IFS`` set earlier in the line."""
    seps = ctx.vars.get("IFS")
    if seps:
        text = re.sub("[" + re.escape(seps) + "]", " ", text)
    return text.split() or [text]


def analyze_words(words: list[str], ctx: Ctx, cmd: Command | None = None) -> None:
    """Layer 3: peel wrappers, then run the command's rules and the generic checks."""
    if not words:
        return
    words = resolve(words, ctx, cmd)
    for _ in range(16):
        if not words:
            return
        w0 = words[0]
        name = cmd_name(w0, ctx.windows)
        if _GLOB_CHARS.intersection(name) and any(c.isalnum() for c in name):
            matches = [c for c in handlers.KNOWN_NAMES if fnmatch.fnmatchcase(c, name)]
            if len(matches) == 1:
                words = [matches[0], *words[1:]]
                ctx.warn("obfuscation", f"globbed command name '{w0}' resolves to '{matches[0]}'")
                continue
            if matches:
                for cand in matches[:8]:
                    ctx.check_words([cand, *words[1:]])
                if ctx.blocked():
                    ctx.block("obfuscation", f"globbed command name '{w0}' can resolve to a dangerous command")
                if cmd is not None:
                    ctx.effects[id(cmd)] = (matches[0], [matches[0], *words[1:]], [])
                return
        if "$" in w0 or "`" in w0:
            if not _DYNAMIC_OK.match(w0):
                ctx.warn("obfuscation", f"command name '{w0}' is computed at run time and cannot be checked")
            return
        if name in WRAPPERS:
            if name in PRIVILEGED and words[1:] in (["-k"], ["-K"], ["-v"], ["-V"], ["--version"], ["-h"], ["--help"]):
                return
            if name in PRIVILEGED:
                ctx.block("privilege_escalation", f"'{name}' runs a command with elevated privileges")
            elif name == "nsenter" and any(w in ("-t", "--target") for w in words) and \
                    words[words.index("-t" if "-t" in words else "--target") + 1:][:1] == ["1"]:
                ctx.block("privilege_escalation", "nsenter enters the namespaces of the host's init process")
            rules.actions_only(name, words, ctx)
            inner, text = peel(name, words)
            if text:
                ctx.check_text(text, f"{name} payload")
            if inner is None:
                return
            if name in ("xargs", "parallel") and cmd is not None and cmd.stdin_text and not any(
                    w in ("-I", "-i", "--replace") or w.startswith(("-I", "--replace=")) for w in words[1:]):
                inner = [*inner, *cmd.stdin_text.replace("\0", " ").split()]  # ``xargs rm <<< "$HOME"``: the input is argv
            words = inner
            continue
        if DECODED in w0:
            ctx.block("obfuscation", f"runs a command name decoded at run time: '{w0}'")
            return
        seen = len(ctx.findings)
        if name in SHELLS:
            handlers.shell(words, ctx, cmd)
        elif name in INLINE_FLAGS:
            handlers.interpreter(name, words, ctx, cmd)
        else:
            handler = handlers.lookup(name)
            if handler is not None:
                handler(words, ctx, cmd)
        handlers.generic(name, words, ctx)
        install.check(name, words, ctx)
        effects = rules.judge(name, words, ctx, cmd)
        flows.secret_search(name, words, ctx)
        if len(ctx.findings) == seen:  # nothing in the tables spoke: read the words as CLIs spell actions
            unknown.judge(name, words, ctx)
        if cmd is not None:
            ctx.effects[id(cmd)] = (name, words, effects)
        return
    ctx.block("obfuscation", "too many nested command wrappers")


def _check_redirects(cmd: Command, ctx: Ctx) -> None:
    """Layer 4: redirect targets of one command."""
    for op, target in cmd.redirs:
        if op in ("<<", "<<-", "<<<", "<&", ">&") and not target.startswith("/"):
            continue
        if ctx.vars:
            target = _expand(target, ctx.vars)
        if "/dev/tcp/" in target or "/dev/udp/" in target:
            ctx.block("reverse_shell", f"redirects a stream to the network via '{target}'")
        elif op == "<":
            if credential_path(target) and not login_secret(target, cmd.words):
                ctx.block("credential_theft", f"feeds the credential file '{target}' to a command")
        else:
            hit = write_danger(target)
            if hit:
                ctx.block(hit[0], f"redirect '{op} {target}' {hit[1]}")


#: the value of a variable assigned the output of a decoder: hidden text
DECODED = "\x00decoded"


def _decodes(sub: Script) -> bool:
    return any((a := chains._argv(c)) and chains._is_decoder(a) for c in sub.walk())


def _assignments(assigns: Iterable[str], ctx: Ctx, standalone: bool, cmd: Command | None = None) -> None:
    for a in assigns:
        name, _, value = a.partition("=")
        name = name.rstrip("+")
        handlers.check_assignment(name, value, ctx)
        if standalone:
            if cmd is not None and _SUB_SPAN.fullmatch(value):  # ``x=$(printf 'r%s' m)``: a static output is known
                static = next((_eval_literal_sub(sub) for _, sub, idx in cmd.subs if idx < 0), None)
                if static:
                    value = static
                elif any(_decodes(sub) for _, sub, idx in cmd.subs if idx < 0):
                    ctx.vars[name] = DECODED  # ``p=$(echo .. | base64 -d)``: known to be hidden text
                    continue
            ctx.vars[name] = _expand(value, ctx.vars)


_ASSIGN_WORD = re.compile(r"^[A-Za-z_]\w*\+?=")


_REL_WORD = re.compile(r"^[\w.*?\[{-][\w.*?\[\]{},/ +-]*$")


def _rebase(word: str, ctx: Ctx) -> str:
    """A relative path as seen from the directory a ``cd`` moved to, or through a link made earlier."""
    if "=@" in word or word.startswith("@"):  # ``f=@credentials``, ``@file``
        head, at, tail = word.rpartition("@")
        return head + at + _rebase(tail, ctx)
    if word.startswith("-") or "://" in word or "=" in word or not word:
        return word
    for link, target in ctx.links.items():
        if word == link or word.startswith(link + "/"):
            return target.rstrip("/") + "/" + word[len(link):].lstrip("/") if word != link else target
    if ctx.cwd is None or word.startswith(("/", "~", "$", "%")) or not _REL_WORD.match(word):
        return word
    if word in (".", "./"):
        return ctx.cwd
    return ctx.cwd.rstrip("/") + "/" + word.removeprefix("./")


def _moves(cmd: Command, ctx: Ctx) -> None:
    """Track ``cd``/``pushd`` and ``ln -s`` so later relative paths are judged where they point."""
    words = cmd.words
    name = cmd_name(words[0]) if words else ""
    if name in ("cd", "pushd", "chdir", "set-location", "sl"):
        args = [w for w in words[1:] if not w.startswith("-") or w == "-"]
        dest = _expand(args[0], ctx.vars) if args else "~"
        if dest == "-" or "$" in dest.replace("$HOME", "").replace("${HOME}", "") or "`" in dest:
            ctx.cwd = None  # unknown: back to trusting relative paths
        elif dest.startswith(("/", "~", "$HOME", "${HOME}")) or ctx.cwd is None:
            ctx.cwd = dest
        else:
            ctx.cwd = ctx.cwd.rstrip("/") + "/" + dest
    elif name == "ln" and any(w.startswith("-") and "s" in w.lstrip("-")[:4] for w in words[1:]):
        pos = [w for w in words[1:] if not w.startswith("-")]
        if len(pos) == 2:
            ctx.links[pos[1].rstrip("/")] = pos[0]


def analyze_command(cmd: Command, ctx: Ctx) -> None:
    ctx.seen += 1
    if (ctx.cwd is not None or ctx.links) and cmd.words:
        cmd.words = [cmd.words[0], *(_rebase(w, ctx) for w in cmd.words[1:])]
        if ctx.cwd is not None and cmd_name(cmd.words[0]) in ("ls", "find") and not any(
                not w.startswith("-") for w in cmd.words[1:2]):  # ``cd ~ && ls | xargs rm``: lists the cwd
            cmd.words = [cmd.words[0], ctx.cwd, *cmd.words[1:]]
        cmd.redirs = [(op, _rebase(t, ctx) if op not in ("<<", "<<-", "<<<", "<&", ">&") else t) for op, t in cmd.redirs]
    if cmd.words and _ASSIGN_WORD.match(cmd.words[0]):
        # ``x='a b'`` reaches here as a word when its value was quoted
        n = 0
        while n < len(cmd.words) and _ASSIGN_WORD.match(cmd.words[n]):
            n += 1
        cmd.assigns = [*cmd.assigns, *cmd.words[:n]]
        cmd.words = cmd.words[n:]
    if cmd.assigns:
        _assignments(cmd.assigns, ctx, standalone=not cmd.words, cmd=cmd)
    if cmd.group is not None:
        cwd, links = ctx.cwd, dict(ctx.links)
        analyze_script(cmd.group, ctx)
        ctx.cwd, ctx.links = cwd, links  # ``(cd x && ...)``: a subshell's cd ends with it
    for _, sub, _ in cmd.subs:
        analyze_script(sub, ctx)
    if cmd.redirs:
        _check_redirects(cmd, ctx)
    if cmd.words:
        analyze_words(cmd.words, ctx, cmd)
        _moves(cmd, ctx)
        if cmd.subs and id(cmd) in ctx.effects:
            flows.judge_substitutions(cmd, ctx)
            _sourced_text(cmd, ctx)


def _sourced_text(cmd: Command, ctx: Ctx) -> None:
    """``source <(echo 'x')``, ``bash <(cat <<EOF ...)``: text fixed in the command, run as a script."""
    name = ctx.effects[id(cmd)][0]
    if name not in SHELLS and name not in ("source", "."):
        return
    for kind, sub, idx in cmd.subs:
        if kind == "<(" and idx >= 1 and len(sub.pipelines) == 1 and len(sub.pipelines[0].cmds) == 1:
            inner = sub.pipelines[0].cmds[0]
            text = flows._static_text(inner, ctx.effects.get(id(inner)))
            if text is not None:
                ctx.check_text(text, f"{name} of a process substitution")


def analyze_script(script: Script, ctx: Ctx) -> None:
    """Analyse every command of ``script`` (layers 3-4), then its chains (layer 5)."""
    for pipe in script.pipelines:
        for cmd in pipe.cmds:
            analyze_command(cmd, ctx)
        if len(pipe.cmds) > 1:
            flows.judge_pipeline(pipe, ctx)
    chains.check(script, ctx)
    flows.judge_list(script, ctx, ctx.effects)
