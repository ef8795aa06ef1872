"""Layer 2: a small shell tokenizer and parser.

It turns a command line into a :class:`Script`: a list of :class:`Pipeline` objects joined
by ``&&``, ``||``, ``;``, ``&`` or newlines, each a list of :class:`Command` objects. It
understands what matters for safety, not the whole shell grammar:

* single, double and ANSI-C (``$'\\x72m'``) quotes, backslash escapes and line
  continuations, so ``r""m``, ``\\rm``, ``r\\m`` and ``'rm'`` all read as ``rm``;
* command substitution ``$( )`` and backticks, process substitution ``<( )``/``>( )``,
  subshells ``( )`` and groups ``{ }`` -- each parsed recursively, never skipped;
* redirections with optional fd (``2>``, ``&>``, ``5<>``), here-strings and here-docs
  (the body is kept as data on the command that reads it);
* reserved words (``if``, ``then``, ``do``, ...) are dropped so the command after them is
  seen in command position; ``name() { ...; }`` function definitions are tolerated.

Anything malformed (an unterminated quote, a missing ``)``) is parsed leniently to the end
of the input rather than rejected: the checker must see every word an attacker wrote.

``windows=True`` switches to cmd/PowerShell rules: backslashes are path separators, ``^``
and the backtick escape the next character, and ``$( )`` is a PowerShell subexpression.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["Command", "Pipeline", "Script", "ParseError", "parse", "decode_ansi_c"]

MAX_NESTING = 40

_PLAIN = re.compile(r"[^\s'\"\\$`|&;()<>]+")
_PLAIN_WIN = re.compile(r"[^\s'\"$`|&;<>^)]+")
_REDIR = re.compile(r"(\d+|&)?(>>|>\||>&|>|<<<|<<-|<<|<>|<&|<)")
_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
_ANSI_C_ESC = re.compile(r"\\(x[0-9a-fA-F]{1,2}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|[0-7]{1,3}|c.|.)", re.S)
_SIMPLE_ESC = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "e": "\x1b",
               "E": "\x1b", "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}
_RESERVED = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until",
                       "!", "{", "}", "time", "esac", "coproc"})
_BLANK = " \t"


class ParseError(ValueError):
    """The input nests deeper than :data:`MAX_NESTING`; treated as an obfuscation attempt."""


class Command:
    """One simple command (or a ``( )``/``{ }`` group when :attr:`group` is set).

    Attributes:
        words: Command words after quote removal; expansions (``$HOME``, ``$(..)``) are
            kept as written.
        assigns: Leading ``NAME=value`` words.
        redirs: ``(operator, target)`` pairs, e.g. ``(">>", "/etc/hosts")``; ``op`` keeps
            ``&`` for ``&>`` but drops a numeric fd.
        subs: ``(kind, script, word_index)`` for each substitution; kind is ``"$("``,
            ``"`"``, ``"<("`` or ``">("``; ``word_index`` is -1 for a redirect target.
        stdin_text: Here-doc body or here-string fed to the command, if any.
        group: The parsed body of a subshell or brace group.
    """

    __slots__ = ("words", "assigns", "redirs", "subs", "stdin_text", "group", "quoted0")

    def __init__(self) -> None:
        self.words: list[str] = []
        self.assigns: list[str] = []
        self.redirs: list[tuple[str, str]] = []
        self.subs: list[tuple[str, Script, int]] = []
        self.stdin_text: str | None = None
        self.group: Script | None = None
        self.quoted0 = False

    def __repr__(self) -> str:
        if self.group is not None:
            return f"Group({self.group!r})"
        return f"Command({self.words!r}, redirs={self.redirs!r})"


class Pipeline:
    """Commands joined by ``|``; :attr:`op` is the list operator that follows it."""

    __slots__ = ("cmds", "op")

    def __init__(self) -> None:
        self.cmds: list[Command] = []
        self.op = ""

    def __repr__(self) -> str:
        return f"Pipeline({self.cmds!r}, op={self.op!r})"


class Script:
    """A parsed command list."""

    __slots__ = ("pipelines",)

    def __init__(self) -> None:
        self.pipelines: list[Pipeline] = []

    def __repr__(self) -> str:
        return f"Script({self.pipelines!r})"

    def walk(self) -> Iterator[Command]:
        """Yield every command, including those inside groups and substitutions."""
        for pipe in self.pipelines:
            for cmd in pipe.cmds:
                yield cmd
                if cmd.group is not None:
                    yield from cmd.group.walk()
                for _, sub, _ in cmd.subs:
                    yield from sub.walk()


def decode_ansi_c(body: str) -> str:
    """Decode the escapes of a ``$'...'`` string (``\\x72`` -> ``r``, ``\\155`` -> ``m``)."""

    def repl(m: re.Match[str]) -> str:
        s = m.group(1)
        c = s[0]
        try:
            if c == "x":
                return chr(int(s[1:], 16))
            if c in "uU":
                return chr(int(s[1:], 16))
            if c in "01234567":
                return chr(int(s, 8) & 0xFF)
        except (ValueError, OverflowError):
            return s
        if c == "c" and len(s) == 2:
            return chr(ord(s[1]) & 0x1F)
        return _SIMPLE_ESC.get(c, "\\" + s)

    return _ANSI_C_ESC.sub(repl, body)


class _Parser:
    def __init__(self, src: str, windows: bool) -> None:
        self.src = src
        self.n = len(src)
        self.pos = 0
        self.win = windows
        self.plain = _PLAIN_WIN if windows else _PLAIN
        self.pending: list[tuple[Command, str, bool]] = []
        self.nesting = 0

    # -- helpers -----------------------------------------------------------------
    def _skip_blanks(self) -> str:
        """Move past blanks (and line continuations); the next character, ``""`` at the end."""
        src, n, pos = self.src, self.n, self.pos
        while pos < n:
            c = src[pos]
            if c in _BLANK:
                pos += 1
            elif c == "\\" and not self.win and src.startswith("\\\n", pos):
                pos += 2
            else:
                break
        self.pos = pos
        return src[pos] if pos < n else ""

    def _enter(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise ParseError("command nests too deeply to be checked")

    def _read_heredocs(self) -> None:
        src = self.src
        for cmd, delim, _strip in self.pending:
            lines: list[str] = []
            pos = self.pos
            while pos < self.n:
                end = src.find("\n", pos)
                if end < 0:
                    end = self.n
                line = src[pos:end]
                pos = end + 1
                if line.strip() == delim:
                    break
                lines.append(line)
            self.pos = min(pos, self.n)
            cmd.stdin_text = "\n".join(lines)
        self.pending.clear()

    # -- grammar -----------------------------------------------------------------
    def parse_list(self, stop: str = "") -> Script:
        self._enter()
        script = Script()
        src = self.src
        while True:
            c = self._skip_blanks()
            if not c:
                break
            if stop and c == stop and (stop == ")" or self._at_word_end(self.pos + 1)):
                self.pos += 1
                break
            if c == "\n":
                self.pos += 1
                if self.pending:
                    self._read_heredocs()
                continue
            if c == ";" or (c == ")" and not stop):
                self.pos += 1
                continue
            if c == "#":
                end = src.find("\n", self.pos)
                self.pos = self.n if end < 0 else end
                continue
            pipe = self.parse_pipeline(stop)
            if pipe.cmds:
                script.pipelines.append(pipe)
            if not self._skip_blanks():
                break
            for op in ("&&", "||", ";;", "&", ";"):
                if src.startswith(op, self.pos):
                    pipe.op = op
                    self.pos += len(op)
                    break
            else:
                if src[self.pos] == "\n":
                    pipe.op = "\n"
        self.nesting -= 1
        return script

    def _at_word_end(self, pos: int) -> bool:
        return pos >= self.n or self.src[pos] in " \t\n;&|)"

    def parse_pipeline(self, stop: str) -> Pipeline:
        pipe = Pipeline()
        src = self.src
        while True:
            cmd = self.parse_command(stop)
            if cmd is not None:
                pipe.cmds.append(cmd)
            self._skip_blanks()
            if self.pos < self.n and src[self.pos] == "|" and not src.startswith("||", self.pos):
                self.pos += 2 if src.startswith("|&", self.pos) else 1
                while self.pos < self.n and src[self.pos] in " \t\n":
                    self.pos += 1
                continue
            return pipe

    def parse_command(self, stop: str) -> Command | None:
        cmd = Command()
        src = self.src
        while True:
            c = self._skip_blanks()
            if not c:
                break
            if c in "\n;|" or (c == "&" and not src.startswith("&>", self.pos)):
                break
            if c == ")":
                break
            if stop == "}" and c == "}" and not cmd.words and self._at_word_end(self.pos + 1):
                break
            if c == "#" and not cmd.words and not cmd.redirs:
                break
            if c == "(" and not self.win:
                if not cmd.words:
                    if src.startswith("((", self.pos):
                        self._skip_arith(self.pos + 2)
                        cmd.words.append("((")
                        continue
                    self.pos += 1
                    cmd.group = self.parse_list(")")
                    break
                # ``name() {`` -- a function definition: drop the parentheses.
                j = self.pos + 1
                while j < self.n and src[j] in _BLANK:
                    j += 1
                if j < self.n and src[j] == ")":
                    self.pos = j + 1
                break
            m = _REDIR.match(src, self.pos)
            if m and not (m.group(2) in ("<", ">") and src.startswith("(", m.end()) and not m.group(1)):
                self.pos = m.end()
                self._read_redirect(cmd, (m.group(1) if m.group(1) == "&" else "") + m.group(2))
                continue
            if c in "<>" and src.startswith("(", self.pos + 1):
                kind = c + "("
                start = self.pos
                self.pos += 2
                sub = self.parse_list(")")
                cmd.subs.append((kind, sub, len(cmd.words)))
                cmd.words.append(src[start:self.pos])
                continue
            nsubs = len(cmd.subs)
            word, quoted = self.read_word(cmd.subs)
            for i in range(nsubs, len(cmd.subs)):
                kind, sub, _ = cmd.subs[i]
                cmd.subs[i] = (kind, sub, len(cmd.words))
            if not cmd.words and not quoted:
                if word in _RESERVED and not cmd.assigns:
                    if word == "{" and not stop:
                        cmd.group = self.parse_list("}")
                        break
                    continue
                if not self.win and _ASSIGN.match(word):
                    cmd.assigns.append(word)
                    for i in range(nsubs, len(cmd.subs)):
                        kind, sub, _ = cmd.subs[i]
                        cmd.subs[i] = (kind, sub, -2)
                    continue
            if not cmd.words:
                cmd.quoted0 = quoted
            cmd.words.append(word)
        if not cmd.words and not cmd.redirs and not cmd.assigns and cmd.group is None \
                and not cmd.subs:
            return None
        return cmd

    def _skip_arith(self, pos: int) -> None:
        depth, src = 2, self.src
        while pos < self.n and depth:
            c = src[pos]
            depth += (c == "(") - (c == ")")
            pos += 1
        self.pos = pos

    def _read_redirect(self, cmd: Command, op: str) -> None:
        self._skip_blanks()
        if op in ("<<", "<<-"):
            word, _ = self.read_word(cmd.subs)
            self.pending.append((cmd, word, op == "<<-"))
            cmd.redirs.append((op, word))
            return
        start = len(cmd.subs)
        word, _ = self.read_word(cmd.subs)
        for i in range(start, len(cmd.subs)):
            kind, sub, _ = cmd.subs[i]
            cmd.subs[i] = (kind, sub, -1)
        if op == "<<<":
            cmd.stdin_text = word
        cmd.redirs.append((op, word))

    def read_word(self, subs: list[tuple[str, Script, int]]) -> tuple[str, bool]:
        """Read one word at :attr:`pos`; return its text after quote removal."""
        src, n = self.src, self.n
        out: list[str] = []
        quoted = False
        while self.pos < n:
            c = src[self.pos]
            m = self.plain.match(src, self.pos)
            if m:
                out.append(m.group())
                self.pos = m.end()
                continue
            if c in " \t\n;|&<>" or (c in "()" and not self.win):
                break
            if c == ")":  # windows: ends a $( ) subexpression, else an ordinary char
                if self.nesting > 1:
                    break
                out.append(c)
                self.pos += 1
                continue
            quoted = True if c in "'\"\\`^" else quoted
            if c == "'":
                end = src.find("'", self.pos + 1)
                end = n if end < 0 else end
                out.append(src[self.pos + 1:end])
                self.pos = end + 1
            elif c == '"':
                self.pos += 1
                self._read_dquoted(out, subs)
            elif c == "\\" and not self.win:
                if self.pos + 1 < n:
                    if src[self.pos + 1] != "\n":
                        out.append(src[self.pos + 1])
                    self.pos += 2
                else:
                    out.append("\\")
                    self.pos += 1
            elif c in "^`" and self.win:
                if self.pos + 1 < n:
                    out.append(src[self.pos + 1])
                self.pos += 2
            elif c == "$":
                self._read_dollar(out, subs, in_dquote=False)
            elif c == "`":
                self._read_backtick(out, subs)
            else:
                out.append(c)
                self.pos += 1
        return "".join(out), quoted

    def _read_dquoted(self, out: list[str], subs: list[tuple[str, Script, int]]) -> None:
        src, n = self.src, self.n
        while self.pos < n:
            c = src[self.pos]
            if c == '"':
                self.pos += 1
                return
            if c == "\\" and not self.win and self.pos + 1 < n:
                nxt = src[self.pos + 1]
                if nxt in '$`"\\':
                    out.append(nxt)
                elif nxt != "\n":
                    out.append("\\" + nxt)
                self.pos += 2
            elif c == "`" and self.win and self.pos + 1 < n:
                out.append(src[self.pos + 1])
                self.pos += 2
            elif c == "$":
                self._read_dollar(out, subs, in_dquote=True)
            elif c == "`":
                self._read_backtick(out, subs)
            else:
                j = self.pos + 1
                while j < n and src[j] not in '"\\$`':
                    j += 1
                out.append(src[self.pos:j])
                self.pos = j

    def _read_dollar(self, out: list[str], subs: list[tuple[str, Script, int]], in_dquote: bool) -> None:
        src, pos = self.src, self.pos
        nxt = src[pos + 1] if pos + 1 < self.n else ""
        if nxt == "(":
            if not self.win and src.startswith("$((", pos):
                self._skip_arith(pos + 3)
                out.append(src[pos:self.pos])
                return
            self.pos = pos + 2
            sub = self.parse_list(")")
            subs.append(("$(", sub, -3))
            out.append(src[pos:self.pos])
        elif nxt == "{" and not self.win:
            depth, j = 0, pos + 1
            while j < self.n:
                depth += (src[j] == "{") - (src[j] == "}")
                j += 1
                if depth == 0:
                    break
            out.append(src[pos:j])
            self.pos = j
        elif nxt == "'" and not in_dquote and not self.win:
            end = pos + 2
            while end < self.n and src[end] != "'":
                end += 2 if src[end] == "\\" else 1
            out.append(decode_ansi_c(src[pos + 2:min(end, self.n)]))
            self.pos = end + 1
        elif nxt == '"' and not in_dquote and not self.win:
            self.pos = pos + 2
            self._read_dquoted(out, subs)
        else:
            out.append("$")
            self.pos = pos + 1

    def _read_backtick(self, out: list[str], subs: list[tuple[str, Script, int]]) -> None:
        src, start = self.src, self.pos
        j = start + 1
        body: list[str] = []
        while j < self.n and src[j] != "`":
            if src[j] == "\\" and j + 1 < self.n and src[j + 1] in "`\\$":
                body.append(src[j + 1])
                j += 2
            else:
                body.append(src[j])
                j += 1
        self.pos = min(j + 1, self.n)
        inner = _Parser("".join(body), self.win)
        inner.nesting = self.nesting
        subs.append(("`", inner.parse_list(), -3))
        out.append(src[start:self.pos])


def parse(src: str, *, windows: bool = False) -> Script:
    """Parse a (normalised) command line into a :class:`Script`.

    Args:
        src: The command text.
        windows: Use cmd/PowerShell quoting instead of POSIX shell quoting.

    Raises:
        ParseError: The input nests more than :data:`MAX_NESTING` levels deep.
    """
    p = _Parser(src, windows)
    script = p.parse_list()
    return script
