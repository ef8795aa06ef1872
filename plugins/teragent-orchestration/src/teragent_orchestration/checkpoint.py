"""``OrchestrationCheckpoint``: durable progress of an orchestration run.

After every completed agent step the orchestrator writes the run's checkpoint (task,
mode, completed steps with their results, shared state). Writes are atomic: a
temporary file in the same directory, ``fsync``, then ``os.replace``; a crash leaves
either the old or the new checkpoint, never a torn one. Running the same ``run_id``
again restores the completed steps instead of running those agents again.
"""

from __future__ import annotations

import builtins
import json
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from teragent.errors import UserError

__all__ = ["OrchestrationCheckpoint"]

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


class OrchestrationCheckpoint:
    """Args:
        directory: Where checkpoints live (one ``<run_id>.json`` each).
    """

    suffix = ".json"

    def __init__(self, directory: str | os.PathLike[str] = ".teragent/orchestration") -> None:
        self.directory = Path(directory)

    def _path(self, run_id: str) -> Path:
        if not _ID.match(run_id):
            raise UserError(f"Checkpoint run id {run_id!r} is not a safe file name; use "
                            "letters, digits, '.', '_' or '-'.")
        return self.directory / f"{run_id}{self.suffix}"

    def save(self, run_id: str, data: dict[str, Any]) -> Path:
        """Atomically write ``data`` (JSON-serialisable) as the checkpoint of ``run_id``."""
        path = self._path(run_id)
        self.directory.mkdir(parents=True, exist_ok=True)
        payload = json.dumps({**data, "run_id": run_id, "saved_at": time.time()},
                             default=str, indent=1)
        fd, tmp = tempfile.mkstemp(prefix=f".{run_id}.", suffix=".tmp", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        try:  # make the rename itself durable
            dir_fd = os.open(self.directory, os.O_RDONLY)
        except OSError:
            return path
        try:
            os.fsync(dir_fd)
        except OSError:
            pass
        finally:
            os.close(dir_fd)
        return path

    def restore(self, run_id: str) -> dict[str, Any] | None:
        """The checkpoint of ``run_id``, or ``None`` when there is none."""
        path = self._path(run_id)
        try:
            return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
        except FileNotFoundError:
            return None

    def exists(self, run_id: str) -> bool:
        return self._path(run_id).exists()

    def list(self) -> list[str]:
        """Run ids with a checkpoint, oldest first."""
        if not self.directory.is_dir():
            return []
        files = [p for p in self.directory.glob(f"*{self.suffix}") if not p.name.startswith(".")]
        return [p.stem for p in sorted(files, key=lambda p: p.stat().st_mtime)]

    def delete(self, run_id: str) -> None:
        try:
            self._path(run_id).unlink()
        except FileNotFoundError:
            pass

    def cleanup(self, *, max_age: float | None = None,
                keep: int | None = None) -> builtins.list[str]:
        """Delete checkpoints older than ``max_age`` seconds and/or all but the newest
        ``keep``; also removes stray temporary files. Returns the deleted run ids."""
        deleted: list[str] = []
        ids = self.list()
        now = time.time()
        for i, run_id in enumerate(ids):
            path = self._path(run_id)
            too_old = max_age is not None and now - path.stat().st_mtime > max_age
            too_many = keep is not None and i < len(ids) - keep
            if too_old or too_many:
                self.delete(run_id)
                deleted.append(run_id)
        if self.directory.is_dir():
            for tmp in self.directory.glob(".*.tmp"):
                tmp.unlink(missing_ok=True)
        return deleted
