"""Durable file primitives: fsync'd writes, atomic replace (with the NTFS fallback),
and the one atomic single-file write the tools use (:func:`replace_atomically`).

Used by the transaction of :mod:`teragent_tools.file_safety` and its journal
(:mod:`teragent_tools.journal`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import uuid

#: The write path's one logger (a user silences or raises it by this name).
logger = logging.getLogger("teragent_tools.file_safety")

_IS_WINDOWS = sys.platform == "win32"


def _fsync_dir(path: str) -> None:
    if _IS_WINDOWS:  # pragma: no cover - directories cannot be fsync'd on Windows
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_fsync(path: str, data: bytes, mode: int | None = None) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600 if mode is None else mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]
        os.fsync(fd)
    finally:
        os.close(fd)
    if mode is not None:
        os.chmod(path, mode)


def _ntfs_replace(src: str, dst: str) -> None:
    """Rename-rename-delete: the Windows fallback when ``os.replace`` is refused."""
    backup = f"{dst}.tera-{uuid.uuid4().hex[:8]}.old"
    os.rename(dst, backup)
    try:
        os.rename(src, dst)
    except OSError:
        os.rename(backup, dst)
        raise
    try:
        os.remove(backup)
    except OSError:  # pragma: no cover - left for the next recovery/cleanup
        logger.warning("could not remove %s", backup)


def _replace(src: str, dst: str) -> None:
    """Atomic move of ``src`` over ``dst`` (NTFS fallback on Windows)."""
    try:
        os.replace(src, dst)
    except PermissionError:
        if not _IS_WINDOWS or not os.path.exists(dst):
            raise
        _ntfs_replace(src, dst)


def _default_mode() -> int:
    # /proc first: os.umask() sets the process-wide mask for an instant, which races
    # with other threads creating files.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def replace_atomically(path: str | os.PathLike[str], content: str | bytes, *,
                       encoding: str = "utf-8", mode: int | None = None) -> int:
    """Replace ``path`` with ``content`` atomically (temp file, fsync, rename, fsync dir)
    and return the bytes written; raises :class:`OSError` (nothing is left behind).

    A reader sees the old or the new content, never a mix. The file keeps its permission
    bits (a new one gets the umask's default). The write tools use this.
    """
    target = os.path.abspath(os.fspath(path))
    data = content.encode(encoding) if isinstance(content, str) else bytes(content)
    directory = os.path.dirname(target)
    tmp = os.path.join(directory, f".{os.path.basename(target)}.tera-{uuid.uuid4().hex[:12]}.tmp")
    try:
        keep = os.stat(target).st_mode & 0o7777 if os.path.exists(target) else None
        _write_fsync(tmp, data, mode if mode is not None else (keep or _default_mode()))
        _replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(directory)
    return len(data)


def atomic_write_file(path: str | os.PathLike[str], content: str | bytes, *,
                      encoding: str = "utf-8", mode: int | None = None) -> bool:
    """:func:`replace_atomically`, returning ``True`` on success and ``False`` (with a
    logged warning) when the file system refused."""
    try:
        replace_atomically(path, content, encoding=encoding, mode=mode)
        return True
    except OSError as exc:
        logger.warning("atomic write of %s failed: %s", os.path.abspath(os.fspath(path)), exc)
        return False
