"""CheckpointStore: real files, atomic writes, safe ids, corrupt files skipped, cleanup."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from teragent.errors import UserError
from teragent.long_horizon.checkpoint import Checkpoint, CheckpointStore


def make(store: CheckpointStore, task_id: str = "task_1", steps: int = 0) -> Checkpoint:
    return Checkpoint(checkpoint_id=store.generate_checkpoint_id(), task_id=task_id,
                      timestamp=store.now_iso(), steps_completed=steps,
                      state_data={"note": "ü", "n": steps})


def test_save_list_latest_and_cleanup(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path / "ck")

    async def main() -> None:
        saved = [await store.save(make(store, steps=i)) for i in range(8)]
        listed = await store.list_checkpoints("task_1")
        assert [c.checkpoint_id for c in listed] == saved
        assert (await store.load_latest("task_1")).steps_completed == 7
        assert await store.cleanup("task_1", keep_last=3) == 5
        assert [c.steps_completed for c in await store.list_checkpoints("task_1")] == [5, 6, 7]
        assert await store.load_latest("other") is None
        assert await store.list_checkpoints("other") == []

    asyncio.run(main())
    names = os.listdir(tmp_path / "ck" / "task_1")
    assert len(names) == 3 and all(n.endswith(".json") for n in names)  # no temp files left


def test_ids_are_unique_and_sortable() -> None:
    ids = [CheckpointStore.generate_checkpoint_id() for _ in range(500)]
    assert len(set(ids)) == 500 and ids == sorted(ids)


@pytest.mark.parametrize("task_id", ["../escape", "a/b", "..", "", ".hidden", "a\\b",
                                     "x" * 200, "/abs"])
def test_unsafe_task_ids_are_refused(tmp_path: Path, task_id: str) -> None:
    store = CheckpointStore(tmp_path / "ck")
    with pytest.raises(UserError, match="not a safe name"):
        asyncio.run(store.save(make(store, task_id=task_id)))
    with pytest.raises(UserError, match="not a safe name"):
        asyncio.run(store.list_checkpoints(task_id))
    assert not any(p for p in tmp_path.rglob("*") if p.is_file())


def test_never_overwrites_and_refuses_cleanup_of_everything(tmp_path: Path) -> None:
    store = CheckpointStore(tmp_path)
    checkpoint = make(store)
    asyncio.run(store.save(checkpoint))
    with pytest.raises(UserError, match="already exists"):
        asyncio.run(store.save(checkpoint))
    with pytest.raises(UserError, match="keep at least 1"):
        asyncio.run(store.cleanup("task_1", keep_last=0))
    with pytest.raises(UserError, match="JSON values only"):
        bad = make(store)
        bad.state_data = {"obj": object()}
        asyncio.run(store.save(bad))
    assert len(asyncio.run(store.list_checkpoints("task_1"))) == 1


def test_a_corrupt_file_is_skipped_with_a_warning_and_kept(tmp_path: Path, caplog) -> None:
    store = CheckpointStore(tmp_path)
    good = make(store, steps=1)
    asyncio.run(store.save(good))
    broken = tmp_path / "task_1" / "ckpt_zzzz.json"
    broken.write_text('{"checkpoint_id": "ckpt_zzzz", "task_id": "task_1", "timest')
    (tmp_path / "task_1" / "ckpt_list.json").write_text("[1, 2]")
    with caplog.at_level(logging.WARNING):
        latest = asyncio.run(store.load_latest("task_1"))
        deleted = asyncio.run(store.cleanup("task_1", keep_last=1))
    assert latest == good and deleted == 0
    assert broken.exists() and "ckpt_zzzz.json" in caplog.text and "kept" in caplog.text


WRITER = textwrap.dedent("""
    import asyncio, sys
    from teragent.long_horizon.checkpoint import Checkpoint, CheckpointStore

    store = CheckpointStore(sys.argv[1])

    async def main():
        n = 0
        while True:
            n += 1
            await store.save(Checkpoint(checkpoint_id=store.generate_checkpoint_id(),
                                        task_id="t", timestamp=store.now_iso(),
                                        steps_completed=n, state_data={"blob": "x" * 200000}))
            if n == 3:
                print("ready", flush=True)

    asyncio.run(main())
""")


def test_killed_writer_leaves_only_whole_checkpoints(tmp_path: Path, caplog) -> None:
    """SIGKILL while saving (large checkpoints, in a loop): every file under a
    checkpoint's name parses; at most a hidden temp file is left, and it is ignored."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    files = sorted((tmp_path / "t").glob("*.json"))
    assert len(files) >= 3
    for f in files:
        assert len(json.loads(f.read_text())["state_data"]["blob"]) == 200000
    with caplog.at_level(logging.WARNING):
        listed = asyncio.run(CheckpointStore(tmp_path).list_checkpoints("t"))
    assert len(listed) == len(files) and not caplog.text
    steps = [c.steps_completed for c in listed]
    assert steps == list(range(1, len(steps) + 1))


def test_a_save_that_dies_before_the_rename_leaves_nothing_under_its_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The write goes to a temporary file first: a crash at the rename leaves the
    earlier checkpoints as they were and no (partial) file under the new name."""
    store = CheckpointStore(tmp_path)
    old = make(store, steps=1)
    asyncio.run(store.save(old))

    def crash(src: str, dst: str) -> None:
        raise OSError("simulated power cut at rename")

    monkeypatch.setattr(os, "replace", crash)
    new = make(store, steps=2)
    with pytest.raises(OSError, match="power cut"):
        asyncio.run(store.save(new))
    monkeypatch.undo()
    assert not (tmp_path / "task_1" / f"{new.checkpoint_id}.json").exists()
    assert os.listdir(tmp_path / "task_1") == [f"{old.checkpoint_id}.json"]
    assert asyncio.run(store.load_latest("task_1")) == old
