"""Checkpoints of a long-horizon task: one JSON file per checkpoint, written atomically.

Layout: ``<base_dir>/<task_id>/<checkpoint_id>.json``. A save goes through the write
tools' :func:`teragent_tools.file_safety.replace_atomically` (temporary file in the same
directory, ``fsync``, rename into place, ``fsync`` of the directory), so a crash leaves
either the old set of checkpoints or the new one, never a half-written file under a
checkpoint's name. Task and checkpoint ids are checked
against a safe pattern (no separators, no ``..``) so an id cannot escape ``base_dir``.
A file that does not parse is skipped with a logged warning and never deleted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from teragent.errors import UserError
from teragent_tools.file_safety import replace_atomically

from teragent_long_horizon.models import known_fields

__all__ = ["Checkpoint", "CheckpointStore"]

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_COUNTER = itertools.count()


def _check_id(kind: str, value: Any) -> str:
    if not isinstance(value, str) or not _SAFE_ID.match(value) or ".." in value:
        raise UserError(f"{kind} {value!r} is not a safe name: use 1-128 letters, digits, "
                        "'.', '_' or '-', starting with a letter or digit, without '..' or "
                        "path separators (e.g. 'task_001').")
    return value


@dataclass
class Checkpoint:
    """The saved state of a task at one moment.

    Attributes:
        checkpoint_id: Unique, sortable id (:meth:`CheckpointStore.generate_checkpoint_id`).
        task_id: The task it belongs to.
        timestamp: ISO 8601 UTC time (:meth:`CheckpointStore.now_iso`).
        phase: ``planning`` | ``executing`` | ``evaluating`` | ``stagnant`` | ``stopped``
            | ``finished``.
        completed_sub_goals: Ids of completed sub-goals.
        current_sub_goal: The sub-goal in progress, if any.
        steps_completed: Agent steps so far.
        elapsed_minutes: Working time so far (over every resume).
        strategy_switches: Switches so far.
        state_data: Whatever else the task manager needs to resume (JSON values).
    """

    checkpoint_id: str
    task_id: str
    timestamp: str
    phase: str = "executing"
    completed_sub_goals: list[str] = field(default_factory=list)
    current_sub_goal: str | None = None
    steps_completed: int = 0
    elapsed_minutes: float = 0.0
    strategy_switches: int = 0
    state_data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Checkpoint":
        missing = [n for n in ("checkpoint_id", "task_id", "timestamp") if n not in data]
        if missing:
            raise ValueError(f"checkpoint lacks {', '.join(missing)}")
        return cls(**known_fields(cls, data))


class CheckpointStore:
    """JSON checkpoints on disk, newest last.

    Args:
        base_dir: Directory holding one sub-directory per task (created on first save;
            relative paths are taken from the current directory).
    """

    def __init__(self, base_dir: str | os.PathLike[str] = ".teragent/checkpoints") -> None:
        self.base_dir = Path(base_dir)

    # -- ids and time -------------------------------------------------------------

    @staticmethod
    def generate_checkpoint_id() -> str:
        """``ckpt_<UTC time to the microsecond>_<counter>_<random>``: unique and sortable
        by creation time within a process."""
        now = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        return f"ckpt_{now}_{next(_COUNTER) % 1000000:06d}_{secrets.token_hex(3)}"

    @staticmethod
    def now_iso() -> str:
        """The current UTC time, ISO 8601 with microseconds."""
        return datetime.now(timezone.utc).isoformat()

    def task_dir(self, task_id: str) -> Path:
        return self.base_dir / _check_id("task_id", task_id)

    # -- async API (file work runs in a thread) -------------------------------------

    async def save(self, checkpoint: Checkpoint) -> str:
        """Write ``checkpoint`` atomically; return its id. An existing checkpoint with
        the same id is never overwritten."""
        return await asyncio.to_thread(self.save_sync, checkpoint)

    async def load(self, task_id: str, checkpoint_id: str) -> Checkpoint | None:
        """One checkpoint by id (``None`` if it does not exist or does not parse)."""
        return await asyncio.to_thread(self.load_sync, task_id, checkpoint_id)

    async def load_latest(self, task_id: str) -> Checkpoint | None:
        """The newest readable checkpoint of ``task_id``, or ``None``."""
        found = await self.list_checkpoints(task_id)
        return found[-1] if found else None

    async def list_checkpoints(self, task_id: str) -> list[Checkpoint]:
        """Every readable checkpoint of ``task_id``, oldest first."""
        return await asyncio.to_thread(self.list_sync, task_id)

    async def cleanup(self, task_id: str, keep_last: int = 5) -> int:
        """Delete all but the newest ``keep_last`` checkpoints; return how many went.
        Unreadable files are left alone (they may be someone's only copy)."""
        return await asyncio.to_thread(self.cleanup_sync, task_id, keep_last)

    # -- sync implementation ----------------------------------------------------------

    def save_sync(self, checkpoint: Checkpoint) -> str:
        _check_id("checkpoint_id", checkpoint.checkpoint_id)
        directory = self.task_dir(checkpoint.task_id)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{checkpoint.checkpoint_id}.json"
        if target.exists():
            raise UserError(f"checkpoint {checkpoint.checkpoint_id!r} of task "
                            f"{checkpoint.task_id!r} already exists in {directory}; give the "
                            "new one a fresh id (store.generate_checkpoint_id()).")
        try:
            payload = json.dumps(checkpoint.to_dict(), ensure_ascii=False, indent=1)
        except (TypeError, ValueError) as exc:
            raise UserError(f"checkpoint {checkpoint.checkpoint_id!r}: state_data must hold "
                            f"JSON values only ({exc}); convert objects to dicts first.") from None
        replace_atomically(target, payload)  # temp file, fsync, rename, fsync dir
        return checkpoint.checkpoint_id

    @staticmethod
    def _fsync_dir(directory: Path) -> None:
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:  # pragma: no cover - platforms without directory fds
            return
        try:
            os.fsync(fd)
        except OSError:  # pragma: no cover
            pass
        finally:
            os.close(fd)

    def _read(self, path: Path) -> Checkpoint | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            return Checkpoint.from_dict(data)
        except (OSError, ValueError, TypeError) as exc:
            log.warning("skipping unreadable checkpoint %s: %s (the file is kept)", path, exc)
            return None

    def load_sync(self, task_id: str, checkpoint_id: str) -> Checkpoint | None:
        path = self.task_dir(task_id) / f"{_check_id('checkpoint_id', checkpoint_id)}.json"
        return self._read(path) if path.exists() else None

    def list_sync(self, task_id: str) -> list[Checkpoint]:
        directory = self.task_dir(task_id)
        if not directory.is_dir():
            return []
        found = []
        for path in directory.glob("*.json"):
            if path.name.startswith("."):
                continue
            checkpoint = self._read(path)
            if checkpoint is not None:
                found.append(checkpoint)
        found.sort(key=lambda c: (c.timestamp, c.checkpoint_id))
        return found

    def cleanup_sync(self, task_id: str, keep_last: int = 5) -> int:
        if not isinstance(keep_last, int) or keep_last < 1:
            raise UserError(f"cleanup(keep_last={keep_last!r}) would delete every checkpoint; "
                            "keep at least 1.")
        checkpoints = self.list_sync(task_id)
        deleted = 0
        for old in checkpoints[:-keep_last]:
            path = self.task_dir(task_id) / f"{old.checkpoint_id}.json"
            try:
                path.unlink()
                deleted += 1
            except FileNotFoundError:
                continue
        if deleted:
            self._fsync_dir(self.task_dir(task_id))
        return deleted
