"""Transactional multi-file writes: all files change, or none do — even across a crash.

:func:`write_files_safely` runs a small two-phase commit with an intent journal:

1. **Validate.** Every path is confined to the workspace
   (:func:`~teragent.security.paths.resolve_workspace_path`, ``op="write"``), named once,
   not a directory, writable; an optional permission check is asked per file; and the
   *read-before-write* contract holds: an existing file may be overwritten only if the
   caller read it and it has not changed since (a :class:`FileReadTracker`, or a
   per-file ``expected_sha256``). Any failure: nothing is touched.
2. **Prepare.** The journal (``<workspace>/.teragent/txn/<id>.json``) is written and
   fsync'd *before anything else*, naming every target, temporary file, backup and
   directory to be created. Then the directories are created, each new content is
   written to a temporary file beside its target and fsync'd, and each existing target
   gets a backup hard link (a copy where links are not supported).
3. **Commit point.** The journal's state becomes ``commit`` (atomic replace + fsync).
   Before this instant recovery rolls *back*; after it, recovery rolls *forward*.
4. **Apply.** Each temporary file is moved over its target with :func:`os.replace`
   (atomic); then backups, the journal and leftovers are removed.
5. **Rollback.** If applying fails in-process, the journal becomes ``abort`` and every
   target is restored from its backup (new files removed, created directories removed).

:func:`recover` finishes or undoes any transaction a crashed process left behind; it runs
automatically (under the workspace's lock) at the start of every
:func:`write_files_safely`, so after recovery each commit is all-or-nothing. Readers of
a single file never see half-written content; a reader of several files during the
apply step can see some new and some old files (no file system offers more).

On Windows, :func:`os.replace` fails when another process holds the target open; the
NTFS fallback then renames the target to a backup, renames the new file into place and
deletes the backup, renaming the backup back if the second step fails.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import shutil
import sys
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from teragent.errors import PermissionDenied
from teragent.security.paths import resolve_workspace_path

__all__ = ["write_files_safely", "atomic_write_file", "replace_atomically", "recover",
           "FileReadTracker", "FileWriteResult", "JOURNAL_DIR"]

logger = logging.getLogger("teragent_tools.file_safety")

#: Where journals live, relative to the workspace root.
JOURNAL_DIR = os.path.join(".teragent", "txn")
_IS_WINDOWS = sys.platform == "win32"
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()

PermissionCheck = Callable[[str], Any]


# --- small durable primitives -------------------------------------------------------------


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


# --- read-before-write ------------------------------------------------------------------------


def _sha256_file(path: str) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    except FileNotFoundError:
        return None
    return h.hexdigest()


class FileReadTracker:
    """Remembers what a session read, so writes can require a fresh read first.

    File tools call :meth:`record` after reading; :func:`write_files_safely` then
    refuses to overwrite a file that was never read, or that changed since.
    """

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(path: str | os.PathLike[str]) -> str:
        return os.path.realpath(os.fspath(path))

    def record(self, path: str | os.PathLike[str], content: bytes | str | None = None) -> None:
        """Note that ``path`` was read (its hash is taken now, or from ``content``)."""
        if content is None:
            digest = _sha256_file(self._key(path))
        else:
            data = content.encode("utf-8") if isinstance(content, str) else content
            digest = hashlib.sha256(data).hexdigest()
        if digest is not None:
            with self._lock:
                self._seen[self._key(path)] = digest

    def record_write(self, path: str | os.PathLike[str], content: bytes | str) -> None:
        """A file this session wrote counts as read (its content is known)."""
        self.record(path, content)

    def forget(self, path: str | os.PathLike[str]) -> None:
        with self._lock:
            self._seen.pop(self._key(path), None)

    def check(self, path: str | os.PathLike[str]) -> tuple[bool, str]:
        key = self._key(path)
        with self._lock:
            seen = self._seen.get(key)
        if seen is None:
            return False, "it exists and was not read first; read it, then write"
        if _sha256_file(key) != seen:
            return False, "it changed since it was read; read it again, then write"
        return True, ""


# --- the transaction --------------------------------------------------------------------------


@dataclass
class FileWriteResult:
    path: str
    status: str = "pending"  # written | failed | rolled_back | not_written
    error: str | None = None
    created: bool = False
    bytes: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "error": self.error,
                "created": self.created, "bytes": self.bytes}


@dataclass
class _Entry:
    target: str
    tmp: str
    backup: str
    existed: bool
    data: bytes = b""
    mode: int | None = None

    def journal(self) -> dict[str, Any]:
        return {"target": self.target, "tmp": self.tmp, "backup": self.backup,
                "existed": self.existed}


@dataclass
class _Txn:
    txid: str
    path: str
    entries: list[_Entry]
    dirs: list[str] = field(default_factory=list)  # to create, parents first

    def save(self, state: str) -> None:
        body = json.dumps({"version": 1, "txid": self.txid, "state": state,
                           "entries": [e.journal() for e in self.entries],
                           "dirs": self.dirs}).encode("utf-8")
        tmp = self.path + ".tmp"
        _write_fsync(tmp, body)
        os.replace(tmp, self.path)
        _fsync_dir(os.path.dirname(self.path))


def _journal_dir(root: str, journal_dir: str | None) -> str:
    return journal_dir or os.path.join(root, JOURNAL_DIR)


@contextlib.contextmanager
def _locked(jdir: str) -> Iterator[None]:
    """One transaction (or recovery) per journal directory at a time, across threads
    and processes."""
    os.makedirs(jdir, exist_ok=True)
    with _THREAD_LOCKS_GUARD:
        tlock = _THREAD_LOCKS.setdefault(jdir, threading.Lock())
    with tlock:
        fd = os.open(os.path.join(jdir, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                import fcntl
            except ImportError:  # pragma: no cover - Windows: the thread lock only
                fcntl = None  # type: ignore[assignment]
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        os.remove(path)


def _remove_dirs(dirs: Sequence[str]) -> None:
    for d in reversed(dirs):  # deepest first
        try:
            os.rmdir(d)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                logger.warning("left directory %s in place: something else is in it", d)
                continue
            raise


def _roll_back(data: Mapping[str, Any]) -> None:
    """Undo: tmp files and backups go; replaced targets get their old content back."""
    touched: set[str] = set()
    for e in data["entries"]:
        target, tmp, backup = e["target"], e["tmp"], e["backup"]
        if e["existed"]:
            if os.path.lexists(backup):
                os.replace(backup, target)  # restores the old inode (also if unchanged)
        elif not os.path.lexists(tmp) and data.get("state") == "abort":
            _unlink(target)  # it was created by this transaction
        _unlink(tmp)
        _unlink(backup)
        touched.add(os.path.dirname(target))
    for d in touched:
        _fsync_dir(d)
    _remove_dirs(data.get("dirs", []))


def _roll_forward(data: Mapping[str, Any]) -> None:
    """Finish: every tmp file still present is moved into place; backups go."""
    touched: set[str] = set()
    for e in data["entries"]:
        if os.path.lexists(e["tmp"]):
            _replace(e["tmp"], e["target"])
        touched.add(os.path.dirname(e["target"]))
    for d in touched:
        _fsync_dir(d)
    for e in data["entries"]:
        _unlink(e["backup"])


def _journal_is_sane(data: Any, root: str | None) -> str | None:
    """Why a journal must not be acted on (``None``: it may). A journal is data in the
    workspace: a forged one must not move files anywhere else."""
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list) \
            or not isinstance(data.get("dirs", []), list):
        return "malformed"
    txid = str(data.get("txid", ""))
    if not txid.isalnum():
        return "bad transaction id"

    def inside(path: Any) -> bool:
        if not isinstance(path, str) or not os.path.isabs(path):
            return False
        if root is None:
            return True
        real = os.path.normpath(path)
        return real.startswith(root.rstrip(os.sep) + os.sep)

    for e in data["entries"]:
        if not isinstance(e, dict) or not all(inside(e.get(k)) for k in ("target", "tmp",
                                                                          "backup")):
            return "an entry points outside the workspace"
        base = os.path.join(os.path.dirname(e["target"]),
                            f".{os.path.basename(e['target'])}.tera-{txid}")
        if e["tmp"] != base + ".tmp" or e["backup"] != base + ".bak":
            return "an entry's temporary files are not the transaction's own"
    if not all(inside(d) for d in data.get("dirs", [])):
        return "a directory points outside the workspace"
    return None


def _recover_locked(jdir: str, root: str | None = None) -> list[tuple[str, str]]:
    done: list[tuple[str, str]] = []
    try:
        names = sorted(os.listdir(jdir))
    except FileNotFoundError:
        return done
    for name in names:
        path = os.path.join(jdir, name)
        if name.endswith(".json.tmp"):
            _unlink(path)  # a journal that was never made durable: nothing happened yet
            continue
        if not name.endswith(".json"):
            continue
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read().decode("utf-8"))
        except (OSError, ValueError) as exc:
            logger.error("unreadable transaction journal %s: %s", path, exc)
            continue
        problem = _journal_is_sane(data, root)
        if problem is not None:
            logger.error("ignoring transaction journal %s: %s", path, problem)
            continue
        if data.get("state") == "commit":
            _roll_forward(data)
            action = "rolled_forward"
        else:
            _roll_back(data)
            action = "rolled_back"
        _unlink(path)
        _fsync_dir(jdir)
        done.append((str(data.get("txid", name)), action))
        logger.warning("recovered transaction %s: %s", data.get("txid"), action)
    return done


def recover(workspace_root: str | os.PathLike[str], *,
            journal_dir: str | None = None) -> list[tuple[str, str]]:
    """Finish or undo transactions a crashed process left in ``workspace_root``.

    Returns ``[(txid, "rolled_forward" | "rolled_back"), ...]``.
    """
    root = os.path.realpath(os.fspath(workspace_root))
    jdir = _journal_dir(root, journal_dir)
    if not os.path.isdir(jdir):
        return []
    with _locked(jdir):
        return _recover_locked(jdir, root)


def _validate(files: Sequence[Mapping[str, Any]], root: str,
              read_tracker: FileReadTracker | None,
              permission_check: PermissionCheck | None,
              txid: str) -> tuple[list[_Entry], list[FileWriteResult], bool]:
    entries: list[_Entry] = []
    results: list[FileWriteResult] = []
    seen: set[str] = set()
    ok = True
    for i, spec in enumerate(files):
        raw = spec.get("path") if isinstance(spec, Mapping) else None
        result = FileWriteResult(str(raw))
        results.append(result)
        try:
            if not isinstance(raw, (str, os.PathLike)):
                raise ValueError(f"file #{i + 1} has no 'path'")
            content = spec.get("content")
            if not isinstance(content, (str, bytes, bytearray)):
                raise ValueError("'content' must be a string or bytes")
            target = str(resolve_workspace_path(root, raw, "write"))
            result.path = target
            if target in seen:
                raise ValueError("the same file is named twice in one transaction")
            seen.add(target)
            if os.path.isdir(target):
                raise ValueError("it is a directory")
            existed = os.path.lexists(target)
            if existed:
                if not os.access(target, os.W_OK):
                    raise PermissionError("the file is not writable")
                expected = spec.get("expected_sha256")
                if expected is not None and _sha256_file(target) != expected:
                    raise ValueError("it changed since it was read (expected_sha256 differs); "
                                     "read it again, then write")
                if read_tracker is not None and expected is None:
                    fresh, why = read_tracker.check(target)
                    if not fresh:
                        raise ValueError(why)
            else:
                parent = os.path.dirname(target)
                while not os.path.exists(parent):
                    parent = os.path.dirname(parent)
                if not os.path.isdir(parent):
                    raise ValueError(f"{parent!r} is a file, so it cannot hold a directory")
                if not os.access(parent, os.W_OK | os.X_OK):
                    raise PermissionError(f"the directory {parent!r} is not writable")
            if permission_check is not None:
                verdict = permission_check(target)
                allowed, reason = (verdict if isinstance(verdict, tuple)
                                   else (bool(verdict), "refused"))
                if not allowed:
                    raise PermissionDenied(f"writing {target!r} is not permitted: {reason}")
            data = content.encode(spec.get("encoding", "utf-8")) if isinstance(content, str) \
                else bytes(content)
            base = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.tera-{txid}")
            mode = spec.get("mode")
            if mode is None:
                mode = os.stat(target).st_mode & 0o7777 if existed else _default_mode()
            entries.append(_Entry(target, base + ".tmp", base + ".bak", existed, data, mode))
            result.created = not existed
        except (OSError, ValueError, PermissionDenied) as exc:
            ok = False
            result.status = "failed"
            result.error = str(exc)
    if not ok:
        for r in results:
            if r.status == "pending":
                r.status = "not_written"
    return entries, results, ok


def _missing_dirs(entries: Sequence[_Entry]) -> list[str]:
    dirs: list[str] = []
    for e in entries:
        chain: list[str] = []
        d = os.path.dirname(e.target)
        while not os.path.exists(d):
            chain.append(d)
            d = os.path.dirname(d)
        for d in reversed(chain):
            if d not in dirs:
                dirs.append(d)
    return dirs


def _backup(target: str, backup: str) -> None:
    try:
        os.link(target, backup)
    except OSError:
        shutil.copy2(target, backup)


def write_files_safely(
    files: Sequence[Mapping[str, Any]],
    workspace_root: str | os.PathLike[str],
    *,
    read_tracker: FileReadTracker | None = None,
    permission_check: PermissionCheck | None = None,
    journal_dir: str | None = None,
) -> tuple[bool, list[dict[str, Any]]]:
    """Write every file in ``files`` or none of them.

    Args:
        files: ``[{"path": ..., "content": str | bytes}, ...]``; optional per file:
            ``encoding``, ``mode`` (permission bits), ``expected_sha256`` (the hash of
            what the caller read; the write fails if the file changed since).
        workspace_root: Every path must resolve inside it.
        read_tracker: Enforce read-before-write for files that already exist.
        permission_check: ``check(canonical_path) -> (allowed, reason)`` per file.
        journal_dir: Where the intent journal lives (default ``<root>/.teragent/txn``).

    Returns:
        ``(success, results)``: one dict per file (``path``, ``status`` —
        ``written``/``failed``/``rolled_back``/``not_written`` —, ``error``,
        ``created``, ``bytes``), in input order.
    """
    root = os.path.realpath(os.fspath(workspace_root))
    if not os.path.isdir(root):
        return False, [FileWriteResult(str(f.get("path")), "failed",
                                       f"workspace {root!r} is not a directory").as_dict()
                       for f in files]
    if not files:
        return True, []
    jdir = _journal_dir(root, journal_dir)
    with _locked(jdir):
        _recover_locked(jdir, root)
        txid = uuid.uuid4().hex[:16]
        entries, results, ok = _validate(files, root, read_tracker, permission_check, txid)
        if not ok:
            return False, [r.as_dict() for r in results]
        txn = _Txn(txid, os.path.join(jdir, f"{txid}.json"), entries, _missing_dirs(entries))
        by_target = {r.path: r for r in results}
        state = "prepare"
        try:
            txn.save("prepare")
            for d in txn.dirs:
                os.mkdir(d)
                _fsync_dir(os.path.dirname(d))
            for e in entries:
                _write_fsync(e.tmp, e.data, e.mode)
                if e.existed:
                    _backup(e.target, e.backup)
            for d in {os.path.dirname(e.target) for e in entries}:
                _fsync_dir(d)
            txn.save("commit")
            state = "commit"
            for e in entries:
                _replace(e.tmp, e.target)
                by_target[e.target].status = "written"
                by_target[e.target].bytes = len(e.data)
            for d in {os.path.dirname(e.target) for e in entries}:
                _fsync_dir(d)
            for e in entries:
                _unlink(e.backup)
            _unlink(txn.path)
            _fsync_dir(jdir)
        except OSError as exc:
            logger.warning("transaction %s failed in %s: %s", txid, state, exc)
            journal = {"txid": txid, "state": "abort" if state == "commit" else "prepare",
                       "dirs": txn.dirs,
                       "entries": [e.journal() for e in entries]}
            try:
                if state == "commit":
                    txn.save("abort")
                _roll_back(journal)
                _unlink(txn.path)
            except OSError as undo:  # the journal stays: the next use recovers it
                logger.error("rollback of %s incomplete (%s); recovery will finish it",
                             txid, undo)
            for r in results:
                r.status = "rolled_back" if r.status == "written" else "not_written"
                r.created = False
                r.bytes = 0
            failed = next((r for r in results if r.path in (exc.filename, exc.filename2)),
                          None)
            (failed or results[0]).status = "failed"
            for r in results:
                r.error = r.error or (str(exc) if r is (failed or results[0]) else
                                      "not written: another file of the transaction failed")
            return False, [r.as_dict() for r in results]
        if read_tracker is not None:
            for e in entries:
                read_tracker.record_write(e.target, e.data)
        return True, [r.as_dict() for r in results]
