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

Here: validation and the transaction; the journal and recovery are in
:mod:`teragent_tools.journal`, the fsync'd writes and atomic replace in
:mod:`teragent_tools.durable` (names re-exported).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from teragent.errors import PermissionDenied
from teragent.security.paths import resolve_workspace_path

from teragent_tools.durable import (
    _default_mode,
    _fsync_dir,
    _replace,
    _write_fsync,
    atomic_write_file,
    logger,
    replace_atomically,
)
from teragent_tools.journal import (
    JOURNAL_DIR,
    _Entry,
    _journal_dir,
    _locked,
    _recover_locked,
    _roll_back,
    _Txn,
    _unlink,
    recover,
)

__all__ = ["write_files_safely", "atomic_write_file", "replace_atomically", "recover",
           "FileReadTracker", "FileWriteResult", "JOURNAL_DIR"]


PermissionCheck = Callable[[str], Any]


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
