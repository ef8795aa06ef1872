"""Inline interpreter code (``python -c``, ``perl -e``, ``node -e``, ``awk '...'``, ...).

Code passed on the command line is scanned for the few things that matter for a shell
guard: spawning shell commands, socket-plus-exec reverse shells, fork loops, executing
decoded payloads, and recursive deletion of the home directory or root. Command strings
handed to ``system()``-style calls are extracted so the caller can check them as shell
commands too.
"""

from __future__ import annotations

import re

__all__ = ["INLINE_FLAGS", "scan_code", "shell_strings"]

# interpreter -> options whose argument is inline code ("" = first positional, for awk)
INLINE_FLAGS: dict[str, frozenset[str]] = {
    "python": frozenset({"-c"}),
    "perl": frozenset({"-e", "-E"}),
    "ruby": frozenset({"-e"}),
    "node": frozenset({"-e", "--eval", "-p", "--print"}),
    "bun": frozenset({"-e", "--eval", "-p", "--print"}),
    "deno": frozenset({"eval"}),
    "php": frozenset({"-r"}),
    "lua": frozenset({"-e"}),
    "osascript": frozenset({"-e"}),
    "rscript": frozenset({"-e"}),
    "tclsh": frozenset(),
    "awk": frozenset({""}),
    "jshell": frozenset(),
}

_SHELL_OUT = re.compile(
    r"\bos\s*\.\s*(?:system|popen|exec[lv]p?e?|spawn[lv]p?e?|posix_spawnp?|fork)\b|\bsubprocess\b|\bpty\s*\.\s*spawn|"
    r"\bcommands\s*\.\s*getoutput|\bchild_process\b|\bexecSync\b|\bspawnSync\b|\bexecFile(?:Sync)?\b|"
    r"\bshell_exec\b|\bpassthru\b|\bproc_open\b|\bpcntl_exec\b|\bpopen\b|"
    r"(?<![.\w])(?:system|exec|spawn|qx)\s*[\(\"'{\s]|\bio\s*\.\s*popen|\bos\s*\.\s*execute|%x[\(\[{]|"
    r"`[^`]+`|\bIO\s*\.\s*popen|\bOpen3\b|\bKernel\s*\.\s*(?:system|exec|spawn)|"
    r"\bRuntime\s*\.\s*getRuntime|\bProcessBuilder\b|do\s+shell\s+script|\|\s*getline|"
    r"print[^;|]*\|\s*\"|open\s*\([^)]*\|\s*[\"']|open\s*\([^)]*[\"']\s*\|"
)
_SOCKET = re.compile(
    r"\bsocket\b|TCPSocket|UDPSocket|fsockopen|/inet/(?:tcp|udp)|/dev/(?:tcp|udp)|\bnet\s*\.\s*(?:Socket|connect|createConnection)|"
    r"IO::Socket|Socket\s*\.\s*new|require\s*\(?\s*['\"]socket|\bSocket\b|websocket|\bhttp\.client|urlopen|"
    r"\brequests\s*\.\s*get"
)
_SOCKET_EXEC = re.compile(
    r"dup2|subprocess|\bexec|spawn|popen|pty|system|/bin/(?:ba|z|da)?sh|\bsh\b|cmd\.exe|getline|io\.popen|"
    r"os\.execute|child_process|open\s*\(\s*STDIN"
)
_FORK_LOOP = re.compile(
    r"fork\s+(?:while|until)\b|while\s*\(?\s*(?:1|true|True)\s*\)?\s*[:{]?[^\n]{0,40}\bfork\b|"
    r"\bfork\b[^\n]{0,40}\bwhile\b|for\s*\(\s*;\s*;\s*\)\s*\{?\s*fork|loop\s*\{?\s*fork|"
    r"while\s*\(?\s*(?:1|true|True)\s*\)?\s*:?\s*os\.fork"
)
_EXEC_DECODED = re.compile(r"\b(?:exec|eval|compile|Function|instance_eval|class_eval|system|loadstring)\b|(?<![.\w])load\s*\(")
_DECODE = re.compile(
    r"b64decode|b32decode|a85decode|base64|decode_base64|MIME::Base64|fromhex|unhexlify|\batob\b|"
    r"Buffer\s*\.\s*from\([^)]*(?:base64|hex)|pack\s*\(\s*['\"][Hhmu]|unpack1?\s*\(\s*['\"][mu]|rot13|"
    r"zlib|marshal\s*\.\s*loads|gzinflate|str_rot13|decode\s*\(\s*['\"](?:hex|rot)"
)
_RMTREE = re.compile(
    r"rmtree|rmSync|rmdirSync|\brm_r?f\b|remove_dir_all|remove_tree|File::Path|unlink|\bfs\s*\.\s*rm\b|"
    r"FileUtils\s*\.\s*rm|os\s*\.\s*remove|os\s*\.\s*rmdir|shutil|Deno\s*\.\s*remove|\.rmdir\("
)
_HOME_TARGET = re.compile(
    r"process\s*\.\s*env\s*\.\s*HOME|os\s*\.\s*homedir|expanduser|Path\s*\.\s*home|ENV\s*\[\s*['\"]HOME|"
    r"\$ENV\s*\{\s*HOME|getenv\s*\(\s*['\"]HOME|environ(?:\s*\.\s*get\s*\(|\s*\[)\s*['\"]HOME|"
    r"Dir\s*\.\s*home|['\"](?:/|~|/\*|~/|/(?:etc|usr|boot|var|bin|lib|home|root)/?)['\"]"
)
_STRING = re.compile(r"\"((?:[^\"\\]|\\.)*)\"|'((?:[^'\\]|\\.)*)'")
_SHELLISH = re.compile(r"^\s*(?:/[\w/.-]*/)?[\w.-]+(?:\s|$)")


def shell_strings(code: str) -> list[str]:
    """String literals in ``code`` that look like shell command lines."""
    out = []
    for m in _STRING.finditer(code):
        s = m.group(1) if m.group(1) is not None else m.group(2)
        if s and " " in s and _SHELLISH.match(s):
            out.append(s)
    return out


def scan_code(code: str) -> list[tuple[str, str]]:
    """Return ``(category, reason)`` findings for inline interpreter code (all are blocks)."""
    found: list[tuple[str, str]] = []
    has_socket = _SOCKET.search(code)
    if has_socket and _SOCKET_EXEC.search(code):
        found.append(("reverse_shell", "inline code connects a socket and runs a shell or exec"))
    if _FORK_LOOP.search(code):
        found.append(("resource_exhaustion", "inline code forks in a loop (fork bomb)"))
    if _DECODE.search(code) and _EXEC_DECODED.search(code):
        found.append(("obfuscation", "inline code executes a decoded payload"))
    if _RMTREE.search(code) and _HOME_TARGET.search(code):
        found.append(("destructive_delete", "inline code deletes the home directory or a system path"))
    if _SHELL_OUT.search(code) and literal_argvs(code) is None:
        found.append(("inline_exec", "inline code spawns shell commands, hiding them from the checker"))
    return found


_ARGV_CALL = re.compile(r"\bsubprocess\s*\.\s*(?:run|call|check_call|check_output|Popen)\s*\(\s*\[([^\]]*)\]"
                        r"|\b(?:execFileSync|spawnSync|execFile|spawn)\s*\(\s*(['\"][^'\"]+['\"])\s*,\s*\[([^\]]*)\]")
_LIT = re.compile(r"""^\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*$""")


def literal_argvs(code: str) -> list[list[str]] | None:
    """Argument vectors of shell-outs written as literal lists (``subprocess.run(['git', 'log'])``).

    Returns ``None`` when any shell-out is not such a literal (a string command, a
    variable, ``shell=True``), because then the command cannot be known statically.
    """
    if "shell=True" in code or "shell: true" in code:
        return None
    argvs: list[list[str]] = []
    spans: list[tuple[int, int]] = []
    for m in _ARGV_CALL.finditer(code):
        parts = (m.group(1) if m.group(1) is not None else m.group(2) + "," + m.group(3)).split(",")
        argv = []
        for part in parts:
            if not part.strip():
                continue
            lm = _LIT.match(part)
            if lm is None:
                return None
            argv.append(lm.group(1) if lm.group(1) is not None else lm.group(2))
        if argv:
            argvs.append(argv)
            spans.append(m.span())
    if not argvs:
        return None
    rest = "".join(ch if not any(a <= i < b for a, b in spans) else " " for i, ch in enumerate(code))
    if _SHELL_OUT.search(rest.replace("subprocess", "")):
        return None
    return argvs
