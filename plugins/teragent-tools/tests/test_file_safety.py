"""Transactional multi-file writes: validation, rollback, recovery, the NTFS fallback."""

from __future__ import annotations

import hashlib
import json
import os

import pytest
from teragent.security import FileReadTracker, atomic_write_file, recover, write_files_safely
from teragent_tools import durable
from teragent_tools import file_safety as fs


def listing(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if ".teragent" in dirpath:
            continue
        for d in dirnames:
            if d != ".teragent":
                out[os.path.relpath(os.path.join(dirpath, d), root) + "/"] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def test_seed_example(tmp_path):
    ok, results = write_files_safely(
        files=[{"path": str(tmp_path / "src/main.py"), "content": "print(1)\n"},
               {"path": str(tmp_path / "src/utils.py"), "content": "X = 1\n"}],
        workspace_root=str(tmp_path))
    assert ok and [r["status"] for r in results] == ["written", "written"]
    assert (tmp_path / "src/main.py").read_text() == "print(1)\n"
    assert atomic_write_file(str(tmp_path / "src/main.py"), "content") is True
    assert (tmp_path / "src/main.py").read_text() == "content"
    assert not list((tmp_path / ".teragent" / "txn").glob("*.json"))


def test_validation_failures_touch_nothing(tmp_path):
    (tmp_path / "keep.txt").write_text("old")
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("f")
    before = listing(tmp_path)
    cases = [
        [{"path": "new.txt", "content": "x"}, {"path": "../escape.txt", "content": "x"}],
        [{"path": "keep.txt", "content": "x"}, {"path": "adir", "content": "x"}],
        [{"path": "a.txt", "content": "x"}, {"path": "a.txt", "content": "y"}],
        [{"path": "a.txt", "content": 3}],
        [{"path": "afile/child.txt", "content": "x"}],
        [{"content": "no path"}],
    ]
    for files in cases:
        ok, results = write_files_safely(files, tmp_path)
        assert not ok
        assert any(r["status"] == "failed" and r["error"] for r in results)
        assert all(r["status"] in ("failed", "not_written") for r in results)
        assert listing(tmp_path) == before


def test_read_before_write_contract(tmp_path):
    (tmp_path / "a.txt").write_text("v1")
    tracker = FileReadTracker()
    ok, results = write_files_safely([{"path": "a.txt", "content": "v2"}], tmp_path,
                                     read_tracker=tracker)
    assert not ok and "not read first" in results[0]["error"]
    tracker.record(tmp_path / "a.txt")
    (tmp_path / "a.txt").write_text("changed behind our back")
    ok, results = write_files_safely([{"path": "a.txt", "content": "v2"}], tmp_path,
                                     read_tracker=tracker)
    assert not ok and "changed since it was read" in results[0]["error"]
    tracker.record(tmp_path / "a.txt")
    assert write_files_safely([{"path": "a.txt", "content": "v2"},
                               {"path": "new.txt", "content": "n"}], tmp_path,
                              read_tracker=tracker)[0]
    # What we wrote counts as read.
    assert write_files_safely([{"path": "a.txt", "content": "v3"}], tmp_path,
                              read_tracker=tracker)[0]
    digest = hashlib.sha256(b"v3").hexdigest()
    assert write_files_safely([{"path": "a.txt", "content": "v4", "expected_sha256": digest}],
                              tmp_path)[0]
    ok, results = write_files_safely([{"path": "a.txt", "content": "v5",
                                       "expected_sha256": digest}], tmp_path)
    assert not ok and "expected_sha256" in results[0]["error"]


def test_permission_check_per_file(tmp_path):
    def check(path):
        return (not path.endswith(".lock"), "lock files are generated")

    ok, results = write_files_safely([{"path": "a.txt", "content": "x"},
                                      {"path": "b.lock", "content": "x"}], tmp_path,
                                     permission_check=check)
    assert not ok and "lock files" in results[1]["error"]
    assert not (tmp_path / "a.txt").exists()


def test_failure_while_applying_rolls_back_everything(tmp_path, monkeypatch):
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    before = listing(tmp_path)
    real = fs._replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 3:
            raise OSError(28, "No space left on device", dst)
        real(src, dst)

    monkeypatch.setattr(fs, "_replace", flaky)
    ok, results = write_files_safely([
        {"path": "a.txt", "content": "new a"},
        {"path": "deep/er/c.txt", "content": "new c"},
        {"path": "b.txt", "content": "new b"},
    ], tmp_path)
    assert not ok
    assert listing(tmp_path) == before  # old contents back, created dirs removed
    assert [r["status"] for r in results] == ["rolled_back", "rolled_back", "failed"]
    assert "No space" in results[2]["error"]
    assert not list((tmp_path / ".teragent" / "txn").glob("*.json"))
    assert not [p for p in tmp_path.rglob("*") if ".tera-" in p.name]


class Crash(BaseException):
    """Stands in for the process dying: nothing after it runs, no cleanup."""


@pytest.mark.parametrize("point", range(1, 52))  # one commit here is 49 operations
def test_recovery_after_a_crash_at_every_step(tmp_path, monkeypatch, point):
    (tmp_path / "a.txt").write_text("old a")
    (tmp_path / "b.txt").write_text("old b")
    before = listing(tmp_path)
    files = [{"path": "a.txt", "content": "new a"}, {"path": "b.txt", "content": "new b"},
             {"path": "x/y/c.txt", "content": "new c"}]
    counter = [0]
    originals = {}
    for name in ("open", "write", "fsync", "link", "mkdir", "replace", "remove", "rmdir"):
        originals[name] = getattr(os, name)

        def op(*args, _name=name, **kwargs):
            counter[0] += 1
            if counter[0] == point:
                raise Crash()
            return originals[_name](*args, **kwargs)

        monkeypatch.setattr(os, name, op)
    try:
        write_files_safely(files, tmp_path)
        crashed = False
    except Crash:
        crashed = True
    monkeypatch.undo()
    recover(tmp_path)
    after = listing(tmp_path)
    new = {"a.txt": b"new a", "b.txt": b"new b", "x/": None, "x/y/": None,
           "x/y/c.txt": b"new c"}
    assert after in (before, new), (point, after)
    if not crashed:
        assert after == new
    assert not [p for p in tmp_path.rglob("*") if ".tera-" in p.name]
    assert not list((tmp_path / ".teragent" / "txn").glob("*.json*"))


def test_next_write_recovers_first(tmp_path):
    (tmp_path / "a.txt").write_text("old")
    jdir = tmp_path / ".teragent" / "txn"
    jdir.mkdir(parents=True)
    tmp = tmp_path / ".a.txt.tera-dead.tmp"
    tmp.write_text("committed content")
    (jdir / "dead.json").write_text(json.dumps({
        "version": 1, "txid": "dead", "state": "commit", "dirs": [],
        "entries": [{"target": str(tmp_path / "a.txt"), "tmp": str(tmp),
                     "backup": str(tmp_path / ".a.txt.tera-dead.bak"), "existed": True}]}))
    assert write_files_safely([{"path": "b.txt", "content": "b"}], tmp_path)[0]
    assert (tmp_path / "a.txt").read_text() == "committed content"
    assert not tmp.exists() and not (jdir / "dead.json").exists()


def test_ntfs_fallback_rename_rename_delete(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_text("old")
    src = tmp_path / "new.tmp"
    src.write_text("new")
    monkeypatch.setattr(durable, "_IS_WINDOWS", True)

    def locked(a, b):
        raise PermissionError(13, "The process cannot access the file", str(b))

    monkeypatch.setattr(fs.os, "replace", locked)
    fs._replace(str(src), str(target))
    assert target.read_text() == "new" and not src.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]  # the backup is gone


def test_ntfs_fallback_restores_the_target_when_the_second_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "a.txt"
    target.write_text("old")
    src = tmp_path / "new.tmp"
    src.write_text("new")
    monkeypatch.setattr(durable, "_IS_WINDOWS", True)
    monkeypatch.setattr(fs.os, "replace", lambda a, b: (_ for _ in ()).throw(
        PermissionError(13, "in use", str(b))))
    real_rename = os.rename
    calls = []

    def rename(a, b):
        calls.append((os.path.basename(a), os.path.basename(b)))
        if len(calls) == 2:
            raise PermissionError(13, "still in use", b)
        real_rename(a, b)

    monkeypatch.setattr(fs.os, "rename", rename)
    with pytest.raises(PermissionError):
        fs._replace(str(src), str(target))
    assert target.read_text() == "old" and src.read_text() == "new"
    assert len(calls) == 3 and calls[2][1] == "a.txt"  # renamed back


def test_ntfs_fallback_not_used_on_posix(tmp_path, monkeypatch):
    monkeypatch.setattr(durable, "_IS_WINDOWS", False)
    monkeypatch.setattr(fs.os, "replace", lambda a, b: (_ for _ in ()).throw(
        PermissionError(13, "denied", str(b))))
    (tmp_path / "a").write_text("x")
    with pytest.raises(PermissionError):
        fs._replace(str(tmp_path / "b"), str(tmp_path / "a"))
    assert atomic_write_file(tmp_path / "a", "y") is False
    assert (tmp_path / "a").read_text() == "x"


def test_atomic_write_keeps_mode(tmp_path):
    p = tmp_path / "script.sh"
    p.write_text("#!/bin/sh\n")
    p.chmod(0o750)
    assert atomic_write_file(p, b"#!/bin/sh\necho hi\n")
    assert p.stat().st_mode & 0o777 == 0o750
    ok, _ = write_files_safely([{"path": "script.sh", "content": "x"}], tmp_path)
    assert ok and p.stat().st_mode & 0o777 == 0o750


def test_forged_journal_cannot_move_files_outside_the_workspace(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    outside = tmp_path / "victim.txt"
    outside.write_text("precious")
    evil = ws / "evil"
    evil.write_text("pwned")
    jdir = ws / ".teragent" / "txn"
    jdir.mkdir(parents=True)
    for txid, entry in {
        "forged1": {"target": str(outside), "tmp": str(evil), "backup": str(ws / "b"),
                    "existed": True},
        "forged2": {"target": str(ws / "a"), "tmp": str(evil), "backup": str(ws / "b"),
                    "existed": False},
    }.items():
        (jdir / f"{txid}.json").write_text(json.dumps({
            "version": 1, "txid": txid, "state": "commit", "dirs": [], "entries": [entry]}))
    assert recover(ws) == []
    assert outside.read_text() == "precious" and evil.read_text() == "pwned"
    assert write_files_safely([{"path": "ok.txt", "content": "fine"}], ws)[0]
    assert outside.read_text() == "precious"


def test_write_tools_write_through_file_safety(tmp_path, monkeypatch):
    """One atomic write: write_file and edit_file use file_safety's, and the documented
    ``from teragent.security import write_files_safely, atomic_write_file`` is this
    module's."""
    import asyncio

    import teragent.security
    from teragent_tools import files

    assert teragent.security.write_files_safely is fs.write_files_safely
    assert teragent.security.atomic_write_file is fs.atomic_write_file
    calls = []
    real = fs.replace_atomically

    def spy(path, content, **kw):
        calls.append(os.path.basename(path))
        return real(path, content, **kw)

    # The tools import the journal when they write (not when an agent is built).
    monkeypatch.setattr(fs, "replace_atomically", spy)
    assert asyncio.run(files.WriteFileTool(tmp_path).execute(
        {"path": "a.txt", "content": "one two\n"})).success
    assert asyncio.run(files.EditFileTool(tmp_path).execute(
        {"path": "a.txt", "old_string": "two", "new_string": "three"})).success
    assert calls == ["a.txt", "a.txt"]
    assert (tmp_path / "a.txt").read_text() == "one three\n"


def test_replace_atomically_raises_and_leaves_nothing(tmp_path):
    missing = tmp_path / "no" / "such" / "dir" / "f.txt"
    with pytest.raises(FileNotFoundError):
        fs.replace_atomically(missing, "x")
    assert atomic_write_file(missing, "x") is False
    assert list(tmp_path.iterdir()) == []
