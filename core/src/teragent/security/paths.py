"""The one path guard: confine a path a tool was given to the workspace root.

Every file tool calls :func:`resolve_workspace_path` before touching the file system and
then works *only* on the path it returns: the canonical, absolute, symlink-free path.
Anything else raises :class:`~teragent.errors.PermissionDenied` with a reason a model
can act on.

How a path is read (the rules, in the order they are checked):

1. **Spelling.** Rejected outright: NUL and other control characters (C0, DEL, C1,
   line/paragraph separators), invisible format characters (zero-width, bidi
   overrides), lone surrogates; Unicode look-alikes of ``.``, ``/``, ``\\`` and ``:``
   (``‥``, fullwidth ``．／＼``, division slash, ...); components that only *look* like
   ``.`` or ``..`` (dots plus combining marks or spaces); percent-escapes, ``%uXXXX``
   and numeric HTML entities that decode to path syntax (``%2e``, ``%2f``, ``%5c``,
   ``%25``...), or to bytes that are not valid UTF-8 (overlong ``%c0%ae``); Windows
   drive (``C:``), UNC (``\\\\server``) and device (``\\\\?\\``) spellings on POSIX;
   Windows reserved device names (``CON``, ``NUL``, ``COM1.txt``...) on every platform
   (they are never needed in a workspace and break checkouts on Windows).
2. **Expansion is never performed.** A path whose first component starts with ``~``
   (``~``, ``~/.ssh``, ``~root``) or with a shell/Windows variable (``$HOME``,
   ``${HOME}``, ``$(cmd)``, ``%USERPROFILE%``) is *denied* rather than taken literally:
   to a model ``~`` means the home directory, so a literal reading would silently do
   something other than what was asked. A ``~`` or ``$`` elsewhere (``notes~``,
   ``Outer$Inner.class``) is an ordinary character.
3. **Separators.** A backslash is read as a separator on every platform (a model that
   writes ``src\\app.py`` means ``src/app.py``, and ``..\\..\\etc`` must not slip
   through as one odd file name). ``//`` and ``/./`` collapse.
4. **Resolution**, as the kernel would do it: a relative path is taken relative to the
   root; components are walked one at a time from a symlink-free prefix, every symlink
   is read and followed (relative targets from the link's directory, absolute ones from
   ``/``), and ``..`` goes to the *physical* parent. A component that does not exist
   ends nothing: the walk goes on, so ``missing/../link/x`` still follows ``link``.
   For ``op="write"`` of a file that does not exist yet this resolves the deepest
   existing parent. More than 40 symlinks (a loop) is denied.
5. **Containment.** The result must be the root or below it, compared component-wise
   (``/ws2`` is not inside ``/ws``); case-insensitively (and NFC-normalised) on
   platforms whose file systems usually are (Windows, macOS).
6. **Operation.** The root itself may be read (listed) but not written as a file.
   A trailing slash on something that exists and is not a directory is denied.

The check is a point-in-time decision: a process that can create symlinks inside the
workspace between this call and the open can still race it. Callers therefore open the
returned canonical path, never the path they were given.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import unicodedata
from pathlib import Path
from typing import Union

from teragent.errors import PermissionDenied

__all__ = ["resolve_workspace_path", "is_case_insensitive_platform", "canonical_path"]

PathInput = Union[str, "os.PathLike[str]"]

#: Longest path text accepted before any work is done (Windows' extended-path limit).
MAX_INPUT_CHARS = 32_768
#: Longest canonical path the OS can open (Linux ``PATH_MAX``), in bytes.
MAX_RESOLVED_BYTES = 4096
#: Linux ``MAXSYMLINKS``.
MAX_SYMLINKS = 40

_OPS = ("read", "write")
_SYNTAX = "./\\:"
# Characters that are drawn like a dot or a slash but have no compatibility
# decomposition to one (NFKC alone does not catch them).
_CONFUSABLES = frozenset(
    "\u2215\u2044\u29f8\u29f5\u29f9\u2216\u2571\u2572\u27cb\u27cd\u1735\u3033\u3035"
    "\u2cc6\u2cc7\u31d3\u31d4\u4e3f\u0338\u0337\u20e5\u2027\u00b7\u0387\u2022\u2219"
    "\u22c5\u30fb\uff65\u16eb\u2e31\u2e33\u02d9\ua78f\u0701\u0702\u06d4\u2e2e"
    # Cygwin/WSL store characters Windows forbids as U+F000 + the ASCII code.
    "\uf02f\uf05c\uf03a"
)
_PERCENT_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_PERCENT_U = re.compile(r"%[uU][0-9A-Fa-f]{4}")
_ENTITY = re.compile(r"&#(?:[xX]([0-9A-Fa-f]{1,6})|([0-9]{1,7}));?")
_DRIVE = re.compile(r"^[A-Za-z]:")
_VARIABLE = re.compile(r"^(?:\$[A-Za-z_{(]|%[A-Za-z_][A-Za-z0-9_()]*%)")
_RESERVED = re.compile(
    r"^(?:CON|PRN|AUX|NUL|CLOCK\$|CONIN\$|CONOUT\$|COM[0-9\u00b9\u00b2\u00b3]"
    r"|LPT[0-9\u00b9\u00b2\u00b3])(?:\..*)?$",
    re.IGNORECASE,
)


def is_case_insensitive_platform(platform: str | None = None) -> bool:
    """Whether paths on ``platform`` (default: this one) compare case-insensitively.

    Windows (NTFS) and macOS (APFS/HFS+ in their default configuration) are; Linux
    and the other POSIX systems are not.
    """
    return (platform or sys.platform) in ("win32", "cygwin", "darwin")


def _deny(path: str, reason: str) -> PermissionDenied:
    shown = path if len(path) <= 120 else path[:117] + "..."
    return PermissionDenied(f"Path {shown!r} is not allowed: {reason}")


# --- spelling --------------------------------------------------------------------


def _check_characters(raw: str) -> None:
    for ch in raw:
        code = ord(ch)
        if code < 0x20 or code == 0x7F:
            what = "a NUL byte" if code == 0 else f"the control character U+{code:04X}"
            raise _deny(raw, f"it contains {what}. Give a plain file name without "
                             "control characters.")
        if code < 0x80:
            continue
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            kind = {"Cc": "control", "Cf": "invisible formatting", "Cs": "lone surrogate",
                    "Zl": "line separator", "Zp": "paragraph separator"}[category]
            raise _deny(raw, f"it contains the {kind} character U+{code:04X}. Type the "
                             "path with visible characters only.")
        if ch in _CONFUSABLES or any(c in _SYNTAX for c in unicodedata.normalize("NFKC", ch)):
            raise _deny(raw, f"it contains U+{code:04X} ({unicodedata.name(ch, '?')}), "
                             "which looks like path syntax ('.', '/', '\\' or ':'). Use "
                             "the ASCII characters instead.")


def _check_escape_run(raw: str, run: str) -> None:
    data = bytes(int(run[i + 1:i + 3], 16) for i in range(0, len(run), 3))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise _deny(raw, f"the percent-escape {run!r} is not valid UTF-8 (an overlong or "
                         "broken encoding).") from None
    for ch in text:
        if ch in _SYNTAX or ch in "%~" or ord(ch) < 0x20 or ord(ch) == 0x7F:
            raise _deny(raw, f"the percent-escape {run!r} encodes path syntax ({ch!r}). "
                             "Paths are taken literally: write the decoded path instead.")
    _check_characters(text)


def _check_encodings(raw: str) -> None:
    """Refuse escapes that would turn into path syntax if anything decoded them.

    Decoding is repeated (``%%32%65`` → ``%2e`` → ``.``) until nothing changes.
    """
    stage = raw
    for _ in range(4):
        if _PERCENT_U.search(stage):
            raise _deny(raw, "it contains a %uXXXX escape. Paths are taken literally; "
                             "give the decoded path.")
        runs = [m.group() for m in _PERCENT_RUN.finditer(stage)]
        for run in runs:
            _check_escape_run(raw, run)
        for match in _ENTITY.finditer(stage):
            hex_digits, dec_digits = match.groups()
            code = int(hex_digits, 16) if hex_digits else int(dec_digits)
            ch = chr(code) if code <= sys.maxunicode else "\ufffd"
            if ch in _SYNTAX or ch in "%~&" or code < 0x20 or ch in _CONFUSABLES:
                raise _deny(raw, f"the character reference {match.group()!r} encodes "
                                 "path syntax. Write the decoded path instead.")
        if not runs:
            return
        stage = _PERCENT_RUN.sub(
            lambda m: bytes(int(m.group()[i + 1:i + 3], 16)
                            for i in range(0, len(m.group()), 3)).decode("utf-8"), stage)
    raise _deny(raw, "it is percent-encoded several times over. Give the plain path.")


def _check_windows_spellings(raw: str, windows: bool) -> None:
    if raw[:2] in ("\\\\", "\\/", "/\\") or (windows and raw[:2] == "//"):
        if raw[2:4] in ("?\\", "./", ".\\", "?/"):
            raise _deny(raw, "Windows device-namespace paths (\\\\?\\, \\\\.\\) are not "
                             "allowed. Use a path relative to the workspace root.")
        if not windows:
            raise _deny(raw, "it is a Windows UNC (network share) path. Use a path "
                             "relative to the workspace root.")
    if _DRIVE.match(raw) and not windows:
        raise _deny(raw, "it is a Windows drive path, which means nothing here. Use a "
                         "path relative to the workspace root.")


def _check_components(raw: str, parts: list[str], windows: bool) -> None:
    first = next((p for p in parts if p), "")
    if not os.path.isabs(raw.replace("\\", "/")) and first.startswith("~"):
        raise _deny(raw, "'~' is not expanded to a home directory (files outside the "
                         "workspace cannot be used). Use a path relative to the "
                         "workspace root.")
    if _VARIABLE.match(first):
        raise _deny(raw, "environment variables ($NAME, ${NAME}, %NAME%) and command "
                         "substitutions are not expanded. Use a path relative to the "
                         "workspace root.")
    if windows and parts and _DRIVE.match(parts[0]) and len(parts[0]) == 2:
        parts = parts[1:]  # the drive itself ("C:") is checked by containment
    for part in parts:
        if not part or part in (".", ".."):
            continue
        bare = "".join(c for c in part
                       if unicodedata.category(c) not in ("Mn", "Me", "Zs") and not c.isspace())
        if bare and set(bare) == {"."} and bare != part and len(bare) <= 2:
            raise _deny(raw, f"the component {part!r} looks like {bare!r} but is not. "
                             "Remove the extra marks or spaces.")
        stem = part.rstrip(" .") if windows else part
        if _RESERVED.match(stem) or _RESERVED.match(part):
            raise _deny(raw, f"{part!r} is a reserved device name on Windows. Choose "
                             "another file name.")
        if windows:
            if part != part.rstrip(" ."):
                raise _deny(raw, f"the component {part!r} ends with a dot or space, which "
                                 "Windows silently drops. Remove it.")
            if ":" in part:
                raise _deny(raw, f"the component {part!r} contains ':' (an alternate data "
                                 "stream or a drive). Remove it.")


# --- resolution ------------------------------------------------------------------


def _walk_posix(start: str, parts: list[str], raw: str) -> str:
    """Resolve ``parts`` from the symlink-free directory ``start`` like the kernel does."""
    current = start
    pending = list(reversed(parts))
    followed = 0
    while pending:
        name = pending.pop()
        if name in ("", "."):
            continue
        if name == "..":
            current = os.path.dirname(current)
            continue
        candidate = os.path.join(current, name)
        try:
            st = os.lstat(candidate)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                current = candidate  # does not exist (yet): keep walking
                continue
            if exc.errno == errno.ENAMETOOLONG:
                raise _deny(raw, "a component is longer than the file system allows "
                                 "(255 bytes).") from None
            raise _deny(raw, f"it cannot be checked ({exc.strerror}).") from None
        if stat.S_ISLNK(st.st_mode):
            followed += 1
            if followed > MAX_SYMLINKS:
                raise _deny(raw, "it goes through too many symbolic links (a loop?).")
            try:
                target = os.readlink(candidate)
            except OSError as exc:
                raise _deny(raw, f"the symbolic link {candidate!r} cannot be read "
                                 f"({exc.strerror}).") from None
            if target.startswith("/"):
                current = "/"
            pending.extend(reversed(target.split("/")))
            continue
        current = candidate
    return current


def _comparable(path: str, folded: bool) -> str:
    return unicodedata.normalize("NFC", path).casefold() if folded else path


def _is_within(path: str, root: str, folded: bool) -> bool:
    path, root = _comparable(path, folded), _comparable(root, folded)
    if path == root:
        return True
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path.startswith(prefix)


def resolve_workspace_path(root: PathInput, path: PathInput, op: str = "read") -> Path:
    """Return the canonical absolute path of ``path`` inside the workspace ``root``.

    Args:
        root: The workspace root (need not exist; symlinks in it are resolved).
        path: What the tool was given: relative to ``root``, or absolute.
        op: ``"read"`` (reading, listing, searching) or ``"write"`` (creating,
            changing or deleting).

    Returns:
        The resolved path, free of ``.``, ``..`` and symlinks, inside ``root``.

    Raises:
        PermissionDenied: The path is outside the root, escapes through a symlink,
            is spelled in a way that is refused (see the module docstring), or is the
            root itself with ``op="write"``. The message says why and what to do.
        ValueError: ``op`` is not one of ``"read"``, ``"write"``.
        TypeError: ``root`` or ``path`` is not a string or path-like object.
    """
    if op not in _OPS:
        raise ValueError(f"op must be one of {_OPS!r}, got {op!r}")
    raw = _to_text(path, "path")
    root_text = _to_text(root, "root")
    if not raw:
        raise _deny(raw, "it is empty. Use '.' for the workspace root.")
    if not root_text or "\x00" in root_text:
        raise PermissionDenied(f"Workspace root {root_text!r} is not a usable path.")

    windows = sys.platform == "win32"
    folded = is_case_insensitive_platform()
    unified, parts = _checked_spelling(raw, windows)

    if windows:  # pragma: no cover - exercised on Windows CI only
        real_root = os.path.realpath(os.path.abspath(root_text))
        joined = os.path.join(real_root, unified.replace("/", "\\"))
        resolved = os.path.realpath(joined)
    else:
        real_root = os.path.realpath(os.path.abspath(root_text))
        if unified.startswith("/"):
            resolved = _walk_posix("/", parts, raw)
        else:
            resolved = _walk_posix(real_root, parts, raw)

    if not _is_within(resolved, real_root, folded):
        # Name the root but not where a symlink leads: that is outside information.
        lexical = os.path.normpath(os.path.join(real_root, unified))
        how = (" through a symbolic link" if _is_within(lexical, real_root, folded) else "")
        raise _deny(raw, f"it leads outside the workspace {real_root!r}{how}. Use a path "
                         "inside the workspace (relative paths are taken from its root).")
    if len(os.fsencode(resolved)) > MAX_RESOLVED_BYTES:
        raise _deny(raw, f"the resolved path is longer than {MAX_RESOLVED_BYTES} bytes.")
    if op == "write" and _comparable(resolved, folded) == _comparable(real_root, folded):
        raise _deny(raw, "it is the workspace root itself, which cannot be written as a "
                         "file. Name a file inside the workspace.")
    if unified.rstrip("/") != unified and os.path.lexists(resolved) \
            and not os.path.isdir(resolved):
        raise _deny(raw, "it ends with '/' but is not a directory. Remove the trailing "
                         "slash.")
    return Path(resolved)


def _to_text(value: object, what: str) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise PermissionDenied(f"The {what} {value!r} is not valid UTF-8.") from None
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(text, bytes):
            return _to_text(text, what)
        return text
    raise TypeError(f"{what} must be a string or path-like object, got "
                    f"{type(value).__name__}")


def _checked_spelling(raw: str, windows: bool) -> tuple[str, list[str]]:
    """Refuse a spelling (too long, control or look-alike characters, escapes, Windows
    forms, refused components); else the path with ``/`` separators and its parts."""
    if len(raw) > MAX_INPUT_CHARS:
        raise _deny(raw, f"it is longer than {MAX_INPUT_CHARS} characters.")
    _check_characters(raw)
    _check_encodings(raw)
    _check_windows_spellings(raw, windows)
    unified = raw.replace("\\", "/")
    parts = unified.split("/")
    _check_components(raw, parts, windows)
    return unified, parts


def canonical_path(path: PathInput, root: PathInput | None = None) -> str:
    """The absolute, symlink-free spelling of ``path``, *without* the containment check.

    Permission rules compare paths in this form: ``..``, ``.``, ``//``, backslashes and
    symlinks are resolved exactly as :func:`resolve_workspace_path` resolves them
    (relative paths from ``root``, default the current directory), and spellings it
    refuses (control or look-alike characters, escapes, ``~``, variables, ...) raise
    :class:`~teragent.errors.PermissionDenied` here too. Paths outside ``root`` are
    allowed: a rule may name ``/etc``.
    """
    raw = _to_text(path, "path")
    root_text = _to_text(root if root is not None else os.getcwd(), "root")
    if not raw:
        raise _deny(raw, "it is empty.")
    windows = sys.platform == "win32"
    unified, parts = _checked_spelling(raw, windows)
    real_root = os.path.realpath(os.path.abspath(root_text))
    if windows:  # pragma: no cover - exercised on Windows CI only
        return os.path.realpath(os.path.join(real_root, unified.replace("/", "\\")))
    return _walk_posix("/" if unified.startswith("/") else real_root, parts, raw)
