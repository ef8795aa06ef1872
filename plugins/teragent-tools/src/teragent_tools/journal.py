"""The intent journal of a :func:`~teragent_tools.file_safety.write_files_safely`
transaction, the lock one transaction per workspace holds, and :func:`recover`, which
finishes (after the commit point) or undoes (before it) what a crashed process left.

A journal is data in the workspace: one that does not name the transaction's own files
inside the workspace is never acted on (:func:`_journal_is_sane`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

from teragent_tools.durable import _fsync_dir, _replace, _write_fsync, logger

#: Where journals live, relative to the workspace root.
JOURNAL_DIR = os.path.join(".teragent", "txn")
_THREAD_LOCKS: dict[str, threading.Lock] = {}
_THREAD_LOCKS_GUARD = threading.Lock()


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
